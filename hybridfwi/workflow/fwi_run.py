"""``hybridfwi fwi``: read any shot-gather file, build its problem, invert, write a run folder.

The folder holds ``run.json``, ``checkpoint.pt`` (after every iteration), and at the end
``model.npy``, ``model.segy``, ``wavelet.npy``, ``history.json``, ``report.json`` and figures
(``models.png``, ``misfit.png``, ``gathers.png``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.problem import Problem, ProblemConfig
from hybridfwi.io.reader import GeometryOverride
from hybridfwi.workflow.runs import RunFolder, load_problem

__all__ = ["FWIRun", "run_fwi", "resolve_fwi_config"]


@dataclass
class FWIRun:
    """Inputs of one ``hybridfwi fwi`` run.

    Attributes:
        survey: shot-gather SEG-Y/SU file (field or synthetic).
        initial: starting-model spec (see :func:`~hybridfwi.inversion.initial.initial_model`).
        out: run folder.
        config_file: FWI settings from a JSON file (``FWIConfig`` fields), or None; ``config_path``: that
            file, named in error messages.
        overrides: FWI settings given as options (they win over the file and the problem's choices).
        true: true model file on the problem grid, to report model errors.
        geometry: positions for files without geometry. problem: grid/band/time choices.
        resume, progress.
    """

    survey: str
    initial: str
    out: str
    config_file: dict | None = None
    overrides: dict = field(default_factory=dict)
    config_path: str | None = None
    true: str | None = None
    geometry: GeometryOverride = field(default_factory=GeometryOverride)
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    resume: bool = False
    progress: bool = True


def resolve_fwi_config(problem: Problem, config_file: dict | None, overrides: dict, config_path: str | None = None) -> FWIConfig:
    """Defaults, then the problem's choices (bands, low cut, misfit and wavelet estimation for
    field data, water frozen), then the config file, then explicit options."""
    try:
        return _resolve_fwi_config(problem, config_file, overrides)
    except InputError as exc:
        if not config_file:
            raise
        raise InputError(f"{exc} (FWI settings from --config {config_path or 'file'!r} and the options)") from None


def _resolve_fwi_config(problem: Problem, config_file: dict | None, overrides: dict) -> FWIConfig:
    cfg = FWIConfig(bands=list(problem.bands), low_cut=problem.low_cut, misfit=problem.default_misfit,
                    estimate_wavelet=problem.estimate_wavelet)
    cfg.freeze_above_m = problem.frozen_above_m
    d = cfg.to_dict()
    if config_file:
        FWIConfig.from_dict(config_file)  # names every unknown field
        d.update(config_file)
    d.update({k: v for k, v in overrides.items() if v is not None})
    cfg = FWIConfig.from_dict(d).validate(problem.record.survey.dt)
    from hybridfwi.inversion.fwi import trace_mask

    trace_mask(problem.record.survey, problem.grid, cfg)  # some trace left for the misfit (min_offset_m)
    return cfg


def run_fwi(run: FWIRun) -> dict:
    """Run (or resume) an inversion into ``run.out``; return the report dict."""
    import torch  # noqa: F401  (deepwave's device handling)

    from hybridfwi.hybrid.start import reference_model
    from hybridfwi.inversion.fwi import FWI, data_misfit, estimate_wavelet_in
    from hybridfwi.inversion.initial import initial_model
    from hybridfwi.io.arrays import load_model_file
    from hybridfwi.metrics import model_metrics

    t_start = time.perf_counter()
    folder = RunFolder(run.out, "fwi", {"survey": run.survey, "initial": run.initial, "config_file": run.config_file,
                                        "overrides": run.overrides, "true": run.true, "geometry": run.geometry.__dict__,
                                        "problem": run.problem.to_dict()}, run.resume).check()
    sf, problem = load_problem(run.survey, run.geometry, run.problem)
    cfg = resolve_fwi_config(problem, run.config_file, run.overrides, run.config_path)
    g, record = problem.grid, problem.record
    ref = reference_model(g, problem.water, vmax=min(4000.0, cfg.vmax - 1.0))
    v0 = initial_model(run.initial, g, ref)
    lo, hi = float(v0.min()), float(v0.max())
    if lo < cfg.vmin or hi > cfg.vmax:  # the bounded parameterisation would clip it without a word
        raise InputError(f"--initial {run.initial!r} spans {lo:g}..{hi:g} m/s, outside vmin {cfg.vmin:g} .. vmax {cfg.vmax:g} m/s; "
                         f"widen --vmin/--vmax or give a starting model inside them")
    span = cfg.vmax - cfg.vmin
    true = load_model_file(run.true, g, "true model") if run.true else None
    folder.create()
    if not problem.estimate_wavelet:
        w0 = record.survey.wavelet.array(record.survey.nt, record.survey.dt)
    else:
        w0 = estimate_wavelet_in(np.clip(v0, cfg.vmin + 1e-3 * span, cfg.vmax - 1e-3 * span), g, record, cfg)
    ckpt = folder.file("checkpoint.pt")
    engine = FWI(record, VelocityModel(v0, g), cfg, true=true, checkpoint=ckpt, wavelet=w0)
    if run.resume:
        import os

        if os.path.exists(ckpt):
            engine.load(ckpt)
    result = engine.run(progress=run.progress)
    final = result.model.values
    estimate = problem.estimate_wavelet
    m0, w_init = data_misfit(VelocityModel(v0, g), record, cfg, w0, estimate=estimate)
    m1, w_final = data_misfit(result.model, record, cfg, result.wavelet, estimate=estimate)
    report: dict = {
        "survey": run.survey,
        "initial": run.initial,
        "grid": g.to_dict(),
        "problem": problem.info,
        "misfit": cfg.misfit,
        "data_misfit_band": "full band" if cfg.low_cut is None else f">= {cfg.low_cut:g} Hz",
        "data_misfit_wavelet": "estimated for each model" if estimate else "the known source wavelet",
        "data_misfit_initial": m0,
        "data_misfit_final": m1,
        "iterations": len(result.history),
        "stages": [("full band" if b is None else f"<= {b:g} Hz") for b in cfg.stages],
        "wall_time_s": float(sum(h["wall_s"] for h in result.history)),
        "device": str(engine.device),
        "events": result.events,
        "fwi": cfg.to_dict(),
    }
    if true is not None:
        report["initial_metrics"] = model_metrics(v0, true)
        report["final_metrics"] = model_metrics(final, true)
        report["model_rmse_initial_ms"] = report["initial_metrics"]["rmse_ms"]
        report["model_rmse_final_ms"] = report["final_metrics"]["rmse_ms"]
    folder.save_model("model", result.model, note="hybridfwi fwi final model")
    folder.save_npy("wavelet.npy", result.wavelet)
    folder.save_json("history.json", result.history)
    _figures(folder, record, g, v0, final, true, result.history, cfg, w_init, w_final)
    report["total_time_s"] = time.perf_counter() - t_start
    folder.save_json("report.json", report)
    return report


def _figures(folder: RunFolder, record: ShotRecord, grid, v0, final, true, history, cfg: FWIConfig, w0, w1) -> None:
    from hybridfwi import dist
    from hybridfwi.viz.plots import plot_gather_comparison, plot_history, plot_model_panels

    if not dist.is_main():  # only rank 0 writes figures: the others skip modelling the gathers for them
        return
    models = [VelocityModel(v0, grid), VelocityModel(final, grid)] + ([VelocityModel(true, grid)] if true is not None else [])
    titles = ["initial", "final (FWI)"] + (["true"] if true is not None else [])
    folder.save_figure("models.png", plot_model_panels(models, titles))
    folder.save_figure("misfit.png", plot_history(history))
    folder.save_figure("gathers.png", plot_gather_comparison(*_gathers(record, grid, [(v0, w0), (final, w1)], cfg)))


def _gathers(record: ShotRecord, grid, models_wavelets, cfg: FWIConfig):
    """The middle shot observed, modelled in each (model, wavelet), and the last residual."""
    import torch

    from hybridfwi import dist
    from hybridfwi.inversion.fwi import forward_config
    from hybridfwi.physics.forward import resolve_device, simulate

    shot = record.survey.n_shots // 2
    dev = resolve_device(dist.device_for(cfg.device))  # this rank's GPU under torchrun
    recs = [record]
    with torch.no_grad():
        for v, w in models_wavelets:
            d = simulate(torch.as_tensor(v, device=dev), grid, record.survey, forward_config(cfg, dev),
                         source_amplitudes=torch.as_tensor(w, device=dev)).cpu().numpy()
            recs.append(ShotRecord(d, record.survey, record.t0))
    recs.append(ShotRecord(record.data - recs[-1].data, record.survey, record.t0))
    titles = ["observed"] + [f"model {k + 1}" for k in range(len(models_wavelets))] + ["residual (observed - last)"]
    if len(models_wavelets) == 2:
        titles = ["observed", "initial model", "final model", "residual (observed - final)"]
    return recs, titles, shot
