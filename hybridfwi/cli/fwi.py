"""``hybridfwi fwi``: physics full-waveform inversion of a shot-gather SEG-Y."""

from __future__ import annotations

import click

from hybridfwi.errors import InputError
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.run import FWIRun, run_fwi


def _bands(text: str) -> list:
    out = []
    for tok in text.split(","):
        tok = tok.strip().lower()
        if tok in ("full", "all", "none"):
            out.append(None)
            continue
        try:
            out.append(float(tok))
        except ValueError:
            raise InputError(f"--bands {text!r}: give comma-separated frequencies in Hz, e.g. 5,8,12,full") from None
    return out


@click.command("fwi")
@click.argument("survey", metavar="SURVEY.segy")
@click.option("--initial", required=True, metavar="SPEC",
              help="gradient[:V0:V1] | constant:V | smooth:SIGMA_M:MODEL | MODEL.npy | MODEL.segy")
@click.option("--out", required=True, type=click.Path(), help="Run folder.")
@click.option("--true", "true_model", default=None, metavar="MODEL", help="True model (.npy/.segy) to report model errors.")
@click.option("--config", "config_path", default=None, metavar="FWI.json", help="FWI configuration (options below override it).")
@click.option("--bands", default=None, help="Low-pass bands in Hz, in order, e.g. 5,8,12,full.")
@click.option("--iterations", type=int, default=None, help="Iterations per band [20].")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default=None, help="Optimiser [lbfgs].")
@click.option("--misfit", type=click.Choice(["l2", "gc", "envelope"]), default=None, help="Data misfit [l2].")
@click.option("--lr", type=float, default=None, help="Adam step, about m/s per iteration [20].")
@click.option("--vmin", type=float, default=None, help="Lowest velocity allowed, m/s [1400].")
@click.option("--vmax", type=float, default=None, help="Highest velocity allowed, m/s [4800].")
@click.option("--estimate-wavelet", is_flag=True, default=None, help="Re-estimate the source wavelet at each band.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="Where to compute [auto].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def command(survey, initial, out, true_model, config_path, bands, iterations, optimizer, misfit, lr, vmin, vmax,
            estimate_wavelet, device, resume, progress):
    """Refine an initial velocity model by FWI of SURVEY (SEG-Y written by `hybridfwi synth`).

    Writes OUT/model.npy, OUT/model.segy, OUT/history.json, OUT/report.json and figures; a
    checkpoint after every iteration lets --resume continue an interrupted run.
    """
    cfg = FWIConfig.from_json(config_path) if config_path else FWIConfig()
    overrides = {"iterations": iterations, "optimizer": optimizer, "misfit": misfit, "lr": lr, "vmin": vmin,
                 "vmax": vmax, "estimate_wavelet": estimate_wavelet, "device": device}
    for k, v in overrides.items():
        if v is not None:
            setattr(cfg, k, v)
    if bands is not None:
        cfg.bands = _bands(bands)
    report = run_fwi(FWIRun(survey=survey, initial=initial, out=out, config=cfg, true=true_model, resume=resume, progress=progress))
    line = f"data misfit {report['data_misfit_initial']:.4g} -> {report['data_misfit_final']:.4g}"
    if "model_rmse_final_ms" in report:
        line += f"; model RMSE {report['model_rmse_initial_ms']:.1f} -> {report['model_rmse_final_ms']:.1f} m/s"
    click.echo(f"{line}; {report['iterations']} iterations in {report['wall_time_s']:.1f} s; results in {out}")
