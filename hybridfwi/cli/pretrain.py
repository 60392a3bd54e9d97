"""``hybridfwi pretrain``: train a foundation network on a mixture of datasets."""

from __future__ import annotations

import click

from hybridfwi.cli.train_options import train_config, training_options
from hybridfwi.dl.pretrain import PretrainConfig, pretrain
from hybridfwi.dl.train import TrainConfig


@click.command("pretrain")
@click.option("--data", multiple=True, required=True, type=click.Path(), help="Dataset folder (repeat for a mixture).")
@click.option("--arch", default="compact", show_default=True, help="Architecture: compact (CPU-sized) or inversionnet.")
@click.option("--width", type=int, default=None, help="Base channel count of the architecture.")
@click.option("--out", required=True, type=click.Path(), help="Checkpoint folder (model.safetensors + config.json).")
@training_options(TrainConfig(epochs=20, batch_size=16, lr=1e-3))
def command(data, arch, width, out, epochs, batch_size, lr, val_fraction, max_samples, seed, device, resume, progress):
    """Task-agnostic pretraining on every sample of the --data folders (OpenFWI layout)."""
    kw = {"width": width} if width else {}
    cfg = PretrainConfig(data=list(data), out=out, arch=arch, arch_kwargs=kw, resume=resume,
                         train=train_config(epochs, batch_size, lr, val_fraction, max_samples, seed, device))
    rec = pretrain(cfg, progress=progress)
    click.echo(f"best validation MAE {rec['best_val_mae']:.4f}; {rec['trainable_parameters']:,} parameters; "
               f"{rec['wall_time_s']:.0f} s; peak memory {rec['peak_memory_mb']:.0f} MiB; checkpoint in {out}")
