"""The acquisition (``Survey``) and a grid paired with one (``Geometry``).

A :class:`Survey` is where the shots and receivers are, in metres, and how the data are sampled:
it holds no model grid. Grid indices for deepwave are computed against a :class:`Grid` on demand
(:meth:`Survey.source_indices`, :meth:`Survey.receiver_indices`), so one acquisition can be
modelled on any grid (a refined one, a problem grid chosen from the data, a network frame).

Shots may have different numbers of receivers (real surveys drop traces): receiver arrays are
``(n_shots, max_receivers)`` with NaN where a shot has no receiver, and :attr:`Survey.receiver_mask`
says which entries are real. Data of such a survey are zero at the padded entries.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core._util import require_fields
from hybridfwi.core.grid import Grid
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError

__all__ = ["Survey", "Geometry", "PRESETS", "load_geometry", "available_memory"]


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _ragged(values, n_shots: int, what: str) -> np.ndarray:
    """One list shared by every shot, one list per shot (any lengths), or an array -> ``(n_shots, n)`` NaN-padded."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        a = np.asarray(values, dtype=np.float64)
        if a.ndim == 1:
            return np.broadcast_to(a, (n_shots, a.size)).copy()
        if a.ndim == 2 and a.shape[0] == n_shots:
            return a.copy()
        raise InputError(f"survey {what} must be one list (shared by all shots) or {n_shots} lists, one per shot; got shape {a.shape}")
    seq = list(values)
    if seq and all(isinstance(v, (int, float, np.integer, np.floating)) for v in seq):
        a = np.asarray(seq, dtype=np.float64)
        return np.broadcast_to(a, (n_shots, a.size)).copy()
    if len(seq) != n_shots:
        raise InputError(f"survey {what} must be one list (shared by all shots) or {n_shots} lists, one per shot; got {len(seq)} lists")
    rows = []
    for r in seq:
        try:
            rows.append(np.atleast_1d(np.asarray(r, dtype=np.float64)))
        except (TypeError, ValueError):
            raise InputError(f"survey {what} holds a value that is not a number") from None
    width = max(r.size for r in rows)
    out = np.full((n_shots, width), np.nan)
    for i, r in enumerate(rows):
        if r.ndim != 1:
            raise InputError(f"survey {what}: shot {i} is not a flat list of positions")
        out[i, : r.size] = r
    return out


