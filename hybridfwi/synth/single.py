"""One synthetic survey: a model, its shot gathers as SEG-Y, and the true model beside them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.core.survey import Geometry
from hybridfwi.errors import InputError
from hybridfwi.io.arrays import load_model_file
from hybridfwi.io.atomic import atomic_save_npy, check_parent
from hybridfwi.physics.forward import ForwardConfig, forward_model
from hybridfwi.synth.families import FAMILIES, make_model

__all__ = ["SynthConfig", "SynthResult", "resolve_model", "add_noise", "synthesize", "model_paths", "SNR_RANGE"]

#: Signal-to-noise ratios (dB) that make sense for synthetic data.
SNR_RANGE = (-20.0, 200.0)


@dataclass
class SynthConfig:
    """What ``hybridfwi synth`` makes.

    Attributes:
        model: ``FAMILY``, ``FAMILY:INDEX``, or the path of a ``.npy``/``.segy`` velocity model (m/s,
            ``(nz, nx)`` matching the geometry's grid).
        geometry: grid and acquisition.
        out: output ``.segy`` path.
        seed: family seed (for ``FAMILY[:INDEX]``).
        snr_db: add white Gaussian noise at this signal-to-noise ratio (dB, over the whole
            record); ``None`` for clean data.
        noise_seed: seed of the noise.
        forward: modelling options (``refine`` > 1 and ``accuracy`` 8 model more accurately
            than an inversion at accuracy 4 on the same grid, avoiding the inverse crime).
        overwrite: replace an existing ``out`` (and its sidecar and model files).
    """

    model: str
    geometry: Geometry
    out: str
    seed: int = 0
    snr_db: float | None = None
    noise_seed: int = 0
    forward: ForwardConfig = field(default_factory=ForwardConfig)
    overwrite: bool = False


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


def resolve_model(spec: str, geometry: Geometry, seed: int = 0) -> np.ndarray:
    """``FAMILY[:INDEX]``, ``MODEL.npy`` or ``MODEL.segy`` -> float32 ``(nz, nx)`` velocities (m/s) on the geometry's grid."""
    g = geometry.grid
    if spec.lower().endswith((".npy", ".segy", ".sgy")) or os.path.sep in spec:
        return load_model_file(spec, g, "model")
    name, _, index = spec.partition(":")
    if name not in FAMILIES:
        raise InputError(f"--model {spec!r} is neither a .npy file nor a family; known families: {', '.join(FAMILIES)}")
    try:
        i = int(index) if index else 0
    except ValueError:
        raise InputError(f"--model {spec!r}: the index after ':' must be an integer") from None
    if i < 0:
        raise InputError(f"--model {spec!r}: the index after ':' must be >= 0")
    return make_model(name, seed, i, g.nz, g.nx)


def add_noise(data: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` = 10 log10(signal power / noise power) over the record."""
    if not (np.isfinite(snr_db) and SNR_RANGE[0] <= snr_db <= SNR_RANGE[1]):
        raise InputError(f"--snr {snr_db!r} dB is outside {SNR_RANGE[0]:g}..{SNR_RANGE[1]:g} dB")
    power = float(np.mean(np.asarray(data, dtype=np.float64) ** 2))
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    rng = np.random.default_rng(seed)
    return (data + rng.standard_normal(data.shape) * sigma).astype(np.float32)


def synthesize(cfg: SynthConfig) -> SynthResult:
    """Model a survey and write ``out`` (SEG-Y), its sidecar, and the true model (``.npy`` + SEG-Y)."""
    from hybridfwi.io.reader import sidecar_path
    from hybridfwi.io.segy import check_shots_fit, write_model_segy, write_shots

    if not cfg.out.lower().endswith((".segy", ".sgy")):
        raise InputError(f"--out {cfg.out!r} must end in .segy or .sgy")
    if os.path.isdir(cfg.out):
        raise InputError(f"--out {cfg.out!r} is a folder; give a file path ending in .segy")
    check_parent(cfg.out)
    npy, msegy = model_paths(cfg.out)
    existing = [p for p in (cfg.out, sidecar_path(cfg.out), npy, msegy) if os.path.exists(p)]
    if existing and not cfg.overwrite:
        raise InputError(f"{existing[0]} already exists; add --force to overwrite it, or choose another --out")
    if cfg.snr_db is not None and not (np.isfinite(cfg.snr_db) and SNR_RANGE[0] <= cfg.snr_db <= SNR_RANGE[1]):
        raise InputError(f"--snr {cfg.snr_db!r} dB is outside {SNR_RANGE[0]:g}..{SNR_RANGE[1]:g} dB")
    cfg.geometry.validate()
    check_shots_fit(cfg.geometry.survey)
    cfg.geometry.check_size("--geometry", refine=cfg.forward.refine)
    v = resolve_model(cfg.model, cfg.geometry, cfg.seed)
    fwd = cfg.forward.covering(float(v.max()))
    data = forward_model(v, cfg.geometry.grid, cfg.geometry.survey, fwd)
    if cfg.snr_db is not None:
        data = add_noise(data, cfg.snr_db, cfg.noise_seed)
    folder = os.path.dirname(os.path.abspath(cfg.out))
    os.makedirs(folder, exist_ok=True)
    record = ShotRecord(data=data, survey=cfg.geometry.survey)
    model = VelocityModel(values=v, grid=cfg.geometry.grid)
    note = f"model {cfg.model} seed {cfg.seed}; accuracy {fwd.accuracy} refine {fwd.refine}"
    if cfg.snr_db is not None:
        note += f"; noise {cfg.snr_db:g} dB"
    # the true model first: the survey file appears last, when everything beside it is there
    atomic_save_npy(npy, v)
    write_model_segy(msegy, model, note=f"true model {cfg.model} seed {cfg.seed}")
    write_shots(cfg.out, record, grid=cfg.geometry.grid, note=note)
    return SynthResult(segy=cfg.out, sidecar=sidecar_path(cfg.out), model_npy=npy, model_segy=msegy, record=record, model=model)
