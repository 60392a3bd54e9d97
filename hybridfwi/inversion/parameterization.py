"""Bounded velocity parameterisation: v = vmin + (vmax - vmin) * sigmoid(p)."""

from __future__ import annotations

import torch

from hybridfwi.errors import InputError

__all__ = ["BoundedVelocity"]


class BoundedVelocity:
    """Maps an unbounded parameter ``p`` to a velocity strictly inside ``(vmin, vmax)`` m/s.

    Any finite ``p`` gives a finite velocity in bounds, so an optimiser can never write a
    velocity outside them (nor a NaN from a finite step).
    """

    def __init__(self, vmin: float, vmax: float):
        if not vmin < vmax:
            raise InputError(f"vmin ({vmin:g} m/s) must be below vmax ({vmax:g} m/s)")
        if vmin <= 0:
            raise InputError(f"vmin must be a positive velocity, got {vmin:g} m/s")
        self.vmin, self.vmax = float(vmin), float(vmax)

    def velocity(self, p: torch.Tensor) -> torch.Tensor:
        return self.vmin + (self.vmax - self.vmin) * torch.sigmoid(p)

    def parameter(self, v: torch.Tensor, margin: float = 1e-4) -> torch.Tensor:
        """Inverse map; velocities at or beyond the bounds are pulled ``margin`` (fraction) inside."""
        s = ((v - self.vmin) / (self.vmax - self.vmin)).clamp(margin, 1 - margin)
        return torch.log(s) - torch.log1p(-s)

    def dv_dp(self, p: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(p)
        return (self.vmax - self.vmin) * s * (1 - s)
