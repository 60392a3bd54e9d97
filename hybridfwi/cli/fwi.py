"""``hybridfwi fwi``: physics full-waveform inversion of any shot-gather SEG-Y/SU file."""

from __future__ import annotations

import json

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import (finite, geometry_override, parse_bands, problem_config, problem_options, progress_option,
                                   survey_options)
from hybridfwi.errors import InputError
from hybridfwi.workflow.fwi_run import FWIRun, run_fwi


def _config_file(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
    except FileNotFoundError:
        raise InputError(f"config file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"config file {path!r} is not valid JSON: {exc}") from None
    if not isinstance(d, dict):
        raise InputError(f"config file {path!r}: expected a JSON object of FWI settings")
    return d


@click.command("fwi")
@click.argument("survey", metavar="SURVEY.segy")
@click.option("--initial", required=True, metavar="SPEC",
              help="reference | gradient[:V0:V1] | constant:V | smooth:SIGMA_M:MODEL | MODEL.npy | MODEL.segy")
@click.option("--out", required=True, type=click.Path(), help="Run folder.")
@click.option("--true", "true_model", default=None, metavar="MODEL", help="True model (.npy/.segy) to report model errors.")
@click.option("--config", "config_path", default=None, metavar="FWI.json", help="FWI configuration (options below override it).")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="Iterations per band [20].")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default=None, help="Optimiser [lbfgs].")
@click.option("--misfit", type=click.Choice(["l2", "gc", "envelope"]), default=None, help="Data misfit [l2; gc for field data].")
@click.option("--lr", type=finite(positive=True), default=None, help="Adam step, about m/s per iteration [20].")
@click.option("--vmin", type=finite(positive=True), default=None, help="Lowest velocity allowed, m/s [1400].")
@click.option("--vmax", type=finite(positive=True), default=None, help="Highest velocity allowed, m/s [4800].")
@click.option("--estimate-wavelet/--known-wavelet", default=None,
              help="Re-estimate the source wavelet at each band [field data: yes; synthetic surveys: the known wavelet].")
@problem_options
@survey_options
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="Where to compute [auto].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@progress_option
def command(survey, initial, out, true_model, config_path, iterations, optimizer, misfit, lr, vmin, vmax, estimate_wavelet,
            bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity, seabed_depth, receiver_spacing, source_x,
            first_receiver_x, device, resume, progress):
    """Refine an initial velocity model by FWI of SURVEY (field or synthetic shot gathers).

    The file is read and turned into an inversion problem exactly as `hybridfwi invert` does
    (repairs, grid, bands, time axis, water layer). Writes OUT/model.npy, OUT/model.segy,
    OUT/history.json, OUT/report.json and figures; a checkpoint after every iteration lets
    --resume continue an interrupted run.
    """
    overrides = {"iterations": iterations, "optimizer": optimizer, "misfit": misfit, "lr": lr, "vmin": vmin, "vmax": vmax,
                 "estimate_wavelet": estimate_wavelet, "device": device}
    pc = problem_config(bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity, seabed_depth)
    if parse_bands(bands) is not None:
        overrides["bands"] = parse_bands(bands)
    report = run_fwi(FWIRun(survey=survey, initial=initial, out=out, config_file=_config_file(config_path), config_path=config_path,
                            overrides=overrides, true=true_model,
                            geometry=geometry_override(receiver_spacing, source_x, first_receiver_x), problem=pc, resume=resume,
                            progress=progress))
    line = f"data misfit {report['data_misfit_initial']:.4g} -> {report['data_misfit_final']:.4g}"
    if "model_rmse_final_ms" in report:
        line += f"; model RMSE {report['model_rmse_initial_ms']:.1f} -> {report['model_rmse_final_ms']:.1f} m/s"
    echo(f"{line}; {report['iterations']} iterations in {report['wall_time_s']:.1f} s; results in {out}")
