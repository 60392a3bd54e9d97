"""Console output of the commands: printed once, by rank 0, when a command runs under torchrun."""

from __future__ import annotations

import click

from hybridfwi import dist

__all__ = ["echo"]


def echo(message: str = "", **kw) -> None:
    """``click.echo`` on rank 0 only (every line once, however many processes run the command)."""
    if dist.is_main():
        click.echo(message, **kw)
