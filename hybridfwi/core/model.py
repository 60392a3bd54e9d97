"""Velocity models, shot records and the water layer: arrays with their geometry attached."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.survey import Survey
from hybridfwi.errors import InputError

__all__ = ["VelocityModel", "ShotRecord", "WaterLayer", "as_velocity_array"]


def as_velocity_array(values, what: str = "velocity model") -> np.ndarray:
    """Any real numeric array (any byte order, memory order or float width) as C-ordered float32 m/s.

    Raises :class:`InputError` for boolean, complex, object or non-numeric arrays and for non-finite
    or non-positive velocities.
    """
    a = np.asarray(values)
    if a.dtype == bool or a.dtype.kind not in "iuf":
        raise InputError(f"{what} has dtype {a.dtype}; give real velocities in m/s (a float or integer array)")
    v = np.ascontiguousarray(a, dtype=np.float32)
    if v.size == 0:
        raise InputError(f"{what} is empty")
    if not np.all(np.isfinite(v)):
        raise InputError(f"{what} holds NaN or infinite values")
    if np.any(v <= 0):
        raise InputError(f"{what} holds velocities <= 0 m/s (smallest {float(v.min()):g})")
    return v


@dataclass(eq=False)
class VelocityModel:
    """P-wave velocity on a grid.

    Attributes:
        values: velocity, m/s, float32, shape ``(nz, nx)`` (depth first), C-ordered.
        grid: the grid the values live on.
    """

    values: np.ndarray
    grid: Grid

    def __post_init__(self) -> None:
        v = as_velocity_array(self.values)
        if v.ndim != 2:
            raise InputError(f"a velocity model must be 2-D (nz, nx), got shape {v.shape}")
        if v.shape != self.grid.shape:
            raise InputError(f"velocity model shape {v.shape} does not match grid {self.grid.shape}")
        self.values = v

    @property
    def vmin(self) -> float:
        return float(self.values.min())

    @property
    def vmax(self) -> float:
        return float(self.values.max())


@dataclass(eq=False)
class ShotRecord:
    """Recorded (or modelled) shot gathers of a survey.

    Attributes:
        data: pressure, float32, shape ``(n_shots, nt, n_receivers)`` (the OpenFWI layout); zero
            where a shot has no receiver (``survey.receiver_mask``).
        survey: the acquisition that recorded it.
        t0: time of the first sample after the shot, s (negative when the record was shifted
            later, e.g. by a wavelet delay).
    """

    data: np.ndarray
    survey: Survey
    t0: float = 0.0

    def __post_init__(self) -> None:
        d = np.asarray(self.data)
        if d.dtype.kind not in "iuf":
            raise InputError(f"shot data have dtype {d.dtype}; expected real numbers")
        d = np.ascontiguousarray(d, dtype=np.float32)
        if d.shape != self.survey.data_shape:
            raise InputError(f"shot data shape {d.shape} does not match the survey's {self.survey.data_shape}")
        if not self.survey.regular:
            d = d * self.survey.receiver_mask[:, None, :]
        self.data = d
        self.t0 = float(self.t0)

    def select(self, shots) -> "ShotRecord":
        """The record of some shots only."""
        idx = np.asarray(shots, dtype=np.int64)
        s = self.survey.select(idx)
        keep = np.isfinite(self.survey.receiver_x[idx]).any(axis=0)
        return ShotRecord(self.data[idx][:, :, keep], s, self.t0)


@dataclass
class WaterLayer:
    """A water layer on top of a model (marine data).

    Attributes:
        velocity: water velocity, m/s.
        seabed_depth: seabed depth, m (None when only the velocity is known).
        t0: zero-offset two-way seabed time, s (None when not picked).
        picks: number of first-break picks used.
        rms_residual_s: rms traveltime residual of the fit, s.
        method: how it was found (``"given"`` for user values).
    """

    velocity: float
    seabed_depth: float | None
    t0: float | None = None
    picks: int = 0
    rms_residual_s: float = 0.0
    method: str = "given"

    def to_dict(self) -> dict:
        return asdict(self)

    def impose(self, values: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``values`` (``(nz, nx)`` m/s) with the water velocity in every cell whose centre depth
        ``z`` (m, ``(nz,)``) is above the seabed."""
        out = np.array(values, dtype=np.float32, copy=True)
        if self.seabed_depth is not None:
            out[np.asarray(z) < self.seabed_depth] = self.velocity
        return out
