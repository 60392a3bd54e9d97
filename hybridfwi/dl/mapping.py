"""Presenting a survey of any physical size to a fixed-geometry network, and mapping its answer back.

The constant-density acoustic wave equation is invariant when space (x, z) and time (t) are
scaled together by one factor ``s``: velocities are unchanged, frequencies divide by ``s``. A
network trained on one acquisition (OpenFWI: 70 receivers over 690 m, 5 sources, 1 s at 1 ms) can
therefore look at a survey of another size by reading it in scaled coordinates:

- ``s`` = the survey's source/receiver span divided by the network's (so the spreads coincide);
- network time ``t`` reads survey time ``s t`` (linear interpolation after an anti-alias low-pass
  when that samples the survey more coarsely);
- network source ``k`` at ``x_k`` takes the survey shot nearest to ``x_lo + s (x_k - x_lo_net)``;
  network receiver positions read that shot's traces interpolated along the receiver line
  (zero outside its spread);
- amplitudes are scaled so the 99.5th percentile of ``|data|`` equals that of data modelled in the
  network's geometry for a reference model (field amplitudes have arbitrary units, and 2-D
  amplitudes change with the grid scale);
- the predicted model (network grid, m/s) is read back at survey depth ``z / s`` and position
  ``x_lo_net + (x - x_lo) / s``, clamped at the network grid's edges.

A survey whose frequency content times ``s`` is far from the network's training band, or whose
shots do not sit near the network's source positions, is still mapped, and the frame says so
(``warnings``); fine-tuning on synthetic data mapped the same way (``invert --adapt``) removes that
mismatch.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord
from hybridfwi.core.survey import Survey

__all__ = ["NetworkFrame", "network_frame", "to_network", "from_network", "reference_amplitude"]


@dataclass
class NetworkFrame:
    """How a survey sits in the network's frame.

    Attributes:
        scale: survey metres per network metre (= survey seconds per network second).
        x_lo: survey x (m) of the network's leftmost source/receiver.
        shots: survey shot read for each network source.
        shot_distance_m: distance (survey m) between each network source's image and that shot.
        identity: the survey *is* the network's geometry (data used as they are).
        scaled_peak_hz: the survey wavelet's peak frequency seen in network time.
        warnings: mismatches worth knowing about.
    """

    scale: float
    x_lo: float
    shots: list
    shot_distance_m: list
    identity: bool
    scaled_peak_hz: float
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _span(s: Survey) -> tuple[float, float]:
    xs = np.concatenate([s.source_x, s.receiver_x.ravel()])
    return float(xs.min()), float(xs.max())


def _same_geometry(a: Survey, b: Survey) -> bool:
    return (a.data_shape == b.data_shape and np.isclose(a.dt, b.dt) and np.allclose(a.source_x, b.source_x)
            and np.allclose(a.receiver_x, b.receiver_x))


def network_frame(survey: Survey, net: Survey) -> NetworkFrame:
    """Where ``survey`` lands in the frame of a network trained on ``net``."""
    lo, hi = _span(survey)
    nlo, nhi = _span(net)
    s = (hi - lo) / (nhi - nlo)
    images = lo + s * (net.source_x - nlo)
    shots = [int(np.argmin(np.abs(survey.source_x - x))) for x in images]
    dist = [float(abs(survey.source_x[j] - x)) for j, x in zip(shots, images)]
    ident = _same_geometry(survey, net)
    peak = survey.wavelet.peak_freq * s
    warnings = []
    if not ident:
        spacing = s * float(np.min(np.diff(net.source_x))) if net.n_shots > 1 else np.inf
        far = [k for k, d in enumerate(dist) if d > 0.5 * spacing]
        if far:
            warnings.append(f"{len(far)} of the network's {net.n_shots} source positions have no survey shot nearby "
                            f"(nearest {max(dist):.0f} m away): the network sees repeated shots")
        ratio = peak / net.wavelet.peak_freq
        if not 0.67 <= ratio <= 1.5:
            warnings.append(f"in the network's frame the survey's {survey.wavelet.peak_freq:g} Hz becomes {peak:.3g} Hz, "
                            f"against the {net.wavelet.peak_freq:g} Hz the network was trained on")
    return NetworkFrame(scale=float(s), x_lo=lo, shots=shots, shot_distance_m=dist, identity=ident,
                        scaled_peak_hz=float(peak), warnings=warnings)


@functools.lru_cache(maxsize=8)
def _reference_amplitude(net_json: str) -> float:
    from hybridfwi.physics.forward import ForwardConfig, forward_model

    net = Survey.from_dict(json.loads(net_json))
    g = net.grid
    v = np.repeat(np.linspace(1500.0, 4000.0, g.nz, dtype=np.float32)[:, None], g.nx, axis=1)
    d = forward_model(v, net, ForwardConfig(device="cpu"))
    return float(np.percentile(np.abs(d), 99.5))


def reference_amplitude(net: Survey) -> float:
    """99.5th percentile of ``|data|`` modelled in the network's geometry for a 1500-4000 m/s
    linear-gradient model (computed once per geometry, about a second on a CPU)."""
    return _reference_amplitude(json.dumps(net.to_dict(), sort_keys=True))


def to_network(record: ShotRecord, net: Survey, frame: NetworkFrame | None = None) -> np.ndarray:
    """The record read in the network's frame, float32 ``(net shots, net nt, net receivers)``."""
    from hybridfwi.physics.filters import Band, apply_band, band_response

    s = record.survey
    frame = frame or network_frame(s, net)
    if frame.identity:
        return np.asarray(record.data, dtype=np.float32)
    data = np.asarray(record.data, dtype=np.float64)
    nlo = _span(net)[0]
    t_src = net.times * frame.scale  # survey times read by the network's samples
    step = net.dt * frame.scale
    if step > s.dt * 1.001:  # coarser sampling: anti-alias first
        resp = band_response(Band(high=0.8 * 0.5 / step, order=8), s.nt, s.dt)
        data = apply_band(data, resp, axis=1)
    out = np.zeros(net.data_shape, dtype=np.float64)
    t_idx = t_src / s.dt
    i0 = np.clip(np.floor(t_idx).astype(np.int64), 0, s.nt - 1)
    i1 = np.clip(i0 + 1, 0, s.nt - 1)
    wt = (t_idx - i0)[:, None]
    valid_t = (t_idx <= s.nt - 1)[:, None]
    for k, j in enumerate(frame.shots):
        tr = (1 - wt) * data[j][i0] + wt * data[j][i1]  # (net nt, survey receivers)
        tr = np.where(valid_t, tr, 0.0)
        rx = s.receiver_x[j]
        order = np.argsort(rx)
        want = frame.x_lo + frame.scale * (net.receiver_x[k] - nlo)
        half = 0.5 * (float(np.min(np.diff(rx[order]))) if rx.size > 1 else 0.0)
        for r, x in enumerate(want):
            if x < rx[order[0]] - half or x > rx[order[-1]] + half:
                continue
            pos = np.interp(x, rx[order], np.arange(rx.size))
            a = int(np.floor(pos))
            b = min(a + 1, rx.size - 1)
            f = pos - a
            out[k, :, r] = (1 - f) * tr[:, order[a]] + f * tr[:, order[b]]
    p = float(np.percentile(np.abs(out), 99.5))
    if p > 0:
        out *= reference_amplitude(net) / p
    return out.astype(np.float32)


def from_network(pred: np.ndarray, net: Survey, frame: NetworkFrame, grid: Grid) -> np.ndarray:
    """A prediction on the network's grid (``(nz, nx)`` m/s) read onto the survey's ``grid``."""
    from scipy.interpolate import RegularGridInterpolator

    pred = np.asarray(pred, dtype=np.float64)
    ng = net.grid
    if frame.identity and pred.shape == grid.shape:
        return pred.astype(np.float32)
    nz_pred, nx_pred = pred.shape  # the network's output grid may differ from the geometry's
    zn = np.linspace(ng.z0, ng.z_max, nz_pred)
    xn = np.linspace(ng.x0, ng.x_max, nx_pred)
    nlo = _span(net)[0]
    zq = np.clip(grid.z / frame.scale, zn[0], zn[-1])
    xq = np.clip(nlo + (grid.x - frame.x_lo) / frame.scale, xn[0], xn[-1])
    zz, xx = np.meshgrid(zq, xq, indexing="ij")
    f = RegularGridInterpolator((zn, xn), pred, method="linear")
    return f(np.stack([zz, xx], axis=-1)).astype(np.float32)
