"""Fine-tuning a foundation network: fully, or parameter-efficiently with peft (the only importer of peft).

Methods: ``full`` (every weight), ``lora``, ``dora`` (LoRA with weight decomposition), ``loha``,
``lokr`` and ``ia3``. Adapters target every Conv2d and Linear layer by default (``target_modules``
lists them explicitly, by name), are trained with the base weights and BatchNorm statistics
frozen, and are saved with peft's own ``save_pretrained`` next to a ``hybridfwi_adapter.json``
that names the base checkpoint; ``full`` writes a complete checkpoint instead.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field

import torch

from hybridfwi import dist
from hybridfwi.dl.checkpoint import ModelConfig, load_checkpoint, resolve_model_path, save_checkpoint
from hybridfwi.dl.train import TrainConfig, fit
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_write_text
from hybridfwi.synth import seeds
from hybridfwi.synth.datasets import ShotDataset

__all__ = ["METHODS", "FinetuneConfig", "finetune", "adapt", "load_model", "target_modules", "ADAPTER_META", "save_adapter"]

METHODS = ("full", "lora", "dora", "loha", "lokr", "ia3")
ADAPTER_META = "hybridfwi_adapter.json"
log = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    """Attributes: base checkpoint (None = shipped), data folders, output folder, method, rank,
    alpha, the module-name filter (substrings; empty = every Conv2d/Linear), training options."""

    data: list[str]
    out: str
    base: str | None = None
    method: str = "lora"
    rank: int = 4
    alpha: float | None = None
    modules: list[str] = field(default_factory=list)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=2e-3))
    resume: bool = False
    frame: object = None  # read the data through this NetworkFrame (survey adaptation)


def target_modules(model: torch.nn.Module, filters: list[str] | None = None) -> list[str]:
    """Names of the Conv2d and Linear layers (optionally only those containing a filter substring)."""
    names = [n for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    if filters:
        names = [n for n in names if any(f in n for f in filters)]
    if not names:
        raise InputError(f"no Conv2d/Linear layer matches --modules {filters}")
    return names


def adapt(model: torch.nn.Module, method: str, rank: int = 4, alpha: float | None = None, modules: list[str] | None = None):
    """Wrap ``model`` for fine-tuning with ``method``; returns the (peft) model."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise InputError(f"--rank must be an integer >= 1, got {rank!r}")
    import peft

    targets = target_modules(model, modules)
    alpha = float(alpha if alpha is not None else 2 * rank)
    if method in ("lora", "dora"):
        config = peft.LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, use_dora=(method == "dora"), lora_dropout=0.0)
    elif method == "loha":
        config = peft.LoHaConfig(r=rank, alpha=alpha, target_modules=targets)
    elif method == "lokr":
        config = peft.LoKrConfig(r=rank, alpha=alpha, target_modules=targets)
    else:
        config = peft.IA3Config(target_modules=targets, feedforward_modules=[])
    return peft.get_peft_model(model, config)


