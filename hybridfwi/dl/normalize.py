"""Network input and output scaling.

Seismic, two modes:

- ``"global"`` (OpenFWI's convention, older checkpoints): ``sign(x) * log1p(|x|)``, then min-max to
  [-1, 1] with the training data's min and max of that transform;
- ``"per-sample"`` (the shipped network): each sample is divided by its own RMS amplitude (over the
  traces that hold data), then ``sign(y) * log1p(|y|) / log1p(clip)`` with ``|y|`` clipped at
  ``clip``. Field amplitudes have arbitrary units and 2-D amplitudes change with the frame's scale,
  so only relative amplitudes within a sample are trusted.

With ``top_channel`` the top boundary is one more input channel, constant +1 for a free surface and
-1 for an absorbing top (free-surface ghosts and multiples change the data, not the model).

Velocity: min-max of ``[vmin, vmax]`` m/s to [-1, 1] (OpenFWI: 1500-4500; the shipped network:
1450-6000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

__all__ = ["Normalizer", "log_transform"]


def log_transform(x):
    """``sign(x) * log1p(|x|)`` for numpy arrays or tensors."""
    if isinstance(x, torch.Tensor):
        return torch.sign(x) * torch.log1p(torch.abs(x))
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class Normalizer:
    """Maps seismic data and velocities into the network's ranges and back.

    Attributes:
        data_min, data_max: range of ``log_transform(data)`` over the training data (``global`` mode).
        vmin, vmax: velocity range (m/s) mapped to [-1, 1].
        mode: ``"global"`` or ``"per-sample"``.
        clip: largest ``|data| / rms`` kept (``per-sample`` mode).
        top_channel: append the top-boundary channel.
    """

    data_min: float = -5.0
    data_max: float = 5.0
    vmin: float = 1500.0
    vmax: float = 4500.0
    mode: str = "global"
    clip: float = 40.0
    top_channel: bool = False

    def data(self, x: torch.Tensor, free_surface: bool | torch.Tensor = False) -> torch.Tensor:
        """``(batch, shots, nt, receivers)`` raw amplitudes -> the network's input
        (``(batch, shots [+1], nt, receivers)``)."""
        if self.mode == "per-sample":
            live = (x.abs().amax(dim=2, keepdim=True) > 0).to(x.dtype)  # traces that hold data
            n = live.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1.0) * x.shape[2]
            rms = torch.sqrt((x * x).sum(dim=(1, 2, 3), keepdim=True) / n).clamp_min(1e-30)
            y = (x / rms).clamp(-self.clip, self.clip)
            y = torch.sign(y) * torch.log1p(torch.abs(y)) / float(np.log1p(self.clip))
        else:
            y = 2.0 * (log_transform(x) - self.data_min) / (self.data_max - self.data_min) - 1.0
        if self.top_channel:
            fs = torch.as_tensor(free_surface, dtype=y.dtype, device=y.device).reshape(-1, 1, 1, 1)
            flag = (2.0 * fs - 1.0).expand(y.shape[0], 1, y.shape[2], y.shape[3])
            y = torch.cat([y, flag], dim=1)
        return y

    def velocity(self, v: torch.Tensor) -> torch.Tensor:
        return 2.0 * (v - self.vmin) / (self.vmax - self.vmin) - 1.0

    def velocity_inverse(self, y: torch.Tensor) -> torch.Tensor:
        return (y + 1.0) * 0.5 * (self.vmax - self.vmin) + self.vmin

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        known = {k: d[k] for k in ("data_min", "data_max", "vmin", "vmax", "mode", "clip", "top_channel") if k in d}
        return cls(**known)

    @classmethod
    def fit(cls, dataset, n: int = 256, seed: int = 0, **kw) -> "Normalizer":
        """``global`` mode: the data range from up to ``n`` samples of a dataset (``dataset.arrays(i)``)."""
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(dataset), size=min(n, len(dataset)), replace=False)
        lo, hi = np.inf, -np.inf
        for i in idx:
            d = log_transform(dataset.arrays(int(i))[0])
            lo, hi = min(lo, float(d.min())), max(hi, float(d.max()))
        return cls(data_min=lo, data_max=hi, **kw)
