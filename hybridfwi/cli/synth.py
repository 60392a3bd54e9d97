"""``hybridfwi synth``: one synthetic survey as SEG-Y, with its true model beside it."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import finite, forward_config, geometry_from, geometry_option, modelling_options
from hybridfwi.synth.single import SynthConfig, synthesize


@click.command("synth")
@click.option("--model", "model_spec", required=True, metavar="FAMILY[:INDEX]|MODEL.npy",
              help="A family sample (e.g. marine:3) or a velocity model .npy (m/s, nz x nx).")
@geometry_option
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output shot-gather SEG-Y (.segy/.sgy).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Family seed.")
@click.option("--snr", type=finite(), default=None, help="Add white noise at this SNR (dB, -20 to 200).")
@click.option("--noise-seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the noise.")
@click.option("--refine", type=click.IntRange(min=1, max=8), default=1, show_default=True,
              help="Model on a grid this many times finer (avoids the inverse crime).")
@click.option("--free-surface/--absorbing-top", default=None, help="Override the geometry's top boundary.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out and its companions.")
@modelling_options
def command(model_spec, geometry, out, seed, snr, noise_seed, refine, free_surface, force, device, accuracy, max_vel, allow_dispersion):
    """Model shot gathers for one velocity model and write OUT (SEG-Y), OUT's .json sidecar, and the
    true model as .model.npy and .model.segy."""
    geom = geometry_from(geometry)
    if free_surface is not None:
        geom.survey.free_surface = free_surface
    cfg = SynthConfig(model=model_spec, geometry=geom, out=out, seed=seed, snr_db=snr, noise_seed=noise_seed, overwrite=force,
                      forward=forward_config(device, accuracy, max_vel, allow_dispersion, refine=refine))
    res = synthesize(cfg)
    s = res.record.survey
    echo(f"wrote {res.segy} ({s.n_shots} shots x {s.n_receivers} receivers x {s.nt} samples), "
               f"{res.sidecar}, {res.model_npy}, {res.model_segy}")
