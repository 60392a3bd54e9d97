"""Field (real) shot-gather SEG-Y/SU into arrays an inversion can use.

:func:`read_field` builds on :func:`hybridfwi.io.scan.scan` (byte order, sample count, per-trace
scalars, dropped traces, layout) and adds what an inversion needs: traces grouped into shots,
positions projected onto the 2-D line, source and receiver depths, and a marine/land decision.
Everything it had to repair or assume is listed in ``FieldSurvey.notes``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.errors import InputError
from hybridfwi.io.scan import SegyScan, scan

__all__ = ["FieldSurvey", "read_field"]


@dataclass
class FieldSurvey:
    """Shot gathers read from a field file. Distances in m along the line, times in s.

    Attributes:
        path: the file.
        scan: what :func:`~hybridfwi.io.scan.scan` found (format, repairs, dropped traces).
        data: samples, float32, shape ``(n_shots, nt, n_receivers)`` (file amplitudes).
        dt, t0: sample interval and time of the first sample (delay and its scalar applied).
        ffid: FieldRecord of each shot, ``(n_shots,)``.
        source_x, source_z: ``(n_shots,)``; z is depth below the surface (>= 0).
        receiver_x, receiver_z: ``(n_shots, n_receivers)``.
        marine: sources or receivers below sea level (negative elevations or a source depth).
        origin: map coordinates ``(X, Y)`` of x = 0 and the line's azimuth (degrees from +X).
        notes: what was repaired or assumed on read, one line each (the scan's repairs first).
    """

    path: str
    scan: SegyScan
    data: np.ndarray
    dt: float
    t0: float
    ffid: np.ndarray
    source_x: np.ndarray
    source_z: np.ndarray
    receiver_x: np.ndarray
    receiver_z: np.ndarray
    marine: bool
    origin: tuple = (0.0, 0.0, 0.0)
    notes: list = field(default_factory=list)

    @property
    def n_shots(self) -> int:
        return int(self.data.shape[0])

    @property
    def nt(self) -> int:
        return int(self.data.shape[1])

    @property
    def offsets(self) -> np.ndarray:
        """Signed offsets receiver_x - source_x, m, ``(n_shots, n_receivers)``."""
        return self.receiver_x - self.source_x[:, None]


_FATAL_LAYOUTS = ("post-stack volume", "CDP gather", "no usable traces", "single trace", "unknown")


def _project(sx, sy, gx, gy) -> tuple[np.ndarray, np.ndarray, tuple, float]:
    """Positions along the best-fitting straight line (m), its origin/azimuth, largest off-line distance."""
    pts = np.concatenate([np.stack([sx, sy], 1), np.stack([gx, gy], 1)])
    if np.ptp(pts[:, 1]) == 0:  # already a line along X
        x0 = float(pts[:, 0].min())
        return sx - x0, gx - x0, (x0, float(pts[0, 1]), 0.0), 0.0
    c = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    u = vt[0] if vt[0][0] > 0 or (vt[0][0] == 0 and vt[0][1] > 0) else -vt[0]
    normal = np.array([-u[1], u[0]])
    along = (pts - c) @ u
    off = float(np.abs((pts - c) @ normal).max())
    a0 = float(along.min())
    origin = (float(c[0] + a0 * u[0]), float(c[1] + a0 * u[1]), float(np.degrees(np.arctan2(u[1], u[0]))))
    n = sx.size
    return along[:n] - a0, along[n:] - a0, origin, off


def read_field(path: str, receiver_spacing: float | None = None, source_x: list[float] | None = None,
               first_receiver_x: float = 0.0) -> FieldSurvey:
    """Read a shot-gather SEG-Y/SU file for inversion.

    Args:
        path: the file.
        receiver_spacing: metres between consecutive traces of a shot; used (with ``source_x``)
            when the headers hold no geometry, and overriding them when given.
        source_x: source position of each shot, m, in the order of the shots in the file.
        first_receiver_x: position of each shot's first trace, m (with ``receiver_spacing``).

    Raises:
        InputError: one line naming the file and the problem when the file is not a usable
            shot-gather survey (post-stack, CDP-sorted, no geometry and none given, negative start
            time, shots of different trace counts, ...).
    """
    s = scan(path, keep_traces=True)
    name = os.path.basename(os.fspath(path))
    if s.layout in _FATAL_LAYOUTS:
        why = s.problems[0] if s.problems else f"the file holds a {s.layout} layout, not shot gathers"
        raise InputError(f"{name}: cannot invert: {why}")
    if s.dt <= 0:
        raise InputError(f"{name}: no sample interval in the headers; the file cannot be inverted")
    if s.t0 < 0:
        raise InputError(f"{name}: negative start time {s.t0 * 1000:g} ms; shift or trim the traces so they start at t >= 0")
    tr = s.traces
    notes = list(s.repairs)
    notes += [f"dropped {n} {reason} trace(s)" for reason, n in s.dropped.items()]
    counts = sorted(set(s.shots.values()))
    if len(counts) > 1:
        raise InputError(f"{name}: shots have different trace counts ({counts[0]}..{counts[-1]}); hybridfwi inverts "
                         f"fixed-count shot gathers only: keep a common set of channels per shot")
    ffids = np.array(sorted(s.shots, key=lambda k: int(np.flatnonzero(tr["ffid"] == k)[0])))
    idx = []
    for k in ffids:
        rows = np.flatnonzero(tr["ffid"] == k)
        idx.append(rows[np.argsort(tr["trace_number"][rows], kind="stable")])
    idx = np.stack(idx)  # (n_shots, n_receivers)
    data = np.ascontiguousarray(tr["data"][idx].transpose(0, 2, 1))
    n_shots, n_rec = idx.shape
    if receiver_spacing is not None or not s.has_geometry:
        if receiver_spacing is None or source_x is None:
            raise InputError(f"{name}: no geometry in the headers (all coordinates are 0): give --receiver-spacing and "
                             f"--source-x (one position per shot, {n_shots} shot(s)), and optionally --first-receiver-x")
        if receiver_spacing <= 0:
            raise InputError(f"--receiver-spacing must be positive, got {receiver_spacing:g}")
        if len(source_x) != n_shots:
            raise InputError(f"--source-x gives {len(source_x)} position(s) but {name} holds {n_shots} shot(s); give one per shot")
        sx = np.asarray(source_x, dtype=np.float64)
        gx = np.broadcast_to(first_receiver_x + receiver_spacing * np.arange(n_rec), (n_shots, n_rec)).copy()
        shift = min(sx.min(), gx.min())
        sx, gx = sx - shift, gx - shift
        origin = (float(shift), 0.0, 0.0)
        notes.append(f"geometry from the command line: receivers every {receiver_spacing:g} m, sources at "
                     f"{', '.join(f'{v:g}' for v in source_x)} m")
    else:
        sx_all, gx_all, origin, off = _project(tr["sx"][idx[:, 0]], tr["sy"][idx[:, 0]], tr["gx"][idx].ravel(), tr["gy"][idx].ravel())
        sx, gx = sx_all, gx_all.reshape(n_shots, n_rec)
        if off > 0:
            notes.append(f"map coordinates projected onto a straight line (azimuth {origin[2]:.1f} deg from X, "
                         f"largest off-line distance {off:.1f} m); x = 0 at X={origin[0]:.1f}, Y={origin[1]:.1f}")
        elif origin[0] != 0:
            notes.append(f"x measured from X={origin[0]:g} m")
    # depths: the depth word, else a negative elevation (marine convention)
    sd = tr["source_depth"][idx[:, 0]]
    se = tr["source_elevation"][idx[:, 0]]
    re = tr["receiver_elevation"][idx]
    sz = np.where(sd > 0, sd, np.where(se < 0, -se, 0.0))
    rz = np.where(re < 0, -re, 0.0)
    marine = bool(np.any(re < 0) or np.any(se < 0))
    if marine:
        notes.append(f"marine: source depth {sz.min():g}..{sz.max():g} m, receiver depth {rz.min():g}..{rz.max():g} m "
                     f"(from negative elevations / the source-depth word)")
    elif np.any(re > 0) or np.any(se > 0):
        elev = np.concatenate([re.ravel(), se])
        notes.append(f"land elevations {elev.min():g}..{elev.max():g} m ignored: a flat surface is assumed")
    return FieldSurvey(path=os.fspath(path), scan=s, data=data, dt=s.dt, t0=s.t0, ffid=ffids, source_x=sx, source_z=sz,
                       receiver_x=gx, receiver_z=rz, marine=marine, origin=origin, notes=notes)
