"""Adapting the foundation network to one survey: synthetic data in its geometry, LoRA, cached.

:func:`adapt_to_survey` generates a training set **in the survey's own geometry** (grid,
sources, receivers, time sampling, top boundary and source wavelet) from the synthetic families
(with the survey's water layer on top for marine data), reads every sample into the network's
frame exactly as the survey itself will be read (:mod:`hybridfwi.dl.mapping`), fine-tunes the
network with LoRA on it, and caches the adapter under a hash of everything that went into it, so
a second inversion of the same survey (or of one with the same geometry) reuses it. Every stage
resumes after an interruption (generation by chunks, training by epochs).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.survey import Survey
from hybridfwi.dl.mapping import network_frame, to_network
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_save_npy, atomic_write_text

__all__ = ["AdaptConfig", "adapt_to_survey", "cache_root", "MARINE_FAMILIES", "LAND_FAMILIES"]

#: Families used for marine surveys (the water layer is imposed on all of them).
MARINE_FAMILIES = ("marine", "flatvel-b", "curvevel-b", "flatfault-b", "curvefault-b")
#: Families used for land surveys.
LAND_FAMILIES = ("flatvel-b", "curvevel-b", "flatfault-b", "curvefault-b", "style-b", "gradient")


def cache_root() -> str:
    """``$HYBRIDFWI_CACHE``, else ``$XDG_CACHE_HOME/hybridfwi``, else ``~/.cache/hybridfwi``."""
    if os.environ.get("HYBRIDFWI_CACHE"):
        return os.environ["HYBRIDFWI_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hybridfwi")


@dataclass
class AdaptConfig:
    """Attributes: families, samples per family, dataset seed, LoRA rank, epochs, learning rate,
    water layer ``(velocity, seabed depth)`` or None, cache folder (None: :func:`cache_root`),
    device, progress bars."""

    families: tuple = LAND_FAMILIES
    count: int = 32
    seed: int = 0
    rank: int = 1
    epochs: int = 10
    lr: float = 2e-3
    water: tuple | None = None
    cache: str | None = None
    device: str = "auto"
    progress: bool = True
    extra: dict = field(default_factory=dict)


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(survey: Survey, base_path: str, cfg: AdaptConfig) -> str:
    ident = {
        "version": 1,
        "geometry": survey.to_dict() | {"name": ""},
        "families": list(cfg.families), "count": cfg.count, "seed": cfg.seed, "rank": cfg.rank, "epochs": cfg.epochs,
        "lr": cfg.lr, "water": None if cfg.water is None else [round(float(v), 3) for v in cfg.water],
        "base": _file_digest(os.path.join(base_path, "model.safetensors")),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def _model_to_network(model: np.ndarray, survey: Survey, net: Survey, frame) -> np.ndarray:
    """A survey-grid model read at the network's grid points (clamped at the survey grid's edges)."""
    from scipy.interpolate import RegularGridInterpolator

    g, ng = survey.grid, net.grid
    nlo = float(min(net.source_x.min(), net.receiver_x.min()))
    zq = np.clip(ng.z * frame.scale, g.z[0], g.z[-1])
    xq = np.clip(frame.x_lo + (ng.x - nlo) * frame.scale, g.x[0], g.x[-1])
    zz, xx = np.meshgrid(zq, xq, indexing="ij")
    f = RegularGridInterpolator((g.z, g.x), np.asarray(model, np.float64), method="linear")
    return f(np.stack([zz, xx], axis=-1)).astype(np.float32)


def _map_dataset(src: str, dst: str, survey: Survey, net: Survey) -> None:
    """Every sample of ``src`` read into the network's frame, written as a dataset folder ``dst``."""
    from hybridfwi.core.model import ShotRecord
    from hybridfwi.synth.datasets import FORMAT, MANIFEST, read_manifest

    if read_manifest(dst) and read_manifest(dst).get("complete"):
        return
    manifest = read_manifest(src)
    frame = network_frame(survey, net)
    os.makedirs(dst, exist_ok=True)
    shards = []
    for sh in manifest["shards"]:
        d = np.load(os.path.join(src, sh["data"]), mmap_mode="r")
        m = np.load(os.path.join(src, sh["model"]), mmap_mode="r")
        xd = np.stack([to_network(ShotRecord(np.asarray(d[i]), survey), net, frame) for i in range(d.shape[0])])
        xm = np.stack([_model_to_network(m[i, 0], survey, net, frame)[None] for i in range(m.shape[0])])
        atomic_save_npy(os.path.join(dst, sh["data"]), xd)
        atomic_save_npy(os.path.join(dst, sh["model"]), xm)
        shards.append({**sh})
    out = {"format": FORMAT, "config": {"geometry": net.to_dict(), "mapped_from": manifest["config"]},
           "shards": shards, "total": manifest["total"], "complete": True}
    atomic_write_text(os.path.join(dst, MANIFEST), json.dumps(out, indent=2) + "\n")


