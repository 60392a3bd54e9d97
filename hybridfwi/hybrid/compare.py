"""DL-only, hybrid and FWI-alone side by side on one problem, with one FWI budget.

Methods (each a starting model refined, or not, by the same FWI configuration: bands, iterations,
misfit, optimiser, wavelet handling, masks):

- ``dl``: the network's prediction (after adaptation when ``invert`` would adapt), no FWI;
- ``hybrid``: exactly what ``invert`` does (safeguard, physics-guided steps counted in the budget);
- ``fwi_gradient``: FWI from the 1-D reference ``invert`` reports;
- ``fwi_smooth``: FWI from the true model smoothed with ``smooth_sigma_m`` (only with a true model:
  the classical "good starting model" reference);
- ``fwi_user:NAME``: FWI from each user-given starting model (e.g. a tomography model).

Per method: the data misfit of its final model on one common band (the last FWI band; each model
with the wavelet estimated for it when the source is unknown, so no method is favoured), model
errors against the true model when known (MAE, RMSE, OpenFWI-normalised MAE, SSIM), FWI
iterations, wall time, the curve of misfit (and RMSE) per iteration, and time to accuracy: the
iterations and seconds each FWI method needs to reach ``fwi_gradient``'s final RMSE (its final
misfit without a true model).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare, run_hybrid, stderr_log
from hybridfwi.inversion.fwi import FWI, data_misfit
from hybridfwi.inversion.problem import Problem
from hybridfwi.metrics import model_metrics

__all__ = ["METHODS", "CompareConfig", "compare", "time_to_accuracy"]

METHODS = ("dl", "hybrid", "fwi_gradient", "fwi_smooth", "fwi_user")


@dataclass
class CompareConfig:
    """Attributes: the hybrid's (and the FWI budget's) configuration, the methods, the smoothing of
    the true model for ``fwi_smooth`` (m), user starting models (name -> ``(nz, nx)`` m/s)."""

    hybrid: HybridConfig = field(default_factory=HybridConfig)
    methods: tuple = ("dl", "hybrid", "fwi_gradient", "fwi_smooth")
    smooth_sigma_m: float = 250.0
    initial: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)

    def validate(self, has_true: bool) -> "CompareConfig":
        self.hybrid.validate()
        for m in self.methods:
            if m not in METHODS:
                raise InputError(f"unknown method {m!r}; use {', '.join(METHODS)}")
        if not self.methods:
            raise InputError("--methods is empty")
        if "fwi_smooth" in self.methods and not has_true:
            self.methods = tuple(m for m in self.methods if m != "fwi_smooth")
            self.skipped = ["fwi_smooth (it needs a true model: --true)"]
        if "fwi_user" in self.methods and not self.initial:
            raise InputError("method fwi_user needs at least one --initial MODEL")
        if not (np.isfinite(self.smooth_sigma_m) and self.smooth_sigma_m > 0):
            raise InputError(f"--smooth-sigma must be a positive number of metres, got {self.smooth_sigma_m!r}")
        return self


def time_to_accuracy(curve: list[dict], target: float, key: str) -> dict:
    """First iteration (and wall time) at which ``curve[key] <= target``; None when never reached."""
    for e in curve:
        v = e.get(key)
        if v is not None and np.isfinite(v) and v <= target:
            return {"iterations": e["iteration"], "seconds": e["wall_time_s"]}
    return {"iterations": None, "seconds": None}


def _smooth(true: np.ndarray, grid, sigma_m: float, water) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    v = gaussian_filter(true.astype(np.float64), sigma=(sigma_m / grid.dz, sigma_m / grid.dx), mode="nearest").astype(np.float32)
    return water.impose(v, grid.z) if water is not None else v


def compare(problem: Problem, cfg: CompareConfig, true: np.ndarray | None = None, log: Callable[[str], None] | None = stderr_log,
            progress: bool = True, checkpoints: dict | None = None, resume: bool = False,
            on_method: Callable[[str, dict], None] | None = None, finished: dict | None = None) -> dict:
    """Run the methods; return ``{"methods": {name: record}, "fwi_config": ..., "time_to_accuracy": ...}``.

    Each record holds ``mae_ms``, ``rmse_ms``, ``mae_norm``, ``ssim`` (with ``true``),
    ``data_misfit``, ``fwi_iterations``, ``wall_time_s``, ``curve`` and the final ``model`` (array);
    the hybrid's also ``start`` (the safeguard's choice), ``start_misfits`` and ``physics_guided``
    (steps, kept step, held-out check; None when no physics-guided steps ran), with
    ``physics_guided_skipped`` saying why when they were skipped on an adapted network.
    ``checkpoints`` (method -> file) make every FWI resumable; ``on_method`` is called as each finishes;
    ``finished`` (method -> record) are results of an interrupted run, taken as they are.
    """
    cfg.validate(true is not None)
    if true is not None and np.shape(true) != problem.grid.shape:
        raise InputError(f"the true model has shape {np.shape(true)}, but the problem grid is {problem.grid.shape}")
    for name, v in cfg.initial.items():
        if np.shape(v) != problem.grid.shape:
            raise InputError(f"--initial {name}: shape {np.shape(v)} does not match the problem grid {problem.grid.shape}")
    checkpoints = checkpoints or {}
    g = problem.grid
    t0 = time.perf_counter()
    stages = Stages(1 + len(cfg.methods), log)
    want_dl = any(m in cfg.methods for m in ("dl", "hybrid"))
    prep = prepare(problem, cfg.hybrid, stages, with_dl=want_dl, progress=progress)
    t_prep = time.perf_counter() - t0
    fcfg = prep.fcfg
    band = fcfg.stages[-1]
    out: dict = dict(finished or {})

    def finish(name: str, model: np.ndarray, curve: list[dict], iters: int, wall: float, extra: dict | None = None) -> None:
        m, _ = data_misfit(VelocityModel(model, g), prep.record, fcfg, wavelet=prep.wavelet, band_hz=band,
                           estimate=problem.estimate_wavelet)
        rec = {"data_misfit": m, "fwi_iterations": iters, "wall_time_s": wall, "curve": curve, "model": model}
        if true is not None:
            rec |= model_metrics(model, true)
        rec |= extra or {}
        out[name] = rec
        if on_method is not None:
            on_method(name, rec)

    def run_fwi(name: str, start: np.ndarray, wavelet) -> None:
        if name in out:
            return
        stages.start(name, f"{name}: FWI, {len(fcfg.stages)} band(s) x {fcfg.iterations} iterations")
        t = time.perf_counter()
        engine = FWI(prep.record, VelocityModel(start, g), fcfg, true=true, checkpoint=checkpoints.get(name), wavelet=wavelet)
        if resume and checkpoints.get(name):
            import os

            if os.path.exists(checkpoints[name]):
                engine.load(checkpoints[name])
        res = engine.run(progress=progress)
        wall = time.perf_counter() - t
        finish(name, res.model.values, res.curve(), len(res.history), wall, {"events": res.events})

    if "dl" in cfg.methods and "dl" not in out:
        stages.start("dl", "dl: the network's prediction (no FWI)")
        curve = [{"iteration": 0, "data_misfit": None, "wall_time_s": 0.0}]
        finish("dl", prep.dl, curve, 0, t_prep, {"frame": prep.frame.to_dict(), "adapted": prep.adapt_info, "dl_flip": prep.flip})
    if "fwi_gradient" in cfg.methods:
        run_fwi("fwi_gradient", prep.reference, prep.wavelet)
    if "hybrid" in cfg.methods and "hybrid" not in out:
        t = time.perf_counter()
        hr = run_hybrid(problem, cfg.hybrid, true=true, fwi_checkpoint=checkpoints.get("hybrid"), resume=resume, log=log,
                        progress=progress, prepared=prep, pga_checkpoint=checkpoints.get("hybrid_pga"))
        finish("hybrid", hr.fwi.model.values, hr.curve, len(hr.curve) - 1, time.perf_counter() - t + t_prep,
               {"start": hr.choice.name if hr.choice else "dl", "start_misfits": hr.choice.misfits if hr.choice else None,
                "start_evidence": hr.choice.evidence_record() if hr.choice else None,
                "start_model": hr.start, "events": hr.fwi.events,
                "physics_guided": None if hr.pga is None else hr.pga.summary(), "physics_guided_skipped": hr.pga_skipped})
    if "fwi_smooth" in cfg.methods and true is not None:
        run_fwi("fwi_smooth", _smooth(true, g, cfg.smooth_sigma_m, problem.water), prep.wavelet)
    if "fwi_user" in cfg.methods:
        for name, v in cfg.initial.items():
            run_fwi(f"fwi_user:{name}", np.asarray(v, np.float32), prep.wavelet)
    stages.stop()
    # time to accuracy against FWI alone from the 1-D reference
    tta = {}
    if "fwi_gradient" in out:
        key = "rmse_ms" if true is not None else "data_misfit"
        ref_curve = out["fwi_gradient"]["curve"]
        target = ref_curve[-1].get(key)
        for name, rec in out.items():
            if name == "dl" or target is None:
                continue
            tta[name] = time_to_accuracy(rec["curve"], target, key) | {"target": target, "measure": key,
                                                                         "of_iterations": rec["fwi_iterations"]}
    return {"methods": out, "time_to_accuracy": tta, "fwi_config": fcfg.to_dict(), "band_hz": band,
            "timings_s": stages.timings | {"prepare": t_prep}, "reference": prep.reference,
            "warnings": prep.warnings + [f"skipped {m}" for m in cfg.skipped],
            "frame": prep.frame.to_dict() if prep.frame is not None else None, "adapted": prep.adapt_info}
