"""Starting models from a short specification."""

from __future__ import annotations


import numpy as np
from scipy.ndimage import gaussian_filter

from hybridfwi.core.grid import Grid
from hybridfwi.errors import InputError
from hybridfwi.io.arrays import load_model_file

__all__ = ["initial_model"]


def initial_model(spec: str, grid: Grid, reference: np.ndarray | None = None) -> np.ndarray:
    """Build a starting model, float32 ``(nz, nx)`` m/s.

    ``spec`` is one of:
        ``reference``         the 1-D reference model (water over a gradient for marine data), as ``invert`` uses;
        ``gradient[:V0:V1]``  linear in depth from V0 at the top to V1 at the bottom (default 1500:4000);
        ``constant:V``        one velocity everywhere;
        ``smooth:SIGMA_M:MODEL``  MODEL (.npy or .segy) Gaussian-smoothed with a sigma of SIGMA_M metres;
        ``MODEL.npy`` / ``MODEL.segy``  a model file on the inversion grid.
    """
    if not spec.strip():
        raise InputError("--initial is empty; give reference, gradient[:V0:V1], constant:V, smooth:SIGMA_M:MODEL or a model file")
    kind, _, rest = spec.partition(":")
    if kind == "reference" and not rest:
        if reference is None:
            raise InputError("--initial reference needs the 1-D reference model")
        return np.asarray(reference, np.float32)
    try:
        if kind == "gradient":
            v0, v1 = (float(x) for x in rest.split(":")) if rest else (1500.0, 4000.0)
            if not (np.isfinite(v0) and np.isfinite(v1)) or v0 <= 0 or v1 <= 0:
                raise ValueError
            col = np.linspace(v0, v1, grid.nz, dtype=np.float64)
            return np.repeat(col[:, None], grid.nx, axis=1).astype(np.float32)
        if kind == "constant":
            v = float(rest)
            if not np.isfinite(v) or v <= 0:
                raise ValueError
            return np.full(grid.shape, v, np.float32)
        if kind == "smooth":
            sigma_s, _, path = rest.partition(":")
            sigma = float(sigma_s)
            if not np.isfinite(sigma) or sigma < 0 or not path:
                raise ValueError
            v = load_model_file(path, grid, "initial model")
            return gaussian_filter(v.astype(np.float64), sigma=(sigma / grid.dz, sigma / grid.dx), mode="nearest").astype(np.float32)
    except ValueError:
        raise InputError(f"--initial {spec!r}: expected reference, gradient[:V0:V1], constant:V or smooth:SIGMA_M:MODEL with "
                         f"positive numbers") from None
    return load_model_file(spec, grid, "initial model")