def adapt_to_survey(survey: Survey, base: str | None, cfg: AdaptConfig) -> tuple[str, dict]:
    """Fine-tune ``base`` (None: the shipped model) for ``survey``; return ``(adapter folder, info)``.

    The adapter is reused when the cache already holds one for the same geometry, wavelet,
    recipe and base weights.
    """
    import time

    from hybridfwi.dl.checkpoint import load_checkpoint, resolve_model_path
    from hybridfwi.dl.finetune import ADAPTER_META, FinetuneConfig, finetune
    from hybridfwi.dl.train import TrainConfig
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.datasets import GenerateConfig, generate_dataset, read_manifest

    base_path = resolve_model_path(base)
    _, mcfg = load_checkpoint(base_path)
    if mcfg.geometry is None:
        raise InputError(f"{base_path}: the checkpoint does not record its training geometry; it cannot be adapted to a survey")
    net = Survey.from_dict(mcfg.geometry)
    key = _key(survey, base_path, cfg)
    folder = os.path.join(cfg.cache or cache_root(), "adapters", key)
    adapter = os.path.join(folder, "adapter")
    info = {"cache": folder, "key": key, "families": list(cfg.families), "samples": cfg.count * len(cfg.families),
            "rank": cfg.rank, "epochs": cfg.epochs, "water": cfg.water}
    done_marker = os.path.join(folder, "complete.json")
    if os.path.exists(done_marker):
        with open(done_marker, encoding="utf-8") as fh:
            info |= json.load(fh) | {"reused": True}
        return adapter, info
    os.makedirs(folder, exist_ok=True)
    t0 = time.perf_counter()
    raw = os.path.join(folder, "data_survey")
    fwd = ForwardConfig(max_vel=4500.0, dispersion="warn", device=cfg.device)
    gen = GenerateConfig(families=list(cfg.families), count=cfg.count, out=raw, survey=survey, seed=cfg.seed,
                         forward=fwd, batch=4, water=cfg.water)
    m = read_manifest(raw)
    if not (m and m.get("complete")):
        generate_dataset(gen, progress=cfg.progress)
    t_gen = time.perf_counter() - t0
    mapped = os.path.join(folder, "data_network")
    _map_dataset(raw, mapped, survey, net)
    t_map = time.perf_counter() - t0 - t_gen
    train = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, batch_size=16, val_fraction=0.125, device=cfg.device)
    resume = os.path.isdir(adapter) and bool(os.listdir(adapter))
    rec = finetune(FinetuneConfig(data=[mapped], out=adapter, base=base_path, method="lora", rank=cfg.rank, train=train,
                                  resume=resume), progress=cfg.progress)
    if not os.path.exists(os.path.join(adapter, ADAPTER_META)):
        raise RuntimeError("fine-tuning finished without writing an adapter")
    summary = {"timings_s": {"generate": t_gen, "map": t_map, "finetune": time.perf_counter() - t0 - t_gen - t_map},
               "trainable_percent": rec.get("trainable_percent"), "best_val_mae": rec.get("best_val_mae"),
               "frame": network_frame(survey, net).to_dict()}
    atomic_write_text(done_marker, json.dumps(summary, indent=2, default=str) + "\n")
    return adapter, info | summary | {"reused": False}
