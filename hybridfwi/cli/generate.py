"""``hybridfwi generate``: a synthetic training/benchmark dataset in the OpenFWI layout."""

from __future__ import annotations

import click

from hybridfwi.cli.options import forward_config, geometry_option, modelling_options, survey_from
from hybridfwi.synth.datasets import GenerateConfig, generate_dataset


@click.command("generate")
@click.option("--family", "families", multiple=True, required=True, metavar="NAME",
              help="Velocity-model family (repeat for several); `hybridfwi families` lists them.")
@click.option("--count", type=int, required=True, help="Samples per family.")
@click.option("--out", required=True, type=click.Path(), help="Dataset folder (new, or one to resume).")
@click.option("--seed", type=int, default=0, show_default=True, help="Dataset seed.")
@geometry_option
@modelling_options
@click.option("--batch", type=int, default=8, show_default=True, help="Models per propagation call (speed/memory only).")
@click.option("--shard-size", type=int, default=500, show_default=True, help="Samples per dataK.npy file.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def command(families, count, out, seed, geometry, device, accuracy, max_vel, allow_dispersion, batch, shard_size, progress):
    """Generate OpenFWI-layout shards: dataK.npy (n, shots, nt, receivers), modelK.npy (n, 1, nz, nx).

    Re-running the same command after an interruption (even a kill) continues where it stopped
    and writes the same bytes as an uninterrupted run.
    """
    cfg = GenerateConfig(
        families=list(families), count=count, out=out, survey=survey_from(geometry), seed=seed,
        forward=forward_config(device, accuracy, max_vel, allow_dispersion), batch=batch, shard_size=shard_size,
    )
    manifest = generate_dataset(cfg, progress=progress)
    click.echo(f"wrote {manifest['total']} samples in {len(manifest['shards'])} shard(s) to {out}")
