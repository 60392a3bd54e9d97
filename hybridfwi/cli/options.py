"""Options shared by several commands, and their parsing into library configurations."""

from __future__ import annotations

import math

import click

from hybridfwi.core.survey import Geometry, load_geometry
from hybridfwi.errors import InputError
from hybridfwi.physics.forward import DEFAULT_MAX_VEL, ForwardConfig

__all__ = ["geometry_option", "modelling_options", "forward_config", "survey_options", "problem_options", "network_options",
           "geometry_override", "problem_config", "parse_bands", "parse_floats", "finite", "device_option", "progress_option"]


class Finite(click.ParamType):
    """A float that must be finite (NaN and inf are refused with a one-line message)."""

    name = "number"

    def __init__(self, positive: bool = False, nonnegative: bool = False):
        self.positive, self.nonnegative = positive, nonnegative

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            v = value
        else:
            try:
                v = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.positive and v <= 0:
            self.fail(f"{value!r} must be positive", param, ctx)
        if self.nonnegative and v < 0:
            self.fail(f"{value!r} must be >= 0", param, ctx)
        return v


def finite(positive: bool = False, nonnegative: bool = False) -> Finite:
    return Finite(positive, nonnegative)


def device_option(f):
    return click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                        help="Where to compute: CUDA when available (auto), or force one.")(f)


def progress_option(f):
    return click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars and stage lines on stderr.")(f)


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
        click.option("--max-vel", type=finite(positive=True), default=None,
                     help=f"Velocity (m/s) that fixes the CFL time step and the PML; at least the models' maximum "
                          f"[{DEFAULT_MAX_VEL:g}, or the models' maximum when higher]."),
        click.option("--allow-dispersion", is_flag=True,
                     help="Warn instead of refusing when the grid has < 5 cells per minimum wavelength."),
    ]):
        f = opt(f)
    return f


def forward_config(device: str, accuracy: str, max_vel: float | None, allow_dispersion: bool, refine: int = 1) -> ForwardConfig:
    """Modelling options; ``max_vel`` None means "auto" (:attr:`ForwardConfig.auto_max_vel`)."""
    return ForwardConfig(accuracy=int(accuracy), max_vel=max_vel or DEFAULT_MAX_VEL, refine=refine, device=device,
                         dispersion="warn" if allow_dispersion else "error", auto_max_vel=max_vel is None)


def geometry_from(spec: str) -> Geometry:
    return load_geometry(spec)


def survey_options(f):
    """Positions for files whose headers hold no geometry."""
    for opt in reversed([
        click.option("--receiver-spacing", type=finite(positive=True), default=None,
                     help="Trace spacing, m, for files without geometry (with --source-x)."),
        click.option("--source-x", default=None, metavar="X1,X2,...",
                     help="Source position of each shot, m, comma-separated (files without geometry)."),
        click.option("--first-receiver-x", type=finite(), default=0.0, show_default=True, help="Position of each shot's first trace, m."),
    ]):
        f = opt(f)
    return f


def problem_options(f):
    """How a survey becomes an inversion problem (None: decided from the data)."""
    for opt in reversed([
        click.option("--bands", default="auto", show_default=True,
                     help="FWI low-pass bands in Hz, e.g. 4,7,full ('full' = no low-pass); auto: from the data's spectrum."),
        click.option("--low-cut", type=finite(nonnegative=True), default=None,
                     help="Low cut (Hz) in every band [field data: the usable band's lower edge; 0 = none]."),
        click.option("--dx", type=finite(positive=True), default=None,
                     help="Grid spacing, m [a synthetic survey's own; field data: from the frequency and the lowest velocity]."),
        click.option("--depth", type=finite(positive=True), default=None, help="Model depth, m [half the largest offset]."),
        click.option("--padding", type=finite(nonnegative=True), default=None,
                     help="Lateral margin beyond the outermost source/receiver, m."),
        click.option("--tmax", type=finite(positive=True), default=None, help="Use the record up to this time, s [all of it]."),
        click.option("--line-source/--no-line-source", default=None,
                     help="Correct 3-D point-source data to 2-D line source [on for field data, off for synthetic 2-D data]."),
        click.option("--top", type=click.Choice(["auto", "free", "absorbing"]), default="auto", show_default=True,
                     help="Top boundary; auto: free surface for marine data (or the synthetic survey's own)."),
        click.option("--water-velocity", type=finite(positive=True), default=None, help="Water velocity, m/s [picked from the data]."),
        click.option("--seabed-depth", type=finite(nonnegative=True), default=None, help="Seabed depth, m [picked]."),
    ]):
        f = opt(f)
    return f


def network_options(f):
    """Which network reads the survey, and its adaptation."""
    for opt in reversed([
        click.option("--model", default=None, metavar="CKPT[+ADAPTER]", help="DL network [the shipped foundation model]."),
        click.option("--adapt", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
                     help="Fine-tune the network (LoRA) on synthetic data in this survey's geometry; auto: when the network "
                          "frame reads under half of the network's traces from the data (sparse surveys). The adapter is cached."),
        click.option("--adapt-samples", type=click.IntRange(min=1), default=32, show_default=True,
                     help="Synthetic samples per family for --adapt."),
        click.option("--adapt-epochs", type=click.IntRange(min=1), default=10, show_default=True),
        click.option("--cache", default=None, type=click.Path(file_okay=False),
                     help="Adapter cache [$HYBRIDFWI_CACHE or ~/.cache/hybridfwi]."),
        click.option("--flip/--no-flip", default=None,
                     help="Average the network's prediction with its prediction from the mirrored data (shots and "
                          "receivers reversed), where the survey's traces read into the network are mirror-symmetric "
                          "[the HybridConfig.dl_flip default]."),
    ]):
        f = opt(f)
    return f


def parse_floats(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what} {text!r}: expected comma-separated numbers (metres)") from None
    if not vals or not all(math.isfinite(v) for v in vals):
        raise InputError(f"{what} {text!r}: expected comma-separated finite numbers (metres)")
    return vals


def parse_bands(text: str | None) -> list | None:
    """``"4,7,full"`` -> ``[4.0, 7.0, None]``; ``auto``/None -> None."""
    if text is None or text.strip().lower() == "auto":
        return None
    out = []
    for tok in text.split(","):
        tok = tok.strip().lower()
        if tok in ("full", "all", "none"):
            out.append(None)
            continue
        try:
            v = float(tok)
        except ValueError:
            raise InputError(f"--bands {text!r}: give comma-separated frequencies in Hz, e.g. 4,7,full") from None
        if not math.isfinite(v) or v <= 0:
            raise InputError(f"--bands {text!r}: {tok!r} is not a positive frequency in Hz")
        out.append(v)
    if not out:
        raise InputError(f"--bands {text!r} is empty; give e.g. 4,7,full")
    return out


def geometry_override(receiver_spacing, source_x, first_receiver_x):
    from hybridfwi.io.reader import GeometryOverride

    return GeometryOverride(receiver_spacing=receiver_spacing, source_x=parse_floats(source_x, "--source-x"),
                            first_receiver_x=first_receiver_x).validate()


def problem_config(bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity, seabed_depth):
    from hybridfwi.inversion.problem import ProblemConfig

    return ProblemConfig(bands=parse_bands(bands), low_cut=low_cut, dx=dx, depth=depth, padding=padding, tmax=tmax,
                         line_source=line_source, free_surface=None if top == "auto" else top == "free",
                         water_velocity=water_velocity, seabed_depth=seabed_depth).validate()
