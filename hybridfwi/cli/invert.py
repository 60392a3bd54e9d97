"""``hybridfwi invert``: shot gathers in, DL initial model, physics refinement, velocity model out."""

from __future__ import annotations

import click

from hybridfwi.cli.fwi import _bands
from hybridfwi.errors import InputError
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.hybrid import InvertConfig, invert
from hybridfwi.inversion.problem import ProblemConfig


def _floats(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what} {text!r}: expected comma-separated numbers (metres)") from None


@click.command("invert")
@click.argument("survey", metavar="SURVEY.segy")
@click.option("--out", required=True, type=click.Path(), help="Run folder.")
@click.option("--model", default=None, metavar="CKPT[+ADAPTER]", help="DL network [the shipped foundation model].")
@click.option("--adapt", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Fine-tune the network (LoRA) on synthetic data in this survey's geometry; auto: when the geometry "
                   "is not the network's own. The adapter is cached.")
@click.option("--adapt-samples", type=int, default=32, show_default=True, help="Synthetic samples per family for --adapt.")
@click.option("--adapt-epochs", type=int, default=10, show_default=True)
@click.option("--cache", default=None, type=click.Path(), help="Adapter cache [$HYBRIDFWI_CACHE or ~/.cache/hybridfwi].")
@click.option("--bands", default="auto", show_default=True,
              help="FWI low-pass bands in Hz ('full' = no low-pass); auto: from the data's spectrum.")
@click.option("--low-cut", type=float, default=None, help="Low cut (Hz) in every band [field data: the usable band's lower edge].")
@click.option("--iterations", type=int, default=15, show_default=True, help="FWI iterations per band.")
@click.option("--config", "config_path", default=None, metavar="FWI.json", help="Further FWI settings (vmin, vmax, misfit, ...).")
@click.option("--dx", type=float, default=None, help="Grid spacing, m [from the frequency and the lowest velocity].")
@click.option("--depth", type=float, default=None, help="Model depth, m [half the largest offset].")
@click.option("--padding", type=float, default=None, help="Lateral margin beyond the outermost source/receiver, m.")
@click.option("--tmax", type=float, default=None, help="Use the record up to this time, s [all of it].")
@click.option("--line-source/--no-line-source", default=True, show_default=True,
              help="Correct field data from 3-D point source to 2-D line source.")
@click.option("--top", type=click.Choice(["auto", "free", "absorbing"]), default="auto", show_default=True,
              help="Top boundary; auto: free surface for marine data.")
@click.option("--water-velocity", type=float, default=None, help="Water velocity, m/s [picked from the seabed reflection].")
@click.option("--seabed-depth", type=float, default=None, help="Seabed depth, m [picked].")
@click.option("--receiver-spacing", type=float, default=None, help="Trace spacing, m, for files without geometry.")
@click.option("--source-x", default=None, help="Source position of each shot, m, comma-separated (files without geometry).")
@click.option("--first-receiver-x", type=float, default=0.0, show_default=True, help="Position of each shot's first trace, m.")
@click.option("--true", "true_model", default=None, metavar="MODEL", help="True model (.npy/.segy, survey grid) to report model errors.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def command(survey, out, model, adapt, adapt_samples, adapt_epochs, cache, bands, low_cut, iterations, config_path, dx, depth,
            padding, tmax, line_source, top, water_velocity, seabed_depth, receiver_spacing, source_x, first_receiver_x,
            true_model, device, resume, progress):
    """Invert shot gathers: DL initial model, FWI refinement, DL-vs-refined report.

    SURVEY is a 2-D shot-gather SEG-Y/SU file (field data: `hybridfwi info` shows what it holds)
    or a survey written by `hybridfwi synth`. Writes OUT/velocity_dl.{npy,segy},
    OUT/velocity_refined.{npy,segy}, OUT/velocity_gradient.npy (1-D reference), OUT/report.json,
    OUT/models.png, OUT/wavelet.png and the FWI run in OUT/fwi (gathers.png, misfit.png).
    """
    for name, v in (("--adapt-samples", adapt_samples), ("--adapt-epochs", adapt_epochs)):
        if v < 1:
            raise InputError(f"{name} must be >= 1, got {v}")
    for name, v in (("--dx", dx), ("--depth", depth), ("--tmax", tmax), ("--water-velocity", water_velocity)):
        if v is not None and not v > 0:
            raise InputError(f"{name} must be positive, got {v:g}")
    for name, v in (("--padding", padding), ("--seabed-depth", seabed_depth), ("--low-cut", low_cut)):
        if v is not None and v < 0:
            raise InputError(f"{name} must be >= 0, got {v:g}")
    fwi_cfg = FWIConfig.from_json(config_path) if config_path else None
    pc = ProblemConfig(dx=dx, depth=depth, padding=padding, tmax=tmax, line_source=line_source,
                       free_surface=None if top == "auto" else top == "free", water_velocity=water_velocity,
                       seabed_depth=seabed_depth)
    rep = invert(InvertConfig(
        survey=survey, out=out, model=model, adapt=adapt, adapt_samples=adapt_samples, adapt_epochs=adapt_epochs, cache=cache,
        problem=pc, bands=None if bands == "auto" else _bands(bands), low_cut=low_cut, iterations=iterations, fwi=fwi_cfg,
        receiver_spacing=receiver_spacing, source_x=_floats(source_x, "--source-x"), first_receiver_x=first_receiver_x,
        true=true_model, resume=resume, progress=progress, device=device))
    line = (f"data misfit ({rep['data_misfit_band']}): 1-D {rep['data_misfit_gradient']:.4g}, DL {rep['data_misfit_dl']:.4g}, "
            f"refined {rep['data_misfit_refined']:.4g}")
    if "model_rmse_ms" in rep:
        r = rep["model_rmse_ms"]
        line += f"; model RMSE: 1-D {r['gradient']:.1f}, DL {r['dl']:.1f}, refined {r['refined']:.1f} m/s"
    if rep.get("water"):
        w = rep["water"]
        sb = w["seabed_depth_picked_m"]
        line += f"; water {w['velocity_ms']:.0f} m/s" + (f", seabed {sb:.0f} m" if sb else "")
    click.echo(f"{line}\nresults in {out} ({rep['timings_s']['total']:.0f} s)")
