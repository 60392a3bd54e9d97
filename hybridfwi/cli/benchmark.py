"""``hybridfwi benchmark``: make a benchmark suite, run one."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.bench.suites import METHODS, SUITES


@click.group("benchmark")
def command():
    """Benchmark suites: `make` writes the cases and their observed data, `run` compares the methods on every case."""


@command.command("make")
@click.option("--suite", "name", required=True, type=click.Choice(SUITES), help="Which suite.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Suite folder (new, or one to finish).")
@click.option("--cases", type=click.IntRange(min=1), default=2, show_default=True, help="Cases per family (marmousi: fixed windows).")
@click.option("--path", "marmousi", default=None, type=click.Path(dir_okay=False),
              help="marmousi: the Marmousi2 file [../shared/data/models/marmousi2_vp.bin].")
@click.option("--noise-draw", type=click.IntRange(min=0), default=0, show_default=True,
              help="Noise realisation: 0 is the published suite; 1, 2, ... the same cases with other noise (to measure spread).")
@click.option("--progress/--no-progress", default=True, show_default=True)
def make(name, out, cases, marmousi, noise_draw, progress):
    """Write suite NAME's cases: observed data (finer grid, accuracy 8, 30 dB noise) and true models."""
    from hybridfwi.bench.suites import make_suite

    m = make_suite(name, out, per_family=cases, marmousi=marmousi, progress=progress, noise_draw=noise_draw)
    echo(f"suite {name}: {len(m['cases'])} case(s) in {out}" + (f" (noise draw {noise_draw})" if noise_draw else ""))


@command.command("run")
@click.option("--suite", "suite", required=True, type=click.Path(), help="A suite folder from `benchmark make`.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Results folder (resumed when it exists).")
@click.option("--model", default=None, metavar="CKPT", help="Network [the shipped foundation model].")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Cases run in parallel (worker processes).")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="FWI iterations per band [invert's default].")
@click.option("--physics-steps", type=click.IntRange(min=0), default=None, help="Physics-guided steps [invert's default].")
@click.option("--case", "only", multiple=True, help="Only this case id (repeatable).")
@click.option("--redo", multiple=True, type=click.Choice(METHODS),
              help="Rerun this method in finished cases, keeping the others' results (repeatable; recorded in results.json).")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHODS),
              help="Run only this method (repeatable) [all four]. A results folder keeps the methods it was started with.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def run(suite, out, model, jobs, iterations, physics_steps, only, redo, methods, progress):
    """Run dl, hybrid, fwi_gradient and fwi_smooth on every case (with invert's defaults and one FWI
    budget); write OUT/results.json, OUT/results.md and figures. Finished cases are never redone."""
    from hybridfwi import dist
    from hybridfwi.bench.run import SuiteRun, run_suite
    from hybridfwi.hybrid.pipeline import HybridConfig

    dist.init("cpu")
    h = HybridConfig(model=model, device="cpu")
    if iterations is not None:
        h.iterations = iterations
    if physics_steps is not None:
        h.pga_steps = physics_steps
    h.validate()  # e.g. --physics-steps that leave no FWI iteration: one line, exit 2, before any folder
    res = run_suite(SuiteRun(suite=suite, out=out, hybrid=h, jobs=jobs, progress=progress, cases=list(only) or None,
                               redo=tuple(redo), methods=tuple(m for m in METHODS if m in methods) or METHODS))
    if res:
        o = res["overall"]
        r = o["ratio_hybrid_to_fwi_gradient_rmse"]
        msg = f"{len(res['cases'])} case(s)"
        if r["median"] is not None:
            msg += f"; hybrid / fwi_gradient RMSE: median {r['median']:.2f}"
        echo(f"{msg}; results in {out}/results.md")
