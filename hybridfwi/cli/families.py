"""``hybridfwi families``: list the velocity-model families, optionally as a picture."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.synth.families import FAMILIES


@click.command("families")
@click.option("--gallery", type=click.Path(dir_okay=False), default=None, help="Also draw one model per family to this figure.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the gallery's models.")
def command(gallery, seed):
    """List the families: OpenFWI-style (in distribution) and out-of-distribution."""
    if gallery:
        from hybridfwi.viz.plots import check_figure_path

        check_figure_path(gallery, "--gallery")  # before the listing: bad input is one line
    for fam in FAMILIES.values():
        echo(f"{fam.name:<14} {'OOD ' if fam.ood else '    '}{fam.summary}")
    if gallery:
        from hybridfwi.viz.plots import gallery_figure

        gallery_figure(gallery, seed)
        echo(f"gallery written to {gallery}")
