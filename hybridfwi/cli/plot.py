"""``hybridfwi plot``: look at a model, a survey or a dataset sample."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.viz.plots import plot_file


@click.command("plot")
@click.argument("target", metavar="DIR|SURVEY.segy|MODEL.segy|MODEL.npy")
@click.option("--out", required=True, type=click.Path(), help="Figure file (.png, .pdf, .svg).")
@click.option("--index", type=int, default=0, show_default=True, help="Sample index in a dataset folder.")
@click.option("--spacing", type=float, default=10.0, show_default=True, help="Grid spacing (m) of a .npy model.")
@click.option("--kind", type=click.Choice(["auto", "shots", "model"]), default="auto", show_default=True,
              help="What a SEG-Y file holds.")
def command(target, out, index, spacing, kind):
    """Velocity model (colour bar in m/s, axes in metres) and/or shot gathers (time in s, offset in m)."""
    what = plot_file(target, out, index=index, spacing=spacing, kind=kind)
    echo(f"plotted {what} of {target} to {out}")