@dataclass(eq=False)
class Survey:
    """A 2-D acquisition: one source per shot, receivers per shot, time sampling, wavelet, top boundary.

    Positions are in metres (x lateral, z depth below the surface, z = 0 at the surface).

    Attributes:
        dt: sample interval of the data, s.
        nt: number of time samples.
        source_x, source_z: source positions, metres, shape ``(n_shots,)``.
        receiver_x, receiver_z: receiver positions, metres, shape ``(n_shots, n_receivers)``; a shot
            with fewer receivers has NaN in the unused entries (see :attr:`receiver_mask`). Given as
            one list they are shared by every shot; as a list of lists, one per shot (any lengths).
        wavelet: the source wavelet (the modelling wavelet; a field survey's is estimated later).
        free_surface: ``True`` for a pressure-release top boundary (free-surface multiples and
            ghosts), ``False`` for an absorbing top.
        name: a label (a preset name, or the file it came from).
    """

    dt: float
    nt: int
    source_x: np.ndarray
    source_z: np.ndarray
    receiver_x: np.ndarray
    receiver_z: np.ndarray
    wavelet: Wavelet
    free_surface: bool = False
    name: str = field(default="")

    def __post_init__(self) -> None:
        try:
            dt = float(self.dt)
        except (TypeError, ValueError):
            raise InputError(f"survey dt must be a number of seconds, got {self.dt!r}") from None
        if not np.isfinite(dt) or dt <= 0:
            raise InputError(f"survey dt must be a positive number of seconds, got {self.dt!r}")
        self.dt = dt
        if isinstance(self.nt, bool) or not isinstance(self.nt, (int, np.integer, float)) or int(self.nt) != self.nt or self.nt < 2:
            raise InputError(f"survey nt must be an integer >= 2, got {self.nt!r}")
        self.nt = int(self.nt)
        if not isinstance(self.wavelet, Wavelet):
            raise InputError("survey wavelet must be a Wavelet")
        try:
            self.source_x = np.atleast_1d(np.asarray(self.source_x, dtype=np.float64))
            self.source_z = np.atleast_1d(np.asarray(self.source_z, dtype=np.float64))
        except (TypeError, ValueError):
            raise InputError("survey source positions must be numbers") from None
        if self.source_z.shape != self.source_x.shape:
            try:
                self.source_z = np.broadcast_to(self.source_z, self.source_x.shape).copy()
            except ValueError:
                raise InputError("survey source_z must match source_x (one depth per shot, or one for all)") from None
        if self.source_x.ndim != 1 or self.source_x.size == 0:
            raise InputError("survey source_x must be a non-empty list, one position per shot")
        n = self.source_x.size
        rx = _ragged(self.receiver_x, n, "receiver_x")
        if rx.shape[1] == 0:
            raise InputError("survey receiver_x is empty: every shot needs at least one receiver")
        rz_in = self.receiver_z
        scalar = isinstance(rz_in, (int, float, np.integer, np.floating)) or (isinstance(rz_in, np.ndarray) and rz_in.size == 1)
        if isinstance(rz_in, (list, tuple)) and len(rz_in) == 1 and isinstance(rz_in[0], (int, float, np.integer, np.floating)):
            scalar, rz_in = True, rz_in[0]
        if scalar:
            rz = np.where(np.isfinite(rx), float(np.ravel(np.asarray(rz_in, dtype=np.float64))[0]), np.nan)
        else:
            rz = _ragged(rz_in, n, "receiver_z")
            if rz.shape != rx.shape:
                if rz.shape[1] == 1:
                    rz = np.where(np.isfinite(rx), rz, np.nan)
                else:
                    raise InputError("survey receiver_z must match receiver_x in shape (or be one depth)")
        if not np.array_equal(np.isfinite(rx), np.isfinite(rz)):
            raise InputError("survey receiver_x and receiver_z must give a depth for every receiver position")
        if not np.all(np.isfinite(rx).any(axis=1)):
            k = int(np.flatnonzero(~np.isfinite(rx).any(axis=1))[0])
            raise InputError(f"survey shot {k} has no receivers")
        self.receiver_x, self.receiver_z = rx, rz
        for name in ("source_x", "source_z"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise InputError(f"survey {name} holds non-finite values")
        if np.any(self.source_z < 0) or np.any(rz[np.isfinite(rz)] < 0):
            raise InputError("survey depths must be >= 0 m (z is depth below the surface)")
        self.free_surface = bool(self.free_surface)

    # ----------------------------------------------------------------- sizes
    @property
    def n_shots(self) -> int:
        return int(self.source_x.size)

    @property
    def n_receivers(self) -> int:
        """Receivers per shot in the data array (the largest count; see :attr:`receiver_mask`)."""
        return int(self.receiver_x.shape[1])

    @property
    def receiver_mask(self) -> np.ndarray:
        """``(n_shots, n_receivers)`` bool: True where a shot has a receiver."""
        return np.isfinite(self.receiver_x)

    @property
    def regular(self) -> bool:
        """Every shot has the same number of receivers (no padding)."""
        return bool(self.receiver_mask.all())

    @property
    def data_shape(self) -> tuple[int, int, int]:
        """Shape of one record's data, ``(n_shots, nt, n_receivers)`` (the OpenFWI layout)."""
        return (self.n_shots, self.nt, self.n_receivers)

    @property
    def times(self) -> np.ndarray:
        """Sample times from the first sample, s, shape ``(nt,)``."""
        return self.dt * np.arange(self.nt)

    @property
    def offsets(self) -> np.ndarray:
        """Signed offsets receiver_x - source_x, metres, ``(n_shots, n_receivers)`` (NaN where no receiver)."""
        return self.receiver_x - self.source_x[:, None]

    def extent(self) -> tuple[float, float]:
        """Smallest and largest x of any source or receiver, metres."""
        xs = np.concatenate([self.source_x, self.receiver_x[self.receiver_mask]])
        return float(xs.min()), float(xs.max())

    # ----------------------------------------------------------- grid indices
    def _indices(self, grid: Grid, x: np.ndarray, z: np.ndarray, what: str) -> np.ndarray:
        fx = (x - grid.x0) / grid.dx
        fz = (z - grid.z0) / grid.dz
        ix = np.rint(np.nan_to_num(fx))
        iz = np.rint(np.nan_to_num(fz))
        outside = np.isfinite(x) & ((ix < 0) | (ix > grid.nx - 1) | (iz < 0) | (iz > grid.nz - 1))
        if np.any(outside):
            k = tuple(int(v) for v in np.argwhere(outside)[0])
            raise InputError(
                f"{what} at x={x[k]:g} m, z={z[k]:g} m lies outside the model "
                f"(x {grid.x0:g}..{grid.x_max:g} m, z {grid.z0:g}..{grid.z_max:g} m); fix the geometry or enlarge the grid"
            )
        return np.stack([iz, ix], axis=-1).astype(np.int64)

    def source_indices(self, grid: Grid) -> np.ndarray:
        """Source cells ``(iz, ix)`` on ``grid``, int64, shape ``(n_shots, 1, 2)`` (deepwave's layout).

        Positions are snapped to the nearest cell; :meth:`snap_error` says by how much.
        """
        return self._indices(grid, self.source_x, self.source_z, "a source")[:, None, :]

    def receiver_indices(self, grid: Grid) -> np.ndarray:
        """Receiver cells ``(iz, ix)`` on ``grid``, int64, ``(n_shots, n_receivers, 2)``; padded entries are (0, 0)."""
        idx = self._indices(grid, self.receiver_x, self.receiver_z, "a receiver")
        mask = self.receiver_mask
        idx[~mask] = 0
        for s in range(self.n_shots):
            cells = idx[s, mask[s], 0] * grid.nx + idx[s, mask[s], 1]
            if np.unique(cells).size != cells.size:
                raise InputError(f"shot {s}: two receivers fall in the same grid cell; use a finer grid or fewer receivers")
        return idx

    def snap_error(self, grid: Grid) -> float:
        """Largest distance, metres, between a position and the centre of the cell it is snapped to."""
        errs = []
        for x, z in ((self.source_x, self.source_z), (self.receiver_x[self.receiver_mask], self.receiver_z[self.receiver_mask])):
            ex = (x - grid.x0) / grid.dx
            ez = (z - grid.z0) / grid.dz
            errs.append(np.max(np.hypot((ex - np.rint(ex)) * grid.dx, (ez - np.rint(ez)) * grid.dz)))
        return float(max(errs))

    def validate(self, grid: Grid) -> "Survey":
        """Check that every source and receiver lies inside ``grid`` (one per cell); return self."""
        self.source_indices(grid)
        self.receiver_indices(grid)
        return self

    def replace(self, **changes) -> "Survey":
        """A copy with some fields changed (e.g. ``wavelet=``, ``nt=``, ``dt=``)."""
        d = {k: getattr(self, k) for k in ("dt", "nt", "source_x", "source_z", "receiver_x", "receiver_z", "wavelet",
                                              "free_surface", "name")}
        d.update(changes)
        for k in ("source_x", "source_z", "receiver_x", "receiver_z"):
            if isinstance(d[k], np.ndarray):
                d[k] = d[k].astype(np.float64, copy=True)
        return Survey(**d)

    def select(self, shots) -> "Survey":
        """The acquisition of some shots only (indices, in the given order)."""
        idx = np.asarray(shots, dtype=np.int64)
        rx = self.receiver_x[idx]
        keep = np.isfinite(rx).any(axis=0)
        return self.replace(source_x=self.source_x[idx], source_z=self.source_z[idx], receiver_x=rx[:, keep],
                            receiver_z=self.receiver_z[idx][:, keep])

    # ---------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict:
        """A JSON-ready dict; receivers are written once when every shot shares them, else per shot."""
        same = bool(self.regular and np.all(self.receiver_x == self.receiver_x[:1]) and np.all(self.receiver_z == self.receiver_z[:1]))
        if same:
            rx, rz = self.receiver_x[0].tolist(), self.receiver_z[0].tolist()
        else:
            m = self.receiver_mask
            rx = [self.receiver_x[i, m[i]].tolist() for i in range(self.n_shots)]
            rz = [self.receiver_z[i, m[i]].tolist() for i in range(self.n_shots)]
        return {
            "name": self.name,
            "dt": self.dt,
            "nt": self.nt,
            "source_x": self.source_x.tolist(),
            "source_z": self.source_z.tolist(),
            "receiver_x": rx,
            "receiver_z": rz,
            "wavelet": self.wavelet.to_dict(),
            "free_surface": self.free_surface,
        }

    @classmethod
    def from_dict(cls, d: dict, name: str | None = None) -> "Survey":
        require_fields(d, ("dt", "nt", "source_x", "source_z", "receiver_x", "receiver_z", "wavelet"), "geometry")
        try:
            return cls(
                dt=d["dt"],
                nt=d["nt"],
                source_x=d["source_x"],
                source_z=d["source_z"],
                receiver_x=d["receiver_x"],
                receiver_z=d["receiver_z"],
                wavelet=Wavelet.from_dict(d["wavelet"]),
                free_surface=bool(d.get("free_surface", False)),
                name=name if name is not None else d.get("name", ""),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"geometry: {exc}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Survey):
            return NotImplemented
        return (
            self.dt == other.dt
            and self.nt == other.nt
            and self.wavelet == other.wavelet
            and self.free_surface == other.free_surface
            and all(
                np.array_equal(getattr(self, k), getattr(other, k), equal_nan=True)
                for k in ("source_x", "source_z", "receiver_x", "receiver_z")
            )
        )

    def __repr__(self) -> str:
        return (
            f"Survey(name={self.name!r}, dt={self.dt:g} s, nt={self.nt}, shots={self.n_shots}, "
            f"receivers={self.n_receivers}{'' if self.regular else ' (per shot, padded)'}, "
            f"wavelet={self.wavelet.kind} {self.wavelet.peak_freq:g} Hz, free_surface={self.free_surface})"
        )


@dataclass(eq=False)
class Geometry:
    """A model grid with an acquisition on it: what a geometry JSON file and a preset hold.

    The JSON form is the acquisition's fields plus ``"grid": {nz, nx, dz, dx[, z0, x0]}``.
    """

    grid: Grid
    survey: Survey

    def validate(self) -> "Geometry":
        self.survey.validate(self.grid)
        return self

    def modelling_bytes(self, refine: int = 1, batch: int = 1, pml_width: int = 20) -> int:
        """About how many bytes modelling every shot of ``batch`` models takes (float32): per
        (model, shot) the padded model and its wavefields, plus the recorded data."""
        g, s = self.grid, self.survey
        pad = 2 * pml_width * refine + 8
        cells = ((g.nz - 1) * refine + 1 + pad) * ((g.nx - 1) * refine + 1 + pad)
        pairs = batch * s.n_shots
        return 4 * (pairs * 7 * cells + 2 * pairs * s.nt * s.n_receivers)

    def check_size(self, what: str = "geometry", refine: int = 1, batch: int = 1) -> "Geometry":
        """Refuse (before anything is allocated) a geometry whose modelling needs more memory than is available."""
        need = self.modelling_bytes(refine, batch)
        have = available_memory()
        if have is not None and need > have:
            g, s = self.grid, self.survey
            finer = f" ({refine}x finer for modelling)" if refine > 1 else ""
            raise InputError(f"{what}: a {g.nz} x {g.nx} grid{finer} with {s.n_shots} shot(s) x {s.n_receivers} receiver(s) x "
                             f"{s.nt} samples needs about {need / 2**30:.3g} GiB to model, more than the {have / 2**30:.3g} GiB "
                             f"of memory available; use a smaller or coarser grid, fewer shots or fewer samples")
        return self

    def to_dict(self) -> dict:
        return {"name": self.survey.name, "grid": self.grid.to_dict(), **{k: v for k, v in self.survey.to_dict().items() if k != "name"}}

    @classmethod
    def from_dict(cls, d: dict, name: str | None = None) -> "Geometry":
        require_fields(d, ("grid",), "geometry")
        return cls(grid=Grid.from_dict(d["grid"]), survey=Survey.from_dict(d, name=name))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "Geometry":
        path = os.fspath(path)
        if os.path.isdir(path):
            raise InputError(f"geometry {path!r} is a folder; give a geometry .json file")
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
        except FileNotFoundError:
            raise InputError(f"geometry file {path!r} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"geometry file {path!r} is not valid JSON: {exc}") from None
        if not isinstance(d, dict):
            raise InputError(f"geometry file {path!r}: expected a JSON object")
        try:
            return cls.from_dict(d, name=d.get("name") or os.path.basename(path))
        except InputError as exc:
            raise InputError(f"geometry file {path!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Geometry):
            return NotImplemented
        return self.grid == other.grid and self.survey == other.survey


def _openfwi() -> Geometry:
    """OpenFWI's acquisition: 70 x 70 cells at 10 m; 5 sources at x cells 0, 17, 34, 52, 69 and
    70 receivers at every cell, all 10 m deep; 15 Hz Ricker; dt 1 ms; 1000 samples; absorbing top."""
    survey = Survey(
        dt=0.001,
        nt=1000,
        source_x=np.array([0, 17, 34, 52, 69]) * 10.0,
        source_z=np.full(5, 10.0),
        receiver_x=np.arange(70) * 10.0,
        receiver_z=np.full(70, 10.0),
        wavelet=Wavelet(peak_freq=15.0),
        free_surface=False,
        name="openfwi",
    )
    return Geometry(Grid(nz=70, nx=70, dz=10.0, dx=10.0), survey)


#: Named geometry presets.
PRESETS = {"openfwi": _openfwi}


def load_geometry(spec: str) -> Geometry:
    """A preset name (``openfwi``) or the path of a geometry JSON file."""
    if spec in PRESETS:
        return PRESETS[spec]()
    if spec.endswith(".json") or os.path.exists(spec):
        geom = Geometry.from_json(spec)
        try:
            geom.validate()
        except InputError as exc:
            raise InputError(f"geometry file {spec!r}: {exc}") from None
        return geom.check_size(f"geometry file {spec!r}")
    raise InputError(f"unknown geometry {spec!r}: use a preset ({', '.join(PRESETS)}) or a geometry .json file")
