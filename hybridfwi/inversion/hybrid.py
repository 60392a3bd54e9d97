"""The hybrid: a DL prediction as the initial model, refined by physics FWI.

``invert()`` reads a shot-gather survey, predicts a velocity model with the foundation network
(or a fine-tuned one), then runs :func:`~hybridfwi.inversion.run.run_fwi` from it, and reports
DL-only against refined. For now it needs a survey with a hybridfwi geometry sidecar (as written by
``hybridfwi synth``); real SEG-Y without one is refused with a message (``hybridfwi info`` says
what such a file holds).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.errors import InputError
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.run import CHECKPOINT, FWIRun, run_fwi
from hybridfwi.io.atomic import atomic_save_npy, atomic_write_text

__all__ = ["InvertConfig", "invert"]

log = logging.getLogger(__name__)


@dataclass
class InvertConfig:
    """Attributes: survey SEG-Y, run folder, DL model spec (None = shipped), FWI settings, true
    model (optional, for model errors), resume, progress."""

    survey: str
    out: str
    model: str | None = None
    fwi: FWIConfig = field(default_factory=lambda: FWIConfig(bands=[8.0, None], iterations=10))
    true: str | None = None
    resume: bool = False
    progress: bool = True
    device: str = "auto"


def invert(cfg: InvertConfig) -> dict:
    """Run DL prediction then FWI into ``cfg.out``; return the combined report."""
    import torch

    from hybridfwi.dl.finetune import load_model
    from hybridfwi.dl.predict import predict_record
    from hybridfwi.io.segy import read_shots, sidecar_path, write_model_segy
    from hybridfwi.viz.plots import plot_model_panels, save_figure

    out = cfg.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder for the run")
    if os.path.isdir(out) and os.listdir(out) and not cfg.resume:
        raise InputError(f"--out {out!r} is not empty; add --resume to continue that run, or choose another --out")
    if not os.path.exists(cfg.survey):
        raise InputError(f"{cfg.survey}: no such file")
    if not os.path.exists(sidecar_path(cfg.survey)):
        raise InputError(f"{cfg.survey}: no hybridfwi geometry sidecar ({os.path.basename(sidecar_path(cfg.survey))}); "
                         f"inverting real SEG-Y is not supported yet - `hybridfwi info` describes the file")
    cfg.fwi.device = cfg.device
    record = read_shots(cfg.survey)
    cfg.fwi.validate(record.survey.dt)
    t0 = time.perf_counter()
    model, mcfg = load_model(cfg.model, device="cpu")
    with torch.no_grad():
        dl = predict_record(model, mcfg, record, cfg.device)
    span = cfg.fwi.vmax - cfg.fwi.vmin
    dl.values = np.clip(dl.values, cfg.fwi.vmin + 1e-3 * span, cfg.fwi.vmax - 1e-3 * span)
    t_dl = time.perf_counter() - t0
    warnings = []
    if tuple(record.survey.data_shape) != tuple(mcfg.in_shape) or tuple(record.survey.grid.shape) != tuple(mcfg.out_shape):
        warnings.append(f"the survey (data {record.survey.data_shape}, grid {record.survey.grid.shape}) differs from the "
                        f"network's geometry (data {tuple(mcfg.in_shape)}, grid {tuple(mcfg.out_shape)}): the data were resampled "
                        f"into its input, and the DL model may be poor; fine-tune on this geometry (hybridfwi generate + finetune)")
        log.warning(warnings[-1])
    os.makedirs(out, exist_ok=True)
    atomic_save_npy(os.path.join(out, "velocity_dl.npy"), dl.values)
    write_model_segy(os.path.join(out, "velocity_dl.segy"), dl, note="hybridfwi DL prediction (initial model)")

    fwi_dir = os.path.join(out, "fwi")
    resume = cfg.resume and os.path.exists(os.path.join(fwi_dir, CHECKPOINT))
    if not resume and os.path.isdir(fwi_dir):
        shutil.rmtree(fwi_dir)
    rep = run_fwi(FWIRun(survey=cfg.survey, initial=os.path.join(out, "velocity_dl.npy"), out=fwi_dir, config=cfg.fwi,
                         true=cfg.true, resume=resume, progress=cfg.progress))
    refined = np.load(os.path.join(fwi_dir, "model.npy"))
    atomic_save_npy(os.path.join(out, "velocity_refined.npy"), refined)
    shutil.copyfile(os.path.join(fwi_dir, "model.segy"), os.path.join(out, "velocity_refined.segy"))
    from hybridfwi.core.model import VelocityModel

    panels = [dl, VelocityModel(refined, dl.grid)]
    titles = ["DL prediction", "refined (FWI)"]
    if cfg.true:
        from hybridfwi.io.arrays import load_model_file

        panels.append(VelocityModel(load_model_file(cfg.true, dl.grid, "true model"), dl.grid))
        titles.append("true")
    save_figure(plot_model_panels(panels, titles), os.path.join(out, "models.png"))
    report = {
        "survey": os.path.abspath(cfg.survey),
        "dl_model": cfg.model or "default (shipped foundation model)",
        "grid": record.survey.grid.to_dict(),
        "misfit": rep["misfit"],
        "data_misfit_band": rep["data_misfit_band"],
        "data_misfit_dl": rep["data_misfit_initial"],
        "data_misfit_refined": rep["data_misfit_final"],
        "timings_s": {"dl_prediction": t_dl, "fwi": rep["wall_time_s"]},
        "fwi": {k: v for k, v in rep.items() if k not in ("survey", "initial")},
        "figures": {"models": "models.png", "gathers": "fwi/gathers.png", "misfit": "fwi/misfit.png"},
        "warnings": warnings,
    }
    if cfg.true:
        report["model_rmse_dl_ms"] = rep["model_rmse_initial_ms"]
        report["model_rmse_refined_ms"] = rep["model_rmse_final_ms"]
        report["ssim_dl"] = rep["ssim_initial"]
        report["ssim_refined"] = rep["ssim_final"]
    atomic_write_text(os.path.join(out, "report.json"), json.dumps(report, indent=2) + "\n")
    return report
