"""Velocity-model files: ``.npy`` arrays and depth-sampled SEG-Y, checked against a grid."""

from __future__ import annotations

import os

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.errors import InputError

__all__ = ["load_model_file"]


def load_model_file(path: str, grid: Grid, what: str = "model") -> np.ndarray:
    """A velocity model (m/s) from ``.npy`` or depth-sampled SEG-Y, checked against ``grid``."""
    if not os.path.exists(path):
        raise InputError(f"{what} file {path!r} does not exist")
    if path.lower().endswith(".npy"):
        try:
            v = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"{what} file {path!r} is not a readable .npy array ({exc})") from None
    elif path.lower().endswith((".segy", ".sgy")):
        from hybridfwi.io.segy import read_model_segy

        v = read_model_segy(path).values
    else:
        raise InputError(f"{what} file {path!r}: use a .npy or a depth-sampled .segy/.sgy model")
    v = np.squeeze(np.asarray(v, dtype=np.float32))
    if v.shape != grid.shape:
        raise InputError(f"{what} {path!r} has shape {v.shape}, but the survey grid is {grid.shape} (nz, nx)")
    if not np.all(np.isfinite(v)) or v.min() <= 0:
        raise InputError(f"{what} {path!r} holds non-finite or non-positive velocities")
    return v
