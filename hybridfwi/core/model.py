"""Velocity models and shot records: arrays with their geometry attached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.survey import Survey
from hybridfwi.errors import InputError

__all__ = ["VelocityModel", "ShotRecord"]


@dataclass(eq=False)
class VelocityModel:
    """P-wave velocity on a grid.

    Attributes:
        values: velocity, m/s, float32, shape ``(nz, nx)`` (depth first).
        grid: the grid the values live on.
    """

    values: np.ndarray
    grid: Grid

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=np.float32)
        if v.ndim != 2:
            raise InputError(f"a velocity model must be 2-D (nz, nx), got shape {v.shape}")
        if v.shape != self.grid.shape:
            raise InputError(f"velocity model shape {v.shape} does not match grid {self.grid.shape}")
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise InputError("velocity model holds non-finite or non-positive values")
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
        data: pressure, float32, shape ``(n_shots, nt, n_receivers)`` (the OpenFWI layout).
        survey: the acquisition that recorded it.
        t0: time of the first sample, s.
    """

    data: np.ndarray
    survey: Survey
    t0: float = 0.0

    def __post_init__(self) -> None:
        d = np.asarray(self.data, dtype=np.float32)
        if d.shape != self.survey.data_shape:
            raise InputError(f"shot data shape {d.shape} does not match the survey's {self.survey.data_shape}")
        self.data = d
