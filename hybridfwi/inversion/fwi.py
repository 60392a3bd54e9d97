"""The FWI engine: problem = forward operator + misfit + regularisation + bounded parameter + optimiser.

``FWI`` holds its state explicitly (stage, iteration, parameter, optimiser state, wavelet, history)
so that it can checkpoint after every iteration and resume to the same result; ``fwi()`` is the
one-call entry point.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from hybridfwi import dist
from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.inversion.conditioning import gradient_weight
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.parameterization import BoundedVelocity
from hybridfwi.inversion.regularization import prior, tikhonov, total_variation
from hybridfwi.inversion.wavelet_estimation import wavelet_from_sums, wavelet_sums
from hybridfwi.io.atomic import atomic_path
from hybridfwi.metrics import rmse
from hybridfwi.physics.filters import Band, apply_band, band_response
from hybridfwi.physics.forward import ForwardConfig, resolve_device, simulate
from hybridfwi.physics.misfits import misfit, misfit_scale

__all__ = ["FWI", "FWIResult", "fwi", "data_misfit", "forward_config", "estimate_wavelet_in"]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "hybridfwi-fwi-checkpoint/1"


@dataclass
class FWIResult:
    """What an inversion returns.

    Attributes:
        model: the final velocity model (m/s).
        history: one dict per iteration: ``stage``, ``band_hz``, ``iteration``, ``misfit``
            (data misfit of the model at the start of the iteration, in that band), ``regularization``,
            ``grad_norm``, ``step_ms`` (largest velocity change made, m/s), ``wall_s``, and
            ``model_rmse_ms`` when a true model was given.
        config: the configuration used.
        wavelet: the final source wavelet, ``(nt,)``.
        events: messages (divergence reverts, wavelet estimates).
        final_misfit: data misfit of the final model in the last band (the value after the last
            iteration; ``history`` holds the value before each iteration).
        final_rmse_ms: model RMSE of the final model when a true model was given.
    """

    model: VelocityModel
    history: list[dict]
    config: FWIConfig
    wavelet: np.ndarray
    events: list[str] = field(default_factory=list)
    final_misfit: float = float("nan")
    final_rmse_ms: float | None = None

    def curve(self, start_wall_s: float = 0.0, iteration_offset: int = 0) -> list[dict]:
        """One entry per model, from the starting one: ``iteration``, ``data_misfit`` (in that
        iteration's band), cumulative ``wall_time_s``, and ``rmse_ms`` when known."""
        out, wall = [], start_wall_s
        for h in self.history:
            e = {"iteration": iteration_offset + h["iteration_total"], "data_misfit": h["misfit"], "wall_time_s": wall,
                 "band_hz": h["band_hz"]}
            if "model_rmse_ms" in h:
                e["rmse_ms"] = h["model_rmse_ms"]
            out.append(e)
            wall += h["wall_s"]
        e = {"iteration": iteration_offset + len(self.history), "data_misfit": self.final_misfit, "wall_time_s": wall,
             "band_hz": self.history[-1]["band_hz"] if self.history else None}
        if self.final_rmse_ms is not None:
            e["rmse_ms"] = self.final_rmse_ms
        out.append(e)
        return out


class _Diverged(Exception):
    pass


def forward_config(cfg: FWIConfig, device: torch.device) -> ForwardConfig:
    """The modelling options an inversion with ``cfg`` uses (max_vel pinned to vmax)."""
    # the inversion grid is the survey grid: dispersion on it is the user's choice, warn only
    return ForwardConfig(accuracy=cfg.accuracy, pml_width=cfg.pml_width, max_vel=cfg.vmax, dispersion="warn", device=str(device))


def _deepwave_options(cfg: FWIConfig) -> dict:
    opts = {}
    if cfg.storage_mode is not None:
        opts["storage_mode"] = cfg.storage_mode
    if cfg.storage_compression is not None:
        opts["storage_compression"] = cfg.storage_compression
    if cfg.checkpoint_segments is not None:
        opts["checkpoint_segments"] = cfg.checkpoint_segments
    return opts


def trace_mask(survey, grid: Grid, cfg: FWIConfig, device=None) -> torch.Tensor | None:
    """``(n_shots, n_receivers)`` bool: the traces the misfit uses, or None when it uses all of them.

    A trace is used when the shot has that receiver (``survey.receiver_mask``) and the receiver lies
    at least ``cfg.min_offset_m`` from the source (default: one grid cell, ``max(dx, dz)``)."""
    keep = survey.receiver_mask.copy()
    limit = cfg.min_offset_m if cfg.min_offset_m is not None else max(grid.dx, grid.dz)
    if limit > 0:
        offset = np.hypot(survey.receiver_x - survey.source_x[:, None], survey.receiver_z - survey.source_z[:, None])
        keep &= ~(offset < limit)  # NaN (no receiver) compares False
    if not keep.any():
        raise InputError(f"every receiver lies within {limit:g} m of its source, so no trace is left for the misfit; "
                         f"lower min_offset_m (0 keeps every trace)")
    return None if keep.all() else torch.as_tensor(keep, device=device)


def estimate_wavelet_in(model: np.ndarray | torch.Tensor, grid: Grid, observed: ShotRecord, cfg: FWIConfig,
                        wavelet: np.ndarray | None = None, device: torch.device | None = None) -> np.ndarray:
    """The least-squares source wavelet ``(nt,)`` that best explains ``observed`` in ``model`` (Pratt,
    1999), starting from ``wavelet`` (default the survey's). Shots are split across ranks."""
    device = device or resolve_device(dist.device_for(cfg.device))
    s = observed.survey
    w0 = s.wavelet.array(s.nt, s.dt) if wavelet is None else np.asarray(wavelet, np.float32)
    mine = dist.shard(s.n_shots)
    num = np.zeros(s.nt + 1, np.complex128)
    den = np.zeros(s.nt + 1)
    if mine:
        with torch.no_grad():
            v = torch.as_tensor(model, dtype=torch.float32, device=device)
            d = simulate(v, grid, s, forward_config(cfg, device), shots=mine,
                         source_amplitudes=torch.as_tensor(w0, device=device), **_deepwave_options(cfg))
        keep = trace_mask(s, grid, cfg, "cpu")
        obs, syn = observed.data[mine], d.cpu().numpy()
        if keep is not None:  # traces the misfit leaves out do not shape the wavelet either
            m = keep[mine].numpy()[:, None, :]
            obs, syn = obs * m, syn * m
        num, den = wavelet_sums(obs, syn)
    t = torch.as_tensor(np.concatenate([num.real, num.imag, den]))
    dist.all_reduce(t)
    n = num.size
    return wavelet_from_sums(t[:n].numpy() + 1j * t[n:2 * n].numpy(), t[2 * n:].numpy(), w0)


def data_misfit(model: VelocityModel, observed: ShotRecord, cfg: FWIConfig, wavelet: np.ndarray | None = None,
                band_hz: float | None = None, estimate: bool = False, per_shot: bool = False) -> tuple[float | np.ndarray, np.ndarray]:
    """Data misfit of ``model`` (normalised, as in the inversion) in one band (default: full band,
    with ``cfg.low_cut``), and the wavelet used.

    With ``estimate`` the wavelet is first estimated by least squares in this very model (what a
    fair comparison of models needs when the source is unknown); otherwise ``wavelet`` (default:
    the survey's) is used as it is. With ``per_shot`` the misfit is each shot's share, an array
    ``(n_shots,)`` summing to the total (from the same propagation).
    """
    device = resolve_device(dist.device_for(cfg.device))
    s = observed.survey
    if estimate:
        wavelet = estimate_wavelet_in(model.values, model.grid, observed, cfg, wavelet, device)
    w = s.wavelet.array(s.nt, s.dt) if wavelet is None else np.asarray(wavelet, np.float32)
    resp = band_response(Band(high=band_hz, low=cfg.low_cut), s.nt, s.dt)
    mine = dist.shard(s.n_shots)
    shares = torch.zeros(s.n_shots, dtype=torch.float64)
    obs_all = torch.as_tensor(apply_band(observed.data, resp, axis=1))
    mask_all = trace_mask(s, model.grid, cfg, "cpu")
    scale = misfit_scale(cfg.misfit, obs_all, mask_all)
    if mine:
        with torch.no_grad():
            d = simulate(torch.as_tensor(model.values, device=device), model.grid, s, forward_config(cfg, device), shots=mine,
                         source_amplitudes=torch.as_tensor(w, device=device), **_deepwave_options(cfg))
            m = None if mask_all is None else mask_all[mine].to(device)
            shares[list(mine)] = misfit(cfg.misfit, apply_band(d, resp), obs_all[mine].to(device), scale, m, per_shot=True).double().cpu()
    dist.all_reduce(shares)
    return (shares.numpy() if per_shot else float(shares.sum())), w


class FWI:
    """One inversion, step by step.

    Under ``torchrun`` the shots are split across ranks and the misfit and gradient are summed
    over them every evaluation, so every rank holds the same model and takes the same steps.

    Args:
        observed: observed shot gathers and their acquisition.
        initial: starting model, m/s; its grid is the modelling grid.
        config: the configuration.
        true: the true model (m/s) on that grid, to track model error; optional.
        checkpoint: file to save the state to after every iteration (and to resume from).
        callback: called after every iteration with the history entry; raising stops the run.
        wavelet: starting source wavelet ``(nt,)`` (default: the survey's).
        skip_first: iterations of the first band already spent elsewhere (e.g. physics-guided
            adaptation of the network); the first band runs ``iterations - skip_first``.
    """

    def __init__(self, observed: ShotRecord, initial: VelocityModel, config: FWIConfig,
                 true: np.ndarray | None = None, checkpoint: str | None = None,
                 callback: Callable[[dict], None] | None = None, wavelet: np.ndarray | None = None,
                 skip_first: int = 0):
        s = observed.survey
        self.cfg = config.validate(s.dt)
        self.grid = g = initial.grid
        if true is not None and np.shape(true) != g.shape:
            raise InputError(f"true model shape {np.shape(true)} does not match the inversion grid {g.shape}")
        s.validate(g)
        self.observed, self.survey = observed, s
        self.device = resolve_device(dist.device_for(config.device))
        self.fwd = forward_config(config, self.device)
        self.param = BoundedVelocity(config.vmin, config.vmax)
        self.true = None if true is None else np.asarray(true, np.float32)
        self.checkpoint_path = checkpoint
        self.callback = callback
        if not 0 <= skip_first < config.iterations:
            raise InputError(f"skip_first ({skip_first}) must leave iterations in the first band ({config.iterations})")
        self.skip_first = int(skip_first)
        self.initial = np.asarray(initial.values, np.float32)
        w0 = s.wavelet.array(s.nt, s.dt) if wavelet is None else np.asarray(wavelet, np.float32)
        if dist.world_size() > 1:
            # Every rank starts from rank 0's model and wavelet: the steps are identical only from
            # identical states, and a start computed on each rank (a network prediction or an
            # estimate on a GPU) need not be bitwise the same everywhere.
            self.initial = dist.broadcast(torch.as_tensor(self.initial).clone()).numpy()
            w0 = dist.broadcast(torch.as_tensor(w0).clone()).numpy()
        taper = config.taper_radius_m if config.taper_radius_m is not None else 5.0 * max(g.dz, g.dx)
        self.weight = torch.as_tensor(
            gradient_weight(g, s, self.initial, config.freeze_above_m, config.freeze_velocity_below, taper, config.depth_power),
            dtype=torch.float32, device=self.device)
        self.v0 = torch.as_tensor(self.initial, device=self.device)
        mine = np.asarray(dist.shard(s.n_shots), dtype=np.int64)  # this rank's shots (all of them in one process)
        n = config.shots_per_batch or max(len(mine), 1)
        self.chunks = [mine[i:i + n] for i in range(0, len(mine), n)]
        self.obs_full = torch.as_tensor(observed.data, device=self.device)
        self.mask = trace_mask(s, g, config, self.device)
        # state
        self.p = self.param.parameter(self.v0.clone()).requires_grad_(True)
        self.wavelet = torch.as_tensor(w0, device=self.device)
        self.stage = 0
        self.iteration = 0
        self.lr_scale = 1.0
        self.history: list[dict] = []
        self.events: list[str] = []
        self.last_good: tuple[torch.Tensor, float] | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self._stage_ready = -1
        self.smooth_sigma: tuple[float, float] | None = None  # set per band by _prepare_stage
        self._saved_at = time.perf_counter()

    # ------------------------------------------------------------------ pieces
    def velocity(self) -> np.ndarray:
        with torch.no_grad():
            return self.param.velocity(self.p).cpu().numpy().astype(np.float32)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "adam":
            # a step of ~lr m/s: dv/dp is at most (vmax - vmin) / 4
            lr = self.cfg.lr * 4.0 / (self.cfg.vmax - self.cfg.vmin) * self.lr_scale
            return torch.optim.Adam([self.p], lr=lr)
        return torch.optim.LBFGS([self.p], lr=self.lr_scale, max_iter=1, max_eval=1 + self.cfg.line_search_evaluations,
                                 history_size=self.cfg.lbfgs_history,
                                 line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)

    def _prepare_stage(self) -> None:
        band_hz = self.cfg.stages[self.stage]
        s = self.survey
        self.response = band_response(Band(high=band_hz, low=self.cfg.low_cut), s.nt, s.dt)
        self.obs = apply_band(self.obs_full, self.response)
        self.scale = misfit_scale(self.cfg.misfit, self.obs, self.mask)
        self.smooth_sigma = self._smooth_sigma(band_hz)
        if self.optimizer is None:
            self.optimizer = self._make_optimizer()
        self._stage_ready = self.stage

    def _smooth_sigma(self, band_hz: float | None) -> tuple[float, float] | None:
        """The gradient smoothing's Gaussian sigma ``(z, x)`` in cells for a band (None: no smoothing)."""
        k = self.cfg.smooth_wavelengths
        if not k:
            return None
        f = band_hz if band_hz is not None else 2.0 * self.survey.wavelet.peak_freq
        free = self.weight.cpu().numpy() > 0
        v = float(self.initial[free].mean()) if free.any() else float(self.initial.mean())
        sigma_m = k * v / f
        return sigma_m / self.grid.dz, sigma_m / self.grid.dx

    def _estimate_wavelet(self) -> None:
        with torch.no_grad():
            v = self.param.velocity(self.p)
        w = estimate_wavelet_in(v, self.grid, self.observed, self.cfg, self.wavelet.cpu().numpy(), self.device)
        self.wavelet = torch.as_tensor(w, device=self.device)
        self.events.append(f"stage {self.stage}: wavelet re-estimated (peak {float(np.abs(w).max()):.4g})")

    def evaluate(self, need_grad: bool = True) -> tuple[float, float]:
        """Data misfit and regularisation at the current parameter; gradients into ``p.grad``.

        The misfit and its gradient are summed over this rank's shots, then over the ranks."""
        cfg = self.cfg
        if self.p.grad is not None:
            self.p.grad = None
        total = torch.zeros(1, dtype=torch.float64)
        opts = _deepwave_options(cfg)
        for chunk in self.chunks:
            with torch.set_grad_enabled(need_grad):
                v = self.param.velocity(self.p)
                d = simulate(v, self.grid, self.survey, self.fwd, shots=chunk,
                             source_amplitudes=self.wavelet[None].expand(len(chunk), -1), **opts)
                m = None if self.mask is None else self.mask[chunk]
                loss = misfit(cfg.misfit, apply_band(d, self.response), self.obs[chunk], self.scale, m)
            if need_grad:
                loss.backward()
            total += float(loss.detach())
        dist.all_reduce(total)
        if need_grad:
            if self.p.grad is None:  # a rank without shots
                self.p.grad = torch.zeros_like(self.p)
            dist.all_reduce(self.p.grad)
        total = float(total)
        if not np.isfinite(total):
            raise _Diverged(f"non-finite misfit ({total})")
        reg = 0.0
        if cfg.tv_weight or cfg.tikhonov_weight or cfg.prior_weight:
            with torch.set_grad_enabled(need_grad):
                v = self.param.velocity(self.p)
                span = cfg.vmax - cfg.vmin
                r = v.new_zeros(())
                if cfg.tv_weight:
                    r = r + cfg.tv_weight * total_variation(v, span)
                if cfg.tikhonov_weight:
                    r = r + cfg.tikhonov_weight * tikhonov(v, span)
                if cfg.prior_weight:
                    r = r + cfg.prior_weight * prior(v, self.v0, span)
            if need_grad:
                r.backward()
            reg = float(r.detach())
        if need_grad:
            self.p.grad.mul_(self.weight)
            if self.smooth_sigma:
                # W G W: G is a Gaussian with the edge value repeated beyond the grid, symmetric and positive
                # definite away from the edges (exactly so only with a reflecting edge), so the result is a
                # descent direction; the test checks it on a small case
                g = gaussian_filter(self.p.grad.cpu().numpy().astype(np.float64), sigma=self.smooth_sigma, mode="nearest")
                self.p.grad.copy_(torch.as_tensor(g, dtype=self.p.grad.dtype)).mul_(self.weight)
        return total, reg

    # -------------------------------------------------------------- iteration
    @property
    def done(self) -> bool:
        return self.stage >= len(self.cfg.stages)

    def budget(self, stage: int) -> int:
        """Iterations of ``stage``."""
        return self.cfg.iterations - (self.skip_first if stage == 0 else 0)

    def step(self) -> dict:
        """One iteration of the current stage; returns its history entry."""
        if self._stage_ready != self.stage:
            if self.cfg.estimate_wavelet and self.iteration == 0:
                self._estimate_wavelet()
            self._prepare_stage()
        t0 = time.perf_counter()
        p_start = self.p.detach().clone()
        first: dict = {}
        evaluations = [0]

        cache: dict = {}

        def closure():
            if cache:  # the first evaluation was done before the step: reuse it
                self.p.grad = cache.pop("grad")
                return cache.pop("loss")
            loss_data, loss_reg = self.evaluate()
            evaluations[0] += 1
            total = loss_data + loss_reg
            if not first:  # the model at the start of the iteration
                first.update(misfit=loss_data, reg=loss_reg, grad=self.p.grad.norm())
                if self.last_good is not None and total > self.cfg.divergence_factor * self.last_good[1]:
                    raise _Diverged(f"misfit {total:.4g} exceeds {self.cfg.divergence_factor:g} x the last good {self.last_good[1]:.4g}")
                self.last_good = (p_start, total)
            return torch.tensor(total, dtype=self.p.dtype, device=self.p.device)

        reverted = False
        fresh = False
        try:
            if self.cfg.optimizer == "adam":
                closure()
                self.optimizer.step()
            else:
                fresh = not self.optimizer.state
                if fresh:
                    # torch's L-BFGS first tries a step of min(1, 1/|g|_1) * lr * g: tiny on a large
                    # grid. Aim the first trial step at about cfg.lr m/s; the line search adjusts it.
                    cache["loss"] = closure()
                    g = self.p.grad
                    cache["grad"] = g.clone()
                    lr_p = self.cfg.lr * 4.0 / (self.cfg.vmax - self.cfg.vmin) * self.lr_scale
                    g1, ginf = float(g.abs().sum()), float(g.abs().max())
                    if ginf > 0:
                        self.optimizer.param_groups[0]["lr"] = lr_p / (min(1.0, 1.0 / g1) * ginf)
                self.optimizer.step(closure)
                self.optimizer.param_groups[0]["lr"] = self.lr_scale
        except _Diverged as exc:
            reverted = True
            self._revert(str(exc))
        for key in ("misfit", "reg"):
            first.setdefault(key, float("nan"))
        with torch.no_grad():  # one device-to-host transfer for everything the entry needs
            step_p = (self.p - p_start).abs()
            stats = torch.stack([torch.isfinite(self.p).all().to(self.p.dtype),
                                 (self.param.velocity(self.p) - self.param.velocity(p_start)).abs().max(),
                                 first.get("grad", torch.tensor(float("nan"), device=self.p.device)).to(self.p.dtype),
                                 step_p.max()]).tolist()
        if not reverted and stats[0] < 1:
            reverted = True
            self._revert("non-finite model parameter after the update")
        stalled = False
        if not reverted and self.cfg.optimizer == "lbfgs" and stats[3] == 0.0:
            if fresh:  # not even steepest descent decreases the misfit: this band has converged
                stalled = True
                self.events.append(f"stage {self.stage} iteration {self.iteration}: L-BFGS found no descent; band ended early")
            else:  # forget the curvature pairs and restart from steepest descent
                self.optimizer = self._make_optimizer()
                self.events.append(f"stage {self.stage} iteration {self.iteration}: L-BFGS made no progress; memory reset")
        entry = {
            "stage": self.stage,
            "band_hz": self.cfg.stages[self.stage],
            "iteration": self.iteration,
            "iteration_total": len(self.history),
            "misfit": first["misfit"],
            "regularization": first["reg"],
            "grad_norm": stats[2],
            "step_ms": 0.0 if reverted else stats[1],
            "evaluations": evaluations[0],
            "wall_s": time.perf_counter() - t0,
            "reverted": reverted,
        }
        if self.true is not None:
            with torch.no_grad():
                entry["model_rmse_ms"] = rmse(self.param.velocity(p_start).cpu().numpy(), self.true)
        self.history.append(entry)
        self.iteration += 1
        if self.iteration >= self.budget(self.stage) or stalled:
            self.stage += 1
            self.iteration = 0
            self.optimizer = None
            self.last_good = None
        if self.checkpoint_path and dist.is_main():
            every = self.cfg.checkpoint_every_s
            if every <= 0 or self.iteration == 0 or time.perf_counter() - self._saved_at >= every:
                self.save(self.checkpoint_path)
                self._saved_at = time.perf_counter()
        if self.callback is not None:
            self.callback(entry)
        return entry

    def _revert(self, why: str) -> None:
        if self.last_good is not None:
            with torch.no_grad():
                self.p.copy_(self.last_good[0])
        self.lr_scale *= 0.5
        self.optimizer = self._make_optimizer()
        msg = f"stage {self.stage} iteration {self.iteration}: {why}; reverted to the last good model and halved the step"
        self.events.append(msg)
        log.warning(msg)

    def run(self, progress: bool = True) -> FWIResult:
        """Iterate until every stage is done (continuing from the current state)."""
        from tqdm.auto import tqdm

        while not self.done:
            stage = self.stage
            band = self.cfg.stages[stage]
            label = "full band" if band is None else f"<= {band:g} Hz"
            with tqdm(total=self.budget(stage), initial=self.iteration, desc=f"FWI {stage + 1}/{len(self.cfg.stages)} {label}",
                      unit="it", disable=not progress or not dist.is_main(), dynamic_ncols=True) as bar:
                while not self.done and self.stage == stage:
                    e = self.step()
                    post = {"misfit": f"{e['misfit']:.4g}"}
                    if "model_rmse_ms" in e:
                        post["rmse"] = f"{e['model_rmse_ms']:.1f} m/s"
                    bar.set_postfix(post)
                    bar.update(1)
        if self.checkpoint_path and dist.is_main():
            self.save(self.checkpoint_path)
        return self.result()

    def final_evaluation(self) -> tuple[float, float | None]:
        """Misfit (in the last band) and model RMSE of the current model, without changing the state."""
        if not self.cfg.stages:
            return float("nan"), None
        keep = self.stage
        self.stage = min(self.stage, len(self.cfg.stages) - 1)
        self._prepare_stage()
        try:
            with torch.no_grad():
                loss, _ = self.evaluate(need_grad=False)
        except _Diverged:
            loss = float("nan")
        self.stage = keep
        self._stage_ready = -1
        r = rmse(self.velocity(), self.true) if self.true is not None else None
        return loss, r

    def result(self) -> FWIResult:
        fm, fr = self.final_evaluation()
        return FWIResult(model=VelocityModel(self.velocity(), self.grid), history=list(self.history), config=self.cfg,
                         wavelet=self.wavelet.cpu().numpy(), events=list(self.events), final_misfit=fm, final_rmse_ms=fr)

    # ------------------------------------------------------------ checkpoints
    def _identity(self) -> str:
        config = self.cfg.to_dict()
        if not config["smooth_wavelengths"]:
            del config["smooth_wavelengths"]  # added later: a checkpoint from before it still resumes
        return json.dumps({"config": config, "survey": self.survey.to_dict(), "grid": self.grid.to_dict(),
                           "initial_sum": float(np.sum(self.initial, dtype=np.float64)), "n_obs": list(self.observed.data.shape),
                           "skip_first": self.skip_first},
                          sort_keys=True)

    def save(self, path: str) -> None:
        """Write the full state (tensors, optimiser state, history) atomically."""
        state = {
            "format": CHECKPOINT_FORMAT,
            "identity": self._identity(),
            "p": self.p.detach().cpu(),
            "wavelet": self.wavelet.cpu(),
            "stage": self.stage,
            "iteration": self.iteration,
            "lr_scale": self.lr_scale,
            "history": json.dumps(self.history),
            "events": json.dumps(self.events),
            "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
            "last_good_p": None if self.last_good is None else self.last_good[0].cpu(),
            "last_good_loss": None if self.last_good is None else self.last_good[1],
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    def load(self, path: str) -> None:
        """Restore the state saved by :meth:`save` (``weights_only``: nothing is unpickled)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
            raise InputError(f"checkpoint {path!r} is unreadable ({exc}); delete it to start over") from None
        if state.get("format") != CHECKPOINT_FORMAT:
            raise InputError(f"{path!r} is not a hybridfwi FWI checkpoint")
        if state["identity"] != self._identity():
            raise InputError(f"checkpoint {path!r} belongs to another run (data, model or config differ); use a new --out")
        with torch.no_grad():
            self.p.copy_(state["p"].to(self.device))
        self.wavelet = state["wavelet"].to(self.device)
        self.stage, self.iteration, self.lr_scale = int(state["stage"]), int(state["iteration"]), float(state["lr_scale"])
        self.history = json.loads(state["history"])
        self.events = json.loads(state["events"])
        self.optimizer = None
        self._stage_ready = -1
        if not self.done and state["optimizer"] is not None:  # mid-stage: restore the optimiser too
            self._prepare_stage()
            self.optimizer.load_state_dict(state["optimizer"])
        self.last_good = None if state["last_good_p"] is None else (state["last_good_p"].to(self.device), float(state["last_good_loss"]))


def fwi(observed: ShotRecord, initial: VelocityModel, config: FWIConfig, true: np.ndarray | None = None,
        checkpoint: str | None = None, resume: bool = False, progress: bool = True,
        wavelet: np.ndarray | None = None, callback: Callable[[dict], None] | None = None) -> FWIResult:
    """Invert ``observed`` from ``initial``; see :class:`FWI`. With ``resume`` and an existing
    ``checkpoint``, continue from it."""
    engine = FWI(observed, initial, config, true=true, checkpoint=checkpoint, wavelet=wavelet, callback=callback)
    if resume and checkpoint and os.path.exists(checkpoint):
        engine.load(checkpoint)
    return engine.run(progress=progress)
