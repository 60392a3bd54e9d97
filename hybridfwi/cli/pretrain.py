"""``hybridfwi pretrain``: train a foundation network, on dataset folders or online."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import finite
from hybridfwi.cli.train_options import train_config, training_options
from hybridfwi.dl.pretrain import OnlineConfig, PretrainConfig, pretrain, pretrain_online
from hybridfwi.dl.train import TrainConfig
from hybridfwi.errors import InputError


@click.command("pretrain")
@click.option("--data", multiple=True, type=click.Path(), help="Dataset folder (repeat for a mixture); not with --online.")
@click.option("--online", is_flag=True, help="Generate the training data while training (pretrain seed range; best on a GPU).")
@click.option("--samples", type=click.IntRange(min=1), default=200_000, show_default=True, help="--online: models to generate.")
@click.option("--family", "families", multiple=True, help="--online: pretraining families [OpenFWI A and B, basin-land, basin-marine].")
@click.option("--time-limit", type=finite(positive=True), default=None, help="--online: stop after this many seconds.")
@click.option("--gen-batch", type=click.IntRange(min=1), default=256, show_default=True, help="--online: models modelled per batch.")
@click.option("--reuse", type=click.IntRange(min=1), default=4, show_default=True, help="--online: optimiser passes over each batch.")
@click.option("--init", default=None, metavar="CKPT", help="--online: start from these weights (same architecture).")
@click.option("--first-sample", type=click.IntRange(min=0), default=0, show_default=True,
              help="--online: index of the first model drawn (continue a run with fresh models).")
@click.option("--arch", default="compact", show_default=True, help="Architecture: compact (CPU-sized) or inversionnet.")
@click.option("--width", type=click.IntRange(min=1), default=None, help="Base channel count of the architecture.")
@click.option("--out", required=True, type=click.Path(), help="Checkpoint folder (model.safetensors + config.json).")
@training_options(TrainConfig(epochs=20, batch_size=16, lr=1e-3))
def command(data, online, samples, families, time_limit, gen_batch, reuse, init, first_sample, arch, width, out, epochs, batch_size,
            lr, val_fraction, max_samples, seed, device, resume, progress):
    """Task-agnostic pretraining on the --data folders (OpenFWI layout), or --online on data generated
    while training (every batch a fresh set of seeded models, half with a free surface, augmented
    the way reading real surveys degrades data)."""
    if online:
        if data:
            raise InputError("give either --data folders or --online, not both")
        cfg = OnlineConfig(out=out, families=tuple(families), samples=samples, batch_size=batch_size, lr=lr, arch=arch,
                           width=width or 32, seed=seed, time_limit_s=time_limit, device=device, resume=resume, gen_batch=gen_batch,
                           reuse=reuse, init=init, first_sample=first_sample)
        rec = pretrain_online(cfg, progress=progress)
        echo(f"best validation MAE {rec['best_val_mae']:.4f} after {rec['samples_generated']:,} generated samples; "
                   f"{rec['total_parameters']:,} parameters; {rec['wall_time_s']:.0f} s; checkpoint in {out}")
        return
    if not data:
        raise InputError("give --data folders (or --online)")
    kw = {"width": width} if width else {}
    cfg = PretrainConfig(data=list(data), out=out, arch=arch, arch_kwargs=kw, resume=resume,
                         train=train_config(epochs, batch_size, lr, val_fraction, max_samples, seed, device))
    rec = pretrain(cfg, progress=progress)
    echo(f"best validation MAE {rec['best_val_mae']:.4f}; {rec['trainable_parameters']:,} parameters; "
               f"{rec['wall_time_s']:.0f} s; peak memory {rec['peak_memory_mb']:.0f} MiB; checkpoint in {out}")
