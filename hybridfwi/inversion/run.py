"""The library side of ``hybridfwi fwi``: read, check everything, invert, write a run folder.

A run folder holds ``config.json``, ``checkpoint.pt`` (after every iteration), and at the end
``model.npy``, ``model.segy``, ``history.json``, ``report.json`` and figures (``models.png``,
``misfit.png``, ``gathers.png``). Every input is checked before anything in it is written.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.fwi import FWI, data_misfit
from hybridfwi.inversion.initial import initial_model
from hybridfwi.io.arrays import load_model_file
from hybridfwi.io.atomic import atomic_save_npy, atomic_write_text
from hybridfwi.metrics import mae, rmse, ssim

__all__ = ["FWIRun", "run_fwi"]

CHECKPOINT = "checkpoint.pt"


@dataclass
class FWIRun:
    """Inputs of one run.

    Attributes:
        survey: shot-gather SEG-Y path (as written by ``hybridfwi synth``).
        initial: starting-model spec (see :func:`~hybridfwi.inversion.initial.initial_model`).
        out: run folder.
        config: FWI configuration.
        true: true model file (.npy / .segy), to report model errors; optional.
        resume: continue from ``out/checkpoint.pt``.
        progress: progress bars.
        record: the observed data already in memory (e.g. a processed field survey); when given,
            ``survey`` only labels the run.
    """

    survey: str
    initial: str
    out: str
    config: FWIConfig
    true: str | None = None
    resume: bool = False
    progress: bool = True
    record: ShotRecord | None = None


def _check_out(run: FWIRun) -> None:
    out = run.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder for the run")
    if os.path.isdir(out) and os.listdir(out):
        has_run = os.path.exists(os.path.join(out, CHECKPOINT)) or os.path.exists(os.path.join(out, "config.json"))
        if not has_run:
            raise InputError(f"--out {out!r} is a non-empty folder that is not an FWI run; choose a new or empty folder")
        if not run.resume:
            raise InputError(f"--out {out!r} already holds a run; add --resume to continue it, or choose another --out")


def run_fwi(run: FWIRun) -> dict:
    """Run (or resume) an inversion into ``run.out``; return the report dict."""
    from hybridfwi.io.segy import read_shots, write_model_segy

    t_start = time.perf_counter()
    _check_out(run)
    record = run.record if run.record is not None else read_shots(run.survey)
    if not np.all(np.isfinite(record.data)):
        raise InputError(f"{run.survey}: the data hold NaN or infinite samples")
    survey = record.survey
    cfg = run.config.validate(survey.dt)
    survey.validate()
    v0 = initial_model(run.initial, survey.grid)
    true = load_model_file(run.true, survey.grid, "true model") if run.true else None
    ckpt = os.path.join(run.out, CHECKPOINT)
    engine = FWI(record, VelocityModel(v0, survey.grid), cfg, true=true, checkpoint=ckpt)
    if run.resume and os.path.exists(ckpt):
        engine.load(ckpt)
    os.makedirs(run.out, exist_ok=True)
    atomic_write_text(os.path.join(run.out, "config.json"), json.dumps(
        {"survey": os.path.abspath(run.survey), "initial": run.initial, "true": run.true, "fwi": cfg.to_dict()}, indent=2) + "\n")

    result = engine.run(progress=run.progress)
    final = result.model.values
    if not np.all(np.isfinite(final)):  # cannot happen through the bounded map; never write one
        raise RuntimeError("the inversion produced non-finite velocities")
    wavelet = result.wavelet
    report: dict = {
        "survey": os.path.abspath(run.survey),
        "initial": run.initial,
        "misfit": cfg.misfit,
        "data_misfit_band": "full band" if cfg.low_cut is None else f">= {cfg.low_cut:g} Hz",
        "data_misfit_initial": data_misfit(v0, record, cfg, wavelet),
        "data_misfit_final": data_misfit(final, record, cfg, wavelet),
        "iterations": len(result.history),
        "stages": [("full band" if b is None else f"<= {b:g} Hz") for b in cfg.stages],
        "wall_time_s": float(sum(h["wall_s"] for h in result.history)),
        "device": str(engine.device),
        "events": result.events,
    }
    if true is not None:
        report.update({
            "model_rmse_initial_ms": rmse(v0, true),
            "model_rmse_final_ms": rmse(final, true),
            "model_mae_initial_ms": mae(v0, true),
            "model_mae_final_ms": mae(final, true),
            "ssim_initial": ssim(v0, true),
            "ssim_final": ssim(final, true),
        })
    atomic_save_npy(os.path.join(run.out, "model.npy"), final)
    write_model_segy(os.path.join(run.out, "model.segy"), result.model, note="hybridfwi fwi final model")
    atomic_save_npy(os.path.join(run.out, "wavelet.npy"), wavelet)
    atomic_write_text(os.path.join(run.out, "history.json"), json.dumps(result.history, indent=1) + "\n")
    _figures(run.out, record, v0, final, true, result.history, cfg, wavelet)
    report["total_time_s"] = time.perf_counter() - t_start
    atomic_write_text(os.path.join(run.out, "report.json"), json.dumps(report, indent=2) + "\n")
    return report


def _figures(out: str, record: ShotRecord, v0: np.ndarray, final: np.ndarray, true: np.ndarray | None,
             history: list[dict], cfg: FWIConfig, wavelet: np.ndarray) -> None:
    import torch

    from hybridfwi.inversion.fwi import forward_config
    from hybridfwi.physics.forward import resolve_device, simulate
    from hybridfwi.viz.plots import plot_gather_comparison, plot_history, plot_model_panels, save_figure

    g = record.survey.grid
    models = [VelocityModel(v0, g), VelocityModel(final, g)] + ([VelocityModel(true, g)] if true is not None else [])
    titles = ["initial", "final (FWI)"] + (["true"] if true is not None else [])
    save_figure(plot_model_panels(models, titles), os.path.join(out, "models.png"))
    save_figure(plot_history(history), os.path.join(out, "misfit.png"))
    shot = record.survey.n_shots // 2
    device = resolve_device(cfg.device)
    fwd = forward_config(cfg, device)
    w = torch.as_tensor(wavelet, device=device)
    recs = [record]
    with torch.no_grad():
        for v in (v0, final):
            d = simulate(torch.as_tensor(v, device=device), record.survey, fwd, source_amplitudes=w).cpu().numpy()
            recs.append(ShotRecord(d, record.survey))
    recs.append(ShotRecord(record.data - recs[-1].data, record.survey))
    titles = ["observed", "initial model", "final model", "residual (observed - final)"]
    save_figure(plot_gather_comparison(recs, titles, shot), os.path.join(out, "gathers.png"))
