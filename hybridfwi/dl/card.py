"""A model card (``README.md``) for a checkpoint folder: training record and per-family metrics.

    python -m hybridfwi.dl.card CKPT_FOLDER
"""

from __future__ import annotations

import json
import os
import sys

from hybridfwi.io.atomic import atomic_write_text

__all__ = ["write_card", "OPENFWI_INVERSIONNET_MAE"]

#: InversionNet's test MAE (normalised velocity) on OpenFWI's own data, as published in the OpenFWI
#: paper (Deng et al., 2022, NeurIPS Datasets and Benchmarks), for comparison only.
OPENFWI_INVERSIONNET_MAE = {"flatvel-a": 0.0131, "curvevel-a": 0.0685, "flatfault-a": 0.0172, "curvefault-a": 0.0260, "style-a": 0.0625}


def _phase_lines(folder: str, last: dict) -> list[str]:
    """One line for a network trained in phases (``training_record_phase<k>.json`` beside the weights, then
    ``training_record.json``), each continuing the one before with fresh models; none for a single phase."""
    phases = []
    for k in range(1, 100):
        path = os.path.join(folder, f"training_record_phase{k}.json")
        if not os.path.exists(path):
            break
        with open(path, encoding="utf-8") as fh:
            phases.append(json.load(fh))
    if not phases:
        return []
    phases.append(last)
    parts = []
    for k, p in enumerate(phases, 1):
        c = p.get("config", {})
        first = c.get("first_sample", 0)
        parts.append(f"{k}: models {first:,}-{p.get('samples_generated', 0):,}, {p.get('optimizer_steps', 0):,} steps, lr {c.get('lr')}, "
                     f"{c.get('reuse')} passes, best validation MAE {p.get('best_val_mae', float('nan')):.4f}, "
                     f"{p.get('wall_time_s', 0) / 60:.1f} min")
    steps = sum(p.get("optimizer_steps", 0) for p in phases)
    minutes = sum(p.get("wall_time_s", 0) for p in phases) / 60
    return [f"- trained in {len(phases)} phases, each starting from the one before's best weights with fresh models "
            f"(`training_record_phase<k>.json`, the last `training_record.json`): {'; '.join(parts)}; in all "
            f"{steps:,} steps, {minutes:.1f} min"]


def _training_lines(cfg: dict, folder: str) -> list[str]:
    rec = cfg["record"]
    tr = rec.get("training", {})
    recipe = rec.get("data_recipe", {})
    m = tr.get("machine", {})
    where = f"{m.get('gpu') or m.get('cpu')} ({m.get('cores')} CPU cores)"
    if tr.get("mode") == "online":
        c = tr.get("config", {})
        phased = os.path.exists(os.path.join(folder, "training_record_phase1.json"))
        return [
            f"- pretraining families: {', '.join(recipe.get('families', []))} (marine, salt, gas and gradient held out)",
            f"- pretraining data: generated while training (`hybridfwi pretrain --online`): {tr.get('samples_generated', 0):,} models "
            f"from the pretrain seed range (seed {recipe.get('seed')}), each modelled in the network's geometry with a free "
            f"surface (probability {recipe.get('free_surface')}) or an absorbing top, augmented as the network frame degrades "
            f"real surveys (missing shots, near/far offsets, truncation, noise, trace amplitudes)",
            f"- training{' (last phase)' if phased else ''}: {tr.get('optimizer_steps', 0):,} AdamW steps (batch {c.get('batch_size')}, lr {c.get('lr')}, cosine), "
            f"{c.get('reuse')} passes over each generated batch of {c.get('gen_batch')}; stopped by {tr.get('stopped_by')}; best "
            f"validation MAE {tr.get('best_val_mae', float('nan')):.4f} (validation seed range)",
            f"- wall time{' (last phase)' if phased else ''}: {tr.get('wall_time_s', 0) / 60:.1f} min on {where}",
            *_phase_lines(folder, tr),
            "- reproduce: `bash examples/train_foundation.sh` (a GPU; see the script)",
        ]
    return [
        f"- pretraining families: {', '.join(recipe.get('families', []))}",
        f"- pretraining data: {recipe.get('samples')} samples from `hybridfwi generate`",
        f"- training: {tr.get('train_config', {}).get('epochs')} epochs, batch {tr.get('train_config', {}).get('batch_size')}, "
        f"AdamW lr {tr.get('train_config', {}).get('lr')} with a cosine schedule; best epoch {rec.get('best_epoch')} "
        f"(validation MAE {rec.get('val_mae', float('nan')):.4f})",
        f"- wall time: {tr.get('wall_time_s', 0) / 60:.1f} min on {where}",
    ]


