"""Task-agnostic pretraining of a foundation network on a mixture of dataset folders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from hybridfwi.dl.checkpoint import ModelConfig, save_checkpoint
from hybridfwi.dl.normalize import Normalizer
from hybridfwi.dl.registry import create_model
from hybridfwi.dl.train import TrainConfig, fit
from hybridfwi.errors import InputError
from hybridfwi.synth.datasets import ShotDataset

__all__ = ["PretrainConfig", "pretrain"]


@dataclass
class PretrainConfig:
    """Attributes: data folders, output checkpoint folder, architecture and its options, training options."""

    data: list[str]
    out: str
    arch: str = "compact"
    arch_kwargs: dict = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    resume: bool = False


def _check_out(out: str, resume: bool) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder for the checkpoint")
    if os.path.isdir(out) and os.listdir(out) and not resume:
        raise InputError(f"--out {out!r} is not empty; add --resume to continue training there, or choose another --out")


def pretrain(cfg: PretrainConfig, progress: bool = True) -> dict:
    """Train a network from scratch on every sample of ``cfg.data``; write the best checkpoint."""
    _check_out(cfg.out, cfg.resume)
    cfg.train.validate()
    ds = ShotDataset(cfg.data)
    data_shape = ds.arrays(0)[0].shape
    model_shape = ds.arrays(0)[1].shape[1:]
    kwargs = {"in_shape": list(data_shape), "out_shape": list(model_shape), **cfg.arch_kwargs}
    torch.manual_seed(cfg.train.seed)
    model = create_model(cfg.arch, **kwargs)
    norm = Normalizer.fit(ds, seed=cfg.train.seed)
    geometry = next((s.to_dict() for s in ds.surveys if s is not None), None)
    families = sorted({ds.family(i) for i in range(len(ds))} - {""})
    from hybridfwi.synth.datasets import read_manifest

    manifests = [read_manifest(d) for d in cfg.data]
    recipe = {"families": families, "samples": len(ds),
              "datasets": [({k: v for k, v in m["config"].items() if k != "geometry"} if m else {"folder": os.path.basename(os.path.abspath(d))})
                           for m, d in zip(manifests, cfg.data)]}
    mcfg = ModelConfig(arch=cfg.arch, arch_kwargs=kwargs, normalizer=norm, geometry=geometry, record={"data_recipe": recipe})
    os.makedirs(cfg.out, exist_ok=True)

    def save_best(m, info):
        mcfg.record.update(info)
        save_checkpoint(cfg.out, m, mcfg)

    record = fit(model, ds, norm, tuple(kwargs["in_shape"]), cfg.train, cfg.out, save_best, progress=progress, resume=cfg.resume)
    mcfg.record.update({"data_recipe": recipe, "training": record})
    # rewrite the config with the full record (weights stay those of the best epoch)
    from hybridfwi.dl.checkpoint import load_checkpoint

    best, _ = load_checkpoint(cfg.out)
    save_checkpoint(cfg.out, best, mcfg)
    return record
