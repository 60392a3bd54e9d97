"""``hybridfwi compare``: DL-only vs hybrid vs FWI alone on one survey, with one FWI budget."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.invert import hybrid_config, hybrid_options
from hybridfwi.cli.options import (device_option, finite, geometry_override, network_options, problem_config, problem_options,
                                   progress_option, survey_options)
from hybridfwi.hybrid.compare import METHODS
from hybridfwi.workflow.compare_run import CompareRun, run_compare


@click.command("compare")
@click.argument("survey", metavar="SURVEY.segy")
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@click.option("--true", "true_model", default=None, metavar="MODEL", help="True model (.npy/.segy) on the problem grid.")
@click.option("--initial", "initial", multiple=True, metavar="MODEL",
              help="Also run FWI from this starting model (repeatable; e.g. a tomography model).")
@click.option("--methods", default="dl,hybrid,fwi_gradient,fwi_smooth", show_default=True,
              help=f"Comma-separated, from {', '.join(METHODS)} (fwi_smooth needs --true).")
@click.option("--smooth-sigma", type=finite(positive=True), default=250.0, show_default=True,
              help="fwi_smooth: Gaussian smoothing of the true model, m.")
@network_options
@hybrid_options
@problem_options
@survey_options
@device_option
@click.option("--resume", is_flag=True, help="Continue an interrupted comparison in --out.")
@progress_option
def command(survey, out, true_model, initial, methods, smooth_sigma, model, adapt, adapt_samples, adapt_epochs, cache, flip, iterations,
            config_path, physics_steps, safeguard, bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity,
            seabed_depth, receiver_spacing, source_x, first_receiver_x, device, resume, progress):
    """Run DL-only, the hybrid (what `invert` does), FWI from the 1-D reference, FWI from the smoothed
    true model and FWI from each --initial, all with the same FWI budget, and write them side by side:
    OUT/results.json, OUT/results.md, OUT/models.png, OUT/errors.png, OUT/curves.png."""
    run = CompareRun(survey=survey, out=out,
                     hybrid=hybrid_config(model, adapt, adapt_samples, adapt_epochs, cache, iterations, config_path, physics_steps,
                                          safeguard, device, flip),
                     methods=tuple(m.strip() for m in methods.split(",") if m.strip()), smooth_sigma_m=smooth_sigma,
                     true=true_model, initial=list(initial),
                     problem=problem_config(bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity, seabed_depth),
                     geometry=geometry_override(receiver_spacing, source_x, first_receiver_x), resume=resume, progress=progress)
    res = run_compare(run)
    for name, r in res["methods"].items():
        line = f"{name:>14}: data misfit {r['data_misfit']:.4g}, {r['fwi_iterations']} iterations, {r['wall_time_s']:.0f} s"
        if "rmse_ms" in r:
            line += f", RMSE {r['rmse_ms']:.1f} m/s, MAE {r['mae_ms']:.1f} m/s"
        echo(line)
    echo(f"results in {out}")
