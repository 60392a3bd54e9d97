"""Water layer from marine shot gathers: water velocity and seabed depth from the seabed reflection.

The seabed reflection from a depth ``h`` arrives at offset ``x`` at

    t(x) = sqrt(x^2 + (2 h - z_s - z_r)^2) / v_w

for water velocity ``v_w`` and source and receiver depths ``z_s``, ``z_r``. :func:`pick_water`
stacks the data's envelope along these hyperbolas for every trial ``(h, v_w)`` (a velocity scan,
as in velocity analysis), keeps the times that are clear of the direct wave, and takes the
shallowest depth whose stack is strong (at least a tenth of the strongest, and well above the
background): the first strong reflector under the water is the seabed; its multiples and deeper
layers come later. This holds in shallow and deep water, with soft and hard seabeds, with a weak
direct wave (ghosts cancel it along the surface) or a strong one, with one-sided streamers and
shots of different trace counts. No plausible stack (a land survey, no water) returns None. A seabed
too soft to reflect leaves a deeper reflector first; its moveout, faster than water's (it lies under
sediments), rejects it, and None is returned too; so it is where the first arrivals near the shots
travel faster than water (a free-surface survey over rock: no water at all).
"""

from __future__ import annotations

import numpy as np

from hybridfwi.core.model import ShotRecord, WaterLayer

__all__ = ["pick_water", "onsets", "onset_lag", "WATER_RANGE"]

#: Plausible sea-water velocities, m/s.
WATER_RANGE = (1420.0, 1600.0)


def onsets(data: np.ndarray, axis: int = -2) -> np.ndarray:
    """Where events begin: the rise of each trace's envelope, ``max(d envelope / dt, 0)``, normalised per
    trace by its RMS; time moved last: ``(..., traces, nt)``. An event's onset attribute peaks where its
    envelope rises fastest, before any ghost or bubble that follows it."""
    from scipy.signal import hilbert

    x = np.moveaxis(np.asarray(data, dtype=np.float64), axis, -1)
    env = np.abs(hilbert(x, axis=-1))
    rise = np.clip(np.gradient(env, axis=-1), 0.0, None)
    rms = np.sqrt(np.mean(rise ** 2, axis=-1, keepdims=True))
    return rise / np.where(rms > 0, rms, 1.0)


def onset_lag(wavelet: np.ndarray, dt: float) -> float:
    """Time (s) at which a wavelet's onset attribute peaks: subtract it from an event's onset time."""
    return float(np.argmax(onsets(np.asarray(wavelet)[:, None], axis=0)[0])) * dt


def _stack(ev: np.ndarray, t: np.ndarray, ok: np.ndarray, t_first: float, dt: float) -> float:
    """Mean envelope of traces ``ok`` sampled at times ``t`` (s after the shot)."""
    if ok.sum() < 3:
        return np.nan
    k = (t[ok] - t_first) / dt
    k0 = np.clip(np.floor(k).astype(np.int64), 0, ev.shape[1] - 2)
    w = np.clip(k - k0, 0.0, 1.0)
    r = np.flatnonzero(ok)
    return float(np.mean((1 - w) * ev[r, k0] + w * ev[r, k0 + 1]))


