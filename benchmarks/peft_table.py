"""The seed paper's comparison (Ghosal et al., 2024) on data this project generates.

For each task (in-distribution: held-out samples of pretraining families; out-of-distribution:
families the foundation model never saw), at equal fine-tuning data and epochs:

- task-specific network trained from scratch,
- foundation model zero-shot,
- foundation + full fine-tuning,
- foundation + LoRA (under 1% trainable), + DoRA, + IA3, + LoHa.

Columns: MAE, RMSE (normalised velocity), SSIM, MAE in m/s, trainable %, peak memory (each
training runs in its own process, so its peak RSS / CUDA peak is its own), wall time.
Writes ``benchmarks/results/peft_table_<device>.json`` and ``.md``; a killed run resumes
(finished rows are kept in ``benchmarks/results/.peft_table_work/``).

    python benchmarks/peft_table.py [--base CKPT] [--train 128] [--test 32] [--epochs 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402

from hybridfwi.core import load_geometry  # noqa: E402
from hybridfwi.dl.checkpoint import resolve_model_path  # noqa: E402
from hybridfwi.dl.predict import EvalConfig, evaluate  # noqa: E402
from hybridfwi.synth.datasets import GenerateConfig, generate_dataset, read_manifest  # noqa: E402

TASKS = {  # name: (families, in distribution?)
    "in-dist: curvefault-b": (["curvefault-b"], True),
    "in-dist: style-a": (["style-a"], True),
    "OOD: marine": (["marine"], False),
    "OOD: salt": (["salt"], False),
    "OOD: gas": (["gas"], False),
}
ROWS = ["scratch", "zero-shot", "full", "lora", "dora", "ia3", "loha"]


def _run(cmd: list[str]) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "hybridfwi", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default=None, help="foundation checkpoint (default: the shipped one)")
    p.add_argument("--train", type=int, default=128, help="fine-tuning samples per task")
    p.add_argument("--test", type=int, default=32, help="test samples per task")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rank", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    a = p.parse_args()
    base = resolve_model_path(a.base)
    work = os.path.join(RESULTS, ".peft_table_work")
    os.makedirs(work, exist_ok=True)
    geometry = load_geometry("openfwi")
    table: dict = {}
    common = ["--epochs", str(a.epochs), "--batch-size", "16", "--device", a.device, "--no-progress", "--seed", "0"]
    for task in a.tasks:
        fams, indist = TASKS[task]
        key = task.split(": ")[1]
        data = {}
        # fine-tuning data from the adaptation seed range, test data from the validation range: disjoint by construction
        for split, n, seed, purpose in (("train", a.train, 20_101, "adaptation"), ("test", a.test, 10_202, "validation")):
            folder = os.path.join(work, f"{key}-{split}")
            m = read_manifest(folder) if os.path.isdir(folder) else None
            if m is None or not m.get("complete"):
                generate_dataset(GenerateConfig(families=fams, count=n, out=folder, geometry=geometry, seed=seed, purpose=purpose),
                                 progress=False)
            data[split] = folder
        table[task] = {}
        for row in ROWS:
            done = os.path.join(work, f"{key}-{row}.json")
            if os.path.exists(done):
                with open(done, encoding="utf-8") as fh:
                    table[task][row] = json.load(fh)
                continue
            out = os.path.join(work, f"{key}-{row}")
            if row == "zero-shot":
                spec, wall, rec = base, 0.0, {"trainable_percent": 0.0, "peak_memory_mb": None}
            elif row == "scratch":
                with open(os.path.join(base, "config.json"), encoding="utf-8") as fh:
                    arch = json.load(fh)["arch"]
                wall = _run(["pretrain", "--data", data["train"], "--arch", arch, "--out", out, "--lr", "1e-3", *common]
                            + (["--resume"] if os.path.isdir(out) else []))
                with open(os.path.join(out, "config.json"), encoding="utf-8") as fh:
                    rec = json.load(fh)["record"]["training"]
                spec = out
            else:
                wall = _run(["finetune", "--base", base, "--data", data["train"], "--method", row, "--rank", str(a.rank),
                             "--out", out, "--lr", "2e-3" if row != "full" else "5e-4", *common]
                            + (["--resume"] if os.path.isdir(out) else []))
                with open(os.path.join(out, "finetune_record.json"), encoding="utf-8") as fh:
                    rec = json.load(fh)["training"]
                spec = out if row == "full" else f"{base}+{out}"
            metrics = evaluate(EvalConfig(model=spec, data=[data["test"]], device=a.device))
            entry = {**{k: metrics["overall"][k] for k in ("mae", "rmse", "ssim", "mae_ms", "rmse_ms")},
                     "trainable_percent": rec["trainable_percent"], "peak_memory_mb": rec["peak_memory_mb"],
                     "wall_time_s": wall, "baseline_mae": metrics["baseline_overall"]["mae"], "in_distribution": indist}
            with open(done, "w", encoding="utf-8") as fh:
                json.dump(entry, fh)
            table[task][row] = entry
            print(f"{task:24s} {row:9s} MAE {entry['mae']:.4f} SSIM {entry['ssim']:.4f} trainable {entry['trainable_percent']:.3f}% "
                  f"wall {wall:.0f} s", flush=True)
    record = {"benchmark": "peft_table", "machine": machine(), "base": base,
              "settings": {"train": a.train, "test": a.test, "epochs": a.epochs, "rank": a.rank, "device": a.device}, "table": table}
    stem = os.path.join(RESULTS, f"peft_table_{'cuda' if a.device == 'cuda' else 'cpu'}")
    with open(stem + ".json", "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2)
    lines = ["| task | method | MAE | RMSE | SSIM | MAE (m/s) | trainable % | peak memory (MiB) | wall (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for task, rows in table.items():
        for row, e in rows.items():
            mem = "-" if e["peak_memory_mb"] is None else f"{e['peak_memory_mb']:.0f}"
            lines.append(f"| {task} | {row} | {e['mae']:.4f} | {e['rmse']:.4f} | {e['ssim']:.4f} | {e['mae_ms']:.1f} | "
                         f"{e['trainable_percent']:.3f} | {mem} | {e['wall_time_s']:.0f} |")
    lines.append(f"\n{a.train} fine-tuning samples and {a.epochs} epochs per task, {a.test} test samples; openfwi geometry; "
                 f"MAE/RMSE on velocity normalised to [-1, 1]; peak memory: each training process's peak anonymous RSS sampled per step on CPU (memory-mapped data excluded), CUDA max allocated on GPU.")
    with open(stem + ".md", "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
