"""SEG-Y reading and writing (the only importer of segyio).

Header words are named once here. Conventions of the files this module writes:

- shot gathers: one trace per (shot, receiver), shot-major; IEEE float32 samples (format 5), so
  data round-trip bit for bit; FieldRecord = shot number (1-based), TraceNumber = receiver number;
  SourceX/GroupX and the CDP X word in centimetres with SourceGroupScalar = -100; signed offset
  GroupX - SourceX in whole metres; SourceDepth and -ReceiverGroupElevation (receiver depth) in
  centimetres with ElevationScalar = -100; sample interval in microseconds; start time in the
  delay word (ms).
- velocity models: one trace per lateral position, samples down in depth; the depth step stored
  in the sample-interval field as metres x 1000 (the common convention: 10 m -> 10000); the
  trace's X in the CDP/source/group X words (cm, scalar -100).
- a JSON sidecar ``<name>.json`` beside a shot-gather file keeps what SEG-Y headers cannot
  (the modelling grid, the wavelet, the top boundary).

segyio applies no scalars and does not detect byte order; this module does both.
"""

from __future__ import annotations

import json
import os

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_path, atomic_write_text

__all__ = [
    "write_shots",
    "check_shots_fit",
    "write_model_segy",
    "read_model_segy",
    "detect_endian",
    "looks_like_model",
    "COORD_SCALAR",
]

#: Scalar written for coordinates and elevations: -100 means "divide by 100" (centimetres).
COORD_SCALAR = -100


def _tf():
    import segyio

    return segyio.TraceField


