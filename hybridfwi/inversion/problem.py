"""The one problem builder: a survey file (field or synthetic) into an inversion problem.

:func:`build_problem` turns a :class:`~hybridfwi.io.reader.SurveyFile` into a :class:`Problem`:
the data on the modelling time axis, a modelling grid, FWI bands, the water layer, and the
choices that depend on whether the source wavelet is known. Every option is honoured (or refused
with a message), and every choice is recorded in ``Problem.info``:

- **bands**: from the data's amplitude spectrum (the usable band is where the mean spectrum is
  above 10% of its peak): FWI low-pass stages at ``band_factors`` times its lower edge (at least
  2 Hz), capped below the usable top, and one more stage at the spectral peak when that ladder
  stops below ``1 / peak_stage`` of it, and then one at ``top_stage`` times the peak (broadband
  data: OpenFWI's 15 Hz Ricker gives stages 3, 5, 13 and 26 Hz); field data also get a low cut
  at the lower edge;
- **grid**: a synthetic survey's own modelling grid (its sidecar) unless ``dx``/``depth``/``padding``
  are given; otherwise about 4.5 cells per minimum wavelength at the highest band (``vmin_guess``:
  the water velocity for marine data), rounded down to a round number, never coarser than the
  receiver spacing; laterally the sources and receivers plus ``padding``; in depth half the
  largest offset;
- **time axis**: a non-zero start time is honoured (zeros before it), the record is cut to
  ``tmax``; field data (source wavelet unknown) are shifted later by the modelling wavelet's delay
  (so the wavelet estimated later is causal), corrected from 3-D point source to 2-D line source,
  and decimated to the coarsest sample interval that keeps 6 samples per period at the highest band;
- **marine**: free-surface top, sources and receivers at least one cell deep, water velocity and
  seabed depth picked from the first breaks (:mod:`hybridfwi.inversion.marine`) or given.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord, WaterLayer
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError
from hybridfwi.inversion.marine import onset_lag, pick_water
from hybridfwi.physics.filters import amplitude_spectrum, line_source_correction, resample_time

__all__ = ["ProblemConfig", "Problem", "build_problem", "nice_spacing", "usable_band"]

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
        bands: high cuts of the FWI stages, Hz (None in the list: the full band).
        band_factors: the automatic stages, as multiples of the usable band's lower edge.
        peak_stage: add a last automatic stage at the data's spectral peak when the peak is at least
            this many times the highest ``band_factors`` stage (None: never). Chosen on the dev
            suite's OpenFWI-geometry cases (validation seeds, ``benchmarks/results/dev_bands.json``).
        top_stage: when the peak stage was added, one more last stage at this many times the
            spectral peak (None: none), capped at 0.9 x the usable top and at what the grid chosen
            for the other stages resolves (``vmin_guess`` / (4.5 x spacing): the stage never makes
            the grid finer, so field data pay no more per iteration), and kept only when at least
            20 % above the last stage, so that FWI also fits the part of the spectrum above the peak
            (OpenFWI's 15 Hz Ricker, measured peak 13 Hz: 26 Hz). Chosen on the dev
            suite's 13 OpenFWI-geometry cases (validation seeds, 15 iterations per band each). First
            1.5 against none (2-core AMD EPYC, ``benchmarks/results/dev_top_stage.json``): hybrid RMSE
            lower on 12 of 13, summed 2,391 -> 2,282 m/s, median hybrid / DL MAE 0.73 -> 0.65, summed
            wall time 1,148 -> 1,676 s (a fourth band). Then 2.0 against 1.5 (2-core Intel Xeon,
            ``benchmarks/results/dev_top_stage2.json``): lower on 12 of 13 (style-a-0 0.1 % higher),
            summed 2,290 -> 2,260 m/s, median hybrid / DL MAE 0.64 -> 0.63, the same median wall time.
            The rule, fixed before each run: adopt when lower on at least 9 of 13 and lower in sum.
        low_cut: low cut applied in every stage, Hz (0 = none; None: field data's usable lower edge).
        dx: grid spacing. depth: model depth. padding: lateral margin beyond the outermost
            source/receiver.
        tmax: last time used (after the shot).
        line_source: apply the 3-D to 2-D correction (None: for field data only).
        free_surface: free-surface top (None: marine field data, or the synthetic survey's own).
        water_velocity, seabed_depth: override the picks (marine data).
        vmin_guess: lowest velocity expected, for the grid spacing (default: the water velocity for
            marine data, else 1500).
    """

    bands: list | None = None
    band_factors: tuple = (1.5, 2.5)
    peak_stage: float | None = 2.0
    top_stage: float | None = 2.0
    low_cut: float | None = None
    dx: float | None = None
    depth: float | None = None
    padding: float | None = None
    tmax: float | None = None
    line_source: bool | None = None
    free_surface: bool | None = None
    water_velocity: float | None = None
    seabed_depth: float | None = None
    vmin_guess: float | None = None

    def validate(self) -> "ProblemConfig":
        for name in ("dx", "depth", "tmax", "water_velocity", "vmin_guess"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise InputError(f"--{name.replace('_', '-')} must be a positive number, got {v!r}")
        for name in ("padding", "seabed_depth", "low_cut"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v >= 0):
                raise InputError(f"--{name.replace('_', '-')} must be a number >= 0, got {v!r}")
        if self.peak_stage is not None and not (np.isfinite(self.peak_stage) and self.peak_stage > 1):
            raise InputError(f"peak_stage must be a number above 1 (or None), got {self.peak_stage!r}")
        if self.top_stage is not None and (isinstance(self.top_stage, bool) or not (np.isfinite(self.top_stage) and self.top_stage > 1)):
            raise InputError(f"top_stage must be a number above 1 (or None), got {self.top_stage!r}")
        if self.bands is not None:
            if not self.bands:
                raise InputError("--bands is empty; give at least one band (e.g. 5,8 or full)")
            for b in self.bands:
                if b is not None and not (np.isfinite(b) and b > 0):
                    raise InputError(f"--bands: {b!r} is not a positive frequency in Hz (or 'full')")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Problem:
    """An inversion problem.

    Attributes:
        record: the data on the modelling time axis, with the acquisition as modelled (depths moved
            at least one cell below a free surface, the modelling wavelet); ``record.t0`` is the time
            after the shot of its first sample (negative: a wavelet-delay shift).
        grid: the modelling grid.
        bands, low_cut: FWI stages (Hz).
        water: the water layer (marine data), or None.
        known_wavelet: the source wavelet is known exactly (synthetic data); otherwise FWI estimates it.
        field_data: the data came without a hybridfwi sidecar (3-D field recordings).
        info: every choice and measurement, JSON-ready (for the report).
    """

    record: ShotRecord
    grid: Grid
    bands: list
    low_cut: float | None
    water: WaterLayer | None
    known_wavelet: bool
    field_data: bool
    info: dict = field(default_factory=dict)

    @property
    def survey(self):
        return self.record.survey

    @property
    def estimate_wavelet(self) -> bool:
        """Estimate the source wavelet (least squares, per model and band) rather than use the survey's.

        Field data: the source is unknown. Free-surface data: a source and receivers a cell or two
        below a free surface have ghosts the grid does not resolve, so the effective signature on the
        inversion grid differs from the one that made the data; estimating it absorbs that (the true
        model's misfit drops from about 0.7 to 0.04 on the dev suite's streamer cases). Synthetic data
        with an absorbing top use their exact wavelet.
        """
        return not self.known_wavelet or self.record.survey.free_surface

    @property
    def frozen_above_m(self) -> float | None:
        """Depth (m) above which FWI leaves the start's water layer alone (None: no water layer).

        A seabed given by the user is frozen as it is. A picked one less a quarter of the water
        wavelength at the data's peak frequency: on validation-seed models the picks run up to about
        that much too deep where the seabed is shallow (``benchmarks/results/seabed_picks.json``), and
        sediments frozen as water cannot be recovered, while water left free costs FWI nothing.
        """
        w = self.water
        if w is None or w.seabed_depth is None:
            return None
        if w.method == "given":
            return float(w.seabed_depth)
        return max(0.0, float(w.seabed_depth) - 0.25 * w.velocity / self.record.survey.wavelet.peak_freq)

    @property
    def default_misfit(self) -> str:
        """``gc`` (trace-normalised correlation) whenever the wavelet is estimated, since the amplitudes
        are then uncertain (field data; free-surface data); ``l2`` when the exact wavelet is used."""
        return "gc" if self.estimate_wavelet else "l2"


def usable_band(data: np.ndarray, dt: float) -> tuple[float, float, float]:
    """(low edge, peak, high edge) in Hz of the mean amplitude spectrum above 10% of its peak."""
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


def _grid(sf, cfg: ProblemConfig, fmax: float, vmin: float, water: WaterLayer | None) -> tuple[Grid, str]:
    s = sf.survey
    mask = s.receiver_mask
    rx = s.receiver_x[mask]
    spacing = np.diff(np.unique(np.round(rx, 3)))
    r_step = float(spacing.min()) if spacing.size else np.inf
    if sf.grid_hint is not None and cfg.dx is None and cfg.depth is None and cfg.padding is None:
        return sf.grid_hint, "the synthetic survey's own modelling grid (sidecar)"
    if cfg.dx is not None and cfg.dx > r_step:
        raise InputError(f"--dx {cfg.dx:g} m is coarser than the receiver spacing {r_step:g} m; two receivers would share a cell")
    h = cfg.dx or nice_spacing(min(vmin / (4.5 * fmax), r_step))
    rule = "given (--dx)" if cfg.dx else f"{vmin:g} m/s / (4.5 x {fmax:g} Hz), rounded down" + (", receiver spacing" if h == r_step else "")
    lo, hi = s.extent()
    max_off = float(np.nanmax(np.abs(s.offsets)))
    pad = cfg.padding if cfg.padding is not None else max(10 * h, 0.05 * (hi - lo))
    x0 = math.floor((lo - pad) / h) * h
    nx = int(math.ceil((hi + pad - x0) / h)) + 1
    depth = cfg.depth or max(0.5 * max_off, 30 * h, (water.seabed_depth * 1.5 if water and water.seabed_depth else 0.0))
    nz = int(math.ceil(depth / h)) + 1
    cells = nz * nx
    if cells > 20_000_000:
        raise InputError(f"the grid would be {nz} x {nx} cells ({cells / 1e6:.0f} million): too large; give a coarser --dx, "
                         f"a smaller --depth/--padding, or lower --bands")
    return Grid(nz=nz, nx=nx, dz=h, dx=h, x0=x0), rule


def build_problem(sf, cfg: ProblemConfig | None = None) -> Problem:
    """Build the modelling grid, processed data, bands and water layer for a survey file ``sf``."""
    cfg = (cfg or ProblemConfig()).validate()
    s0 = sf.survey
    info: dict = {"read": list(sf.notes)}
    data = np.asarray(sf.record.data, dtype=np.float64)
    dt = s0.dt
    known = bool(sf.synthetic)
    # ---- start time and window
    lead = int(round(sf.record.t0 / dt))
    if lead > 0:
        data = np.concatenate([np.zeros((data.shape[0], lead, data.shape[2])), data], axis=1)
        info["start_time"] = f"first sample at {sf.record.t0 * 1000:g} ms: {lead} zero samples put in front"
    if cfg.tmax is not None:
        if cfg.tmax <= 10 * dt:
            raise InputError(f"--tmax {cfg.tmax:g} s is too short for data sampled at {dt * 1000:g} ms")
        data = data[:, : int(round(cfg.tmax / dt)) + 1]
        info["tmax_s"] = cfg.tmax
    if not np.any(data):
        raise InputError(f"{sf.path}: every sample in the time window is zero")
    # ---- bands
    f_lo, f_peak, f_hi = usable_band(data, dt)
    info["spectrum_hz"] = {"usable_low": f_lo, "peak": f_peak, "usable_high": f_hi}
    if cfg.low_cut is not None:
        low_cut = cfg.low_cut or None
    else:
        low_cut = None if known or f_lo < 1.0 else round(f_lo, 1)
    top = None
    if cfg.bands is not None:
        bands = list(cfg.bands)
    else:
        base = max(f_lo, 2.0)
        bands = sorted({round(min(k * base, 0.9 * f_hi), 1) for k in cfg.band_factors})
        if cfg.peak_stage is not None and f_peak >= cfg.peak_stage * bands[-1]:
            bands.append(round(min(f_peak, 0.9 * f_hi), 1))
            info["peak_stage"] = f"the data peak at {f_peak:g} Hz, above {cfg.peak_stage:g}x the last stage: one more stage there"
            if cfg.top_stage is not None:
                top = min(cfg.top_stage * f_peak, 0.9 * f_hi)  # placed once the grid is known (below)
    for b in bands:
        if b is not None and b >= 0.5 / dt:
            raise InputError(f"band {b:g} Hz is at or above the data's Nyquist frequency {0.5 / dt:g} Hz; lower --bands")
    fmax = max(b for b in bands if b is not None) if any(b is not None for b in bands) else f_hi
    if low_cut is not None and low_cut >= fmax:
        raise InputError(f"low cut {low_cut:g} Hz is not below the highest band {fmax:g} Hz; adjust --low-cut or --bands")
    # ---- water layer (raw data, before any filtering)
    free_surface = (sf.marine or s0.free_surface) if cfg.free_surface is None else bool(cfg.free_surface)
    water = None
    if sf.marine:
        lag = 0.0
        if known:  # synthetic: time zero is the shot; an event's onset is seen at the wavelet's onset lag
            lag = onset_lag(s0.wavelet.array(s0.nt, dt), dt)
        rec = ShotRecord(data.astype(np.float32), s0.replace(nt=data.shape[1]), 0.0)
        water = pick_water(rec, -lag, peak_hz=f_peak if not known else s0.wavelet.peak_freq)
        if water is None:
            info["water"] = ("no seabed reflection picked (none stands out, the first strong one has a moveout faster than "
                             "water's, or the first arrivals travel faster than water); no water layer imposed; give "
                             "--seabed-depth/--water-velocity if they are known")
    if cfg.water_velocity is not None or cfg.seabed_depth is not None:
        v = cfg.water_velocity or (water.velocity if water else 1500.0)
        sb = cfg.seabed_depth if cfg.seabed_depth is not None else (water.seabed_depth if water else None)
        water = WaterLayer(velocity=v, seabed_depth=sb, method="given")
    # ---- grid
    vmin = cfg.vmin_guess or (water.velocity if water else 1500.0)
    grid, rule = _grid(sf, cfg, fmax, vmin, water)
    h = min(grid.dz, grid.dx)
    if top is not None:
        # the stage above the peak never refines the grid: at most what it resolves at the same
        # 4.5 cells per wavelength, and only when that is at least 20 % above the last stage
        top = round(min(top, vmin / (4.5 * h)), 1)
        if top >= 1.2 * bands[-1]:
            bands.append(top)
            fmax = top
            info["top_stage"] = (f"one more stage at {top:g} Hz ({cfg.top_stage:g}x the peak, at most 0.9x the usable top "
                                 f"{f_hi:g} Hz and what the {h:g} m grid resolves)")
    # ---- time: wavelet-delay shift, 3-D -> 2-D, decimation (field data)
    line_source = (not known) if cfg.line_source is None else bool(cfg.line_source)
    if line_source:
        data = line_source_correction(data, dt, t_first=0.0, f_floor=max(low_cut or 1.0, 1.0), axis=1)
        info["line_source_correction"] = "3-D point source -> 2-D line source: sqrt(t) gain and (i omega)^(-1/2) filter"
    if known:
        wavelet, shift, k = s0.wavelet, 0, 1
        scale = 1.0
    else:
        peak = round(0.6 * fmax, 2)
        delay = 1.5 / peak
        wavelet = Wavelet(peak_freq=peak, delay=delay)
        shift = int(round(delay / dt))
        data = np.concatenate([np.zeros((data.shape[0], shift, data.shape[2])), data], axis=1)
        k = max(1, int(1.0 / (6.0 * fmax * dt)))
        nt_out = (data.shape[1] - 1) // k + 1
        data = resample_time(data, dt, dt * k, nt_out, axis=1)
        scale = float(np.percentile(np.abs(data[:, :, s0.receiver_mask.any(axis=0)]), 99.9)) or 1.0
        data = data / scale
    dt_m = dt * k
    # ---- positions
    sz, rz = s0.source_z.copy(), s0.receiver_z.copy()
    if free_surface:
        moved = bool(np.any(sz < h) or np.any(rz[np.isfinite(rz)] < h))
        sz, rz = np.maximum(sz, h), np.where(np.isfinite(rz), np.maximum(rz, h), np.nan)
        if moved:
            info["depths"] = f"sources and receivers shallower than one cell ({h:g} m) moved to {h:g} m (a free-surface grid has p = 0 at z = 0)"
    survey = s0.replace(dt=dt_m, nt=data.shape[1], source_z=sz, receiver_z=rz, wavelet=wavelet, free_surface=free_surface,
                        name=f"{s0.name} (processed)")
    survey.validate(grid)
    record = ShotRecord(data=np.asarray(data, dtype=np.float32), survey=survey, t0=-shift * dt)
    if not np.all(np.isfinite(record.data)):
        raise InputError(f"{sf.path}: the processed data hold non-finite values")
    info.update({
        "grid": grid.to_dict(), "grid_rule": rule,
        "dt_s": dt_m, "nt": int(data.shape[1]), "decimation": k, "tmax_s": (data.shape[1] - 1) * dt_m - shift * dt,
        "wavelet_delay_shift_s": shift * dt, "amplitude_scale": scale,
        "bands_hz": bands, "low_cut_hz": low_cut, "free_surface": free_surface, "marine": bool(sf.marine),
        "line_source_correction_applied": line_source,
        "modelling_wavelet": {"known": known, "type": wavelet.kind, "peak_hz": wavelet.peak_freq},
        "water": water.to_dict() if water else info.get("water"),
    })
    return Problem(record=record, grid=grid, bands=bands, low_cut=low_cut, water=water, known_wavelet=known,
                   field_data=not known, info=info)
