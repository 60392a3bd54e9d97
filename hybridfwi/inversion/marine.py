"""Water layer from marine shot gathers: water velocity and seabed depth from the seabed reflection.

In deep water the first strong event at near and middle offsets is the seabed reflection (the
direct wave along the streamer is weak or muted). Its traveltime is a hyperbola,

    t(x)^2 = t0^2 + x^2 / v_w^2,    t0 = (2 h - z_s - z_r) / v_w,

for offset x, water velocity v_w, seabed depth h, source and receiver depths z_s, z_r. Picks
are taken where each trace's envelope first reaches a fraction of its maximum, fitted in
(x^2, t^2) by least squares with outlier rejection. In shallow water, where the first event is
the direct wave (t0 ~ 0), only the velocity is returned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["WaterLayer", "pick_water", "impose_water"]

#: Plausible sea-water velocities, m/s.
WATER_RANGE = (1420.0, 1600.0)


@dataclass
class WaterLayer:
    """Attributes: velocity (m/s), seabed depth (m, None when not found), t0 (s, zero-offset
    seabed time), picks used, rms residual of the fit (s), and how it was found."""

    velocity: float
    seabed_depth: float | None
    t0: float | None
    picks: int
    rms_residual_s: float
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def first_breaks(data: np.ndarray, dt: float, fraction: float = 0.2, skip_s: float = 0.0) -> np.ndarray:
    """Time (s, from the first sample) where each trace's envelope first reaches ``fraction`` of its
    maximum; ``data`` ``(..., nt, n_traces)``; returns ``(..., n_traces)``."""
    from scipy.signal import hilbert

    x = np.moveaxis(np.asarray(data, dtype=np.float64), -2, -1)
    env = np.abs(hilbert(x, axis=-1))
    k0 = int(round(skip_s / dt))
    env[..., :k0] = 0.0
    peak = env.max(axis=-1, keepdims=True)
    idx = np.argmax(env >= fraction * np.where(peak > 0, peak, np.inf), axis=-1)
    return idx * dt


def pick_water(data: np.ndarray, dt: float, t_first: float, offsets: np.ndarray, source_z: np.ndarray,
               receiver_z: np.ndarray, fraction: float = 0.2) -> WaterLayer | None:
    """Water velocity and seabed depth from shot gathers.

    Args:
        data: ``(n_shots, nt, n_receivers)``.
        dt: sample interval, s; ``t_first``: time after the shot of the first sample, s.
        offsets: signed offsets, m, ``(n_shots, n_receivers)``.
        source_z, receiver_z: depths, m, ``(n_shots,)`` and ``(n_shots, n_receivers)``.

    Returns:
        The layer, or None when no plausible water velocity comes out of the picks.
    """
    t = first_breaks(data, dt, fraction) + t_first
    x = np.abs(offsets)
    near = x <= np.median(x)  # the nearer half: before the seabed head wave overtakes
    xs, ts = x[near].ravel(), t[near].ravel()
    keep = np.ones(xs.size, dtype=bool)
    coef = None
    for _ in range(3):
        if keep.sum() < 4:
            return None
        a = np.stack([np.ones(keep.sum()), xs[keep] ** 2], axis=1)
        coef, *_ = np.linalg.lstsq(a, ts[keep] ** 2, rcond=None)
        res = ts ** 2 - (coef[0] + coef[1] * xs ** 2)
        mad = np.median(np.abs(res[keep] - np.median(res[keep]))) + 1e-12
        keep = np.abs(res - np.median(res[keep])) <= 4.0 * 1.4826 * mad
    if coef is None or coef[1] <= 0:
        return None
    v = float(1.0 / np.sqrt(coef[1]))
    if not WATER_RANGE[0] <= v <= WATER_RANGE[1]:
        return None
    pred = np.sqrt(np.clip(coef[0] + coef[1] * xs[keep] ** 2, 0.0, None))
    rms = float(np.sqrt(np.mean((pred - ts[keep]) ** 2)))
    zs, zr = float(np.median(source_z)), float(np.median(receiver_z))
    if coef[0] <= (2.0 * (zs + zr) / v) ** 2 or coef[0] <= (5 * dt) ** 2:
        return WaterLayer(velocity=v, seabed_depth=None, t0=None, picks=int(keep.sum()), rms_residual_s=rms,
                          method="direct-wave slope (no seabed reflection found ahead of it)")
    t0 = float(np.sqrt(coef[0]))
    depth = 0.5 * (v * t0 + zs + zr)
    return WaterLayer(velocity=v, seabed_depth=float(depth), t0=t0, picks=int(keep.sum()), rms_residual_s=rms,
                      method="seabed-reflection hyperbola fitted to first-break picks")


def impose_water(model: np.ndarray, z: np.ndarray, water: WaterLayer) -> np.ndarray:
    """``model`` (``(nz, nx)`` m/s) with the water velocity above the seabed (cells whose centre
    ``z`` (m, ``(nz,)``) is shallower than the seabed)."""
    out = np.array(model, dtype=np.float32, copy=True)
    if water.seabed_depth is not None:
        out[z < water.seabed_depth] = water.velocity
    return out
