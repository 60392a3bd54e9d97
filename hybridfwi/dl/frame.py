"""The network frame: the one transform between a survey (its grid and time axis) and a network's.

A network is trained on one acquisition (the shipped one: OpenFWI's, 700 m across, 5 shots, 70
receivers, 1 s at 1 ms, a 15 Hz Ricker). The constant-density acoustic wave equation is unchanged
when space and time are scaled together by one factor ``s`` (velocities unchanged, frequencies
divided by ``s``), so a network can look at a survey of another size through scaled coordinates.
:class:`NetworkFrame` does it in a way that keeps the network inside the band it was trained on:

- **scale** ``s`` (survey metres per network metre): large enough for one network window to reach
  the bottom of the model (``s >= depth / network depth``) and for the network's frequency to be
  one the data hold (``s >= network peak / survey peak``);
- **wavelet**: the data are shaped from the survey's wavelet (known for synthetic data, estimated
  for field data) to a Ricker of peak ``network peak / s`` (a stable, water-levelled filter), so the
  network sees exactly the band it learned, whatever the survey's source;
- **tiles**: a survey wider than ``s`` network windows is read as overlapping windows, each a full
  network input, predicted separately and blended back with tapered weights;
- **traces**: each (network source, network receiver) pair is read from the recorded trace with the
  same offset whose source (or, by reciprocity, receiver) lies nearest the wanted position,
  interpolated between neighbouring receivers; pairs with no trace within ``max_shift`` are zero.
  So end-on spreads, irregular shot spacing and shots of different trace counts are all read;
- **time**: network time ``t`` reads survey time ``s t`` (anti-aliased :func:`resample_time`);
- **back**: a prediction (network grid, m/s) is read at survey depth ``z / s`` and position
  ``(x - tile start) / s`` with the one regridding of the package (differentiable in torch, so a
  data misfit can train the network through it).

The survey that *is* the network's geometry (the OpenFWI preset) is read as it is (``identity``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord
from hybridfwi.core.regrid import regrid_points
from hybridfwi.core.survey import Geometry, Survey
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError
from hybridfwi.physics.filters import apply_band, resample_time, shaping_filter

__all__ = ["NetworkFrame", "FrameConfig", "network_frame"]


@dataclass
class FrameConfig:
    """Options of the frame.

    Attributes:
        overlap: fraction by which neighbouring tiles overlap.
        max_shift: largest distance (fraction of a tile's width) between a wanted source position and
            the recorded source a trace is read from.
        min_scale: smallest ``s`` (1: never read a survey more finely than the network's own scale).
        low_cut_factor: the shaped band's peak stays at least this many times the data's usable low edge.
        min_coverage: a tile that reads less than this fraction of the network's traces from the data
            is dropped (a prediction from near-empty input is the network's prior, not information);
            the model there extends the nearest kept tile's prediction. The best-covered tile is always kept.
    """

    overlap: float = 0.5
    max_shift: float = 0.2
    min_scale: float = 1.0
    low_cut_factor: float = 1.5
    min_coverage: float = 0.1


@dataclass
class NetworkFrame:
    """How a survey on a grid sits in a network's frame.

    Attributes:
        net: the network's training geometry.
        grid: the survey's model grid. survey: its acquisition.
        scale: survey metres per network metre (= survey seconds per network second).
        tiles: survey x (m) of each tile's network x = 0 (tiles that read too little data are dropped
            when the frame first reads the acquisition, :meth:`plans`).
        identity: the survey is the network's geometry (its data are used as they are).
        target_peak_hz: the survey-frame peak frequency the data are shaped to.
        coverage: per tile, the fraction of the network's traces that were read from data.
        dropped: survey x (m) of the tiles dropped for reading under ``config.min_coverage``.
        warnings: mismatches worth knowing about.
    """

    net: Geometry
    grid: Grid
    survey: Survey
    scale: float
    tiles: list
    identity: bool
    target_peak_hz: float
    config: FrameConfig = field(default_factory=FrameConfig)
    coverage: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    dropped: list = field(default_factory=list)

    # ------------------------------------------------------------------ sizes
    @property
    def n_tiles(self) -> int:
        """Tiles the network predicts (after dropping those that read too little data)."""
        if not self.identity:
            self.plans()
        return len(self.tiles)

    @property
    def width(self) -> float:
        """Survey metres covered by one tile."""
        return self.scale * (self.net.grid.x_max - self.net.grid.x0)

    @property
    def depth(self) -> float:
        """Survey metres covered in depth."""
        return self.scale * self.net.grid.z_max

    def to_dict(self) -> dict:
        return {"scale": self.scale, "tiles_x_m": [float(t) for t in self.tiles], "tile_width_m": self.width,
                "depth_m": self.depth, "identity": self.identity, "target_peak_hz": self.target_peak_hz,
                "coverage": [float(c) for c in self.coverage], "tiles_dropped_x_m": [float(t) for t in self.dropped],
                "warnings": list(self.warnings)}

    # ------------------------------------------------------------- data -> net
    def target_wavelet(self, nt: int, dt: float) -> np.ndarray:
        """The Ricker the survey's data are shaped to, on the survey's time axis ``(nt,)``."""
        return Wavelet(peak_freq=self.target_peak_hz).array(nt, dt)

    def to_network(self, record: ShotRecord, wavelet: np.ndarray | None = None) -> np.ndarray:
        """``record`` read into the network's frame: float32 ``(n_tiles, net shots, net nt, net receivers)``.

        Args:
            record: the survey's data (on this frame's acquisition).
            wavelet: the source wavelet of ``record`` on its time axis ``(nt,)`` (default: the
                survey's modelling wavelet); the data are shaped from it to the network's Ricker.
        """
        s, net = record.survey, self.net.survey
        if not (np.array_equal(s.source_x, self.survey.source_x) and np.array_equal(s.receiver_x, self.survey.receiver_x, equal_nan=True)):
            raise InputError("the record's acquisition is not the one this network frame was built for")
        if self.identity:
            return np.asarray(record.data, dtype=np.float32)[None]
        w = s.wavelet.array(s.nt, s.dt) if wavelet is None else np.asarray(wavelet, np.float64)
        if w.shape != (s.nt,):
            raise InputError(f"the wavelet has {w.shape[0]} samples but the record {s.nt}")
        plans = self.plans()
        shaped = apply_band(np.asarray(record.data, np.float64), shaping_filter(w, self.target_wavelet(s.nt, s.dt), s.dt), axis=1)
        data = resample_time(shaped, s.dt, net.dt * self.scale, net.nt, axis=1)  # (shots, net nt, receivers)
        out = np.zeros((self.n_tiles, *net.data_shape), dtype=np.float32)
        for i, plan in enumerate(plans):
            out[i] = _read(data, plan)
        return out

    def plans(self) -> list[dict]:
        """Per tile, where each network trace is read from (computed once, for this frame's acquisition).

        Tiles reading under ``config.min_coverage`` of their traces are dropped here (with a warning),
        so ``tiles``, ``coverage`` and every array this frame makes have one entry per kept tile.
        """
        survey = self.survey
        if getattr(self, "_plans", None) is None:
            net = self.net.survey
            if not net.regular:
                raise InputError("the network's own acquisition must give every shot the same receivers")
            rx = net.receiver_x[0]
            tol = 0.5 * self.scale * (float(np.median(np.diff(np.sort(rx)))) if rx.size > 1 else 10.0)
            plans = []
            for t in self.tiles:
                a = t + self.scale * (net.source_x - self.net.grid.x0)
                b = t + self.scale * (rx - self.net.grid.x0)
                plans.append(_plan(survey, a, b, self.config.max_shift * self.width, tol))
            cov = [float(p["ok"].mean()) for p in plans]
            keep = [i for i, c in enumerate(cov) if c >= self.config.min_coverage] or [int(np.argmax(cov))]
            if len(keep) < len(cov):
                self.dropped = [float(t) for i, t in enumerate(self.tiles) if i not in keep]
                self.warnings.append(
                    f"{len(cov) - len(keep)} of {len(cov)} network windows read under {self.config.min_coverage:.0%} of their "
                    f"traces from the data (no shots near x = {min(self.dropped):.0f}-{max(self.dropped) + self.width:.0f} m) "
                    f"and are not used; the model there extends the nearest window's prediction")
            self.tiles = [self.tiles[i] for i in keep]
            self.coverage = [cov[i] for i in keep]
            self._plans = [plans[i] for i in keep]
        return self._plans

    # ------------------------------------------------------------ net <-> model
    def _tile_grid(self, pred_shape: tuple[int, int]) -> Grid:
        """The network's output grid in survey metres (tile-local x)."""
        ng = self.net.grid
        nz, nx = pred_shape
        return Grid(nz=nz, nx=nx, dz=self.scale * (ng.z_max - ng.z0) / max(nz - 1, 1),
                    dx=self.scale * (ng.x_max - ng.x0) / max(nx - 1, 1), z0=self.scale * ng.z0, x0=0.0)

    def _weights(self) -> np.ndarray:
        """Blending weights ``(n_tiles, nx)`` on the survey grid: a taper within each tile, the
        nearest tile alone outside every tile."""
        x = self.grid.x
        w = np.zeros((self.n_tiles, x.size))
        cov = self.coverage if len(self.coverage) == self.n_tiles else [1.0] * self.n_tiles
        for i, t in enumerate(self.tiles):
            u = (x - t) / self.width
            w[i] = np.where((u >= 0) & (u <= 1), 0.05 + np.sin(np.pi * np.clip(u, 0, 1)) ** 2, 0.0) * max(cov[i], 0.05)
        none = w.sum(axis=0) == 0
        if none.any():
            centres = np.asarray(self.tiles) + 0.5 * self.width
            nearest = np.argmin(np.abs(x[none][None, :] - centres[:, None]), axis=0)
            w[nearest, np.flatnonzero(none)] = 1.0
        return w / w.sum(axis=0, keepdims=True)

    def from_network(self, pred):
        """Predictions ``(n_tiles, nz_net, nx_net)`` (m/s; numpy or a tensor that keeps its gradient)
        blended onto the survey's grid ``(nz, nx)``."""
        as_numpy = not isinstance(pred, torch.Tensor)
        p = torch.as_tensor(np.asarray(pred, np.float64)) if as_numpy else pred
        if p.ndim != 3 or p.shape[0] != self.n_tiles:
            raise InputError(f"expected {self.n_tiles} tile predictions (n_tiles, nz, nx), got shape {tuple(p.shape)}")
        if self.identity and tuple(p.shape[1:]) == self.grid.shape:
            out = p[0]
        else:
            tg = self._tile_grid(tuple(p.shape[1:]))
            w = torch.as_tensor(self._weights(), dtype=p.dtype, device=p.device)
            out = 0.0
            for i, t in enumerate(self.tiles):
                v = regrid_points(p[i], tg, self.grid.z, self.grid.x - t)
                out = out + v * w[i][None, :]
        return out.detach().numpy().astype(np.float32) if as_numpy else out

    def model_to_network(self, values: np.ndarray, out_shape: tuple[int, int] | None = None) -> np.ndarray:
        """A survey-grid model ``(nz, nx)`` read at each tile's network grid: ``(n_tiles, nz_net, nx_net)``."""
        shape = out_shape or self.net.grid.shape
        tg = self._tile_grid(shape)
        if not self.identity:
            self.plans()
        if self.identity and shape == self.grid.shape:
            return np.asarray(values, np.float32)[None]
        return np.stack([regrid_points(values, self.grid, tg.z, t + tg.x) for t in self.tiles]).astype(np.float32)


def _plan(s: Survey, a: np.ndarray, b: np.ndarray, max_shift: float, tol: float) -> dict:
    """Where to read traces for sources at ``a`` and receivers at ``b`` (m).

    Each pair takes the recorded trace of the same offset (direct, or reversed by reciprocity)
    whose source lies nearest the wanted one (the receiver, for a reversed trace), interpolated
    between the two receivers around that offset; none within ``max_shift`` m: no trace.

    Returns arrays of shape ``(len(a), len(b))``: ``shot``, ``c0``, ``c1`` (receiver columns),
    ``f`` (weight of ``c1``) and ``ok``.
    """
    mask = s.receiver_mask
    shape = (a.size, b.size)
    best = np.full(shape, np.inf)
    plan = {"shot": np.zeros(shape, np.int64), "c0": np.zeros(shape, np.int64), "c1": np.zeros(shape, np.int64),
            "f": np.zeros(shape), "ok": np.zeros(shape, bool)}
    h = b[None, :] - a[:, None]
    for j in range(s.n_shots):
        rx = s.receiver_x[j, mask[j]]
        order = np.argsort(rx)
        rx = rx[order]
        cols = np.flatnonzero(mask[j])[order]
        step = float(np.median(np.diff(rx))) if rx.size > 1 else 2.0 * tol
        for sign, anchor in ((1.0, a[:, None]), (-1.0, b[None, :])):
            shift = np.broadcast_to(np.abs(s.source_x[j] - anchor), shape)
            pos = s.source_x[j] + sign * h
            if rx.size == 1:
                hit = np.abs(pos - rx[0]) <= tol
                k = np.zeros(shape, np.int64)
                k1 = k
                f = np.zeros(shape)
            else:
                hit = (pos >= rx[0] - 0.5 * step) & (pos <= rx[-1] + 0.5 * step)
                k = np.clip(np.searchsorted(rx, pos) - 1, 0, rx.size - 2)
                k1 = k + 1
                gap = rx[k1] - rx[k]
                hit &= gap <= 2.5 * step
                f = np.clip((pos - rx[k]) / np.where(gap > 0, gap, 1.0), 0.0, 1.0)
            take = hit & (shift <= max_shift) & (shift < best)
            best = np.where(take, shift, best)
            plan["shot"][take] = j
            plan["c0"][take] = cols[k][take]
            plan["c1"][take] = cols[k1][take]
            plan["f"][take] = f[take]
            plan["ok"] |= take
    return plan


def _read(data: np.ndarray, plan: dict) -> np.ndarray:
    """Apply a :func:`_plan` to ``(shots, nt, receivers)`` data: ``(len(a), nt, len(b))``."""
    t0 = data[plan["shot"], :, plan["c0"]]  # (na, nb, nt)
    t1 = data[plan["shot"], :, plan["c1"]]
    f = plan["f"][..., None]
    out = ((1 - f) * t0 + f * t1) * plan["ok"][..., None]
    return np.ascontiguousarray(out.transpose(0, 2, 1), dtype=np.float32)


def network_frame(grid: Grid, survey: Survey, net: Geometry, config: FrameConfig | None = None,
                  usable_low_hz: float | None = None) -> NetworkFrame:
    """The frame in which a network trained on ``net`` reads ``survey`` on ``grid``.

    Args:
        grid, survey: the survey's model grid and acquisition (its wavelet's peak frequency is the
            highest the data can be shaped to).
        net: the network's training geometry.
        usable_low_hz: the data's usable low edge (field data): the shaped peak is kept at least
            ``config.low_cut_factor`` times above it.
    """
    cfg = config or FrameConfig()
    ng, ns = net.grid, net.survey
    identity = grid == ng and survey == ns
    if identity:
        return NetworkFrame(net=net, grid=grid, survey=survey, scale=1.0, tiles=[ng.x0], identity=True,
                            target_peak_hz=ns.wavelet.peak_freq, config=cfg, coverage=[1.0])
    f_net = ns.wavelet.peak_freq
    s_depth = (grid.z_max + grid.dz) / (ng.z_max + ng.dz)
    s_freq = f_net / survey.wavelet.peak_freq
    s = max(cfg.min_scale, s_depth, s_freq)
    warnings = []
    if usable_low_hz:
        s_max = f_net / (cfg.low_cut_factor * usable_low_hz)
        if s > s_max:
            warnings.append(f"the network window reaches {s_max * (ng.z_max + ng.dz):.0f} m deep at the lowest usable frequency; "
                            f"below it the prediction is extended downwards")
            s = max(cfg.min_scale, min(s, s_max), s_freq)
    width = s * (ng.x_max - ng.x0)
    lo, hi = grid.x0, grid.x_max
    if hi - lo <= width:
        a_lo, a_hi = survey.extent()
        tiles = [0.5 * (a_lo + a_hi) - 0.5 * width]
    else:
        n = int(np.ceil((hi - lo - width) / (width * (1 - cfg.overlap)))) + 1
        tiles = list(np.linspace(lo, hi - width, n))
    f_t = f_net / s
    if f_t > survey.wavelet.peak_freq * 1.001:
        warnings.append(f"the data are shaped to {f_t:.3g} Hz, above the survey's {survey.wavelet.peak_freq:g} Hz peak")
    return NetworkFrame(net=net, grid=grid, survey=survey, scale=float(s), tiles=[float(t) for t in tiles], identity=False,
                        target_peak_hz=float(f_t), config=cfg, warnings=warnings)
