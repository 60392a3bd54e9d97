"""Robust inspection of real SEG-Y / SU files: what a file holds and what had to be repaired.

Real files break the standard in many ways (see ``../shared/data/real/README.md``). This module
detects the byte order and the textual-header encoding, takes the sample count the file size
supports, applies coordinate, elevation and time scalars per trace, groups traces into shots by
FieldRecord (shots may differ in trace count), flags auxiliary, dead, all-zero and NaN traces,
distrusts CoordinateUnits, and classifies the file (shot gathers, CDP gather, post-stack volume),
so that a later stage never inverts nonsense. segyio is used through :mod:`hybridfwi.io.segy`'s
rules: this module and that one are the only importers of segyio.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.errors import InputError
from hybridfwi.io.segy import _apply_scalar as _scale

__all__ = ["SegyScan", "scan"]

_BYTES_PER_SAMPLE = {1: 4, 2: 4, 3: 2, 5: 4, 6: 8, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 15: 3, 16: 1}
_FORMAT_NAME = {1: "IBM float", 2: "int32", 3: "int16", 5: "IEEE float", 6: "IEEE double", 8: "int8", 10: "uint32", 11: "uint16"}


@dataclass
class SegyScan:
    """What a SEG-Y/SU file holds. Times in s, distances in m (after scalars).

    Attributes:
        path, kind (``segy`` or ``su``), endian, text_encoding (``ebcdic``, ``ascii``, ``binary``, None
        for SU), sample_format, n_traces, ns, dt, t0.
        layout: ``shot gathers``, ``CDP gather``, ``post-stack volume``, ``single trace`` or ``unknown``.
        shots: FieldRecord -> number of usable traces.
        source_x, group_x, offset: ranges (min, max) after scalars; ``has_geometry``: any non-zero coordinate.
        spread: ``split``, ``end-on (trailing)``, ``end-on (leading)`` or ``unknown``.
        dropped: reason -> number of traces left out (auxiliary, dead, all-zero, NaN).
        repairs: what was fixed on read, one line each.
        problems: what makes the file unusable for inversion as it stands, one line each.
        varying_dt: the distinct per-trace sample intervals (text) when they differ, else "".
        bad_traces: one line per kind of trace that must be repaired before inverting (NaN samples),
            naming the first such trace.
        traces: with ``scan(path, keep_traces=True)``, the usable traces and their headers after
            scalars: ``data`` ``(n, ns)`` float32, ``ffid``, ``trace_number``, ``sx``, ``sy``, ``gx``,
            ``gy`` (m), ``source_depth``, ``source_elevation``, ``receiver_elevation`` (m), each ``(n,)``.
    """

    path: str
    kind: str
    endian: str
    text_encoding: str | None
    sample_format: str
    n_traces: int
    ns: int
    dt: float
    t0: float
    layout: str = "unknown"
    shots: dict = field(default_factory=dict)
    source_x: tuple = (0.0, 0.0)
    group_x: tuple = (0.0, 0.0)
    offset: tuple = (0.0, 0.0)
    has_geometry: bool = False
    spread: str = "unknown"
    dropped: dict = field(default_factory=dict)
    repairs: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    varying_dt: str = ""
    bad_traces: list = field(default_factory=list)
    traces: dict | None = field(default=None, repr=False)

    def summary(self) -> list[str]:
        """Lines for ``hybridfwi info``."""
        counts = sorted(set(self.shots.values()))
        lines = [
            f"file: {self.path}",
            f"format: {self.kind.upper()}, {self.endian}-endian, {self.sample_format} samples"
            + (f", {self.text_encoding} textual header" if self.text_encoding else ""),
            f"layout: {self.layout}",
            f"traces: {self.n_traces}; samples per trace: {self.ns}; dt: {self.dt * 1000:g} ms; t0: {self.t0 * 1000:g} ms; "
            f"record length: {(self.ns - 1) * self.dt:g} s",
            f"shots: {len(self.shots)}" + (f" (FieldRecord {min(self.shots)}..{max(self.shots)}); traces per shot: "
                                           f"{counts[0]}" + (f"..{counts[-1]}" if len(counts) > 1 else "") if self.shots else ""),
        ]
        if self.has_geometry:
            lines.append(f"source x: {self.source_x[0]:g}..{self.source_x[1]:g} m; receiver x: {self.group_x[0]:g}..{self.group_x[1]:g} m; "
                         f"offsets: {self.offset[0]:g}..{self.offset[1]:g} m; spread: {self.spread}")
        else:
            lines.append("geometry: none in the headers (all coordinates are 0)")
        for reason, n in self.dropped.items():
            lines.append(f"dropped: {n} {reason} trace(s)")
        lines += [f"repaired: {r}" for r in self.repairs]
        lines += [f"problem: {p}" for p in self.problems]
        return lines


def _text_encoding(raw: bytes) -> str:
    ascii_ok = sum(32 <= b < 127 for b in raw) / max(len(raw), 1)
    try:
        decoded = raw.decode("cp500")
        ebcdic_ok = sum(c.isprintable() and c.isascii() for c in decoded) / max(len(decoded), 1)
    except UnicodeDecodeError:
        ebcdic_ok = 0.0
    if raw[:1] == b"C" or ascii_ok > 0.9 and ascii_ok >= ebcdic_ok:
        return "ascii"
    if raw[:1] == b"\xc3" or ebcdic_ok > 0.9:
        return "ebcdic"
    return "binary (unreadable)"


def _check_size(path: str, kind: str, endian: str) -> tuple[int, int]:
    """(trace count, samples per trace) the file size supports; InputError for a truncated file."""
    size = os.path.getsize(path)
    e = ">" if endian == "big" else "<"
    with open(path, "rb") as fh:
        head = fh.read(3600)
    name = os.path.basename(path)
    if kind == "su":
        if size < 240:
            raise InputError(f"{name}: too short to be an SU file")
        ns = struct.unpack(e + "H", head[114:116])[0]
        trace = 240 + 4 * ns
        if ns == 0 or size % trace:
            raise InputError(f"{name}: truncated or not SU: {size} bytes is not a whole number of {trace}-byte traces "
                             f"({ns} samples); the file is incomplete")
        return size // trace, ns
    if size < 3600:
        raise InputError(f"{name}: too short to be a SEG-Y file ({size} bytes; the headers alone take 3600)")
    ns = struct.unpack(e + "H", head[3220:3222])[0]
    fmt = struct.unpack(e + "H", head[3224:3226])[0]
    ext = struct.unpack(e + "h", head[3504:3506])[0]
    first = 3600 + 3200 * max(ext, 0)
    if ns == 0 and size >= first + 240:
        with open(path, "rb") as fh:
            fh.seek(first + 114)
            ns = struct.unpack(e + "H", fh.read(2))[0]
    bps = _BYTES_PER_SAMPLE.get(fmt, 4)
    trace = 240 + bps * ns
    body = size - first
    if ns == 0 or body < trace:
        raise InputError(f"{name}: no complete trace (samples per trace {ns}); not a usable SEG-Y file")
    if body % trace:
        raise InputError(f"{name}: truncated: {body // trace} complete traces of {trace} bytes and {body % trace} bytes of an "
                         f"incomplete one; the file was cut short (re-copy or re-export it)")
    return body // trace, ns


def scan(path: str, keep_traces: bool = False) -> SegyScan:
    """Inspect ``path`` (SEG-Y, or SU by its ``.su`` ending); InputError when it cannot be read at all.

    With ``keep_traces`` the usable traces and their scaled headers are kept in ``.traces``.
    """
    import segyio

    from hybridfwi.io.segy import detect_endian

    path = os.fspath(path)
    name = os.path.basename(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give a SEG-Y or SU file")
    kind = "su" if path.lower().endswith(".su") else "segy"
    repairs: list[str] = []
    problems: list[str] = []
    if kind == "segy":
        endian = detect_endian(path)
        n_size, _ = _check_size(path, kind, endian)
    else:
        endian = None
        for cand in ("big", "little"):
            try:
                n_size, _ = _check_size(path, kind, cand)
                endian = cand
                break
            except InputError as exc:
                last = exc
        if endian is None:
            raise last
    TF = segyio.TraceField
    try:
        fh = segyio.su.open(path, endian=endian, ignore_geometry=True) if kind == "su" else \
            segyio.open(path, "r", ignore_geometry=True, endian=endian)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a readable {kind.upper()} file ({exc})") from None
    with fh:
        n = fh.tracecount
        ns = len(fh.samples)
        keys = (TF.FieldRecord, TF.TraceNumber, TF.CDP, TF.offset, TF.SourceX, TF.GroupX, TF.SourceY, TF.GroupY,
                TF.SourceGroupScalar, TF.TraceIdentificationCode, TF.DelayRecordingTime, TF.ScalarTraceHeader,
                TF.CoordinateUnits, TF.INLINE_3D, TF.TRACE_SAMPLE_COUNT, TF.TRACE_SAMPLE_INTERVAL,
                TF.SourceDepth, TF.SourceSurfaceElevation, TF.ReceiverGroupElevation, TF.ElevationScalar)
        h = {k: fh.attributes(k)[:].astype(np.int64) for k in keys}
        data = fh.trace.raw[:]
        text = None
        if kind == "segy":  # raw bytes: segyio's text[] is already converted from EBCDIC
            with open(path, "rb") as raw:
                text = raw.read(3200)
        if kind == "segy":
            fmt_code = int(fh.bin[segyio.BinField.Format])
            bin_dt = int(fh.bin[segyio.BinField.Interval])
        else:
            fmt_code, bin_dt = 5, 0
    # sample count and interval
    tr_ns = int(h[TF.TRACE_SAMPLE_COUNT][0])
    if tr_ns != ns:
        repairs.append(f"trace headers say {tr_ns} samples per trace; the binary header and the file size say {ns}: used {ns}")
    tr_dt = int(h[TF.TRACE_SAMPLE_INTERVAL][0])
    dt_us = bin_dt or tr_dt
    if bin_dt and tr_dt and bin_dt != tr_dt:
        repairs.append(f"binary header dt {bin_dt} us and trace header dt {tr_dt} us disagree: used the binary header's")
    if dt_us <= 0:
        problems.append("no sample interval in the binary or trace headers")
    tr_dts = np.unique(h[TF.TRACE_SAMPLE_INTERVAL][h[TF.TRACE_SAMPLE_INTERVAL] > 0])
    varying_dt = ""
    if tr_dts.size > 1:
        varying_dt = ", ".join(f"{v / 1000:g}" for v in tr_dts[:4]) + (" ..." if tr_dts.size > 4 else "") + " ms"
        problems.append(f"the per-trace sample interval varies ({varying_dt}); the traces are not on one time axis")
    dt = dt_us / 1e6
    t0 = float(_scale(h[TF.DelayRecordingTime][:1], h[TF.ScalarTraceHeader][:1])[0]) / 1000.0
    if t0 < 0:
        problems.append(f"negative start time {t0 * 1000:g} ms (delay {h[TF.DelayRecordingTime][0]}); the propagator starts at 0: "
                        f"trim or shift the data")
    # traces to keep
    trid = h[TF.TraceIdentificationCode]
    keep = np.ones(n, dtype=bool)
    dropped: dict[str, int] = {}

    def drop(mask: np.ndarray, reason: str) -> None:
        new = mask & keep
        if new.any():
            dropped[reason] = int(new.sum())
            keep[new] = False

    aux = (h[TF.TraceNumber] < 0) | ((trid >= 3) & (trid != 1))
    if (trid == 1).any():
        aux |= trid == 0
    drop(aux, "auxiliary (non-seismic)")
    drop(trid == 2, "dead")
    nan_rows = ~np.all(np.isfinite(data), axis=1)
    bad_traces: list[str] = []
    if nan_rows.any():
        lead = [int(np.argmax(np.isfinite(r))) if np.isfinite(r).any() else r.size for r in data[nan_rows]]
        k = int(np.flatnonzero(nan_rows)[0])
        n_bad = int(np.sum(~np.isfinite(data[k])))
        bad_traces.append(f"{int(nan_rows.sum())} trace(s) hold NaN/infinite samples, the first being trace {k + 1} "
                          f"(FieldRecord {h[TF.FieldRecord][k]}, TraceNumber {h[TF.TraceNumber][k]}: {n_bad} such sample(s))")
        problems.append(f"{int(nan_rows.sum())} trace(s) hold NaN/infinite samples (e.g. {lead[0]} at the start of the first, "
                        f"trace {k + 1}); they were dropped, and a file where every trace has them needs repair first")
    drop(nan_rows, "NaN/infinite")
    drop(np.all(data == 0, axis=1), "all-zero")
    if not keep.any():
        problems.append("no usable trace left")
    # coordinates (per-trace scalars) and CoordinateUnits
    sx = _scale(h[TF.SourceX], h[TF.SourceGroupScalar])
    gx = _scale(h[TF.GroupX], h[TF.SourceGroupScalar])
    sy = _scale(h[TF.SourceY], h[TF.SourceGroupScalar])
    gy = _scale(h[TF.GroupY], h[TF.SourceGroupScalar])
    has_geometry = bool(np.any(sx[keep] != 0) or np.any(gx[keep] != 0) or np.any(sy[keep] != 0) or np.any(gy[keep] != 0))
    units = int(np.bincount(np.clip(h[TF.CoordinateUnits], 0, 9)).argmax())
    if has_geometry and units in (2, 3, 4):
        big = float(np.abs(np.concatenate([sx[keep], gx[keep]])).max())
        limit = {2: 648000.0, 3: 360.0, 4: 3600000.0}[units]
        name_u = {2: "arc seconds", 3: "decimal degrees", 4: "DMS"}[units]
        if big > limit or units in (3, 4):
            repairs.append(f"CoordinateUnits says {name_u}, but the values (up to {big:g}) are read as metres")
    along = np.hypot(gx - sx, gy - sy) * np.sign(np.where(gx - sx == 0, 1, gx - sx))
    offset = along if has_geometry else h[TF.offset].astype(np.float64)
    # layout
    ffid = h[TF.FieldRecord][keep]
    shots = {int(k): int(v) for k, v in zip(*np.unique(ffid, return_counts=True))} if keep.any() else {}
    cdp = h[TF.CDP][keep]
    offs = offset[keep]
    zero_offsets = np.all(h[TF.offset][keep] == 0) and (np.all(gx[keep] == 0) or np.all(gx[keep] == sx[keep]))
    if not keep.any():
        layout = "no usable traces"
    elif keep.sum() == 1:
        layout = "single trace"
    elif zero_offsets and (len(np.unique(cdp)) > 1 or len(np.unique(h[TF.INLINE_3D][keep])) > 1):
        layout = "post-stack volume"
        problems.append("post-stack volume (zero offsets, many CDPs/inlines): not a shot-gather survey; FWI needs pre-stack shot gathers")
    elif len(np.unique(cdp)) == 1 and cdp[0] != 0 and len(shots) > 1 and len(np.unique(offs)) > 1:
        layout = "CDP gather"
        problems.append(f"CDP-sorted gather (one CDP, {cdp[0]}, traces from {len(shots)} shots): not a shot-gather survey; "
                        f"sort it into shot gathers first")
    elif shots and max(shots.values()) > 1:
        layout = "shot gathers"
    else:
        layout = "unknown"
    spread = "unknown"
    if has_geometry and keep.any():
        if np.all(offs <= 0):
            spread = "end-on (trailing)"
        elif np.all(offs >= 0):
            spread = "end-on (leading)"
        else:
            spread = "split"
    if layout == "shot gathers" and not has_geometry:
        problems.append("no geometry in the headers (all coordinates are 0): give it on the command line "
                        "(e.g. --receiver-spacing and --source-x)")
    traces = None
    if keep_traces:
        el = h[TF.ElevationScalar]
        traces = {"data": np.ascontiguousarray(data[keep], dtype=np.float32), "ffid": h[TF.FieldRecord][keep],
                  "trace_number": h[TF.TraceNumber][keep], "sx": sx[keep], "sy": sy[keep], "gx": gx[keep], "gy": gy[keep],
                  "source_depth": _scale(h[TF.SourceDepth], el)[keep],
                  "source_elevation": _scale(h[TF.SourceSurfaceElevation], el)[keep],
                  "receiver_elevation": _scale(h[TF.ReceiverGroupElevation], el)[keep]}
    return SegyScan(
        path=path, traces=traces, kind=kind, endian=endian, text_encoding=None if text is None else _text_encoding(text),
        sample_format=_FORMAT_NAME.get(fmt_code, f"format {fmt_code}"), n_traces=n, ns=ns, dt=dt, t0=t0, layout=layout,
        shots=shots,
        source_x=(float(sx[keep].min()), float(sx[keep].max())) if keep.any() else (0.0, 0.0),
        group_x=(float(gx[keep].min()), float(gx[keep].max())) if keep.any() else (0.0, 0.0),
        offset=(float(offs.min()), float(offs.max())) if keep.any() else (0.0, 0.0),
        has_geometry=has_geometry, spread=spread, dropped=dropped, repairs=repairs, problems=problems,
        varying_dt=varying_dt, bad_traces=bad_traces,
    )
