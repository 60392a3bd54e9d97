"""``hybridfwi generate``: a synthetic training/benchmark dataset in the OpenFWI layout."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import forward_config, geometry_from, geometry_option, modelling_options
from hybridfwi.synth.datasets import GenerateConfig, generate_dataset
from hybridfwi.synth.seeds import RANGES, purpose_of


@click.command("generate")
@click.option("--family", "families", multiple=True, required=True, metavar="NAME",
              help="Velocity-model family (repeat for several); `hybridfwi families` lists them.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="Samples per family.")
@click.option("--out", required=True, type=click.Path(), help="Dataset folder (new, or one to resume).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Dataset seed; its range says what the data are for: " + ", ".join(f"{k} {a}..{b}" for k, (a, b) in RANGES.items()) + ".")
@geometry_option
@modelling_options
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Models per propagation call (speed/memory only) [8 CPU, 256 GPU].")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="Processes drawing models [0 CPU, up to 8 GPU].")
@click.option("--shard-size", type=click.IntRange(min=1), default=500, show_default=True, help="Samples per dataK.npy file.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def command(families, count, out, seed, geometry, device, accuracy, max_vel, allow_dispersion, batch, workers, shard_size, progress):
    """Generate OpenFWI-layout shards: dataK.npy (n, shots, nt, receivers), modelK.npy (n, 1, nz, nx).

    Re-running the same command after an interruption (even a kill) continues where it stopped
    and writes the same bytes as an uninterrupted run. Under `torchrun` every process models its
    share and the result is the same bytes.
    """
    purpose = purpose_of(seed)
    if purpose is None:
        from hybridfwi.errors import InputError

        raise InputError(f"--seed {seed} lies in no seed range; use one of " + ", ".join(f"{k} {a}..{b}" for k, (a, b) in RANGES.items()))
    cfg = GenerateConfig(
        families=list(families), count=count, out=out, geometry=geometry_from(geometry), seed=seed, purpose=purpose,
        forward=forward_config(device, accuracy, max_vel, allow_dispersion), batch=batch, shard_size=shard_size, workers=workers,
    )
    from hybridfwi import dist

    dist.init(device)
    manifest = generate_dataset(cfg, progress=progress)
    if dist.is_main():
        echo(f"wrote {manifest['total']} samples in {len(manifest['shards'])} shard(s) to {out} ({purpose} seed {seed})")
