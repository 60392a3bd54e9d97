"""Model-quality metrics (OpenFWI conventions where they exist).

SSIM follows Wang et al. (2004) with an 11 x 11 uniform window on velocities mapped to [0, 1]
by the OpenFWI range [1500, 4500] m/s (data range 1).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

__all__ = ["rmse", "mae", "mae_norm", "ssim", "model_metrics", "VEL_RANGE"]

VEL_RANGE = (1500.0, 4500.0)  #: m/s range mapped to [0, 1] (SSIM) or [-1, 1] (OpenFWI normalisation)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def mae_norm(a: np.ndarray, b: np.ndarray, vel_range: tuple[float, float] = VEL_RANGE) -> float:
    """MAE on velocities normalised to [-1, 1] by ``vel_range`` (OpenFWI's convention: MAE in m/s / 1500)."""
    return 2.0 * mae(a, b) / (vel_range[1] - vel_range[0])


def ssim(a: np.ndarray, b: np.ndarray, window: int = 11, vel_range: tuple[float, float] = VEL_RANGE) -> float:
    """Mean structural similarity of two ``(nz, nx)`` velocity models (m/s), in [-1, 1]."""
    lo, hi = vel_range
    x = np.clip((np.asarray(a, np.float64) - lo) / (hi - lo), 0, 1)
    y = np.clip((np.asarray(b, np.float64) - lo) / (hi - lo), 0, 1)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = uniform_filter(x, window, mode="reflect"), uniform_filter(y, window, mode="reflect")
    sxx = uniform_filter(x * x, window, mode="reflect") - mx * mx
    syy = uniform_filter(y * y, window, mode="reflect") - my * my
    sxy = uniform_filter(x * y, window, mode="reflect") - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def model_metrics(model: np.ndarray, true: np.ndarray, prefix: str = "") -> dict:
    """``{prefix}rmse_ms``, ``{prefix}mae_ms`` (m/s), ``{prefix}mae_norm`` (OpenFWI-normalised) and ``{prefix}ssim``."""
    return {f"{prefix}mae_ms": mae(model, true), f"{prefix}rmse_ms": rmse(model, true), f"{prefix}mae_norm": mae_norm(model, true),
            f"{prefix}ssim": ssim(model, true)}
