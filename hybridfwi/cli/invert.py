"""``hybridfwi invert``: DL initial model, physics refinement, velocity model out."""

from __future__ import annotations

import click

from hybridfwi.cli.fwi import _bands
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.hybrid import InvertConfig, invert


@click.command("invert")
@click.argument("survey", metavar="SURVEY.segy")
@click.option("--out", required=True, type=click.Path(), help="Run folder.")
@click.option("--model", default=None, metavar="CKPT[+ADAPTER]", help="DL network [the shipped foundation model].")
@click.option("--true", "true_model", default=None, metavar="MODEL", help="True model (.npy/.segy) to report model errors.")
@click.option("--config", "config_path", default=None, metavar="FWI.json", help="FWI configuration (options below override it).")
@click.option("--bands", default="8,full", show_default=True, help="FWI low-pass bands in Hz.")
@click.option("--iterations", type=int, default=10, show_default=True, help="FWI iterations per band.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def command(survey, out, model, true_model, config_path, bands, iterations, device, resume, progress):
    """Predict an initial model with the foundation network, refine it by FWI, and compare the two.

    Writes OUT/velocity_dl.{npy,segy}, OUT/velocity_refined.{npy,segy}, OUT/report.json, OUT/models.png
    and the FWI run in OUT/fwi. Needs a survey written by `hybridfwi synth` (real SEG-Y: not yet).
    """
    fwi_cfg = FWIConfig.from_json(config_path) if config_path else FWIConfig()
    fwi_cfg.bands = _bands(bands)
    fwi_cfg.iterations = iterations
    rep = invert(InvertConfig(survey=survey, out=out, model=model, fwi=fwi_cfg, true=true_model, resume=resume,
                              progress=progress, device=device))
    line = f"data misfit: DL {rep['data_misfit_dl']:.4g} -> refined {rep['data_misfit_refined']:.4g}"
    if "model_rmse_dl_ms" in rep:
        line += f"; model RMSE: DL {rep['model_rmse_dl_ms']:.1f} -> refined {rep['model_rmse_refined_ms']:.1f} m/s"
    click.echo(f"{line}; results in {out}")
