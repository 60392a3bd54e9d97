"""The one reader: a shot-gather SEG-Y/SU file (field or synthetic) into a :class:`ShotRecord`.

:func:`read_survey` builds on :func:`hybridfwi.io.scan.scan` (byte order, text encoding, sample
count, per-trace scalars, dropped traces, layout) and adds what an inversion needs: traces grouped
into shots (FieldRecord) and ordered by TraceNumber, shots of any trace count (padded, with a
receiver mask), map coordinates projected onto the 2-D line, source and receiver depths, and a
marine/land decision. Everything it repaired or assumed is listed in ``SurveyFile.notes``.

A ``hybridfwi synth`` file has a JSON sidecar beside it (``survey.json`` for ``survey.segy``):
it is only a hint that fills in what SEG-Y headers cannot hold (the modelling grid, the exact
source wavelet, the top boundary); positions and samples always come from the file itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord
from hybridfwi.core.survey import Survey
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError
from hybridfwi.io.scan import SegyScan, scan

__all__ = ["SurveyFile", "read_survey", "sidecar_path", "GeometryOverride"]

_FATAL_LAYOUTS = ("post-stack volume", "CDP gather", "no usable traces", "single trace", "unknown")


def sidecar_path(path: str | os.PathLike) -> str:
    """``survey.segy`` -> ``survey.json``."""
    return os.path.splitext(os.fspath(path))[0] + ".json"


@dataclass
class GeometryOverride:
    """Geometry given on the command line, for files without any (or to override the headers).

    Attributes:
        receiver_spacing: metres between consecutive traces of a shot.
        source_x: source position of each shot, m, in the order of the shots in the file.
        first_receiver_x: position of each shot's first trace, m.
    """

    receiver_spacing: float | None = None
    source_x: list | None = None
    first_receiver_x: float = 0.0

    def validate(self) -> "GeometryOverride":
        if self.receiver_spacing is not None and (not np.isfinite(self.receiver_spacing) or self.receiver_spacing <= 0):
            raise InputError(f"--receiver-spacing must be a positive number of metres, got {self.receiver_spacing!r}")
        if self.source_x is not None and not np.all(np.isfinite(np.asarray(self.source_x, dtype=np.float64))):
            raise InputError(f"--source-x must be finite positions in metres, got {self.source_x!r}")
        if not np.isfinite(self.first_receiver_x):
            raise InputError(f"--first-receiver-x must be a finite position in metres, got {self.first_receiver_x!r}")
        if (self.receiver_spacing is None) != (self.source_x is None):
            raise InputError("give --receiver-spacing and --source-x together")
        return self

    @property
    def given(self) -> bool:
        return self.receiver_spacing is not None


@dataclass
class SurveyFile:
    """A shot-gather file as read.

    Attributes:
        path: the file.
        record: the data as recorded, ``(n_shots, nt, n_receivers)`` (zero where a shot has fewer
            traces), its acquisition (positions along the line, m; depths below the surface), and
            the time of the first sample ``t0`` (delay word and its scalar applied).
        scan: what :func:`~hybridfwi.io.scan.scan` found (format, repairs, dropped traces).
        ffid: FieldRecord of each shot, ``(n_shots,)``.
        marine: sources or receivers below sea level (field data), or a free-surface synthetic
            survey with buried receivers: a water layer is to be picked.
        synthetic: a ``hybridfwi synth`` sidecar was found: 2-D data, exact wavelet known.
        grid_hint: the sidecar's modelling grid (None for field data).
        origin: map coordinates ``(X, Y)`` of x = 0 and the line's azimuth (degrees from +X).
        notes: what was repaired or assumed on read, one line each.
    """

    path: str
    record: ShotRecord
    scan: SegyScan
    ffid: np.ndarray
    marine: bool
    synthetic: bool = False
    grid_hint: Grid | None = None
    origin: tuple = (0.0, 0.0, 0.0)
    notes: list = field(default_factory=list)

    @property
    def survey(self) -> Survey:
        return self.record.survey


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


def _read_sidecar(path: str) -> dict | None:
    side = sidecar_path(path)
    if not os.path.isfile(side):
        return None
    try:
        with open(side, encoding="utf-8") as fh:
            meta = json.load(fh)
        if not isinstance(meta, dict) or meta.get("hybridfwi") != "survey sidecar":
            return None
        return {"grid": Grid.from_dict(meta["grid"]) if "grid" in meta else None, "wavelet": Wavelet.from_dict(meta["wavelet"]),
                "free_surface": bool(meta.get("free_surface", False)), "name": meta.get("name", "")}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{side}: unreadable geometry sidecar ({exc}); delete it to read the SEG-Y alone") from None
    except InputError as exc:
        raise InputError(f"{side}: {exc}; delete it to read the SEG-Y alone") from None


def read_survey(path: str | os.PathLike, geometry: GeometryOverride | None = None) -> SurveyFile:
    """Read a shot-gather SEG-Y/SU file (field or synthetic).

    Args:
        path: the file.
        geometry: positions from the command line, for files without geometry (or to override it).

    Raises:
        InputError: one line naming the file and the problem when the file is not a usable
            shot-gather survey (post-stack, CDP-sorted, no geometry and none given, negative start
            time, NaN samples, varying sample interval, truncated, ...).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give a shot-gather SEG-Y/SU file")
    geometry = (geometry or GeometryOverride()).validate()
    s = scan(path, keep_traces=True)
    name = os.path.basename(path)
    if s.layout in _FATAL_LAYOUTS:
        why = s.problems[0] if s.problems else f"the file holds a {s.layout} layout, not shot gathers"
        raise InputError(f"{name}: cannot invert: {why}")
    if s.dt <= 0:
        raise InputError(f"{name}: no sample interval in the headers; the file cannot be inverted")
    if s.t0 < 0:
        raise InputError(f"{name}: negative start time {s.t0 * 1000:g} ms; shift or trim the traces so they start at t >= 0")
    if s.varying_dt:
        raise InputError(f"{name}: the sample interval changes between traces ({s.varying_dt}); resample the file to one interval")
    if s.bad_traces:
        raise InputError(f"{name}: {s.bad_traces[0]}; repair or remove such traces before inverting")
    tr = s.traces
    notes = list(s.repairs)
    notes += [f"dropped {n} {reason} trace(s)" for reason, n in s.dropped.items()]
    ffids = np.array(sorted(s.shots, key=lambda k: int(np.flatnonzero(tr["ffid"] == k)[0])))
    rows = []
    for k in ffids:
        r = np.flatnonzero(tr["ffid"] == k)
        rows.append(r[np.argsort(tr["trace_number"][r], kind="stable")])
    n_shots, width = len(rows), max(len(r) for r in rows)
    counts = sorted({len(r) for r in rows})
    if len(counts) > 1:
        notes.append(f"shots have {counts[0]}..{counts[-1]} traces: each shot keeps its own receivers (a receiver mask pads the rest)")
    idx = np.full((n_shots, width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        idx[i, : len(r)] = r
    mask = idx >= 0
    safe = np.where(mask, idx, rows[0][0])
    data = np.ascontiguousarray(tr["data"][safe].transpose(0, 2, 1)) * mask[:, None, :]
    first = np.array([r[0] for r in rows])
    side = _read_sidecar(path)
    if geometry.given or not s.has_geometry:
        if not geometry.given:
            raise InputError(f"{name}: no geometry in the headers (all coordinates are 0): give --receiver-spacing and "
                             f"--source-x (one position per shot, {n_shots} shot(s)), and optionally --first-receiver-x")
        if len(geometry.source_x) != n_shots:
            raise InputError(f"--source-x gives {len(geometry.source_x)} position(s) but {name} holds {n_shots} shot(s); give one per shot")
        sx = np.asarray(geometry.source_x, dtype=np.float64)
        gx = np.where(mask, geometry.first_receiver_x + geometry.receiver_spacing * np.arange(width), np.nan)
        shift = min(sx.min(), np.nanmin(gx))
        sx, gx = sx - shift, gx - shift
        origin = (float(shift), 0.0, 0.0)
        if side is not None:  # positions from the command line: the sidecar's grid no longer applies
            side["grid"] = None
        notes.append(f"geometry from the command line: receivers every {geometry.receiver_spacing:g} m, sources at "
                     f"{', '.join(f'{v:g}' for v in geometry.source_x)} m")
    elif side is not None and not np.any(tr["sy"]) and not np.any(tr["gy"]):  # our own files: keep the sidecar grid's frame
        sx = tr["sx"][first].astype(np.float64)
        gx = np.where(mask, tr["gx"][safe], np.nan)
        origin = (0.0, 0.0, 0.0)
    else:
        sx, gx_flat, origin, off = _project(tr["sx"][first], tr["sy"][first], tr["gx"][idx[mask]], tr["gy"][idx[mask]])
        gx = np.full((n_shots, width), np.nan)
        gx[mask] = gx_flat
        if off > 0:
            notes.append(f"map coordinates projected onto a straight line (azimuth {origin[2]:.1f} deg from X, "
                         f"largest off-line distance {off:.1f} m); x = 0 at X={origin[0]:.1f}, Y={origin[1]:.1f}")
        elif origin[0] != 0:
            notes.append(f"x measured from X={origin[0]:g} m")
    # depths: the depth word, else a negative elevation (marine convention)
    sd = tr["source_depth"][first]
    se = tr["source_elevation"][first]
    re = np.where(mask, tr["receiver_elevation"][safe], 0.0)
    sz = np.where(sd > 0, sd, np.where(se < 0, -se, 0.0))
    rz = np.where(mask, np.where(re < 0, -re, 0.0), np.nan)
    if side is not None:
        marine = side["free_surface"] and bool(np.all(rz[mask] > 0))
        wavelet, free_surface, label = side["wavelet"], side["free_surface"], side["name"] or name
        notes.insert(0, "a hybridfwi synthetic survey: modelling grid, source wavelet and top boundary from its sidecar "
                        f"{os.path.basename(sidecar_path(path))}")
    else:
        marine = bool(np.any(re < 0) or np.any(se < 0))
        if marine:
            notes.append(f"marine: source depth {sz.min():g}..{sz.max():g} m, receiver depth {np.nanmin(rz):g}..{np.nanmax(rz):g} m "
                         f"(from negative elevations / the source-depth word)")
        elif np.any(re > 0) or np.any(se > 0):
            elev = np.concatenate([re[mask], se])
            notes.append(f"land elevations {elev.min():g}..{elev.max():g} m ignored: a flat surface is assumed")
        freqs = np.fft.rfftfreq(data.shape[1], s.dt)
        spec = np.abs(np.fft.rfft(data, axis=1)).sum(axis=(0, 2))
        wavelet = Wavelet(peak_freq=float(freqs[np.argmax(spec[1:]) + 1]))
        free_surface, label = marine, name
    survey = Survey(dt=s.dt, nt=data.shape[1], source_x=sx, source_z=sz, receiver_x=gx, receiver_z=rz, wavelet=wavelet,
                    free_surface=free_surface, name=label)
    record = ShotRecord(data=data, survey=survey, t0=s.t0)
    return SurveyFile(path=path, record=record, scan=s, ffid=ffids, marine=marine, synthetic=side is not None,
                      grid_hint=None if side is None else side["grid"], origin=origin, notes=notes)
