"""Acoustic (constant-density scalar) forward modelling with deepwave.

This module is the only place that imports :mod:`deepwave`. It pins the absorbing boundary's
frequency (``pml_freq``) to the wavelet's peak frequency and the CFL/PML velocity (``max_vel``)
to a fixed value, so modelled data do not depend on the model being modelled: a model batch,
its members one by one, and an FWI iterate all see the same discretisation.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from hybridfwi.core.grid import Grid
from hybridfwi.core.regrid import regrid
from hybridfwi.core.survey import Survey
from hybridfwi.errors import InputError, ModellingError

__all__ = ["ForwardConfig", "check_dispersion", "forward_model", "resolve_device", "simulate"]

#: Default velocity used for the CFL condition and the PML when none is given, m/s (the top of
#: the synthetic families' range).
DEFAULT_MAX_VEL = 4500.0


@dataclass(frozen=True)
class ForwardConfig:
    """How to model.

    Attributes:
        accuracy: finite-difference order in space (2, 4, 6 or 8).
        pml_width: absorbing-boundary width, cells of the survey grid (scaled with ``refine``).
        max_vel: velocity for the CFL condition and the PML, m/s; must be at least the model's
            maximum. Pinned so that results do not change with the model.
        refine: model on a grid ``refine`` times finer than the given one (model bilinearly
            interpolated with :func:`~hybridfwi.core.regrid.regrid`; amplitudes rescaled to the
            coarse grid's units), e.g. for observed data that avoid the inverse crime.
        dispersion: what to do when the grid has fewer than ``min_cells_per_wavelength`` cells per
            minimum wavelength at the peak frequency: ``"error"``, ``"warn"`` or ``"ignore"``.
        min_cells_per_wavelength: the dispersion rule of thumb.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        auto_max_vel: ``max_vel`` may be raised to the models' maximum by the caller that knows it
            (a dataset's families, a survey's model) before anything is modelled.
    """

    accuracy: int = 4
    pml_width: int = 20
    max_vel: float = DEFAULT_MAX_VEL
    refine: int = 1
    dispersion: str = "error"
    min_cells_per_wavelength: float = 5.0
    device: str = "auto"
    auto_max_vel: bool = False

    def __post_init__(self) -> None:
        if self.accuracy not in (2, 4, 6, 8):
            raise InputError(f"accuracy must be 2, 4, 6 or 8, got {self.accuracy!r}")
        if int(self.pml_width) != self.pml_width or self.pml_width < 0:
            raise InputError(f"pml_width must be a whole number of cells >= 0, got {self.pml_width!r}")
        if not np.isfinite(self.max_vel) or self.max_vel <= 0:
            raise InputError(f"max_vel must be a positive velocity in m/s, got {self.max_vel!r}")
        if int(self.refine) != self.refine or self.refine < 1:
            raise InputError(f"refine must be an integer >= 1, got {self.refine!r}")
        if self.dispersion not in ("error", "warn", "ignore"):
            raise InputError(f"dispersion must be 'error', 'warn' or 'ignore', got {self.dispersion!r}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise InputError(f"device must be auto, cpu or cuda, got {self.device!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("auto_max_vel")
        return d

    def covering(self, vmax: float) -> "ForwardConfig":
        """This configuration, with ``max_vel`` raised to ``vmax`` when it is automatic; else checked against it."""
        if vmax <= self.max_vel:
            return self
        if self.auto_max_vel:
            return replace(self, max_vel=float(np.ceil(vmax)))
        raise InputError(f"the models reach {vmax:g} m/s, above --max-vel {self.max_vel:g}; raise --max-vel")


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an :class:`InputError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(name).startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA device is available; use --device cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; use auto, cpu or cuda") from None


def check_dispersion(vmin: float, grid: Grid, survey: Survey, config: ForwardConfig) -> float:
    """Cells per minimum wavelength at the peak frequency on the modelling grid.

    Raises :class:`ModellingError` (or warns, per ``config.dispersion``) below the rule of thumb,
    and always raises when the peak frequency is too close to the Nyquist frequency of ``dt``
    (a Ricker has energy up to about 2.5 times its peak).
    """
    f = survey.wavelet.peak_freq
    nyquist = 0.5 / survey.dt
    if 2.5 * f > nyquist:
        raise ModellingError(
            f"the {f:g} Hz wavelet has energy up to ~{2.5 * f:g} Hz, above the {nyquist:g} Hz Nyquist "
            f"frequency of dt={survey.dt:g} s; use a smaller dt or a lower peak frequency"
        )
    h = max(grid.dz, grid.dx) / config.refine
    cells = vmin / f / h
    if cells < config.min_cells_per_wavelength and config.dispersion != "ignore":
        need = vmin / f / config.min_cells_per_wavelength * config.refine
        msg = (
            f"grid too coarse: {cells:.2f} cells per minimum wavelength ({vmin:g} m/s at {f:g} Hz on a {h:g} m grid), "
            f"below {config.min_cells_per_wavelength:g}; use a grid spacing <= {need:.3g} m, a lower frequency, "
            f"or a finer modelling grid (refine)"
        )
        if config.dispersion == "error":
            raise ModellingError(msg)
        warnings.warn(msg, stacklevel=3)
    return cells


def _boundary(survey: Survey, config: ForwardConfig, scale: int) -> dict:
    """deepwave's pml_width/boundary; the PML keeps its physical thickness on a refined grid."""
    w = int(config.pml_width) * scale
    if survey.free_surface:
        return {"pml_width": [0, w, w, w], "boundary": ["free", "pml", "pml", "pml"]}
    return {"pml_width": w}


def simulate(
    velocity: torch.Tensor,
    grid: Grid,
    survey: Survey,
    config: ForwardConfig = ForwardConfig(),
    shots: np.ndarray | list[int] | None = None,
    source_amplitudes: torch.Tensor | None = None,
    **deepwave_options,
) -> torch.Tensor:
    """Model shot gathers for one model or a batch of models (differentiable).

    Args:
        velocity: m/s, shape ``(nz, nx)`` or ``(batch, nz, nx)`` on ``grid``; its device and dtype
            are used as they are.
        grid: the model grid.
        survey: the acquisition (positions in metres, snapped to ``grid``'s cells).
        config: modelling options (``device`` is not used here: move ``velocity`` yourself).
        shots: indices of the shots to model (default all).
        source_amplitudes: wavelet per shot, shape ``(n_selected_shots, nt)`` or ``(nt,)``; default
            the survey's wavelet.
        **deepwave_options: passed to ``deepwave.scalar`` (e.g. ``storage_mode``,
            ``storage_compression``, ``checkpoint_segments``).

    Returns:
        Pressure ``G * w`` (Green's function convolved with the wavelet, deepwave's amplitude
        units), shape ``(batch, n_selected_shots, nt, n_receivers)`` (no batch axis when
        ``velocity`` was 2-D), same dtype and device as ``velocity``; zero where a shot has no
        receiver.
    """
    import deepwave

    single = velocity.ndim == 2
    v = velocity[None] if single else velocity
    if v.ndim != 3 or tuple(v.shape[1:]) != grid.shape:
        raise InputError(f"velocity of shape {tuple(velocity.shape)} does not match the grid {grid.shape}")
    vmax = float(v.detach().max())
    vmin = float(v.detach().min())
    if not np.isfinite(vmax) or not np.isfinite(vmin) or vmin <= 0:
        raise ModellingError("velocity model holds non-finite or non-positive values")
    if vmax > config.max_vel * (1 + 1e-6):
        raise ModellingError(
            f"the model reaches {vmax:g} m/s, above the modelling velocity limit {config.max_vel:g} m/s; raise --max-vel (or vmax)"
        )
    check_dispersion(vmin, grid, survey, config)
    shot_idx = np.arange(survey.n_shots) if shots is None else np.asarray(shots, dtype=np.int64)
    n_batch, n_sel = v.shape[0], len(shot_idx)

    k = int(config.refine)
    mgrid = grid if k == 1 else grid.refined(k)
    if k > 1:
        v = regrid(v, grid, mgrid)
    dev, dtype = v.device, v.dtype
    src = torch.as_tensor(survey.source_indices(mgrid)[shot_idx], device=dev)
    rec = torch.as_tensor(survey.receiver_indices(mgrid)[shot_idx], device=dev)
    mask = None if survey.regular else torch.as_tensor(survey.receiver_mask[shot_idx], device=dev)
    if source_amplitudes is None:
        w = torch.as_tensor(survey.wavelet.array(survey.nt, survey.dt), dtype=dtype, device=dev)
        amp = w.expand(n_sel, survey.nt)
    else:
        amp = source_amplitudes.to(device=dev, dtype=dtype)
        amp = amp.expand(n_sel, survey.nt) if amp.ndim == 1 else amp
    # A point source injects into one cell: on a k-times finer grid it must be k^2 stronger
    # for the data to keep the coarse grid's amplitude. deepwave's right-hand side records
    # -(G * w) for a wavelet w; the sign is flipped so that the data are +(G * w), G being the
    # acoustic Green's function (a positive wavelet gives a positive direct wave).
    amp = amp * float(-k * k)

    # Every (model, shot) pair is one deepwave shot: [batch * n_sel, ...]
    v_all = v.repeat_interleave(n_sel, dim=0) if n_batch * n_sel > 1 else v
    extra = {} if mask is None else {"receiver_mask": mask.repeat(n_batch, 1)}
    with warnings.catch_warnings():
        # check_dispersion above has applied this package's rule (refuse, warn or ignore, as configured);
        # deepwave's own advice on cells per wavelength would repeat it, with another threshold
        warnings.filterwarnings("ignore", message=r"At least \w+ grid cells per wavelength", category=UserWarning)
        out = deepwave.scalar(
            v_all,
            list(mgrid.spacing),
            survey.dt,
            source_amplitudes=amp.repeat(n_batch, 1)[:, None, :],
            source_locations=src.repeat(n_batch, 1, 1),
            receiver_locations=rec.repeat(n_batch, 1, 1),
            accuracy=config.accuracy,
            pml_freq=survey.wavelet.peak_freq,
            max_vel=config.max_vel,
            nt=survey.nt,
            **_boundary(survey, config, k),
            **extra,
            **deepwave_options,
        )
    data = out.receiver_amplitudes.reshape(n_batch, n_sel, survey.n_receivers, survey.nt).transpose(-1, -2)
    return data[0] if single else data


def forward_model(
    models: np.ndarray,
    grid: Grid,
    survey: Survey,
    config: ForwardConfig = ForwardConfig(),
) -> np.ndarray:
    """Model every shot of ``survey`` for a batch of velocity models on ``grid`` (no gradients).

    Args:
        models: m/s, shape ``(batch, nz, nx)`` or ``(nz, nx)``.
        grid: the models' grid.
        survey: the acquisition.
        config: modelling options, including the device.

    Returns:
        float32 array ``(batch, n_shots, nt, n_receivers)`` (or without the batch axis for a 2-D
        input): the OpenFWI layout.
    """
    device = resolve_device(config.device)
    v = torch.as_tensor(np.ascontiguousarray(models, dtype=np.float32))
    if device.type == "cuda":
        v = v.pin_memory().to(device, non_blocking=True)
    with torch.no_grad():
        data = simulate(v, grid, survey, config)
    return data.cpu().numpy().astype(np.float32, copy=False)
