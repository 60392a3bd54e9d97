"""``hybridfwi finetune``: adapt a foundation network to a new task (full or with peft adapters)."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import finite
from hybridfwi.cli.train_options import train_config, training_options
from hybridfwi.dl.finetune import METHODS, FinetuneConfig, finetune
from hybridfwi.dl.train import TrainConfig


@click.command("finetune")
@click.option("--base", default=None, metavar="CKPT", help="Base checkpoint [the shipped foundation model].")
@click.option("--data", multiple=True, required=True, type=click.Path(), help="Fine-tuning dataset folder(s).")
@click.option("--method", type=click.Choice(METHODS), default="lora", show_default=True)
@click.option("--rank", type=click.IntRange(min=1), default=1, show_default=True, help="Adapter rank (lora, dora, loha, lokr).")
@click.option("--alpha", type=finite(positive=True), default=None, help="Adapter scaling alpha [2 x rank].")
@click.option("--modules", multiple=True, help="Only adapt layers whose names contain this (repeatable).")
@click.option("--out", required=True, type=click.Path(), help="Adapter folder (peft save_pretrained) or checkpoint (full).")
@training_options(TrainConfig(epochs=10, batch_size=16, lr=2e-3))
def command(base, data, method, rank, alpha, modules, out, epochs, batch_size, lr, val_fraction, max_samples, seed, device,
            resume, progress):
    """Fine-tune BASE on --data; PEFT methods train well under 1% of the parameters."""
    cfg = FinetuneConfig(data=list(data), out=out, base=base, method=method, rank=rank, alpha=alpha, modules=list(modules),
                         resume=resume, train=train_config(epochs, batch_size, lr, val_fraction, max_samples, seed, device))
    rec = finetune(cfg, progress=progress)
    echo(f"{method}: best validation MAE {rec['best_val_mae']:.4f}; trainable {rec['trainable_parameters']:,} "
               f"({rec['trainable_percent']:.3f}%); {rec['wall_time_s']:.0f} s; peak memory {rec['peak_memory_mb']:.0f} MiB; saved to {out}")