def load_model(spec: str | None, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ModelConfig]:
    """``CKPT``, ``CKPT+ADAPTER`` or an adapter folder alone (its base is read from its metadata);
    None/``default`` = the shipped foundation model."""
    base, _, adapter = (spec or "").partition("+")
    if not adapter and base and os.path.exists(os.path.join(base, ADAPTER_META)):
        base, adapter = "", base
    if adapter:
        meta_path = os.path.join(adapter, ADAPTER_META)
        if not os.path.exists(meta_path):
            raise InputError(f"{adapter!r} is not a hybridfwi adapter folder (no {ADAPTER_META})")
        try:
            with open(meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{meta_path}: unreadable adapter metadata ({exc})") from None
        model, cfg = load_checkpoint(base or meta.get("base"), device="cpu")
        import peft

        try:
            model = peft.PeftModel.from_pretrained(model, adapter)
        except Exception as exc:  # noqa: BLE001 - peft/safetensors raise their own types for damaged files
            raise InputError(f"{adapter!r}: the adapter cannot be loaded ({str(exc).splitlines()[0][:160]}); it is damaged or "
                             f"belongs to another base network") from None
        cfg.record = {**cfg.record, "adapter": meta}
        return model.to(device).eval(), cfg
    model, cfg = load_checkpoint(base or None, device=device)
    return model.eval(), cfg


def finetune(cfg: FinetuneConfig, progress: bool = True) -> dict:
    """Fine-tune the base on ``cfg.data``; write an adapter (or a full checkpoint) to ``cfg.out``."""
    from hybridfwi.io.atomic import check_parent

    check_parent(cfg.out)
    if os.path.exists(cfg.out) and not os.path.isdir(cfg.out):
        raise InputError(f"--out {cfg.out!r} is a file; give a folder")
    if os.path.isdir(cfg.out) and os.listdir(cfg.out) and not cfg.resume:
        raise InputError(f"--out {cfg.out!r} is not empty; add --resume to continue, or choose another --out")
    if cfg.method not in METHODS:
        raise InputError(f"unknown method {cfg.method!r}; use one of {', '.join(METHODS)}")
    cfg.train.validate()
    if cfg.method != "full" and (isinstance(cfg.rank, bool) or not isinstance(cfg.rank, int) or cfg.rank < 1):
        raise InputError(f"--rank must be an integer >= 1, got {cfg.rank!r}")
    base_path = resolve_model_path(cfg.base)
    model, mcfg = load_checkpoint(base_path)
    ds = ShotDataset(cfg.data)
    for m, d in zip(ds.manifests, cfg.data):
        seeds.check_training_dataset(m, d, "fine-tuning")
    from hybridfwi.dl.predict import check_true_models

    check_true_models(ds, "fine-tuning")
    from hybridfwi.dl.data import NetworkPairs

    pairs = NetworkPairs(ds, mcfg.net_geometry(), mcfg.out_shape, frame=cfg.frame)
    torch.manual_seed(cfg.train.seed)
    model = adapt(model, cfg.method, cfg.rank, cfg.alpha, cfg.modules)
    os.makedirs(cfg.out, exist_ok=True)
    meta = {"base": os.path.abspath(base_path), "method": cfg.method, "rank": cfg.rank, "alpha": cfg.alpha,
            "frame": None if cfg.frame is None else cfg.frame.to_dict(),
            "data": [os.path.abspath(d) for d in cfg.data]}

    def save_best(m, info):
        if cfg.method == "full":
            save_checkpoint(cfg.out, m, ModelConfig(**{**mcfg.__dict__, "record": {**mcfg.record, "finetune": {**meta, **info}}}))
        else:
            save_adapter(m, cfg.out, {**meta, **info})

    record = fit(model, pairs, mcfg.normalizer, cfg.train, cfg.out, save_best,
                 freeze_batchnorm=cfg.method != "full", progress=progress, resume=cfg.resume)
    record["method"] = cfg.method
    if dist.is_main():
        if cfg.method != "full":
            with open(os.path.join(cfg.out, ADAPTER_META), encoding="utf-8") as fh:
                meta_final = {**json.load(fh), "training": record}
            atomic_write_text(os.path.join(cfg.out, ADAPTER_META), json.dumps(meta_final, indent=2) + "\n")
        atomic_write_text(os.path.join(cfg.out, "finetune_record.json"), json.dumps({**meta, "training": record}, indent=2) + "\n")
    return record


def save_adapter(model, out: str, meta: dict) -> None:
    """peft's ``save_pretrained`` into a temporary folder, each file moved into ``out`` atomically,
    the hybridfwi metadata last (a folder without it is not an adapter)."""
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".adapter-", dir=out)
    try:
        model.save_pretrained(tmp)
        for name in os.listdir(tmp):
            os.replace(os.path.join(tmp, name), os.path.join(out, name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_text(os.path.join(out, ADAPTER_META), json.dumps(meta, indent=2) + "\n")
