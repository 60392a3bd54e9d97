"""Prediction with a trained network (optionally with an adapter) and evaluation on datasets."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.dl.checkpoint import ModelConfig
from hybridfwi.dl.normalize import fit_input
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_save_npy, atomic_write_text
from hybridfwi.physics.forward import resolve_device

__all__ = ["predict_record", "predict_mapped", "predict_file", "evaluate", "EvalConfig"]


@torch.no_grad()
def predict_record(model: torch.nn.Module, cfg: ModelConfig, record: ShotRecord, device: torch.device | str = "cpu") -> VelocityModel:
    """Velocity model (m/s) predicted for a record, on the record's survey grid.

    The data are normalised as in training and resampled to the network's input shape
    (:func:`~hybridfwi.dl.normalize.fit_input`); the prediction is resampled (bilinearly) onto the
    survey grid when it differs from the network's output grid.
    """
    device = resolve_device(str(device))
    model = model.to(device).eval()
    x = torch.as_tensor(record.data[None], device=device)
    y = model(fit_input(cfg.normalizer.data(x), cfg.in_shape)).float()
    g = record.survey.grid
    if tuple(y.shape[-2:]) != g.shape:
        y = F.interpolate(y, size=g.shape, mode="bilinear", align_corners=True)
    v = cfg.normalizer.velocity_inverse(y)[0, 0].cpu().numpy().astype(np.float32)
    return VelocityModel(v, g)


@torch.no_grad()
def predict_mapped(model: torch.nn.Module, cfg: ModelConfig, record: ShotRecord, device: torch.device | str = "cpu"):
    """Velocity (m/s, on the record's grid) predicted with the survey read in the network's frame.

    The survey is scaled into the geometry the network was trained on (acoustic scale invariance,
    :mod:`hybridfwi.dl.mapping`) and the prediction is read back at the survey's own metres.
    Returns ``(VelocityModel, NetworkFrame)``; a checkpoint without a recorded geometry falls back
    to :func:`predict_record` (frame None).
    """
    from hybridfwi.core.survey import Survey
    from hybridfwi.dl.mapping import from_network, network_frame, to_network

    if cfg.geometry is None:
        return predict_record(model, cfg, record, device), None
    device = resolve_device(str(device))
    model = model.to(device).eval()
    net = Survey.from_dict(cfg.geometry)
    frame = network_frame(record.survey, net)
    x = torch.as_tensor(to_network(record, net, frame)[None], device=device)
    y = model(fit_input(cfg.normalizer.data(x), cfg.in_shape)).float()
    v = cfg.normalizer.velocity_inverse(y)[0, 0].cpu().numpy()
    return VelocityModel(from_network(v, net, frame, record.survey.grid), record.survey.grid), frame


def predict_file(model_spec: str | None, target: str, out: str, device: str = "auto") -> dict:
    """Predict for a shot-gather SEG-Y (``out``: ``velocity_dl.npy``/``.segy`` + figure) or for
    every sample of a dataset folder (``out``: ``predictions.npy`` ``(n, 1, nz, nx)`` m/s)."""
    from hybridfwi.dl.finetune import load_model

    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder")
    if not os.path.exists(target):
        raise InputError(f"{target!r}: no such file or folder")
    dev = resolve_device(device)
    model, cfg = load_model(model_spec, device=dev)
    if os.path.isdir(target):
        from hybridfwi.dl.data import load_batch
        from hybridfwi.synth.datasets import ShotDataset

        ds = ShotDataset(target)
        preds = []
        with torch.no_grad():
            for lo in range(0, len(ds), 32):
                x, _ = load_batch(ds, range(lo, min(lo + 32, len(ds))), cfg.normalizer, cfg.in_shape, dev)
                preds.append(cfg.normalizer.velocity_inverse(model(x).float()).cpu().numpy())
        os.makedirs(out, exist_ok=True)
        atomic_save_npy(os.path.join(out, "predictions.npy"), np.concatenate(preds).astype(np.float32))
        return {"samples": len(ds), "out": os.path.join(out, "predictions.npy")}
    from hybridfwi.io.segy import read_shots, write_model_segy
    from hybridfwi.viz.plots import plot_model, save_figure

    record = read_shots(target)
    vm = predict_record(model, cfg, record, dev)
    os.makedirs(out, exist_ok=True)
    atomic_save_npy(os.path.join(out, "velocity_dl.npy"), vm.values)
    write_model_segy(os.path.join(out, "velocity_dl.segy"), vm, note="hybridfwi DL prediction")
    save_figure(plot_model(vm, title="DL prediction", survey=record.survey), os.path.join(out, "velocity_dl.png"))
    return {"samples": 1, "out": os.path.join(out, "velocity_dl.npy"), "vmin": vm.vmin, "vmax": vm.vmax}


@dataclass
class EvalConfig:
    """Attributes: model spec (CKPT[+ADAPTER]; None = shipped), dataset folders, output JSON path."""

    model: str | None
    data: list[str]
    out: str
    device: str = "auto"


def _summary(m: dict) -> dict:
    return {k: float(np.mean(v)) for k, v in m.items()} | {"samples": len(m["mae"])}


def evaluate(cfg: EvalConfig) -> dict:
    """Metrics per family and overall, for the network and for a trivial baseline (the mean 1-D
    velocity profile of the evaluated models themselves, an oracle-flavoured baseline); writes
    ``out`` (JSON) and the same table as markdown beside it (``.md``)."""
    from hybridfwi.dl.finetune import load_model
    from hybridfwi.dl.train import evaluate_arrays
    from hybridfwi.metrics import ssim
    from hybridfwi.synth.datasets import ShotDataset

    if not cfg.out.endswith(".json"):
        raise InputError(f"--out {cfg.out!r} must be a .json file")
    dev = resolve_device(cfg.device)
    model, mcfg = load_model(cfg.model, device=dev)
    ds = ShotDataset(cfg.data)
    norm = mcfg.normalizer
    fams: dict[str, list[int]] = {}
    for i in range(len(ds)):
        fams.setdefault(ds.family(i) or "unlabelled", []).append(i)
    result: dict = {"model": cfg.model or "default", "data": cfg.data, "families": {}, "baseline_mean_1d": {}}
    allm: dict = {}
    allb: dict = {}
    for fam, idx in fams.items():
        m = evaluate_arrays(model, ds, np.asarray(idx), norm, mcfg.in_shape, dev)
        trues = np.stack([ds.arrays(i)[1][0] for i in idx])
        profile = trues.mean(axis=(0, 2))[None, :, None] * np.ones_like(trues)
        b = {"mae": [], "rmse": [], "mae_ms": [], "rmse_ms": [], "ssim": []}
        for p, t in zip(profile, trues):
            pn = 2 * (p - norm.vmin) / (norm.vmax - norm.vmin) - 1
            tn = 2 * (t - norm.vmin) / (norm.vmax - norm.vmin) - 1
            b["mae"].append(float(np.abs(pn - tn).mean()))
            b["rmse"].append(float(np.sqrt(((pn - tn) ** 2).mean())))
            b["mae_ms"].append(float(np.abs(p - t).mean()))
            b["rmse_ms"].append(float(np.sqrt(((p - t) ** 2).mean())))
            b["ssim"].append(ssim(p, t))
        result["families"][fam] = _summary(m)
        result["baseline_mean_1d"][fam] = _summary(b)
        for k in m:
            allm.setdefault(k, []).extend(m[k])
            allb.setdefault(k, []).extend(b[k])
    result["overall"] = _summary(allm)
    result["baseline_overall"] = _summary(allb)
    os.makedirs(os.path.dirname(os.path.abspath(cfg.out)), exist_ok=True)
    atomic_write_text(cfg.out, json.dumps(result, indent=2) + "\n")
    atomic_write_text(os.path.splitext(cfg.out)[0] + ".md", markdown_table(result))
    return result


def markdown_table(result: dict) -> str:
    lines = ["| family | samples | MAE | RMSE | SSIM | MAE (m/s) | RMSE (m/s) | baseline MAE | baseline SSIM |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = list(result["families"].items()) + [("**overall**", result["overall"])]
    for fam, m in rows:
        b = result["baseline_overall"] if fam == "**overall**" else result["baseline_mean_1d"][fam]
        lines.append(f"| {fam} | {m['samples']} | {m['mae']:.4f} | {m['rmse']:.4f} | {m['ssim']:.4f} | {m['mae_ms']:.1f} | "
                     f"{m['rmse_ms']:.1f} | {b['mae']:.4f} | {b['ssim']:.4f} |")
    return "\n".join(lines) + "\n\nMAE/RMSE on velocity normalised to [-1, 1] (OpenFWI convention); SSIM on [0, 1]; " \
        "baseline: the mean 1-D profile of the evaluated models.\n"


