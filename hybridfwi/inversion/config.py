"""FWI configuration: one dataclass, saved as JSON beside every run."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from hybridfwi.errors import InputError

__all__ = ["FWIConfig"]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


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
        line_search_evaluations: most trial models the strong-Wolfe line search may evaluate per
            L-BFGS iteration (each a forward and adjoint propagation; 1 accepts the first trial).
        misfit: ``"l2"``, ``"gc"`` (normalised global correlation, trace-wise) or ``"envelope"``.
        tv_weight, tikhonov_weight, prior_weight: regularisation weights (total variation,
            smoothness, distance to the initial model), relative to a data misfit of 1 at the start.
        freeze_above_m: no update shallower than this depth (m).
        freeze_velocity_below: no update where the initial model is at or below this (m/s).
        min_offset_m: traces whose receiver lies closer than this to its source (m) are left out of
            the misfit (and of wavelet estimation); ``None`` (default): closer than one grid cell,
            i.e. the receiver on the source, whose near field is set by the grid and not by the
            earth. On the four dev cases with such traces, data modelled on a 2x finer grid differ
            from the inversion grid's by 16-18 % there and by under 1 % at one cell of offset: those
            traces hold 99.6-99.8 % of the mismatch (``benchmarks/results/offset_mismatch_dev.json``);
            end to end see ``dev_offset.json``. 0 keeps every trace.
        taper_radius_m: cosine taper of the gradient around sources and receivers (m); 0 disables
            it; ``None`` (default) uses 5 grid cells.
        depth_power: gradient times ``(z / z_max) ** depth_power``.
        smooth_wavelengths: in every band, smooth the (weighted) gradient with a Gaussian whose sigma is
            this many wavelengths: the mean starting velocity where the model is updated over the band's
            high cut (twice the wavelet's peak frequency for a full band). It damps the wavenumbers that
            reflections put into the update (about ``2 / wavelength``: by ``exp(-8 (pi k)^2)`` for
            ``k`` wavelengths) and keeps the long ones. 0 (default) disables it.
        estimate_wavelet: re-estimate the source wavelet by least squares at the start of each band.
        shots_per_batch: shots modelled per propagation call, gradients accumulated over all of
            them (memory control); ``None`` = all shots in one call.
        storage_mode, storage_compression, checkpoint_segments: deepwave's memory options.
        accuracy, pml_width: propagator settings.
        divergence_factor: a non-finite misfit, or one this many times the last good one, reverts to
            the last good model and halves the step.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        checkpoint_every_s: seconds between checkpoints (0: after every iteration); a band's end is
            always saved. A kill loses at most this much work, and ``--resume`` still reaches the
            uninterrupted result.
    """

    vmin: float = 1400.0
    vmax: float = 4800.0
    bands: list = field(default_factory=list)
    low_cut: float | None = None
    iterations: int = 20
    optimizer: str = "lbfgs"
    lr: float = 20.0
    lbfgs_history: int = 10
    line_search_evaluations: int = 4
    misfit: str = "l2"
    tv_weight: float = 0.0
    tikhonov_weight: float = 0.0
    prior_weight: float = 0.0
    freeze_above_m: float | None = None
    freeze_velocity_below: float | None = None
    min_offset_m: float | None = None
    taper_radius_m: float | None = None
    depth_power: float = 0.0
    smooth_wavelengths: float = 0.0
    estimate_wavelet: bool = False
    shots_per_batch: int | None = None
    storage_mode: str | None = None
    storage_compression: bool | None = None
    checkpoint_segments: int | None = None
    accuracy: int = 4
    pml_width: int = 20
    divergence_factor: float = 10.0
    device: str = "auto"
    checkpoint_every_s: float = 5.0

    def validate(self, dt: float | None = None) -> "FWIConfig":
        """Check every field (and the bands against the data's Nyquist when ``dt`` is given)."""
        if not (_number(self.vmin) and _number(self.vmax)) or not 0 < self.vmin < self.vmax:
            raise InputError(f"vmin ({self.vmin}) must be positive and below vmax ({self.vmax}); fix --vmin/--vmax")
        if not isinstance(self.bands, list):
            raise InputError("bands must be a list of high-cut frequencies in Hz (null for the full band)")
        for b in self.bands:
            if b is not None and (not _number(b) or b <= 0):
                raise InputError(f"band {b!r}: a band is a positive high-cut frequency in Hz (or null for the full band)")
        if dt is not None:
            nyq = 0.5 / dt
            for b in self.bands:
                if b is not None and b >= nyq:
                    raise InputError(f"band {b:g} Hz is at or above the data's Nyquist frequency {nyq:g} Hz (dt {dt:g} s); lower --bands")
            if self.low_cut is not None and not 0 < self.low_cut < nyq:
                raise InputError(f"low_cut {self.low_cut:g} Hz must lie between 0 and the Nyquist frequency {nyq:g} Hz")
        if self.low_cut is not None and (not _number(self.low_cut) or self.low_cut <= 0):
            raise InputError(f"low_cut must be a positive frequency in Hz, got {self.low_cut!r}")
        if self.low_cut is not None:
            for b in self.bands:
                if b is not None and b <= self.low_cut:
                    raise InputError(f"band {b:g} Hz is not above low_cut {self.low_cut:g} Hz")
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise InputError(f"iterations must be a positive integer, got {self.iterations!r}")
        if isinstance(self.line_search_evaluations, bool) or not isinstance(self.line_search_evaluations, int) or \
                self.line_search_evaluations < 1:
            raise InputError(f"line_search_evaluations must be an integer >= 1, got {self.line_search_evaluations!r}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise InputError(f"optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        if self.misfit not in ("l2", "gc", "envelope"):
            raise InputError(f"misfit must be 'l2', 'gc' or 'envelope', got {self.misfit!r}")
        if not _number(self.lr) or not self.lr > 0:
            raise InputError(f"lr must be positive (m/s per iteration), got {self.lr!r}")
        for name in ("tv_weight", "tikhonov_weight", "prior_weight", "taper_radius_m", "freeze_above_m", "freeze_velocity_below",
                     "depth_power", "min_offset_m", "smooth_wavelengths"):
            v = getattr(self, name)
            if v is not None and (not _number(v) or (v < 0 and name != "depth_power")):
                raise InputError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.shots_per_batch is not None and self.shots_per_batch < 1:
            raise InputError(f"shots_per_batch must be >= 1, got {self.shots_per_batch!r}")
        if self.accuracy not in (2, 4, 6, 8):
            raise InputError(f"accuracy must be 2, 4, 6 or 8, got {self.accuracy!r}")
        if not _number(self.checkpoint_every_s) or self.checkpoint_every_s < 0:
            raise InputError(f"checkpoint_every_s must be >= 0 seconds, got {self.checkpoint_every_s!r}")
        if not _number(self.divergence_factor) or not self.divergence_factor > 1:
            raise InputError(f"divergence_factor must be > 1, got {self.divergence_factor!r}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
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
        try:
            return cls(**d)
        except TypeError as exc:
            raise InputError(f"FWI config: {exc}") from None

    @classmethod
    def from_json(cls, path: str, validate: bool = False) -> "FWIConfig":
        """Settings from a JSON file (unknown fields refused); with ``validate``, also checked on their own
        (every error names the file)."""
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
        except FileNotFoundError:
            raise InputError(f"config file {path!r} does not exist") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"config file {path!r} is not valid JSON: {exc}") from None
        try:
            cfg = cls.from_dict(d)
            return cfg.validate() if validate else cfg
        except InputError as exc:
            raise InputError(f"config file {os.fspath(path)!r}: {exc}") from None
