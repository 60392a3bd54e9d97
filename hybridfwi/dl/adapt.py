"""Adapting the foundation network to one survey: synthetic data in its geometry, LoRA, cached.

:func:`adapt_to_survey` generates a training set **in the survey's own geometry** (grid, sources,
receivers, time sampling, top boundary and source wavelet) from the synthetic families (with the
survey's water layer on top for marine data), reads every sample into the network's frame exactly
as the survey itself is read (the same :class:`~hybridfwi.dl.frame.NetworkFrame`), fine-tunes the
network with LoRA on it, and caches the adapter under a hash of everything that went into it. Its
models come from the adaptation seed range (:mod:`hybridfwi.synth.seeds`), so no benchmark or
example model can be among them. Generation resumes by chunks and training by epochs; once the
adapter is complete the synthetic data are deleted, so the cache keeps only the adapter.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field

from hybridfwi import dist
from hybridfwi.core.grid import Grid
from hybridfwi.core.survey import Geometry, Survey
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_write_text

__all__ = ["AdaptConfig", "adapt_to_survey", "cache_root", "MARINE_FAMILIES", "LAND_FAMILIES", "cache_entries", "clear_cache"]

#: Families used for marine surveys (the water layer is imposed on all of them).
MARINE_FAMILIES = ("basin-marine", "flatvel-b", "curvevel-b", "flatfault-b", "curvefault-b")
#: Families used for land surveys.
LAND_FAMILIES = ("basin-land", "flatvel-b", "curvevel-b", "flatfault-b", "curvefault-b", "style-b")


def cache_root() -> str:
    """``$HYBRIDFWI_CACHE``, else ``$XDG_CACHE_HOME/hybridfwi``, else ``~/.cache/hybridfwi``."""
    if os.environ.get("HYBRIDFWI_CACHE"):
        return os.environ["HYBRIDFWI_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hybridfwi")


@dataclass
class AdaptConfig:
    """Attributes: families, samples per family, LoRA rank, epochs, learning rate, water layer
    ``(velocity, seabed depth)`` or None, cache folder (None: :func:`cache_root`), device, progress bars."""

    families: tuple = LAND_FAMILIES
    count: int = 32
    rank: int = 1
    epochs: int = 10
    lr: float = 2e-3
    water: tuple | None = None
    cache: str | None = None
    device: str = "auto"
    progress: bool = True
    extra: dict = field(default_factory=dict)


def _key(grid: Grid, survey: Survey, frame, base_path: str, cfg: AdaptConfig) -> str:
    from hybridfwi.dl.checkpoint import weights_digest

    ident = {
        "version": 2,
        "grid": grid.to_dict(),
        "geometry": survey.to_dict() | {"name": ""},
        "frame": {k: v for k, v in frame.to_dict().items() if k not in ("coverage", "warnings")},
        "families": list(cfg.families), "count": cfg.count, "rank": cfg.rank, "epochs": cfg.epochs,
        "lr": cfg.lr, "water": None if cfg.water is None else [round(float(v), 3) for v in cfg.water],
        "base": weights_digest(base_path),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def adapt_to_survey(grid: Grid, survey: Survey, frame, base: str | None, cfg: AdaptConfig) -> tuple[str, dict]:
    """Fine-tune ``base`` (None: the shipped model) for a survey; return ``(adapter folder, info)``.

    Args:
        grid, survey: the problem's grid and acquisition (its wavelet is the one the data are modelled with).
        frame: the network frame the survey is predicted in (the adaptation data are read through it).
        base: base checkpoint.
        cfg: the recipe.

    The adapter is reused when the cache already holds one for the same geometry, wavelet, frame,
    recipe and base weights.
    """
    import time

    from hybridfwi.dl.checkpoint import load_checkpoint, resolve_model_path
    from hybridfwi.dl.finetune import ADAPTER_META, FinetuneConfig, finetune
    from hybridfwi.dl.train import TrainConfig
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.datasets import GenerateConfig, generate_dataset, read_manifest
    from hybridfwi.synth.families import get_family
    from hybridfwi.synth.seeds import adaptation_seed

    base_path = resolve_model_path(base)
    _, mcfg = load_checkpoint(base_path)
    mcfg.net_geometry()
    key = _key(grid, survey, frame, base_path, cfg)
    folder = os.path.join(cfg.cache or cache_root(), "adapters", key)
    adapter = os.path.join(folder, "adapter")
    seed = adaptation_seed(key)
    info = {"cache": folder, "key": key, "families": list(cfg.families), "samples": cfg.count * len(cfg.families),
            "seed": seed, "rank": cfg.rank, "epochs": cfg.epochs, "water": cfg.water}
    done_marker = os.path.join(folder, "complete.json")
    if os.path.exists(done_marker):
        try:
            with open(done_marker, encoding="utf-8") as fh:
                info |= json.load(fh) | {"reused": True}
            return adapter, info
        except (OSError, json.JSONDecodeError):
            os.remove(done_marker)  # damaged: adapt again
    os.makedirs(folder, exist_ok=True)
    t0 = time.perf_counter()
    raw = os.path.join(folder, "data_survey")
    vmax = max(get_family(f).vmax for f in cfg.families)
    fwd = ForwardConfig(max_vel=vmax, dispersion="warn", device=cfg.device)
    gen = GenerateConfig(families=list(cfg.families), count=cfg.count, out=raw, geometry=Geometry(grid, survey), seed=seed,
                         purpose="adaptation", forward=fwd, batch=4, water=cfg.water)
    m = read_manifest(raw)
    if not (m and m.get("complete")):
        generate_dataset(gen, progress=cfg.progress)
    t_gen = time.perf_counter() - t0
    train = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, batch_size=16, val_fraction=0.125, device=cfg.device)
    resume = os.path.isdir(adapter) and bool(os.listdir(adapter))
    rec = finetune(FinetuneConfig(data=[raw], out=adapter, base=base_path, method="lora", rank=cfg.rank, train=train,
                                  resume=resume, frame=frame), progress=cfg.progress)
    if not os.path.exists(os.path.join(adapter, ADAPTER_META)):
        raise RuntimeError("fine-tuning finished without writing an adapter")
    summary = {"timings_s": {"generate": t_gen, "finetune": time.perf_counter() - t0 - t_gen},
               "trainable_percent": rec.get("trainable_percent"), "best_val_mae": rec.get("best_val_mae"),
               "frame": frame.to_dict()}
    if dist.is_main():  # under torchrun every rank gets here; one marks and tidies (others would race on the removals)
        atomic_write_text(done_marker, json.dumps(summary, indent=2, default=str) + "\n")
        # the adapter is complete: the synthetic data and the training state are no longer needed
        shutil.rmtree(raw, ignore_errors=True)
        for leftover in ("train_state.pt",):
            p = os.path.join(adapter, leftover)
            if os.path.exists(p):
                os.remove(p)
    dist.barrier()
    return adapter, info | summary | {"reused": False}


def _size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def cache_entries(cache: str | None = None) -> list[dict]:
    """Every cached adapter: key, folder, size in bytes, complete or not, last modified (s since epoch)."""
    root = os.path.join(cache or cache_root(), "adapters")
    if not os.path.isdir(root):
        return []
    out = []
    for key in sorted(os.listdir(root)):
        path = os.path.join(root, key)
        if os.path.isdir(path):
            out.append({"key": key, "folder": path, "bytes": _size(path),
                        "complete": os.path.exists(os.path.join(path, "complete.json")),
                        "modified": os.path.getmtime(path)})
    return out


def clear_cache(cache: str | None = None, keys: list[str] | None = None, incomplete_only: bool = False) -> list[str]:
    """Delete cached adapters (all, the given keys, or only unfinished ones); return the keys deleted."""
    entries = cache_entries(cache)
    if keys:  # every key checked before anything is deleted
        missing = sorted(set(keys) - {e["key"] for e in entries})
        if missing:
            raise InputError(f"no cached adapter {', '.join(missing)} in {cache or cache_root()}; `hybridfwi cache list` shows them")
    gone = []
    for e in entries:
        if keys and e["key"] not in keys:
            continue
        if incomplete_only and e["complete"]:
            continue
        shutil.rmtree(e["folder"])
        gone.append(e["key"])
    return gone
