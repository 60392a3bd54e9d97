"""Model regularisation terms on a velocity ``(nz, nx)`` tensor in m/s, made dimensionless.

Velocities are divided by ``scale`` (m/s, e.g. vmax - vmin) and differences are per cell, so the
weights in :class:`~hybridfwi.inversion.config.FWIConfig` do not depend on units or grid size.
"""

from __future__ import annotations

import torch

__all__ = ["total_variation", "tikhonov", "prior"]


def total_variation(v: torch.Tensor, scale: float, eps: float = 1e-3) -> torch.Tensor:
    """Mean of sqrt(dv/dz^2 + dv/dx^2 + eps^2) over cells (smoothed isotropic TV)."""
    u = v / scale
    dz = u[1:, :-1] - u[:-1, :-1]
    dx = u[:-1, 1:] - u[:-1, :-1]
    return torch.sqrt(dz * dz + dx * dx + eps * eps).mean()


def tikhonov(v: torch.Tensor, scale: float) -> torch.Tensor:
    """Mean squared first differences (smoothness)."""
    u = v / scale
    return ((u[1:] - u[:-1]) ** 2).mean() + ((u[:, 1:] - u[:, :-1]) ** 2).mean()


def prior(v: torch.Tensor, v0: torch.Tensor, scale: float) -> torch.Tensor:
    """Mean squared distance to a prior model ``v0`` (e.g. the initial model)."""
    return (((v - v0) / scale) ** 2).mean()