def write_card(folder: str) -> str:
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as fh:
        cfg = json.load(fh)
    ev_path = os.path.join(folder, "evaluation.json")
    ev = None
    if os.path.exists(ev_path):
        with open(ev_path, encoding="utf-8") as fh:
            ev = json.load(fh)
    rec = cfg["record"]
    tr = rec.get("training", {})
    recipe = rec.get("data_recipe", {})
    norm = cfg.get("normalizer", {})
    lines = [
        f"# Foundation model: `{cfg['arch']}`",
        "",
        f"- input (channels, time samples, receivers): {cfg['arch_kwargs'].get('in_shape')} "
        f"({'shots plus the top-boundary channel' if norm.get('top_channel') else 'shots'}); output (nz, nx): "
        f"{cfg['arch_kwargs'].get('out_shape')}; velocity range {norm.get('vmin')}-{norm.get('vmax')} m/s; seismic scaling "
        f"{norm.get('mode', 'global')}",
        f"- geometry: {cfg['geometry'].get('name')} ({cfg['geometry']['grid']['nz']} x {cfg['geometry']['grid']['nx']} cells at "
        f"{cfg['geometry']['grid']['dx']:g} m, {cfg['geometry']['wavelet'].get('peak_freq')} Hz); surveys of any size are read "
        f"through the network frame (`hybridfwi/dl/frame.py`)",
        f"- parameters: {tr.get('total_parameters', 0):,}",
        *_training_lines(cfg, folder),
        "",
    ]
    if ev:
        fams = set(recipe.get("families", []))
        lines += [
            "## Held-out test samples (validation seed range; this project's generated families, not OpenFWI's data)",
            "",
            *([f"Evaluated with `hybridfwi evaluate` on {ev['machine'].get('gpu') or ev['machine'].get('cpu')} "
               f"({ev['machine'].get('cores')} cores); `evaluation.json` beside the weights.", ""] if ev.get("machine") else []),
            "| family | in pretraining | samples | MAE | RMSE | SSIM | MAE (m/s) | mean-1-D baseline MAE | InversionNet on OpenFWI (published MAE) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for fam, r in ev["families"].items():
            pub = OPENFWI_INVERSIONNET_MAE.get(fam)
            lines.append(f"| {fam} | {'yes' if fam in fams else 'no (OOD)'} | {r['samples']} | {r['mae']:.4f} | {r['rmse']:.4f} | "
                         f"{r['ssim']:.4f} | {r['mae_ms']:.1f} | {ev['baseline_mean_1d'][fam]['mae']:.4f} | {'' if pub is None else pub} |")
        o = ev["overall"]
        lines += [f"| **overall** | | {o['samples']} | {o['mae']:.4f} | {o['rmse']:.4f} | {o['ssim']:.4f} | {o['mae_ms']:.1f} | "
                  f"{ev['baseline_overall']['mae']:.4f} | |", "",
                  "MAE/RMSE on velocity normalised to [-1, 1] by 1500-4500 m/s (OpenFWI convention). The published InversionNet "
                  "numbers were measured on OpenFWI's datasets with a 24 M-parameter network; ours are on this project's generated "
                  "families: a reference point, not a like-for-like comparison.", ""]
    path = os.path.join(folder, "README.md")
    atomic_write_text(path, "\n".join(lines))
    return path


if __name__ == "__main__":
    print(write_card(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "weights", "foundation")))