def _apply_scalar(values: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """SEG-Y scalar rule: negative divides, positive multiplies, zero means one."""
    s = np.asarray(scalar, dtype=np.float64)
    factor = np.where(s < 0, 1.0 / np.where(s == 0, 1, -s), np.where(s == 0, 1.0, s))
    return np.asarray(values, dtype=np.float64) * factor


def _scaled(x: np.ndarray | float) -> np.ndarray:
    """Metres -> integers for the header with :data:`COORD_SCALAR` (checked to fit in int32)."""
    v = np.rint(np.asarray(x, dtype=np.float64) * -COORD_SCALAR)
    if np.any(np.abs(v) > 2**31 - 1):
        raise InputError("a coordinate is too large for a SEG-Y header at centimetre precision")
    return v.astype(np.int64)


def detect_endian(path: str | os.PathLike) -> str:
    """``"big"`` or ``"little"``, from the binary header's sample-format word (bytes 3225-3226)."""
    with open(path, "rb") as fh:
        fh.seek(3224)
        raw = fh.read(2)
    if len(raw) < 2:
        raise InputError(f"{os.fspath(path)}: too short to be a SEG-Y file (no binary header)")
    big, little = int.from_bytes(raw, "big"), int.from_bytes(raw, "little")
    valid = {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 15, 16}
    if big in valid:
        return "big"
    if little in valid:
        return "little"
    raise InputError(f"{os.fspath(path)}: unknown sample format code {big} in the binary header; is it a SEG-Y file?")


def _check_interval(value: float, what: str) -> int:
    v = int(round(value))
    if not 0 < v <= 65535:
        raise InputError(f"{what} = {value:g} does not fit the 16-bit SEG-Y sample-interval field (1..65535)")
    return v


def _text_header(lines: list[str]) -> bytes:
    import segyio

    return segyio.tools.create_text_header({i + 1: line[:76] for i, line in enumerate(lines[:40])})


def check_shots_fit(survey) -> int:
    """The sample interval in microseconds, after checking that the survey's sampling fits SEG-Y
    headers (call it before the data are computed)."""
    dt_us = _check_interval(survey.dt * 1e6, "dt in microseconds")
    if abs(dt_us - survey.dt * 1e6) > 1e-6 * dt_us:
        raise InputError(f"dt = {survey.dt:g} s is not a whole number of microseconds; SEG-Y cannot store it exactly")
    if survey.nt > 65535:
        raise InputError(f"nt = {survey.nt} exceeds SEG-Y's 65535 samples per trace")
    return dt_us


def write_shots(path: str | os.PathLike, record: ShotRecord, grid: Grid | None = None, note: str = "") -> None:
    """Write a :class:`ShotRecord` as shot-sorted SEG-Y plus its JSON sidecar, atomically.

    Shots with fewer receivers than others (``survey.receiver_mask``) get only their own traces.

    Args:
        path: output ``.segy`` path; the sidecar goes to :func:`~hybridfwi.io.reader.sidecar_path`.
        record: data ``(n_shots, nt, n_receivers)`` float32 and its survey.
        grid: the modelling grid, kept in the sidecar (the hint a later inversion starts from).
        note: a line for the textual header (e.g. how the data were made).
    """
    from hybridfwi.io.reader import sidecar_path

    import segyio

    TF = _tf()
    s = record.survey
    dt_us = check_shots_fit(s)
    spec = segyio.spec()
    spec.format = 5
    spec.samples = list(range(s.nt))
    mask = s.receiver_mask
    spec.tracecount = int(mask.sum())
    t0_ms = record.t0 * 1000.0
    lines = [
        "hybridfwi shot gathers (2-D acoustic)",
        note,
        f"shots {s.n_shots}  receivers/shot {s.n_receivers}  nt {s.nt}  dt {dt_us} us  t0 {t0_ms:g} ms",
        "coordinates: SourceX/GroupX/CDP X in cm (SourceGroupScalar -100)",
        "depths: SourceDepth and -ReceiverGroupElevation in cm (ElevationScalar -100)",
        "offset: GroupX - SourceX in whole m; samples IEEE float32",
        "geometry sidecar: same name with .json (grid, wavelet, top boundary)",
    ]
    sx, sz = _scaled(s.source_x), _scaled(s.source_z)
    rx, rz = _scaled(np.nan_to_num(s.receiver_x)), _scaled(np.nan_to_num(s.receiver_z))
    cdp = _scaled(np.nan_to_num((s.receiver_x + s.source_x[:, None]) / 2.0))
    offset = np.rint(np.nan_to_num(s.offsets)).astype(np.int64)
    with atomic_path(path) as tmp:
        with segyio.create(tmp, spec) as f:
            f.text[0] = _text_header(lines)
            f.bin.update({segyio.BinField.Interval: dt_us, segyio.BinField.Samples: s.nt, segyio.BinField.Format: 5,
                          segyio.BinField.MeasurementSystem: 1, segyio.BinField.SortingCode: 1})
            k = 0
            for i in range(s.n_shots):
                for j in np.flatnonzero(mask[i]):
                    f.header[k] = {
                        TF.TRACE_SEQUENCE_LINE: k + 1,
                        TF.TRACE_SEQUENCE_FILE: k + 1,
                        TF.FieldRecord: i + 1,
                        TF.TraceNumber: j + 1,
                        TF.EnergySourcePoint: i + 1,
                        TF.TraceIdentificationCode: 1,
                        TF.offset: int(offset[i, j]),
                        TF.ReceiverGroupElevation: int(-rz[i, j]),
                        TF.SourceSurfaceElevation: 0,
                        TF.SourceDepth: int(sz[i]),
                        TF.ElevationScalar: COORD_SCALAR,
                        TF.SourceGroupScalar: COORD_SCALAR,
                        TF.SourceX: int(sx[i]),
                        TF.GroupX: int(rx[i, j]),
                        TF.CDP_X: int(cdp[i, j]),
                        TF.CoordinateUnits: 1,
                        TF.DelayRecordingTime: int(round(t0_ms)),
                        TF.TRACE_SAMPLE_COUNT: s.nt,
                        TF.TRACE_SAMPLE_INTERVAL: dt_us,
                    }
                    f.trace[k] = np.ascontiguousarray(record.data[i, :, j], dtype=np.float32)
                    k += 1
    side = {"hybridfwi": "survey sidecar", **s.to_dict()}
    if grid is not None:
        side["grid"] = grid.to_dict()
    atomic_write_text(sidecar_path(path), json.dumps(side, indent=2) + "\n")


def _open(path: str | os.PathLike):
    import segyio

    from hybridfwi.io.scan import _check_size

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder; give a SEG-Y file")
    endian = detect_endian(path)
    _check_size(path, "segy", endian)  # truncated or trace-less files: one clear line, before segyio reads them
    try:
        return segyio.open(path, "r", ignore_geometry=True, endian=endian)
    except (RuntimeError, OSError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: not a readable SEG-Y file ({exc})") from None


def write_model_segy(path: str | os.PathLike, model: VelocityModel, note: str = "") -> None:
    """Write a velocity model as depth-sampled SEG-Y: one trace per lateral position, atomically.

    The depth step goes in the sample-interval field as metres x 1000 (10 m -> 10000); X of each
    trace in the CDP/source/group X words (cm, scalar -100); samples IEEE float32 in m/s.
    """
    import segyio

    TF = _tf()
    g = model.grid
    dz_code = _check_interval(g.dz * 1000.0, "depth step in mm")
    if g.nz > 65535:
        raise InputError(f"nz = {g.nz} exceeds SEG-Y's 65535 samples per trace")
    spec = segyio.spec()
    spec.format = 5
    spec.samples = list(range(g.nz))
    spec.tracecount = g.nx
    x = _scaled(g.x)
    lines = [
        "hybridfwi velocity model (m/s), depth-sampled",
        note,
        f"nz {g.nz}  nx {g.nx}  dz {g.dz:g} m  dx {g.dx:g} m  z0 {g.z0:g} m  x0 {g.x0:g} m",
        "sample interval field = depth step in metres x 1000 (10 m -> 10000)",
        "one trace per lateral position; X in CDP/source/group X words in cm (scalar -100)",
        "delay word = depth of first sample in metres",
    ]
    with atomic_path(path) as tmp:
        with segyio.create(tmp, spec) as f:
            f.text[0] = _text_header(lines)
            f.bin.update({segyio.BinField.Interval: dz_code, segyio.BinField.Samples: g.nz, segyio.BinField.Format: 5,
                          segyio.BinField.MeasurementSystem: 1})
            for i in range(g.nx):
                f.header[i] = {
                    TF.TRACE_SEQUENCE_LINE: i + 1,
                    TF.TRACE_SEQUENCE_FILE: i + 1,
                    TF.FieldRecord: 1,
                    TF.TraceNumber: i + 1,
                    TF.CDP: i + 1,
                    TF.TraceIdentificationCode: 1,
                    TF.SourceGroupScalar: COORD_SCALAR,
                    TF.SourceX: int(x[i]),
                    TF.GroupX: int(x[i]),
                    TF.CDP_X: int(x[i]),
                    TF.CoordinateUnits: 1,
                    TF.DelayRecordingTime: int(round(g.z0)),
                    TF.TRACE_SAMPLE_COUNT: g.nz,
                    TF.TRACE_SAMPLE_INTERVAL: dz_code,
                }
                f.trace[i] = np.ascontiguousarray(model.values[:, i], dtype=np.float32)


def read_model_segy(path: str | os.PathLike) -> VelocityModel:
    """Read a depth-sampled velocity model written as by :func:`write_model_segy`."""
    TF = _tf()
    with _open(path) as f:
        if f.tracecount < 2:
            raise InputError(f"{os.fspath(path)}: a velocity model needs at least 2 traces, found {f.tracecount}")
        interval = int(f.bin[__import__("segyio").BinField.Interval]) or int(f.header[0][TF.TRACE_SAMPLE_INTERVAL])
        x = _apply_scalar(f.attributes(TF.CDP_X)[:], f.attributes(TF.SourceGroupScalar)[:])
        z0 = float(f.header[0][TF.DelayRecordingTime])
        values = f.trace.raw[:].T.astype(np.float32)
    if interval <= 0:
        raise InputError(f"{os.fspath(path)}: no depth step in the sample-interval field")
    dxs = np.diff(x)
    if not np.allclose(dxs, dxs[0], rtol=1e-6, atol=1e-3) or dxs[0] <= 0:
        raise InputError(f"{os.fspath(path)}: trace X positions are not regularly increasing; not a hybridfwi model file")
    grid = Grid(nz=values.shape[0], nx=values.shape[1], dz=interval / 1000.0, dx=float(np.round(dxs[0], 6)), z0=z0, x0=float(x[0]))
    return VelocityModel(values=values, grid=grid)


def looks_like_model(path: str | os.PathLike) -> bool:
    """True for a depth-sampled model file (as :func:`write_model_segy` writes), False otherwise.

    A shot-gather file with a JSON sidecar is never a model; otherwise the textual header says.
    """
    from hybridfwi.io.reader import sidecar_path

    if os.path.exists(sidecar_path(path)):
        return False
    with _open(path) as f:
        text = bytes(f.text[0])
    import segyio

    try:
        decoded = segyio.tools.wrap(text.decode("ascii") if text[:1] == b"C" else __import__("codecs").decode(text, "cp500"))
    except (UnicodeDecodeError, LookupError):
        return False
    return "VELOCITY MODEL" in decoded.upper()
