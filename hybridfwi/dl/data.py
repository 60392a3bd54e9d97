"""Training pairs in a network's frame, and batches of them.

Dataset folders in the network's own geometry are used as they are; folders in any other geometry
(e.g. synthetic data made in a survey's geometry for adaptation) are read through the
:class:`~hybridfwi.dl.frame.NetworkFrame`, each sample giving one pair per tile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hybridfwi.core.model import ShotRecord
from hybridfwi.core.survey import Geometry
from hybridfwi.dl.normalize import Normalizer
from hybridfwi.errors import InputError
from hybridfwi.synth.datasets import ShotDataset

__all__ = ["split_indices", "load_batch", "NetworkPairs"]


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (seeded) split into train and validation indices."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_fraction))) if n > 1 and val_fraction > 0 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _same(a: Geometry, b: Geometry) -> bool:
    return a.grid == b.grid and a.survey == b.survey


class NetworkPairs(torch.utils.data.Dataset):
    """``(data, model, free_surface)`` pairs in the frame of a network trained on ``net``.

    Args:
        ds: the dataset folders.
        net: the network's geometry.
        out_shape: the network's output ``(nz, nx)``.
        frame: read every folder through this frame (default: one built for each folder's geometry).

    Items: raw data ``(shots, nt, receivers)`` float32, velocity ``(1, nz, nx)`` m/s, top boundary
    (1.0 free surface, 0.0 absorbing). ``family(i)`` and ``sample(i)`` name the source sample.
    """

    def __init__(self, ds: ShotDataset, net: Geometry, out_shape: tuple[int, int] | None = None, frame=None):
        from hybridfwi.dl.frame import network_frame

        self.ds, self.net = ds, net
        self.out_shape = tuple(out_shape or net.grid.shape)
        self.frames = []
        for r, geom in enumerate(ds.geometries):
            if geom is None:  # a published OpenFWI folder: it must be in the network's geometry
                self.frames.append(None)
                continue
            if frame is not None:  # the caller's frame (e.g. the one a survey is predicted in)
                self.frames.append(frame)
            elif _same(geom, net) and self.out_shape == net.grid.shape:
                self.frames.append(None)
            else:
                self.frames.append(network_frame(geom.grid, geom.survey, net))
        self.index: list[tuple[int, int]] = []
        for i in range(len(ds)):
            fr = self.frames[ds.root_index(i)]
            self.index += [(i, k) for k in range(1 if fr is None else fr.n_tiles)]
        d0 = ds.arrays(0)[0]
        if self.frames[ds.root_index(0)] is None and d0.shape != net.survey.data_shape:
            raise InputError(f"dataset {ds.roots[ds.root_index(0)]!r} has data of shape {d0.shape} and no manifest saying its "
                             f"geometry; the network reads {net.survey.data_shape}")
        self._cache: tuple[int, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def family(self, i: int) -> str:
        return self.ds.family(self.index[i][0])

    def sample(self, i: int) -> int:
        return self.index[i][0]

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, float]:
        j, k = self.index[i]
        r = self.ds.root_index(j)
        fr = self.frames[r]
        geom = self.ds.geometries[r]
        fs = float(geom.survey.free_surface) if geom is not None else 0.0
        if fr is None:
            d, m = self.ds.arrays(j)
            return d, m, fs
        if self._cache is None or self._cache[0] != j:
            d, m = self.ds.arrays(j)
            self._cache = (j, fr.to_network(ShotRecord(d, geom.survey)), fr.model_to_network(m[0], self.out_shape))
        return self._cache[1][k], self._cache[2][k][None], fs

    def __getitem__(self, i: int):
        d, m, fs = self.arrays(i)
        return torch.from_numpy(np.ascontiguousarray(d)), torch.from_numpy(np.ascontiguousarray(m)), torch.tensor(fs)


def load_batch(pairs: NetworkPairs, idx: Sequence[int], norm: Normalizer, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``: the network's input ``(b, channels, nt, receivers)`` and normalised velocity ``(b, 1, nz, nx)``."""
    items = [pairs.arrays(int(i)) for i in idx]
    x = torch.as_tensor(np.stack([p[0] for p in items]), device=device)
    v = torch.as_tensor(np.stack([p[1] for p in items]), device=device)
    fs = torch.as_tensor([p[2] for p in items], device=device)
    return norm.data(x, fs), norm.velocity(v)
