"""The one model-grid resampling of the package: bilinear, edges clamped, numpy or (differentiable) torch.

Every change of model grid goes through :func:`regrid`: modelling on a refined grid, reading a
survey-grid model into a network's frame and a network's prediction back, figures, metrics on
another grid.
"""

from __future__ import annotations

import numpy as np
import torch

from hybridfwi.core.grid import Grid

__all__ = ["regrid", "regrid_points"]


def _axis(q: torch.Tensor, start: float, step: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left neighbour index and weight of each query position (clamped to the axis)."""
    f = ((q - start) / step).clamp(0.0, n - 1.0)
    i0 = torch.floor(f).clamp(max=max(n - 2, 0)).long()
    return i0, (f - i0).to(q.dtype)


def regrid_points(values, src: Grid, z, x):
    """Bilinear samples of ``values`` at depths ``z`` (m, ``(mz,)``) and positions ``x`` (m, ``(mx,)``).

    Args:
        values: ``(..., src.nz, src.nx)`` numpy array or torch tensor (gradients flow through a tensor).
        src: the grid of ``values``.
        z, x: query coordinates in metres; points beyond the grid take the edge values.

    Returns:
        ``(..., mz, mx)``, the same kind (numpy float32 / tensor of the input dtype) as ``values``.
    """
    as_numpy = not isinstance(values, torch.Tensor)
    v = torch.as_tensor(np.asarray(values, dtype=np.float64)) if as_numpy else values
    zq = torch.as_tensor(np.asarray(z, dtype=np.float64), dtype=v.dtype, device=v.device)
    xq = torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=v.dtype, device=v.device)
    iz, wz = _axis(zq, src.z0, src.dz, src.nz)
    ix, wx = _axis(xq, src.x0, src.dx, src.nx)
    iz1 = (iz + 1).clamp(max=src.nz - 1)
    ix1 = (ix + 1).clamp(max=src.nx - 1)
    rows = v[..., iz, :] * (1 - wz)[:, None] + v[..., iz1, :] * wz[:, None]
    out = rows[..., ix] * (1 - wx) + rows[..., ix1] * wx
    return out.numpy().astype(np.float32) if as_numpy else out


def regrid(values, src: Grid, dst: Grid):
    """``values`` on grid ``src`` resampled onto grid ``dst`` (bilinear; clamped beyond ``src``).

    Identity (a copy for numpy) when the grids are equal.
    """
    if src == dst:
        return np.array(values, dtype=np.float32) if not isinstance(values, torch.Tensor) else values
    return regrid_points(values, src, dst.z, dst.x)
