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

import numpy as np

from hybridfwi.core.model import ShotRecord, WaterLayer

__all__ = ["pick_water", "first_breaks", "WATER_RANGE"]

#: Plausible sea-water velocities, m/s.
WATER_RANGE = (1420.0, 1600.0)


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


def _robust_fit(a: np.ndarray, y: np.ndarray, rounds: int = 3) -> tuple[np.ndarray, np.ndarray] | None:
    """Least squares ``a @ coef ~ y`` with outliers (beyond 4 robust sigmas) dropped; (coef, kept)."""
    keep = np.ones(y.size, dtype=bool)
    coef = None
    for _ in range(rounds):
        if keep.sum() < max(4, a.shape[1] + 2):
            return None
        coef, *_ = np.linalg.lstsq(a[keep], y[keep], rcond=None)
        res = y - a @ coef
        mad = np.median(np.abs(res[keep] - np.median(res[keep]))) + 1e-12
        keep = np.abs(res - np.median(res[keep])) <= 4.0 * 1.4826 * mad
    return coef, keep


def _after_direct(data: np.ndarray, dt: float, t_direct: np.ndarray, fraction: float) -> np.ndarray:
    """First-break times (s from the first sample) of the first event after the direct wave: each
    trace is muted until the direct wave's envelope has fallen below ``fraction`` of its peak."""
    from scipy.signal import hilbert

    x = np.moveaxis(np.asarray(data, dtype=np.float64), -2, -1)
    env = np.abs(hilbert(x, axis=-1))
    out = np.full(env.shape[:-1], np.nan)
    for idx in np.ndindex(*env.shape[:-1]):
        e = env[idx]
        i0 = int(round(t_direct[idx] / dt))
        if i0 >= e.size - 2:
            continue
        ip = i0 + int(np.argmax(e[i0: i0 + max(3, e.size // 10)]))
        after = np.flatnonzero(e[ip:] < fraction * e[ip])
        if after.size == 0:
            continue
        i1 = ip + int(after[0])
        rest = e[i1:]
        if rest.max() <= 0:
            continue
        out[idx] = (i1 + int(np.argmax(rest >= fraction * rest.max()))) * dt
    return out


def pick_water(record: ShotRecord, t_first: float, fraction: float = 0.2) -> WaterLayer | None:
    """Water velocity and seabed depth from shot gathers.

    Two readings of the near-offset first breaks are tried: a seabed-reflection hyperbola (deep
    water, weak direct wave) and a direct-wave line through the origin (shallow water); the one
    that fits better with a plausible water velocity wins. With the direct wave first, the seabed
    reflection is picked after it (the direct wave muted) and its zero-offset time
    ``t0 = sqrt(t^2 - x^2 / v_w^2)`` gives the depth.

    Args:
        record: the shot gathers (``(n_shots, nt, n_receivers)``, padded receivers ignored).
        t_first: time after the shot (or after the wavelet's onset) of the first sample, s.

    Returns:
        The layer, or None when no plausible water velocity comes out of the picks.
    """
    s = record.survey
    dt, mask = s.dt, s.receiver_mask
    data = record.data
    fb = first_breaks(data, dt, fraction)
    t = (fb + t_first)[mask]
    x = np.abs(s.offsets[mask])
    zs = float(np.median(s.source_z))
    zr = float(np.median(s.receiver_z[mask]))
    # the reflection: nearer half (before head waves overtake); the direct wave: nearest quarter (where
    # it is still strong enough to be the first break)
    near = x <= np.median(x)
    xs, ts = x[near], t[near]
    hyper = _robust_fit(np.stack([np.ones(xs.size), xs ** 2], axis=1), ts ** 2)
    nearest = x <= np.percentile(x, 25)
    xl, tl = x[nearest], t[nearest]
    line = _robust_fit(np.stack([np.ones(xl.size), xl], axis=1), tl)
    cands = []
    if hyper is not None and hyper[0][1] > 0:
        (a, b), keep = hyper
        v = 1.0 / np.sqrt(b)
        pred = np.sqrt(np.clip(a + b * xs[keep] ** 2, 0.0, None))
        cands.append(("hyperbola", v, float(np.sqrt(np.mean((pred - ts[keep]) ** 2))), int(keep.sum()), a))
    if line is not None and line[0][1] > 0:
        (c, b), keep = line
        v = 1.0 / b
        cands.append(("line", v, float(np.sqrt(np.mean((c + b * xl[keep] - tl[keep]) ** 2))), int(keep.sum()), c))
    cands = [c for c in cands if WATER_RANGE[0] <= c[1] <= WATER_RANGE[1]]
    if not cands:
        return None
    kind, v, rms, n, par = min(cands, key=lambda c: c[2])
    if kind == "hyperbola" and par > (2.0 * (zs + zr) / v) ** 2 and par > (5 * dt) ** 2:
        t0 = float(np.sqrt(par))
        return WaterLayer(velocity=float(v), seabed_depth=float(0.5 * (v * t0 + zs + zr)), t0=t0, picks=n,
                          rms_residual_s=rms, method="seabed-reflection hyperbola fitted to first-break picks")
    # direct wave first: pick the seabed reflection behind it, at the nearest offsets
    t_sb = (_after_direct(data, dt, fb, fraction) + t_first)[mask]
    sel = nearest & np.isfinite(t_sb)
    t0s = np.sqrt(np.clip(t_sb[sel] ** 2 - (x[sel] / v) ** 2, 0.0, None))
    t0s = t0s[t0s > (zs + zr) / v + 2 * dt]
    if t0s.size < 3:
        return WaterLayer(velocity=float(v), seabed_depth=None, t0=None, picks=n, rms_residual_s=rms,
                          method="direct-wave slope (no seabed reflection found behind it)")
    t0 = float(np.median(t0s))
    return WaterLayer(velocity=float(v), seabed_depth=float(0.5 * (v * t0 + zs + zr)), t0=t0, picks=n + int(t0s.size),
                      rms_residual_s=rms, method="direct-wave slope; seabed from the reflection picked behind it")
