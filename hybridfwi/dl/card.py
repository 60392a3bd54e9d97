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
    m = tr.get("machine", {})
    lines = [
        f"# Foundation model: `{cfg['arch']}`",
        "",
        f"- input (shots, time samples, receivers): {cfg['arch_kwargs'].get('in_shape')}; output (nz, nx): {cfg['arch_kwargs'].get('out_shape')}",
        f"- parameters: {tr.get('total_parameters', 0):,}",
        f"- pretraining families: {', '.join(recipe.get('families', []))}",
        f"- pretraining data: {recipe.get('samples')} samples from `hybridfwi generate` "
        f"({'; '.join(json.dumps(d) for d in recipe.get('datasets', []))})",
        f"- training: {tr.get('train_config', {}).get('epochs')} epochs, batch {tr.get('train_config', {}).get('batch_size')}, "
        f"AdamW lr {tr.get('train_config', {}).get('lr')} with a cosine schedule, seed {tr.get('train_config', {}).get('seed')}; "
        f"best epoch {rec.get('best_epoch')} (validation MAE {rec.get('val_mae', float('nan')):.4f})",
        f"- wall time: {tr.get('wall_time_s', 0) / 60:.1f} min on {m.get('cpu')} ({m.get('cores')} cores, GPU: {m.get('gpu')}); "
        f"peak memory {tr.get('peak_memory_mb', 0):.0f} MiB "
        f"({tr.get('peak_memory_kind', 'process max RSS, which counts the pages of the memory-mapped dataset it read')})",
        "- reproduce: `bash examples/train_foundation.sh`",
        "",
    ]
    if ev:
        lines += [
            "## Held-out test samples (seed 2, 30 per family; our generated families, not OpenFWI's data)",
            "",
            "| family | in pretraining | MAE | RMSE | SSIM | MAE (m/s) | mean-1-D baseline MAE | InversionNet on OpenFWI (published MAE) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        fams = set(recipe.get("families", []))
        for fam, r in ev["families"].items():
            pub = OPENFWI_INVERSIONNET_MAE.get(fam)
            lines.append(f"| {fam} | {'yes' if fam in fams else 'no (OOD)'} | {r['mae']:.4f} | {r['rmse']:.4f} | {r['ssim']:.4f} | "
                         f"{r['mae_ms']:.1f} | {ev['baseline_mean_1d'][fam]['mae']:.4f} | {'' if pub is None else pub} |")
        o = ev["overall"]
        lines += [f"| **overall** | | {o['mae']:.4f} | {o['rmse']:.4f} | {o['ssim']:.4f} | {o['mae_ms']:.1f} | "
                  f"{ev['baseline_overall']['mae']:.4f} | |", "",
                  "MAE/RMSE on velocity normalised to [-1, 1] (OpenFWI convention). The published InversionNet numbers were "
                  "measured on OpenFWI's datasets with a 24 M-parameter network trained on a GPU; ours are on this project's "
                  "generated families, with a CPU-sized network: a reference point, not a like-for-like comparison.", ""]
    path = os.path.join(folder, "README.md")
    atomic_write_text(path, "\n".join(lines))
    return path


if __name__ == "__main__":
    print(write_card(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "weights", "foundation")))
