"""Batches for training and evaluation: dataset samples normalised and fitted to a network's input."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hybridfwi.dl.normalize import Normalizer, fit_input
from hybridfwi.synth.datasets import ShotDataset

__all__ = ["split_indices", "load_batch"]


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (seeded) split into train and validation indices."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_fraction))) if n > 1 and val_fraction > 0 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def load_batch(ds: ShotDataset, idx: Sequence[int], norm: Normalizer, in_shape: tuple[int, int, int],
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``: normalised seismic ``(b, shots, nt, receivers)`` fitted to ``in_shape``, and
    normalised velocity ``(b, 1, nz, nx)``."""
    pairs = [ds.arrays(int(i)) for i in idx]
    x = torch.as_tensor(np.stack([p[0] for p in pairs]), device=device)
    v = torch.as_tensor(np.stack([p[1] for p in pairs]), device=device)
    return fit_input(norm.data(x), in_shape), norm.velocity(v)
