"""``hybridfwi evaluate``: OpenFWI metrics per family and overall."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.workflow.predict_run import run_evaluate


@click.command("evaluate")
@click.option("--model", default=None, metavar="CKPT[+ADAPTER]", help="Network [the shipped foundation model].")
@click.option("--data", multiple=True, required=True, type=click.Path(), help="Dataset folder(s) with true models.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Metrics JSON (a .md table is written beside it).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--flip/--no-flip", default=False, show_default=True,
              help="Average each prediction with the one from the mirrored data (shots and receivers reversed).")
def command(model, data, out, device, flip):
    """MAE, RMSE (OpenFWI-normalised velocity and m/s) and SSIM per family, against a mean 1-D profile baseline."""
    res = run_evaluate(model, list(data), out, device, flip)
    o, b = res["overall"], res["baseline_overall"]
    echo(f"overall MAE {o['mae']:.4f} (baseline {b['mae']:.4f}), SSIM {o['ssim']:.4f} (baseline {b['ssim']:.4f}) -> {out}")
