"""``hybridfwi info``: what a SEG-Y/SU file holds and what had to be repaired to read it."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.io.scan import scan


@click.command("info")
@click.argument("path", metavar="FILE.segy|FILE.su")
def command(path):
    """Survey summary: shots, traces per shot, offsets, dt, nt, t0, spread, coordinate ranges, repairs, problems."""
    for line in scan(path).summary():
        echo(line)
