"""Acquisition geometry on a regular grid."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core._util import require_fields
from hybridfwi.core.grid import Grid
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError

__all__ = ["Survey", "PRESETS", "load_geometry"]

#: Positions closer than this to a cell centre (as a fraction of the spacing) count as on the grid.
_ON_GRID_TOL = 1e-6


@dataclass(eq=False)
class Survey:
    """A 2-D acquisition: model grid, time sampling, one source per shot, receivers per shot.

    Positions are in metres in the grid's frame (x lateral, z depth, z = 0 at the surface).

    Attributes:
        grid: the model grid the survey is modelled on.
        dt: sample interval of the recorded data, s.
        nt: number of time samples.
        source_x, source_z: source positions, metres, shape ``(n_shots,)``.
        receiver_x, receiver_z: receiver positions, metres, shape ``(n_shots, n_receivers)``
            (receivers may move with the shot; the count is the same for every shot).
        wavelet: the source wavelet.
        free_surface: ``True`` for a pressure-release top boundary (free-surface multiples and
            ghosts), ``False`` for an absorbing top.
        name: a label (the preset name, or the file it came from).
    """

    grid: Grid
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
        if not isinstance(self.grid, Grid):
            raise InputError("survey grid must be a Grid")
        if not np.isfinite(self.dt) or self.dt <= 0:
            raise InputError(f"survey dt must be a positive number of seconds, got {self.dt!r}")
        self.dt = float(self.dt)
        if isinstance(self.nt, bool) or int(self.nt) != self.nt or self.nt < 2:
            raise InputError(f"survey nt must be an integer >= 2, got {self.nt!r}")
        self.nt = int(self.nt)
        self.source_x = np.atleast_1d(np.asarray(self.source_x, dtype=np.float64))
        self.source_z = np.atleast_1d(np.asarray(self.source_z, dtype=np.float64))
        if self.source_z.shape != self.source_x.shape:
            self.source_z = np.broadcast_to(self.source_z, self.source_x.shape).copy()
        if self.source_x.ndim != 1 or self.source_x.size == 0:
            raise InputError("survey source_x must be a non-empty list, one position per shot")
        n_shots = self.source_x.size
        rx = np.asarray(self.receiver_x, dtype=np.float64)
        if rx.ndim == 1:
            rx = np.broadcast_to(rx, (n_shots, rx.size)).copy()
        if rx.ndim != 2 or rx.shape[0] != n_shots or rx.shape[1] == 0:
            raise InputError(
                f"survey receiver_x must be one list (shared by all shots) or {n_shots} lists, one per shot"
            )
        rz = np.asarray(self.receiver_z, dtype=np.float64)
        try:
            rz = np.broadcast_to(rz if rz.ndim != 1 or rz.size == 1 else rz[None, :], rx.shape).copy()
        except ValueError:
            raise InputError("survey receiver_z must match receiver_x in shape (or be one depth)") from None
        self.receiver_x, self.receiver_z = rx, rz
        for name in ("source_x", "source_z", "receiver_x", "receiver_z"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise InputError(f"survey {name} holds non-finite values")
        self.free_surface = bool(self.free_surface)

    # ----------------------------------------------------------------- sizes
    @property
    def n_shots(self) -> int:
        return int(self.source_x.size)

    @property
    def n_receivers(self) -> int:
        return int(self.receiver_x.shape[1])

    @property
    def data_shape(self) -> tuple[int, int, int]:
        """Shape of one sample's data, ``(n_shots, nt, n_receivers)`` (the OpenFWI layout)."""
        return (self.n_shots, self.nt, self.n_receivers)

    @property
    def times(self) -> np.ndarray:
        """Sample times, s, shape ``(nt,)``."""
        return self.dt * np.arange(self.nt)

    @property
    def offsets(self) -> np.ndarray:
        """Signed offsets receiver_x - source_x, metres, shape ``(n_shots, n_receivers)``."""
        return self.receiver_x - self.source_x[:, None]

    # ----------------------------------------------------------- grid indices
    def _indices(self, x: np.ndarray, z: np.ndarray, what: str) -> np.ndarray:
        g = self.grid
        fx = (x - g.x0) / g.dx
        fz = (z - g.z0) / g.dz
        ix = np.rint(fx)
        iz = np.rint(fz)
        outside = (ix < 0) | (ix > g.nx - 1) | (iz < 0) | (iz > g.nz - 1)
        if np.any(outside):
            k = np.argwhere(outside)[0]
            k = tuple(int(v) for v in k)
            raise InputError(
                f"{what} at x={x[k]:g} m, z={z[k]:g} m lies outside the model "
                f"(x {g.x0:g}..{g.x_max:g} m, z {g.z0:g}..{g.z_max:g} m); fix the geometry or enlarge the grid"
            )
        return np.stack([iz, ix], axis=-1).astype(np.int64)

    def source_indices(self) -> np.ndarray:
        """Source cells ``(iz, ix)``, int64, shape ``(n_shots, 1, 2)`` (deepwave's layout).

        Positions are snapped to the nearest cell; :meth:`snap_error` says by how much.
        """
        return self._indices(self.source_x, self.source_z, "a source")[:, None, :]

    def receiver_indices(self) -> np.ndarray:
        """Receiver cells ``(iz, ix)``, int64, shape ``(n_shots, n_receivers, 2)``."""
        idx = self._indices(self.receiver_x, self.receiver_z, "a receiver")
        for s in range(self.n_shots):
            cells = idx[s, :, 0] * self.grid.nx + idx[s, :, 1]
            if np.unique(cells).size != cells.size:
                raise InputError(
                    f"shot {s}: two receivers fall in the same grid cell; use a finer grid or fewer receivers"
                )
        return idx

    def snap_error(self) -> float:
        """Largest distance, metres, between a position and the centre of the cell it is snapped to."""
        g = self.grid
        errs = []
        for x, z in ((self.source_x, self.source_z), (self.receiver_x, self.receiver_z)):
            ex = (x - g.x0) / g.dx
            ez = (z - g.z0) / g.dz
            errs.append(np.max(np.hypot((ex - np.rint(ex)) * g.dx, (ez - np.rint(ez)) * g.dz)))
        return float(max(errs))

    def validate(self) -> "Survey":
        """Check that every source and receiver lies inside the model; return self."""
        self.source_indices()
        self.receiver_indices()
        return self

    def with_grid(self, grid: Grid) -> "Survey":
        """The same acquisition on another grid (e.g. a refined one)."""
        return Survey(
            grid=grid,
            dt=self.dt,
            nt=self.nt,
            source_x=self.source_x.copy(),
            source_z=self.source_z.copy(),
            receiver_x=self.receiver_x.copy(),
            receiver_z=self.receiver_z.copy(),
            wavelet=self.wavelet,
            free_surface=self.free_surface,
            name=self.name,
        )

    # ---------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict:
        """A JSON-ready dict; receivers are written once when every shot shares them."""
        same = bool(np.all(self.receiver_x == self.receiver_x[:1]) and np.all(self.receiver_z == self.receiver_z[:1]))
        return {
            "name": self.name,
            "grid": self.grid.to_dict(),
            "dt": self.dt,
            "nt": self.nt,
            "source_x": self.source_x.tolist(),
            "source_z": self.source_z.tolist(),
            "receiver_x": (self.receiver_x[0] if same else self.receiver_x).tolist(),
            "receiver_z": (self.receiver_z[0] if same else self.receiver_z).tolist(),
            "wavelet": self.wavelet.to_dict(),
            "free_surface": self.free_surface,
        }

    @classmethod
    def from_dict(cls, d: dict, name: str | None = None) -> "Survey":
        require_fields(d, ("grid", "dt", "nt", "source_x", "source_z", "receiver_x", "receiver_z", "wavelet"), "geometry")
        try:
            return cls(
                grid=Grid.from_dict(d["grid"]),
                dt=d["dt"],
                nt=d["nt"],
                source_x=d["source_x"],
                source_z=d["source_z"],
                receiver_x=d["receiver_x"],
                receiver_z=d["receiver_z"],
                wavelet=Wavelet.from_dict(d["wavelet"]),
                free_surface=d.get("free_surface", False),
                name=name if name is not None else d.get("name", ""),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"geometry: {exc}") from None

    def to_json(self, path: str | os.PathLike) -> None:
        from hybridfwi.io.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "Survey":
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
        except FileNotFoundError:
            raise InputError(f"geometry file {os.fspath(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"geometry file {os.fspath(path)!r} is not valid JSON: {exc}") from None
        try:
            return cls.from_dict(d, name=d.get("name") or os.path.basename(os.fspath(path)) if isinstance(d, dict) else None)
        except InputError as exc:
            raise InputError(f"geometry file {os.fspath(path)!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Survey):
            return NotImplemented
        return (
            self.grid == other.grid
            and self.dt == other.dt
            and self.nt == other.nt
            and self.wavelet == other.wavelet
            and self.free_surface == other.free_surface
            and all(
                np.array_equal(getattr(self, k), getattr(other, k))
                for k in ("source_x", "source_z", "receiver_x", "receiver_z")
            )
        )

    def __repr__(self) -> str:
        g = self.grid
        return (
            f"Survey(name={self.name!r}, grid={g.nz}x{g.nx} @ {g.dz:g}x{g.dx:g} m, dt={self.dt:g} s, nt={self.nt}, "
            f"shots={self.n_shots}, receivers={self.n_receivers}, wavelet={self.wavelet.kind} {self.wavelet.peak_freq:g} Hz, "
            f"free_surface={self.free_surface})"
        )


def _openfwi() -> Survey:
    """OpenFWI's acquisition: 70 x 70 cells at 10 m; 5 sources at x cells 0, 17, 34, 52, 69 and
    70 receivers at every cell, all 10 m deep; 15 Hz Ricker; dt 1 ms; 1000 samples; absorbing top."""
    grid = Grid(nz=70, nx=70, dz=10.0, dx=10.0)
    return Survey(
        grid=grid,
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


#: Named geometry presets.
PRESETS = {"openfwi": _openfwi}


def load_geometry(spec: str) -> Survey:
    """A preset name (``openfwi``) or the path of a geometry JSON file."""
    if spec in PRESETS:
        return PRESETS[spec]()
    if spec.endswith(".json") or os.path.exists(spec):
        return Survey.from_json(spec)
    raise InputError(f"unknown geometry {spec!r}: use a preset ({', '.join(PRESETS)}) or a geometry .json file")
