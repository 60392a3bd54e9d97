"""``hybridfwi``: the click group. Bad input of any kind becomes one line on stderr and exit code 2."""

from __future__ import annotations

import logging

import click

import hybridfwi
from hybridfwi.errors import HybridFWIError

__all__ = ["cli", "BadInput"]


class BadInput(click.ClickException):
    """A one-line ``Error: ...`` on stderr and exit code 2."""

    exit_code = 2


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HybridFWIError as exc:
            raise BadInput(" ".join(str(exc).split("\n"))) from None
        except click.UsageError as exc:  # option parsing: one line naming the option, not the usage screen
            cmd = f"hybridfwi {exc.ctx.info_name}" if exc.ctx is not None and exc.ctx.info_name else "hybridfwi"
            raise BadInput(f"{cmd}: {exc.format_message()} (see {cmd} --help)") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(hybridfwi.__version__, prog_name="hybridfwi")
@click.option("-v", "--verbose", is_flag=True, help="Log more detail to stderr.")
def cli(verbose: bool) -> None:
    """Seismic full-waveform inversion: a deep-learning initial model refined by physics (deepwave).

    All units are SI: metres, seconds, m/s, Hz.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from hybridfwi import dist

    dist.init()  # joins the process group under torchrun; nothing in a plain process


def _register() -> None:
    from hybridfwi.cli import (benchmark, cache, compare, evaluate, families, finetune, fwi, generate, info, invert, plot, predict,
                               pretrain, synth)

    for mod in (invert, compare, benchmark, generate, synth, fwi, pretrain, finetune, predict, evaluate, info, plot, families, cache):
        cli.add_command(mod.command)


_register()
