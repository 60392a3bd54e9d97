"""Samples/s of ``hybridfwi generate`` against a bare loop of ``deepwave.scalar`` calls.

Both sides model the same models on the same geometry (OpenFWI: 70 x 70, 5 shots, 70 receivers,
1000 samples) in one process, alternating, repeated; the ratio of the medians is printed and a
JSON record is written to ``benchmarks/results/generate_throughput_<device>.json``.

The bare loop is what a user would write without the toolkit: one ``deepwave.scalar`` call per
model (its 5 shots batched), pinned ``pml_freq``/``max_vel``, data copied to the host. The
hybridfwi side is the whole ``generate`` job: model generation, batched propagation and the
atomic shard writes.

    python benchmarks/generate_throughput.py [--count 32] [--repeats 5] [--batch 8] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Record, median  # noqa: E402

from hybridfwi.core import load_geometry  # noqa: E402
from hybridfwi.physics.forward import ForwardConfig, resolve_device  # noqa: E402
from hybridfwi.synth.datasets import GenerateConfig, generate_dataset  # noqa: E402
from hybridfwi.synth.families import make_model  # noqa: E402


def bare_loop(models: np.ndarray, survey, device: torch.device) -> float:
    import deepwave

    src = torch.as_tensor(survey.source_indices(), device=device)
    rec = torch.as_tensor(survey.receiver_indices(), device=device)
    w = torch.as_tensor(survey.wavelet.array(survey.nt, survey.dt), device=device)
    amp = w.expand(survey.n_shots, 1, survey.nt)
    t = time.perf_counter()
    for m in models:
        v = torch.as_tensor(m, device=device)
        out = deepwave.scalar(v, 10.0, survey.dt, source_amplitudes=amp, source_locations=src,
                              receiver_locations=rec, pml_freq=survey.wavelet.peak_freq, max_vel=4500.0, accuracy=4)
        out.receiver_amplitudes.cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(models) / (time.perf_counter() - t)


def ours(count: int, survey, device: str, batch: int, family: str) -> float:
    folder = tempfile.mkdtemp(prefix="hfwi-bench-")
    try:
        cfg = GenerateConfig(families=[family], count=count, out=os.path.join(folder, "ds"), survey=survey,
                             forward=ForwardConfig(device=device), batch=batch)
        t = time.perf_counter()
        generate_dataset(cfg, progress=False)
        return count / (time.perf_counter() - t)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--family", default="curvefault-a")
    a = p.parse_args()
    device = resolve_device(a.device)
    survey = load_geometry("openfwi")
    models = np.stack([make_model(a.family, 0, i) for i in range(a.count)])
    settings = {"count": a.count, "repeats": a.repeats, "batch": a.batch, "device": str(device), "family": a.family,
                "geometry": "openfwi"}
    rec = Record(f"generate_throughput_{device.type}", settings)
    ours(min(a.batch, a.count), survey, str(device), a.batch, a.family)  # warm-up (imports, allocator)
    bare_loop(models[:2], survey, device)
    for r in range(len(rec.repeats), a.repeats):
        b = bare_loop(models, survey, device)
        o = ours(a.count, survey, str(device), a.batch, a.family)
        print(f"repeat {r + 1}/{a.repeats}: bare deepwave loop {b:.2f} samples/s, hybridfwi generate {o:.2f} samples/s, ratio {o / b:.3f}")
        rec.add({"bare_samples_per_s": b, "hybridfwi_samples_per_s": o, "ratio": o / b})
    summary = {
        "bare_samples_per_s_median": median(x["bare_samples_per_s"] for x in rec.repeats),
        "hybridfwi_samples_per_s_median": median(x["hybridfwi_samples_per_s"] for x in rec.repeats),
        "ratio_median": median(x["ratio"] for x in rec.repeats),
        "target_ratio": 0.95,
    }
    path = rec.finish(summary)
    print(f"median: bare {summary['bare_samples_per_s_median']:.2f} samples/s, hybridfwi {summary['hybridfwi_samples_per_s_median']:.2f} "
          f"samples/s, ratio {summary['ratio_median']:.3f} (target >= 0.95) -> {path}")


if __name__ == "__main__":
    main()
