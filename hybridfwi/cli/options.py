"""Options shared by several commands."""

from __future__ import annotations

import click

from hybridfwi.core.survey import Survey, load_geometry
from hybridfwi.physics.forward import DEFAULT_MAX_VEL, ForwardConfig

__all__ = ["geometry_option", "modelling_options", "forward_config"]


def geometry_option(f):
    return click.option(
        "--geometry", default="openfwi", show_default=True, metavar="openfwi|FILE.json",
        help="Acquisition geometry: a preset or a geometry JSON file (see examples/).",
    )(f)


def modelling_options(f):
    for opt in reversed([
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                     help="Where to model: CUDA when available (auto), or force one."),
        click.option("--accuracy", type=click.Choice(["2", "4", "6", "8"]), default="4", show_default=True,
                     help="Finite-difference order in space."),
        click.option("--max-vel", type=float, default=DEFAULT_MAX_VEL, show_default=True,
                     help="Velocity (m/s) that fixes the CFL time step and the PML; at least the model's maximum."),
        click.option("--allow-dispersion", is_flag=True,
                     help="Warn instead of refusing when the grid has < 5 cells per minimum wavelength."),
    ]):
        f = opt(f)
    return f


def forward_config(device: str, accuracy: str, max_vel: float, allow_dispersion: bool, refine: int = 1) -> ForwardConfig:
    return ForwardConfig(accuracy=int(accuracy), max_vel=max_vel, refine=refine, device=device,
                         dispersion="warn" if allow_dispersion else "error")


def survey_from(spec: str) -> Survey:
    return load_geometry(spec)
