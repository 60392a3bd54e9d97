"""OpenFWI normalisation conventions and input resampling for other geometries.

Seismic: ``sign(x) * log1p(|x|)``, then min-max to [-1, 1] with the training data's min and max of
that transform (recorded in every checkpoint). Velocity: min-max of [1500, 4500] m/s to [-1, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Normalizer", "log_transform", "fit_input"]


def log_transform(x):
    """``sign(x) * log1p(|x|)`` for numpy arrays or tensors."""
    if isinstance(x, torch.Tensor):
        return torch.sign(x) * torch.log1p(torch.abs(x))
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class Normalizer:
    """Maps seismic data and velocities into the network's [-1, 1] ranges and back.

    Attributes:
        data_min, data_max: range of ``log_transform(data)`` over the training data.
        vmin, vmax: velocity range (m/s) mapped to [-1, 1] (OpenFWI: 1500, 4500).
    """

    data_min: float = -5.0
    data_max: float = 5.0
    vmin: float = 1500.0
    vmax: float = 4500.0

    def data(self, x: torch.Tensor) -> torch.Tensor:
        y = log_transform(x)
        return 2.0 * (y - self.data_min) / (self.data_max - self.data_min) - 1.0

    def velocity(self, v: torch.Tensor) -> torch.Tensor:
        return 2.0 * (v - self.vmin) / (self.vmax - self.vmin) - 1.0

    def velocity_inverse(self, y: torch.Tensor) -> torch.Tensor:
        return (y + 1.0) * 0.5 * (self.vmax - self.vmin) + self.vmin

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def fit(cls, dataset, n: int = 256, seed: int = 0) -> "Normalizer":
        """Data range from up to ``n`` samples of a dataset (``dataset.arrays(i)``)."""
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(dataset), size=min(n, len(dataset)), replace=False)
        lo, hi = np.inf, -np.inf
        for i in idx:
            d = log_transform(dataset.arrays(int(i))[0])
            lo, hi = min(lo, float(d.min())), max(hi, float(d.max()))
        return cls(data_min=lo, data_max=hi)


def fit_input(x: torch.Tensor, in_shape: tuple[int, int, int]) -> torch.Tensor:
    """Resample ``(batch, shots, nt, receivers)`` data to a network's fixed ``in_shape``.

    Shots: the nearest of evenly spaced shot indices (so 5 of 9 shots are the 1st, 3rd, 5th, 7th
    and 9th); time and receivers: bilinear interpolation, anti-aliased when shrinking. Identity
    when the shapes already agree. For surveys of another physical size, scale x, z and t together
    first (the acoustic wave equation is invariant under that, velocities unchanged).
    """
    s, nt, nr = in_shape
    b, s0, nt0, nr0 = x.shape
    if (s0, nt0, nr0) == (s, nt, nr):
        return x
    if s0 != s:
        pick = np.rint(np.linspace(0, s0 - 1, s)).astype(np.int64)
        x = x[:, torch.as_tensor(pick, device=x.device)]
    if (nt0, nr0) != (nt, nr):
        y = x.reshape(b * s, 1, nt0, nr0)
        y = F.interpolate(y, size=(nt, nr), mode="bilinear", align_corners=True, antialias=(nt < nt0 or nr < nr0))
        x = y.reshape(b, s, nt, nr)
    return x
