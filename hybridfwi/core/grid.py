"""Regular 2-D grid in SI units (depth first)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hybridfwi.errors import InputError

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """A regular 2-D grid, depth first.

    Cell ``(iz, ix)`` sits at depth ``z0 + iz * dz`` and lateral position ``x0 + ix * dx``.

    Attributes:
        nz: number of cells in depth.
        nx: number of cells laterally.
        dz: depth step, metres.
        dx: lateral step, metres.
        z0: depth of the first row, metres (0 = the surface).
        x0: lateral position of the first column, metres.
    """

    nz: int
    nx: int
    dz: float
    dx: float
    z0: float = 0.0
    x0: float = 0.0

    def __post_init__(self) -> None:
        for name in ("nz", "nx"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 2:
                raise InputError(f"grid {name} must be an integer >= 2, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("dz", "dx"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not np.isfinite(value) or value <= 0:
                raise InputError(f"grid spacing {name} must be a positive number of metres, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("z0", "x0"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def shape(self) -> tuple[int, int]:
        """``(nz, nx)``."""
        return (self.nz, self.nx)

    @property
    def spacing(self) -> tuple[float, float]:
        """``(dz, dx)`` in metres, in deepwave's order."""
        return (self.dz, self.dx)

    @property
    def z(self) -> np.ndarray:
        """Depths of the rows, metres, shape ``(nz,)``."""
        return self.z0 + self.dz * np.arange(self.nz)

    @property
    def x(self) -> np.ndarray:
        """Lateral positions of the columns, metres, shape ``(nx,)``."""
        return self.x0 + self.dx * np.arange(self.nx)

    @property
    def z_max(self) -> float:
        return self.z0 + self.dz * (self.nz - 1)

    @property
    def x_max(self) -> float:
        return self.x0 + self.dx * (self.nx - 1)

    def refined(self, factor: int) -> "Grid":
        """The same physical extent with ``factor`` times finer spacing."""
        if factor < 1:
            raise InputError(f"refinement factor must be >= 1, got {factor}")
        return Grid(
            nz=(self.nz - 1) * factor + 1,
            nx=(self.nx - 1) * factor + 1,
            dz=self.dz / factor,
            dx=self.dx / factor,
            z0=self.z0,
            x0=self.x0,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Grid":
        from hybridfwi.core._util import require_fields

        require_fields(d, ("nz", "nx", "dz", "dx"), "grid")
        return cls(**{k: d[k] for k in ("nz", "nx", "dz", "dx", "z0", "x0") if k in d})