def _seabed_time(ev, xo, dz2, t_first, dt, t_end, v, hs, gap, reach: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Stack along reflection hyperbolas of trial depths ``hs`` at velocity ``v`` (traces within 1.2 h,
    ``gap`` s behind the direct wave). With ``reach``, a depth no trace passes for (a shallow seabed
    under a streamer whose near offset is large: its reflection runs close behind the direct wave and
    beyond 1.2 h) is stacked again with half the gap and offsets up to 3 h; else such a seabed is seen
    only through its multiples, and the first of them, at twice its depth, is taken."""
    prof = np.full(hs.size, np.nan)
    t_dir = np.sqrt(xo ** 2 + dz2[0] ** 2) / v
    for i, h in enumerate(hs):
        t = np.sqrt(xo ** 2 + (2 * h - dz2[1]) ** 2) / v
        ok = (xo <= 1.2 * h) & (t - t_dir >= gap) & (t <= t_end)
        if ok.sum() < 3 and reach:
            ok = (xo <= 3.0 * h) & (t - t_dir >= 0.5 * gap) & (t <= t_end)
        prof[i] = _stack(ev, t, ok, t_first, dt)
    return hs, prof


def _moveout_velocity(ev, xo, dz2, t_first, dt, t_end, t0, depth, f, gap, v_water) -> tuple[float, float] | None:
    """Stacking velocity of the event at zero-offset time ``t0`` (s): stacks along
    ``t(x) = sqrt(t0^2 + (x / v)^2)`` for trial ``v`` of 1450-3000 m/s over one fixed set of traces
    (offsets up to twice ``depth``, every trial clear of the direct wave by ``gap``). Returns (best
    velocity, its stack over the best stack at a water velocity), or None when the offsets cannot
    tell water from sediment: 1600 and 1800 m/s moveouts differ by under a quarter period there."""
    vels = np.arange(1450.0, 3000.1, 10.0)
    t_dir = np.sqrt(xo ** 2 + dz2[0] ** 2) / v_water
    fast, slow = (np.sqrt(t0 ** 2 + (xo / v) ** 2) for v in (vels[-1], vels[0]))
    ok = (xo <= 2.0 * depth) & (fast - t_dir >= gap) & (slow <= t_end)
    if ok.sum() < 3:
        return None
    xm = float(xo[ok].max())
    if (np.sqrt(t0 ** 2 + (xm / WATER_RANGE[1]) ** 2) - np.sqrt(t0 ** 2 + (xm / 1800.0) ** 2)) * f < 0.25:
        return None
    st = np.array([_stack(ev, np.sqrt(t0 ** 2 + (xo / v) ** 2), ok, t_first, dt) for v in vels])
    water = vels <= WATER_RANGE[1]
    if not np.isfinite(st[water]).any() or np.nanmax(st[water]) <= 0:
        return None
    j = int(np.nanargmax(st))
    return float(vels[j]), float(st[j] / np.nanmax(st[water]))


def _faster_than_water(ev, xo, dz2, near, t_first, dt, t_end, water_stack) -> bool:
    """Whether the first arrivals over offsets ``near`` (up to twice the picked depth, where nothing
    arrives before the direct wave through water) travel faster than water: stacks along direct-wave
    lines at 1650-6000 m/s, the best at least 10 % above the best at a water velocity
    (``water_stack``). True on a top of rock or sediment under a free surface (no water at all)."""
    if not np.isfinite(water_stack).any():
        return False
    r = np.sqrt(xo ** 2 + dz2[0] ** 2)
    fast = np.array([_stack(ev, r / v, near & (r / v <= t_end), t_first, dt) for v in np.arange(1650.0, 6000.1, 50.0)])
    return bool(np.isfinite(fast).any() and np.nanmax(fast) >= 1.1 * np.nanmax(water_stack) and np.nanmax(fast) > 0)


def _first_strong(prof: np.ndarray) -> tuple[int, float] | None:
    good = np.isfinite(prof)
    if good.sum() < 5:
        return None
    p = np.where(good, prof, np.nanmin(prof[good]))
    top, floor = float(np.max(p)), float(np.median(p[good]))
    if top < 3.0 * floor:  # nothing stands out: no seabed reflection (e.g. no water at all)
        return None
    # a soft seabed reflects several times less than a hard layer below it (R 0.05 against 0.25):
    # a tenth of the strongest event still counts; anything earlier than the seabed is, if anything,
    # too shallow, the safe side (less is frozen)
    strong = np.flatnonzero((p >= 0.1 * top) & (p >= 3.0 * floor))
    i = int(strong[0])
    while i + 1 < p.size and p[i + 1] >= p[i]:  # climb to the local maximum of that event
        i += 1
    return i, top / floor


def pick_water(record: ShotRecord, t_first: float, peak_hz: float | None = None, max_depth: float | None = None,
               velocities: np.ndarray | None = None, gap_periods: float = 1.0, check_moveout: bool = True,
               reach_shallow: bool = True, check_top: bool = True) -> WaterLayer | None:
    """Water velocity and seabed depth from shot gathers, by stacks of the envelope.

    1. the seabed: stack along reflection hyperbolas (at 1500 m/s) for trial depths; the shallowest
       strong stack clear of the direct wave is the seabed reflection;
    2. the water velocity: stack along the direct wave (a line in offset) for trial velocities over
       offsets up to twice that depth (before refractions overtake it); taken when it stands out,
       else 1500 m/s. When the first arrivals there stack clearly better at 1650-6000 m/s than at any
       water velocity, the top is not water (a free-surface survey over rock or sediment): None;
    3. the depth again, with that velocity;
    4. the check that the event is the seabed: where the offsets resolve it, its moveout must be
       water's. A reflector whose stack is at least 10 % stronger at a stacking velocity above
       :data:`WATER_RANGE` lies under sediments (a seabed too soft to reflect above it): None.

    Args:
        record: the shot gathers (``(n_shots, nt, n_receivers)``; padded receivers ignored).
        t_first: time after the shot of the first sample, less the wavelet's onset lag (synthetic
            data: ``-onset_lag(wavelet)``; field data: 0, the source's onset being the shot time).
        peak_hz: the data's peak frequency (sets how far from the direct wave a pick must be;
            default: the survey wavelet's).
        max_depth: deepest seabed considered, m (default: from the record length).
        velocities: trial water velocities, m/s (default 1450..1600 every 5 m/s).
        gap_periods: how far (periods of ``peak_hz``) a seabed time must trail the direct wave for a
            trace to enter the stack. 1 period: with 1.5, seabeds shallower than about 230 m under a 6 Hz
            streamer with a 100 m near offset were missed or picked at a deeper reflector on validation
            models (``benchmarks/results/seabed_picks.json``).
        check_moveout: step 4 (off: the first strong reflector is the seabed whatever its moveout).
        check_top: step 2's test of the first arrivals (off: a water layer is returned even where they
            travel faster than water).
        reach_shallow: trial depths that no trace passes for under the gap and 1.2-depth offset rules
            are stacked with half the gap and offsets up to 3 depths (off: they are skipped). Without
            it, shallow seabeds under a streamer with a 262 m near offset were picked at their first
            multiple, twice as deep, on validation models (``seabed_picks.json``, ``sparse-streamer``).

    Returns:
        The layer, or None when no plausible seabed reflection stands out of the data, or the first
        strong one has a moveout faster than water's.
    """
    s = record.survey
    dt, mask = s.dt, s.receiver_mask
    f = peak_hz or s.wavelet.peak_freq
    ev = onsets(record.data, axis=1)[mask]  # (traces, nt)
    xo = np.abs(s.offsets)[mask]
    zs = (s.source_z[:, None] * np.ones(mask.shape))[mask]
    zr = s.receiver_z[mask]
    dz2 = (zs - zr, zs + zr)
    t_end = t_first + dt * (s.nt - 1)
    vels = np.arange(1450.0, 1600.1, 5.0) if velocities is None else np.asarray(velocities, float)
    gap = gap_periods / f  # a pick must be this far behind the direct wave
    h_lo = float(np.median(zs + zr)) / 2 + 0.5 * 1500.0 / f
    h_hi = max_depth or 0.5 * 1500.0 * (t_end - 2.0 / f)
    if h_hi <= h_lo:
        return None
    hs = np.arange(h_lo, h_hi, max(1500.0 / f / 40.0, 1.0))
    hs, prof = _seabed_time(ev, xo, dz2, t_first, dt, t_end, 1500.0, hs, gap, reach_shallow)
    first = _first_strong(prof)
    if first is None:
        return None
    h0 = float(hs[first[0]])
    t0 = (2 * h0 - float(np.median(dz2[1]))) / 1500.0
    # the direct wave's velocity, over offsets it leads the reflections and refractions
    near = (xo >= 2.0 / f * 1500.0 / 4) & (xo <= 2.0 * h0)
    dstack = np.array([_stack(ev, np.sqrt(xo ** 2 + dz2[0] ** 2) / v, near & (np.sqrt(xo ** 2 + dz2[0] ** 2) / v <= t_end),
                              t_first, dt) for v in vels])
    if check_top and _faster_than_water(ev, xo, dz2, near, t_first, dt, t_end, dstack):
        return None
    v, how = 1500.0, "water velocity 1500 m/s assumed (no clear direct wave)"
    if np.isfinite(dstack).sum() >= 3:
        j = int(np.nanargmax(dstack))
        base = float(np.nanmedian(dstack))
        if dstack[j] >= 1.3 * base and 0 < j < vels.size - 1:
            v, how = float(vels[j]), f"water velocity {vels[j]:.0f} m/s from the direct wave"
    # the depth with that velocity: the same zero-offset time
    h = 0.5 * (v * t0 + float(np.median(dz2[1])))
    hs2 = np.arange(max(h_lo, h - 0.15 * h), min(h_hi, h + 0.15 * h), max(1500.0 / f / 80.0, 0.5))
    if hs2.size >= 5:
        hs2, prof2 = _seabed_time(ev, xo, dz2, t_first, dt, t_end, v, hs2, gap, reach_shallow)
        if np.isfinite(prof2).any():
            h = float(hs2[int(np.nanargmax(prof2))])
    t0 = (2 * h - float(np.median(dz2[1]))) / v
    # a seabed reflection has water's moveout; a reflector under sediments as slow as water (a seabed
    # too soft to reflect) stacks best at a faster velocity, and the seabed is then somewhere above it
    mo = _moveout_velocity(ev, xo, dz2, t_first, dt, t_end, t0, h, f, gap, v) if check_moveout else None
    if mo is not None and mo[0] > WATER_RANGE[1] and mo[1] >= 1.1:
        return None
    how += "" if mo is None else f"; moveout {mo[0]:.0f} m/s"
    return WaterLayer(velocity=v, seabed_depth=h, t0=t0, picks=int(mask.sum()), rms_residual_s=0.0,
                      method=f"seabed from a hyperbolic stack of the envelope ({first[1]:.1f} x the background); {how}")
