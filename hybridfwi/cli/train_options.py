"""Training options shared by ``pretrain`` and ``finetune``."""

from __future__ import annotations

import click

from hybridfwi.cli.options import finite
from hybridfwi.dl.train import TrainConfig

__all__ = ["training_options", "train_config"]


def training_options(defaults: TrainConfig):
    def deco(f):
        for opt in reversed([
            click.option("--epochs", type=click.IntRange(min=1), default=defaults.epochs, show_default=True,
                         help="Passes over the training split."),
            click.option("--batch-size", type=click.IntRange(min=1), default=defaults.batch_size, show_default=True),
            click.option("--lr", type=finite(positive=True), default=defaults.lr, show_default=True,
                         help="Peak AdamW learning rate (cosine schedule)."),
            click.option("--val-fraction", type=click.FloatRange(min=0.0, max=1.0, max_open=True), default=defaults.val_fraction,
                         show_default=True, help="Fixed validation split."),
            click.option("--max-samples", type=click.IntRange(min=1), default=None, help="Use a seeded subset of this many samples."),
            click.option("--seed", type=click.IntRange(min=0), default=defaults.seed, show_default=True),
            click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True),
            click.option("--resume", is_flag=True, help="Continue an interrupted run in --out."),
            click.option("--progress/--no-progress", default=True, show_default=True),
        ]):
            f = opt(f)
        return f

    return deco


def train_config(epochs, batch_size, lr, val_fraction, max_samples, seed, device) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=val_fraction, max_samples=max_samples,
                       seed=seed, device=device)
