"""From a field survey to an inversion problem: grid, time axis, bands, corrections, water layer.

:func:`build_problem` turns a :class:`~hybridfwi.io.field.FieldSurvey` into a
:class:`~hybridfwi.core.model.ShotRecord` on a modelling grid, with every choice recorded:

- **bands**: from the data's amplitude spectrum (the usable band is where the mean spectrum is
  above 10% of its peak): a low cut at its lower edge and two low-pass stages, 1.5x and 2x that;
- **grid spacing**: about 4.5 cells per minimum wavelength at the highest band (``vmin_guess``:
  the water velocity for marine data), rounded down to a round number and never coarser than the
  receiver spacing; **lateral extent**: the sources and receivers plus ``padding``; **depth**: half
  the largest offset (the depth diving waves and wide-angle reflections reach);
- **time axis**: a non-zero start time is honoured (zeros before it), the record is cut to
  ``tmax``, shifted later by the modelling wavelet's delay (so the estimated source wavelet is
  causal), optionally corrected from 3-D point source to 2-D line source, anti-alias filtered and
  decimated to the coarsest sample interval that keeps 3 samples per period at the highest band;
- **marine**: free-surface top, sources and receivers at least one cell deep, the water velocity
  and seabed depth picked from the seabed reflection (:mod:`hybridfwi.inversion.marine`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord
from hybridfwi.core.survey import Survey
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError
from hybridfwi.inversion.marine import WaterLayer, pick_water
from hybridfwi.io.field import FieldSurvey
from hybridfwi.physics.filters import amplitude_spectrum, decimate, line_source_correction

__all__ = ["ProblemConfig", "Problem", "build_problem", "nice_spacing"]

_NICE = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 75.0, 100.0)


def nice_spacing(h: float) -> float:
    """The largest round grid spacing (m) not above ``h``."""
    ok = [v for v in _NICE if v <= h * (1 + 1e-9)]
    if not ok:
        raise InputError(f"the grid spacing would be {h:.3g} m, below 1 m: lower the frequency (--bands) or give --dx")
    return ok[-1]


@dataclass
class ProblemConfig:
    """Choices for :func:`build_problem`; None means "decide from the data". Units: m, s, Hz, m/s.

    Attributes:
        bands: high cuts of the FWI stages, Hz.
        low_cut: low cut applied in every stage, Hz (0 = none).
        dx: grid spacing. depth: model depth. padding: lateral margin beyond the outermost
            source/receiver.
        tmax: last time used (after the shot).
        line_source: apply the 3-D to 2-D correction.
        free_surface: free-surface top (default: marine data).
        water_velocity, seabed_depth: override the picks (marine data).
        vmin_guess: lowest velocity expected, for the grid spacing (default: the water velocity for
            marine data, else 1500).
    """

    bands: list | None = None
    low_cut: float | None = None
    dx: float | None = None
    depth: float | None = None
    padding: float | None = None
    tmax: float | None = None
    line_source: bool = True
    free_surface: bool | None = None
    water_velocity: float | None = None
    seabed_depth: float | None = None
    vmin_guess: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Problem:
    """An inversion problem built from a field survey.

    Attributes:
        record: the processed data on the modelling grid; ``record.t0`` is the time after the shot
            of its first sample (negative: the wavelet-delay shift).
        bands, low_cut: FWI stages (Hz).
        water: the water layer (marine data), or None.
        info: every choice and measurement, JSON-ready (for the report).
    """

    record: ShotRecord
    bands: list
    low_cut: float | None
    water: WaterLayer | None
    info: dict = field(default_factory=dict)


def _usable_band(data: np.ndarray, dt: float) -> tuple[float, float, float]:
    freqs, spec = amplitude_spectrum(data, dt, axis=1)
    spec[0] = 0.0
    k = int(np.argmax(spec))
    above = spec >= 0.1 * spec[k]
    lo = k
    while lo > 1 and above[lo - 1]:
        lo -= 1
    hi = k
    while hi < spec.size - 1 and above[hi + 1]:
        hi += 1
    return float(freqs[lo]), float(freqs[k]), float(freqs[hi])


def build_problem(fs: FieldSurvey, cfg: ProblemConfig | None = None) -> Problem:
    """Build the modelling grid, processed data, bands and water layer for ``fs``."""
    cfg = cfg or ProblemConfig()
    info: dict = {"read": list(fs.notes)}
    data = np.asarray(fs.data, dtype=np.float64)
    dt = fs.dt
    # ---- start time and window
    lead = int(round(fs.t0 / dt))
    if lead > 0:
        data = np.concatenate([np.zeros((data.shape[0], lead, data.shape[2])), data], axis=1)
        info["start_time"] = f"first sample at {fs.t0 * 1000:g} ms: {lead} zero samples put in front"
    if cfg.tmax is not None:
        if cfg.tmax <= 10 * dt:
            raise InputError(f"--tmax {cfg.tmax:g} s is too short for data sampled at {dt * 1000:g} ms")
        data = data[:, : int(round(cfg.tmax / dt)) + 1]
    if not np.any(data):
        raise InputError(f"{fs.path}: every sample in the time window is zero")
    # ---- band
    f_lo, f_peak, f_hi = _usable_band(data, dt)
    info["spectrum_hz"] = {"usable_low": f_lo, "peak": f_peak, "usable_high": f_hi}
    low_cut = cfg.low_cut if cfg.low_cut is not None else (round(f_lo, 1) if f_lo >= 1.0 else None)
    low_cut = low_cut or None
    if cfg.bands is not None:
        bands = list(cfg.bands)
    else:
        base = max(f_lo, 2.0)
        bands = [round(1.5 * base, 1), round(2.0 * base, 1)]
    fmax = max(b for b in bands if b is not None) if any(b is not None for b in bands) else f_hi
    if low_cut is not None and low_cut >= fmax:
        raise InputError(f"low cut {low_cut:g} Hz is not below the highest band {fmax:g} Hz; adjust --low-cut or --bands")
    # ---- water layer (raw data, before any filtering)
    marine = fs.marine
    free_surface = marine if cfg.free_surface is None else bool(cfg.free_surface)
    water = None
    if marine:
        water = pick_water(data, dt, 0.0, fs.offsets, fs.source_z, fs.receiver_z)
        if water is None:
            info["water"] = "no plausible water velocity from the picks; give --water-velocity/--seabed-depth"
        if cfg.water_velocity is not None or cfg.seabed_depth is not None:
            v = cfg.water_velocity or (water.velocity if water else 1500.0)
            water = WaterLayer(velocity=v, seabed_depth=cfg.seabed_depth if cfg.seabed_depth is not None else
                               (water.seabed_depth if water else None), t0=None, picks=0, rms_residual_s=0.0, method="given")
    # ---- grid
    vmin = cfg.vmin_guess or (water.velocity if water else 1500.0)
    rx = fs.receiver_x
    spacing = np.diff(np.unique(np.round(rx.ravel(), 3)))
    r_step = float(spacing.min()) if spacing.size else np.inf
    h = cfg.dx or nice_spacing(min(vmin / (4.5 * fmax), r_step))
    if cfg.dx and cfg.dx > r_step:
        raise InputError(f"--dx {cfg.dx:g} m is coarser than the receiver spacing {r_step:g} m; two receivers would share a cell")
    xs = np.concatenate([fs.source_x, rx.ravel()])
    max_off = float(np.abs(fs.offsets).max())
    pad = cfg.padding if cfg.padding is not None else max(10 * h, 0.05 * float(np.ptp(xs)))
    x0 = math.floor((xs.min() - pad) / h) * h
    nx = int(math.ceil((xs.max() + pad - x0) / h)) + 1
    depth = cfg.depth or max(0.5 * max_off, 30 * h, (water.seabed_depth * 1.5 if water and water.seabed_depth else 0.0))
    nz = int(math.ceil(depth / h)) + 1
    grid = Grid(nz=nz, nx=nx, dz=h, dx=h, x0=x0)
    # ---- time: wavelet-delay shift, 3-D -> 2-D, decimation
    peak = round(0.6 * fmax, 2)
    delay = 1.5 / peak
    shift = int(round(delay / dt))
    if cfg.line_source:
        data = line_source_correction(data, dt, t_first=0.0, f_floor=max(low_cut or 1.0, 1.0), axis=1)
        info["line_source_correction"] = "3-D point source -> 2-D line source: sqrt(t) gain and (i omega)^(-1/2) filter"
    data = np.concatenate([np.zeros((data.shape[0], shift, data.shape[2])), data], axis=1)
    k = max(1, int(1.0 / (6.0 * fmax * dt)))
    data = decimate(data, dt, k, axis=1)
    dt_m = dt * k
    scale = float(np.percentile(np.abs(data), 99.9)) or 1.0
    data = (data / scale).astype(np.float32)
    # ---- positions
    sz, rz = fs.source_z.copy(), fs.receiver_z.copy()
    if free_surface:
        moved = bool(np.any(sz < h) or np.any(rz < h))
        sz, rz = np.maximum(sz, h), np.maximum(rz, h)
        if moved:
            info["depths"] = f"sources and receivers shallower than one cell ({h:g} m) moved to {h:g} m (a free-surface grid has p = 0 at z = 0)"
    survey = Survey(grid=grid, dt=dt_m, nt=data.shape[1], source_x=fs.source_x, source_z=sz, receiver_x=rx, receiver_z=rz,
                    wavelet=Wavelet(peak_freq=peak, delay=delay), free_surface=free_surface,
                    name=f"{fs.path} (processed)")
    survey.validate()
    record = ShotRecord(data=data, survey=survey, t0=-shift * dt)
    info.update({
        "grid": grid.to_dict(),
        "grid_spacing_rule": f"{vmin:g} m/s / (4.5 x {fmax:g} Hz), rounded down" + (", receiver spacing" if h == r_step else "")
        if not cfg.dx else "given",
        "dt_s": dt_m, "nt": int(data.shape[1]), "decimation": k, "tmax_s": (data.shape[1] - 1) * dt_m - shift * dt,
        "wavelet_delay_shift_s": shift * dt, "amplitude_scale": scale,
        "bands_hz": bands, "low_cut_hz": low_cut, "free_surface": free_surface, "marine": marine,
        "modelling_wavelet": {"type": "ricker (initial; re-estimated per band)", "peak_hz": peak},
        "water": water.to_dict() if water else info.get("water"),
    })
    return Problem(record=record, bands=bands, low_cut=low_cut, water=water, info=info)
