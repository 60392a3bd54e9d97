"""``hybridfwi invert``: shot gathers in, DL initial model, physics refinement, velocity model out."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import (device_option, geometry_override, network_options, problem_config, problem_options,
                                   progress_option, survey_options)
from hybridfwi.hybrid.pipeline import HybridConfig
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.workflow.invert_run import InvertRun, run_invert


def hybrid_config(model, adapt, adapt_samples, adapt_epochs, cache, iterations, config_path, physics_steps, safeguard,
                  device, flip=None) -> HybridConfig:
    return HybridConfig(model=model, adapt=adapt, adapt_samples=adapt_samples, adapt_epochs=adapt_epochs, cache=cache,
                        iterations=iterations, fwi=FWIConfig.from_json(config_path, validate=True) if config_path else None,
                        pga_steps=physics_steps, safeguard=safeguard, device=device,
                        **({} if flip is None else {"dl_flip": flip})).validate()


def hybrid_options(f):
    for opt in reversed([
        click.option("--iterations", type=click.IntRange(min=1), default=HybridConfig.iterations, show_default=True,
                     help="FWI iterations per band (the budget; physics-guided steps count against it)."),
        click.option("--config", "config_path", default=None, metavar="FWI.json", help="Further FWI settings (vmin, vmax, misfit, ...)."),
        click.option("--physics-steps", type=click.IntRange(min=0), default=None,
                     help="Physics-guided adaptation: train a LoRA adapter of the network through the wave equation for this "
                          "many steps before pixel FWI (each counts as an FWI iteration of the first band) "
                          "[all of the first band but one iteration: 14 of 15; 0 turns it off]."),
        click.option("--safeguard/--no-safeguard", default=True, show_default=True,
                     help="Choose the start (1-D reference, DL model or a blend) by low-band data misfit."),
    ]):
        f = opt(f)
    return f


@click.command("invert")
@click.argument("survey", metavar="SURVEY.segy")
@click.option("--out", required=True, type=click.Path(), help="Run folder.")
@network_options
@hybrid_options
@problem_options
@survey_options
@click.option("--true", "true_model", default=None, metavar="MODEL", help="True model (.npy/.segy, problem grid) to report model errors.")
@device_option
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@progress_option
def command(survey, out, model, adapt, adapt_samples, adapt_epochs, cache, flip, iterations, config_path, physics_steps, safeguard,
            bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity, seabed_depth, receiver_spacing, source_x,
            first_receiver_x, true_model, device, resume, progress):
    """Invert shot gathers: DL initial model, FWI refinement, DL-vs-refined report.

    SURVEY is a 2-D shot-gather SEG-Y/SU file (field data: `hybridfwi info` shows what it holds)
    or a survey written by `hybridfwi synth`. Writes OUT/velocity_dl.{npy,segy},
    OUT/velocity_refined.{npy,segy}, OUT/velocity_gradient.npy (1-D reference),
    OUT/velocity_start.npy, OUT/report.json, OUT/models.png, OUT/wavelet.png and the FWI run in
    OUT/fwi (gathers.png, misfit.png, history.json).
    """
    run = InvertRun(survey=survey, out=out,
                    hybrid=hybrid_config(model, adapt, adapt_samples, adapt_epochs, cache, iterations, config_path, physics_steps,
                                         safeguard, device, flip),
                    problem=problem_config(bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity, seabed_depth),
                    geometry=geometry_override(receiver_spacing, source_x, first_receiver_x), true=true_model, resume=resume,
                    progress=progress)
    rep = run_invert(run)
    line = (f"data misfit ({rep['data_misfit_band']}): 1-D {rep['data_misfit_gradient']:.4g}, DL {rep['data_misfit_dl']:.4g}, "
            f"refined {rep['data_misfit_refined']:.4g}; start: {rep['start']['chosen']}")
    if "model_rmse_ms" in rep:
        r = rep["model_rmse_ms"]
        line += f"; model RMSE: 1-D {r['gradient']:.1f}, DL {r['dl']:.1f}, refined {r['refined']:.1f} m/s"
    if rep.get("water"):
        w = rep["water"]
        sb = w["seabed_depth_picked_m"]
        line += f"; water {w['velocity_ms']:.0f} m/s" + (f", seabed {sb:.0f} m" if sb else "")
    for warning in rep["warnings"]:
        echo(f"warning: {warning}", err=True)
    echo(f"{line}\nresults in {out} ({rep['timings_s']['total']:.0f} s)")
