"""Velocity-model files: ``.npy`` arrays and depth-sampled SEG-Y, checked before use.

Any valid ``.npy`` works (Fortran- or C-ordered, any float or integer width, either byte order);
pickled object arrays are never loaded (``allow_pickle=False``).
"""

from __future__ import annotations

import os

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import as_velocity_array
from hybridfwi.errors import InputError

__all__ = ["load_model_file", "load_npy"]


def load_npy(path: str, what: str = "array") -> np.ndarray:
    """A ``.npy`` file as an array; one-line :class:`InputError` for anything else (text, pickles, truncation)."""
    if not os.path.exists(path):
        raise InputError(f"{what} file {path!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"{what} {path!r} is a folder; give a .npy file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise InputError(f"{what} file {path!r} cannot be read ({exc.strerror})") from None
    if magic != b"\x93NUMPY":
        raise InputError(f"{what} file {path!r} is not a NumPy array file (.npy); save it with numpy.save")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        msg = str(exc)
        if "pickle" in msg.lower() or "object" in msg.lower():
            raise InputError(f"{what} file {path!r} holds Python objects, not numbers; save a numeric array") from None
        raise InputError(f"{what} file {path!r} is damaged or truncated ({msg})") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{what} file {path!r} is damaged or truncated ({exc})") from None


def load_model_file(path: str, grid: Grid | None = None, what: str = "model") -> np.ndarray:
    """A velocity model (m/s, float32 ``(nz, nx)``) from ``.npy`` or depth-sampled SEG-Y.

    With ``grid`` the shape must match it; without, any 2-D shape is accepted.
    """
    low = path.lower()
    if low.endswith(".npy"):
        v = load_npy(path, what)
    elif low.endswith((".segy", ".sgy")):
        if not os.path.exists(path):
            raise InputError(f"{what} file {path!r} does not exist")
        from hybridfwi.io.segy import read_model_segy

        v = read_model_segy(path).values
    else:
        raise InputError(f"{what} file {path!r}: use a .npy or a depth-sampled .segy/.sgy model")
    v = as_velocity_array(np.squeeze(v), f"{what} {path!r}")
    if v.ndim != 2:
        raise InputError(f"{what} {path!r} has shape {v.shape}; a velocity model is 2-D (nz, nx)")
    if grid is not None and v.shape != grid.shape:
        raise InputError(f"{what} {path!r} has shape {v.shape}, but the grid is {grid.shape} (nz, nx); give a model on that grid")
    return v
