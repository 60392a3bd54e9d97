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

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.inversion.conditioning import gradient_weight
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.parameterization import BoundedVelocity
from hybridfwi.inversion.regularization import prior, tikhonov, total_variation
from hybridfwi.inversion.wavelet_estimation import estimate_wavelet
from hybridfwi.io.atomic import atomic_path
from hybridfwi.metrics import rmse
from hybridfwi.physics.filters import Band, apply_band, band_response
from hybridfwi.physics.forward import ForwardConfig, resolve_device, simulate
from hybridfwi.physics.misfits import misfit, misfit_scale

__all__ = ["FWI", "FWIResult", "fwi", "data_misfit", "forward_config"]

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
    """

    model: VelocityModel
    history: list[dict]
    config: FWIConfig
    wavelet: np.ndarray
    events: list[str] = field(default_factory=list)


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


def data_misfit(model: np.ndarray, observed: ShotRecord, cfg: FWIConfig, wavelet: np.ndarray | None = None,
                band_hz: float | None = None) -> float:
    """Data misfit of ``model`` (normalised, as in the inversion) in one band (default: full band)."""
    device = resolve_device(cfg.device)
    s = observed.survey
    fwd = forward_config(cfg, device)
    w = torch.as_tensor(s.wavelet.array(s.nt, s.dt) if wavelet is None else wavelet, device=device)
    resp = band_response(Band(high=band_hz, low=cfg.low_cut), s.nt, s.dt)
    obs = torch.as_tensor(apply_band(observed.data, resp, axis=1), device=device)
    with torch.no_grad():
        d = simulate(torch.as_tensor(model, dtype=torch.float32, device=device), s, fwd, source_amplitudes=w, **_deepwave_options(cfg))
        return float(misfit(cfg.misfit, apply_band(d, resp), obs, misfit_scale(cfg.misfit, obs)))


class FWI:
    """One inversion, step by step.

    Args:
        observed: observed shot gathers and their survey (the modelling grid is ``survey.grid``).
        initial: starting model on the survey grid, m/s.
        config: the configuration.
        true: the true model (m/s), to track model error; optional.
        checkpoint: file to save the state to after every iteration (and to resume from).
        callback: called after every iteration with the history entry; raising stops the run.
    """

    def __init__(self, observed: ShotRecord, initial: VelocityModel, config: FWIConfig,
                 true: np.ndarray | None = None, checkpoint: str | None = None,
                 callback: Callable[[dict], None] | None = None):
        s = observed.survey
        self.cfg = config.validate(s.dt)
        if initial.grid.shape != s.grid.shape:
            raise InputError(f"initial model shape {initial.grid.shape} does not match the survey grid {s.grid.shape}")
        if true is not None and np.shape(true) != s.grid.shape:
            raise InputError(f"true model shape {np.shape(true)} does not match the survey grid {s.grid.shape}")
        s.validate()
        self.observed, self.survey = observed, s
        self.device = resolve_device(config.device)
        self.fwd = forward_config(config, self.device)
        self.param = BoundedVelocity(config.vmin, config.vmax)
        self.true = None if true is None else np.asarray(true, np.float32)
        self.checkpoint_path = checkpoint
        self.callback = callback
        self.initial = np.asarray(initial.values, np.float32)
        taper = config.taper_radius_m if config.taper_radius_m is not None else 5.0 * max(s.grid.dz, s.grid.dx)
        self.weight = torch.as_tensor(
            gradient_weight(s, self.initial, config.freeze_above_m, config.freeze_velocity_below, taper, config.depth_power),
            dtype=torch.float32, device=self.device)
        self.v0 = torch.as_tensor(self.initial, device=self.device)
        n = config.shots_per_batch or s.n_shots
        self.chunks = [np.arange(i, min(i + n, s.n_shots)) for i in range(0, s.n_shots, n)]
        self.obs_full = torch.as_tensor(observed.data, device=self.device)
        # state
        self.p = self.param.parameter(self.v0.clone()).requires_grad_(True)
        self.wavelet = torch.as_tensor(s.wavelet.array(s.nt, s.dt), device=self.device)
        self.stage = 0
        self.iteration = 0
        self.lr_scale = 1.0
        self.history: list[dict] = []
        self.events: list[str] = []
        self.last_good: tuple[torch.Tensor, float] | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self._stage_ready = -1

    # ------------------------------------------------------------------ pieces
    def velocity(self) -> np.ndarray:
        with torch.no_grad():
            return self.param.velocity(self.p).cpu().numpy().astype(np.float32)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "adam":
            # a step of ~lr m/s: dv/dp is at most (vmax - vmin) / 4
            lr = self.cfg.lr * 4.0 / (self.cfg.vmax - self.cfg.vmin) * self.lr_scale
            return torch.optim.Adam([self.p], lr=lr)
        return torch.optim.LBFGS([self.p], lr=self.lr_scale, max_iter=1, history_size=self.cfg.lbfgs_history,
                                 line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)

    def _prepare_stage(self) -> None:
        band_hz = self.cfg.stages[self.stage]
        s = self.survey
        self.response = band_response(Band(high=band_hz, low=self.cfg.low_cut), s.nt, s.dt)
        self.obs = apply_band(self.obs_full, self.response)
        self.scale = misfit_scale(self.cfg.misfit, self.obs)
        if self.optimizer is None:
            self.optimizer = self._make_optimizer()
        self._stage_ready = self.stage

    def _estimate_wavelet(self) -> None:
        with torch.no_grad():
            d = simulate(self.param.velocity(self.p), self.survey, self.fwd, source_amplitudes=self.wavelet, **_deepwave_options(self.cfg))
        w = estimate_wavelet(self.observed.data, d.cpu().numpy(), self.wavelet.cpu().numpy())
        self.wavelet = torch.as_tensor(w, device=self.device)
        self.events.append(f"stage {self.stage}: wavelet re-estimated (peak {float(np.abs(w).max()):.4g})")

    def evaluate(self, need_grad: bool = True) -> tuple[float, float]:
        """Data misfit and regularisation at the current parameter; gradients into ``p.grad``."""
        cfg = self.cfg
        if self.p.grad is not None:
            self.p.grad = None
        total = 0.0
        opts = _deepwave_options(cfg)
        for chunk in self.chunks:
            with torch.set_grad_enabled(need_grad):
                v = self.param.velocity(self.p)
                d = simulate(v, self.survey, self.fwd, shots=chunk, source_amplitudes=self.wavelet[None].expand(len(chunk), -1), **opts)
                loss = misfit(cfg.misfit, apply_band(d, self.response), self.obs[chunk], self.scale)
            if not torch.isfinite(loss):
                raise _Diverged(f"non-finite misfit ({float(loss)})")
            if need_grad:
                loss.backward()
            total += float(loss.detach())
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
        return total, reg

    # -------------------------------------------------------------- iteration
    @property
    def done(self) -> bool:
        return self.stage >= len(self.cfg.stages)

    def step(self) -> dict:
        """One iteration of the current stage; returns its history entry."""
        if self._stage_ready != self.stage:
            if self.cfg.estimate_wavelet and self.iteration == 0:
                self._estimate_wavelet()
            self._prepare_stage()
        t0 = time.perf_counter()
        p_start = self.p.detach().clone()
        v_before = self.param.velocity(p_start)
        first: dict = {}

        cache: dict = {}

        def closure():
            if cache:  # the first evaluation was done before the step: reuse it
                self.p.grad = cache.pop("grad")
                return cache.pop("loss")
            loss_data, loss_reg = self.evaluate()
            total = loss_data + loss_reg
            if not first:  # the model at the start of the iteration
                first.update(misfit=loss_data, reg=loss_reg, grad=float(self.p.grad.norm()))
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
            if not torch.isfinite(self.p).all():
                raise _Diverged("non-finite model parameter after the update")
        except _Diverged as exc:
            reverted = True
            self._revert(str(exc))
        for key in ("misfit", "reg", "grad"):
            first.setdefault(key, float("nan"))
        with torch.no_grad():
            v_after = self.param.velocity(self.p)
        stalled = False
        if not reverted and self.cfg.optimizer == "lbfgs" and torch.equal(self.p.detach(), p_start):
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
            "misfit": first["misfit"],
            "regularization": first["reg"],
            "grad_norm": first["grad"],
            "step_ms": float((v_after - v_before).abs().max()),
            "wall_s": time.perf_counter() - t0,
            "reverted": reverted,
        }
        if self.true is not None:
            entry["model_rmse_ms"] = rmse(v_before.cpu().numpy(), self.true)
        self.history.append(entry)
        self.iteration += 1
        if self.iteration >= self.cfg.iterations or stalled:
            self.stage += 1
            self.iteration = 0
            self.optimizer = None
            self.last_good = None
        if self.checkpoint_path:
            self.save(self.checkpoint_path)
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
            with tqdm(total=self.cfg.iterations, initial=self.iteration, desc=f"FWI {stage + 1}/{len(self.cfg.stages)} {label}",
                      unit="it", disable=not progress, dynamic_ncols=True) as bar:
                while not self.done and self.stage == stage:
                    e = self.step()
                    post = {"misfit": f"{e['misfit']:.4g}"}
                    if "model_rmse_ms" in e:
                        post["rmse"] = f"{e['model_rmse_ms']:.1f} m/s"
                    bar.set_postfix(post)
                    bar.update(1)
        return self.result()

    def result(self) -> FWIResult:
        return FWIResult(model=VelocityModel(self.velocity(), self.survey.grid), history=list(self.history), config=self.cfg,
                         wavelet=self.wavelet.cpu().numpy(), events=list(self.events))

    # ------------------------------------------------------------ checkpoints
    def _identity(self) -> str:
        return json.dumps({"config": self.cfg.to_dict(), "survey": self.survey.to_dict(),
                           "initial_sum": float(np.sum(self.initial, dtype=np.float64)), "n_obs": list(self.observed.data.shape)},
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
        checkpoint: str | None = None, resume: bool = False, progress: bool = True) -> FWIResult:
    """Invert ``observed`` from ``initial``; see :class:`FWI`. With ``resume`` and an existing
    ``checkpoint``, continue from it."""
    engine = FWI(observed, initial, config, true=true, checkpoint=checkpoint)
    if resume and checkpoint and os.path.exists(checkpoint):
        engine.load(checkpoint)
    return engine.run(progress=progress)
