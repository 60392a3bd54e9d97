"""One synthetic survey: a model, its shot gathers as SEG-Y, and the true model beside them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.core.survey import Survey
from hybridfwi.errors import InputError
from hybridfwi.io.arrays import load_model_file
from hybridfwi.io.atomic import atomic_save_npy
from hybridfwi.physics.forward import ForwardConfig, forward_model
from hybridfwi.synth.families import FAMILIES, make_model

__all__ = ["SynthConfig", "SynthResult", "resolve_model", "add_noise", "synthesize", "model_paths"]


@dataclass
class SynthConfig:
    """What ``hybridfwi synth`` makes.

    Attributes:
        model: ``FAMILY``, ``FAMILY:INDEX`` or the path of a ``.npy`` velocity model (m/s,
            ``(nz, nx)`` matching the geometry's grid).
        survey: the acquisition.
        out: output ``.segy`` path.
        seed: family seed (for ``FAMILY[:INDEX]``).
        snr_db: add white Gaussian noise at this signal-to-noise ratio (dB, over the whole
            record); ``None`` for clean data.
        noise_seed: seed of the noise.
        forward: modelling options (``refine`` > 1 and ``accuracy`` 8 model more accurately
            than an inversion at accuracy 4 on the survey grid, avoiding the inverse crime).
    """

    model: str
    survey: Survey
    out: str
    seed: int = 0
    snr_db: float | None = None
    noise_seed: int = 0
    forward: ForwardConfig = field(default_factory=ForwardConfig)


@dataclass
class SynthResult:
    """Paths written and the record modelled."""

    segy: str
    sidecar: str
    model_npy: str
    model_segy: str
    record: ShotRecord
    model: VelocityModel


def model_paths(out: str) -> tuple[str, str]:
    """``survey.segy`` -> (``survey.model.npy``, ``survey.model.segy``)."""
    stem = os.path.splitext(out)[0]
    return stem + ".model.npy", stem + ".model.segy"


def resolve_model(spec: str, survey: Survey, seed: int = 0) -> np.ndarray:
    """``FAMILY[:INDEX]``, ``MODEL.npy`` or ``MODEL.segy`` -> float32 ``(nz, nx)`` velocities (m/s) on the survey grid."""
    g = survey.grid
    if spec.lower().endswith((".npy", ".segy", ".sgy")) or os.path.sep in spec:
        return load_model_file(spec, g, "model")
    name, _, index = spec.partition(":")
    if name not in FAMILIES:
        raise InputError(f"--model {spec!r} is neither a .npy file nor a family; known families: {', '.join(FAMILIES)}")
    try:
        i = int(index) if index else 0
    except ValueError:
        raise InputError(f"--model {spec!r}: the index after ':' must be an integer") from None
    return make_model(name, seed, i, g.nz, g.nx)


def add_noise(data: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` = 10 log10(signal power / noise power) over the record."""
    power = float(np.mean(np.asarray(data, dtype=np.float64) ** 2))
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    rng = np.random.default_rng(seed)
    return (data + rng.standard_normal(data.shape) * sigma).astype(np.float32)


def synthesize(cfg: SynthConfig) -> SynthResult:
    """Model a survey and write ``out`` (SEG-Y), its sidecar, and the true model (``.npy`` + SEG-Y)."""
    from hybridfwi.io.segy import sidecar_path, write_model_segy, write_shots

    if not cfg.out.lower().endswith((".segy", ".sgy")):
        raise InputError(f"--out {cfg.out!r} must end in .segy or .sgy")
    if os.path.isdir(cfg.out):
        raise InputError(f"--out {cfg.out!r} is a folder; give a file path ending in .segy")
    folder = os.path.dirname(os.path.abspath(cfg.out))
    if not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
    cfg.survey.validate()
    v = resolve_model(cfg.model, cfg.survey, cfg.seed)
    data = forward_model(v, cfg.survey, cfg.forward)
    if cfg.snr_db is not None:
        data = add_noise(data, cfg.snr_db, cfg.noise_seed)
    record = ShotRecord(data=data, survey=cfg.survey)
    model = VelocityModel(values=v, grid=cfg.survey.grid)
    note = f"model {cfg.model} seed {cfg.seed}; accuracy {cfg.forward.accuracy} refine {cfg.forward.refine}"
    if cfg.snr_db is not None:
        note += f"; noise {cfg.snr_db:g} dB"
    npy, msegy = model_paths(cfg.out)
    # the true model first: the survey file appears last, when everything beside it is there
    atomic_save_npy(npy, v)
    write_model_segy(msegy, model, note=f"true model {cfg.model} seed {cfg.seed}")
    write_shots(cfg.out, record, note=note)
    return SynthResult(segy=cfg.out, sidecar=sidecar_path(cfg.out), model_npy=npy, model_segy=msegy, record=record, model=model)
