"""``hybridfwi synth``: one synthetic survey as SEG-Y, with its true model beside it."""

from __future__ import annotations

import click

from hybridfwi.cli.options import forward_config, geometry_option, modelling_options, survey_from
from hybridfwi.synth.single import SynthConfig, synthesize


@click.command("synth")
@click.option("--model", "model_spec", required=True, metavar="FAMILY[:INDEX]|MODEL.npy",
              help="A family sample (e.g. marine:3) or a velocity model .npy (m/s, nz x nx).")
@geometry_option
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output shot-gather SEG-Y (.segy/.sgy).")
@click.option("--seed", type=int, default=0, show_default=True, help="Family seed.")
@click.option("--snr", type=float, default=None, help="Add white noise at this SNR (dB).")
@click.option("--noise-seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--refine", type=int, default=1, show_default=True,
              help="Model on a grid this many times finer (avoids the inverse crime).")
@click.option("--free-surface/--absorbing-top", default=None, help="Override the geometry's top boundary.")
@modelling_options
def command(model_spec, geometry, out, seed, snr, noise_seed, refine, free_surface, device, accuracy, max_vel, allow_dispersion):
    """Model shot gathers for one velocity model and write OUT (SEG-Y), OUT's .json sidecar, and the
    true model as .model.npy and .model.segy."""
    survey = survey_from(geometry)
    if free_surface is not None:
        survey.free_surface = free_surface
    cfg = SynthConfig(model=model_spec, survey=survey, out=out, seed=seed, snr_db=snr, noise_seed=noise_seed,
                      forward=forward_config(device, accuracy, max_vel, allow_dispersion, refine=refine))
    res = synthesize(cfg)
    s = res.record.survey
    click.echo(f"wrote {res.segy} ({s.n_shots} shots x {s.n_receivers} receivers x {s.nt} samples), "
               f"{res.sidecar}, {res.model_npy}, {res.model_segy}")
