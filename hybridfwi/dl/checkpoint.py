"""Model checkpoints: weights in safetensors, everything else in JSON. Nothing is ever unpickled.

A checkpoint is a folder::

    model.safetensors   the network's state dict (weights and BatchNorm statistics)
    config.json         architecture, its arguments (input/output shapes), normalisation,
                        acquisition geometry the network expects, training record
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import torch

from hybridfwi.dl.normalize import Normalizer
from hybridfwi.dl.registry import create_model
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_path, atomic_write_text

__all__ = ["ModelConfig", "save_checkpoint", "load_checkpoint", "DEFAULT_MODEL", "resolve_model_path", "weights_digest", "FORMAT"]

FORMAT = "hybridfwi-model/1"
#: The shipped foundation model, inside the package.
DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "foundation")


@dataclass
class ModelConfig:
    """What a checkpoint needs besides its weights.

    Attributes:
        arch: registered architecture name.
        arch_kwargs: its constructor arguments (``in_shape`` ``(shots, nt, receivers)``,
            ``out_shape`` ``(nz, nx)``, widths...).
        normalizer: data and velocity normalisation.
        geometry: the acquisition (Survey dict) the training data used; None if unknown.
        record: training record (data recipe, seeds, epochs, wall time, machine, metrics).
    """

    arch: str
    arch_kwargs: dict
    normalizer: Normalizer
    geometry: dict | None = None
    record: dict = field(default_factory=dict)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """The network's input ``(channels, nt, receivers)``: the shots, plus the top-boundary channel."""
        return tuple(self.arch_kwargs.get("in_shape", (5, 1000, 70)))

    @property
    def out_shape(self) -> tuple[int, int]:
        return tuple(self.arch_kwargs.get("out_shape", (70, 70)))

    def net_geometry(self):
        """The acquisition and grid the network was trained on (:class:`~hybridfwi.core.survey.Geometry`)."""
        from hybridfwi.core.survey import Geometry

        if self.geometry is None:
            raise InputError("the checkpoint does not record its training geometry; it cannot read a survey")
        return Geometry.from_dict(self.geometry)

    def build(self) -> torch.nn.Module:
        return create_model(self.arch, **self.arch_kwargs)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "arch": self.arch, "arch_kwargs": self.arch_kwargs,
                "normalizer": self.normalizer.to_dict(), "geometry": self.geometry, "record": self.record}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        if d.get("format") != FORMAT:
            raise InputError(f"not a hybridfwi model config (format {d.get('format')!r})")
        return cls(arch=d["arch"], arch_kwargs=d["arch_kwargs"], normalizer=Normalizer.from_dict(d["normalizer"]),
                   geometry=d.get("geometry"), record=d.get("record", {}))


def save_checkpoint(folder: str, model: torch.nn.Module, config: ModelConfig) -> None:
    """Write ``model.safetensors`` and ``config.json`` into ``folder`` (atomically, weights first)."""
    from safetensors.torch import save_file

    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(os.path.join(folder, "model.safetensors")) as tmp:
        save_file(state, tmp)
    atomic_write_text(os.path.join(folder, "config.json"), json.dumps(config.to_dict(), indent=2) + "\n")


def resolve_model_path(path: str | None) -> str:
    return DEFAULT_MODEL if path in (None, "", "default") else path


def weights_digest(folder: str | None = None) -> str:
    """SHA-256 (hex) of a checkpoint folder's ``model.safetensors`` (None/``default``: the shipped network):
    names the exact weights behind a result."""
    h = hashlib.sha256()
    with open(os.path.join(resolve_model_path(folder), "model.safetensors"), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_checkpoint(folder: str | None = None, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ModelConfig]:
    """Build the network of a checkpoint folder and load its weights (safetensors)."""
    from safetensors.torch import load_file

    folder = resolve_model_path(folder)
    cfg_path = os.path.join(folder, "config.json")
    w_path = os.path.join(folder, "model.safetensors")
    if not os.path.isdir(folder) or not os.path.exists(cfg_path) or not os.path.exists(w_path):
        raise InputError(f"{folder!r} is not a model checkpoint (needs config.json and model.safetensors)")
    try:
        with open(cfg_path, encoding="utf-8") as fh:
            cfg = ModelConfig.from_dict(json.load(fh))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"{cfg_path}: unreadable model config ({exc})") from None
    try:
        model = cfg.build()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{cfg_path}: the architecture arguments are invalid ({exc})") from None
    try:
        state = load_file(w_path, device="cpu")
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type for damaged files
        raise InputError(f"{w_path}: not a readable safetensors file ({str(exc).splitlines()[0][:120]}); "
                         f"the checkpoint is damaged or truncated") from None
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise InputError(f"{w_path}: weights hold NaN or infinite values ({bad[0]}); the checkpoint is damaged")
    try:
        model.load_state_dict(state)
    except (RuntimeError, OSError) as exc:
        raise InputError(f"{w_path}: weights do not match the {cfg.arch} architecture ({str(exc).splitlines()[0][:160]})") from None
    return model.to(device), cfg
