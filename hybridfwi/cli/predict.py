"""``hybridfwi predict``: DL velocity model for a survey or a dataset."""

from __future__ import annotations

import click

from hybridfwi.dl.predict import predict_file


@click.command("predict")
@click.argument("target", metavar="SURVEY.segy|DIR")
@click.option("--model", default=None, metavar="CKPT[+ADAPTER]", help="Network [the shipped foundation model].")
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def command(target, model, out, device):
    """Predict velocity (m/s): velocity_dl.npy/.segy/.png for a survey, predictions.npy for a dataset."""
    res = predict_file(model, target, out, device=device)
    click.echo(f"predicted {res['samples']} model(s) -> {res['out']}")
