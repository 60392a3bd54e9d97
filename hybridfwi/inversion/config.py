"""FWI configuration: one dataclass, saved as JSON beside every run."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

from hybridfwi.errors import InputError

__all__ = ["FWIConfig"]


@dataclass
class FWIConfig:
    """Everything an inversion needs besides its data and starting model. SI units.

    Attributes:
        vmin, vmax: velocity bounds, m/s; the model stays strictly inside them (sigmoid map), and
            ``vmax`` also fixes the propagator's CFL/PML velocity.
        bands: high-cut frequencies (Hz) of the zero-phase Butterworth low-pass bands, in order;
            ``None`` in the list is the full band; an empty list means one full-band stage.
        low_cut: optional low-cut (Hz) applied in every band (band-pass), e.g. to drop unusable
            low frequencies of field data.
        iterations: iterations per band.
        optimizer: ``"lbfgs"`` (with strong-Wolfe line search) or ``"adam"``.
        lr: Adam's step, as the approximate velocity change per iteration in m/s (unused by L-BFGS,
            whose line search picks the step).
        lbfgs_history: L-BFGS memory.
        misfit: ``"l2"``, ``"gc"`` (normalised global correlation, trace-wise) or ``"envelope"``.
        tv_weight, tikhonov_weight, prior_weight: regularisation weights (total variation,
            smoothness, distance to the initial model), relative to a data misfit of 1 at the start.
        freeze_above_m: no update shallower than this depth (m).
        freeze_velocity_below: no update where the initial model is at or below this (m/s).
        taper_radius_m: cosine taper of the gradient around sources and receivers (m); 0 disables
            it; ``None`` (default) uses 5 grid cells.
        depth_power: gradient times ``(z / z_max) ** depth_power``.
        estimate_wavelet: re-estimate the source wavelet by least squares at the start of each band.
        shots_per_batch: shots modelled per propagation call, gradients accumulated over all of
            them (memory control); ``None`` = all shots in one call.
        storage_mode, storage_compression, checkpoint_segments: deepwave's memory options.
        accuracy, pml_width: propagator settings.
        divergence_factor: a non-finite misfit, or one this many times the last good one, reverts to
            the last good model and halves the step.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    vmin: float = 1400.0
    vmax: float = 4800.0
    bands: list = field(default_factory=list)
    low_cut: float | None = None
    iterations: int = 20
    optimizer: str = "lbfgs"
    lr: float = 20.0
    lbfgs_history: int = 10
    misfit: str = "l2"
    tv_weight: float = 0.0
    tikhonov_weight: float = 0.0
    prior_weight: float = 0.0
    freeze_above_m: float | None = None
    freeze_velocity_below: float | None = None
    taper_radius_m: float | None = None
    depth_power: float = 0.0
    estimate_wavelet: bool = False
    shots_per_batch: int | None = None
    storage_mode: str | None = None
    storage_compression: bool | None = None
    checkpoint_segments: int | None = None
    accuracy: int = 4
    pml_width: int = 20
    divergence_factor: float = 10.0
    device: str = "auto"

    def validate(self, dt: float | None = None) -> "FWIConfig":
        """Check every field (and the bands against the data's Nyquist when ``dt`` is given)."""
        if not (isinstance(self.vmin, (int, float)) and isinstance(self.vmax, (int, float))) or not 0 < self.vmin < self.vmax:
            raise InputError(f"vmin ({self.vmin}) must be positive and below vmax ({self.vmax}); fix --vmin/--vmax")
        if not isinstance(self.bands, list):
            raise InputError("bands must be a list of high-cut frequencies in Hz (null for the full band)")
        for b in self.bands:
            if b is not None and (not isinstance(b, (int, float)) or b <= 0):
                raise InputError(f"band {b!r}: a band is a positive high-cut frequency in Hz (or null for the full band)")
        if dt is not None:
            nyq = 0.5 / dt
            for b in self.bands:
                if b is not None and b >= nyq:
                    raise InputError(f"band {b:g} Hz is at or above the data's Nyquist frequency {nyq:g} Hz (dt {dt:g} s); lower --bands")
            if self.low_cut is not None and not 0 < self.low_cut < nyq:
                raise InputError(f"low_cut {self.low_cut:g} Hz must lie between 0 and the Nyquist frequency {nyq:g} Hz")
        if self.low_cut is not None:
            for b in self.bands:
                if b is not None and b <= self.low_cut:
                    raise InputError(f"band {b:g} Hz is not above low_cut {self.low_cut:g} Hz")
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise InputError(f"iterations must be a positive integer, got {self.iterations!r}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise InputError(f"optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        if self.misfit not in ("l2", "gc", "envelope"):
            raise InputError(f"misfit must be 'l2', 'gc' or 'envelope', got {self.misfit!r}")
        if not self.lr > 0:
            raise InputError(f"lr must be positive (m/s per iteration), got {self.lr!r}")
        for name in ("tv_weight", "tikhonov_weight", "prior_weight", "taper_radius_m"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.shots_per_batch is not None and self.shots_per_batch < 1:
            raise InputError(f"shots_per_batch must be >= 1, got {self.shots_per_batch!r}")
        if self.accuracy not in (2, 4, 6, 8):
            raise InputError(f"accuracy must be 2, 4, 6 or 8, got {self.accuracy!r}")
        if not self.divergence_factor > 1:
            raise InputError(f"divergence_factor must be > 1, got {self.divergence_factor!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise InputError(f"device must be auto, cpu or cuda, got {self.device!r}")
        return self

    @property
    def stages(self) -> list:
        """The bands actually run (one full-band stage when ``bands`` is empty)."""
        return list(self.bands) if self.bands else [None]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FWIConfig":
        if not isinstance(d, dict):
            raise InputError("an FWI config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown FWI config field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**d)

    @classmethod
    def from_json(cls, path: str) -> "FWIConfig":
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
        except FileNotFoundError:
            raise InputError(f"config file {path!r} does not exist") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"config file {path!r} is not valid JSON: {exc}") from None
        try:
            return cls.from_dict(d)
        except InputError as exc:
            raise InputError(f"config file {os.fspath(path)!r}: {exc}") from None
