"""Samples/s of ``hybridfwi generate`` against a bare loop of ``deepwave.scalar`` calls.

Both sides model the same models on the same geometry (OpenFWI: 70 x 70, 5 shots, 70 receivers,
1000 samples) in one process, alternating, repeated; the ratio of the medians is printed and a
JSON record is written to ``benchmarks/results/generate_throughput_<device>.json``.

The bare loop is what a user would write without the toolkit: one ``deepwave.scalar`` call per
model (its 5 shots batched), pinned ``pml_freq``/``max_vel``, data copied to the host. The
hybridfwi side is the whole ``generate`` job: model generation, batched propagation and the
atomic shard writes.

It also times the modelling alone (batched ``simulate`` of models already in device memory, no
files), the ceiling that model drawing and writing eat into.

    python benchmarks/generate_throughput.py [--count 32] [--repeats 5] [--batch auto] [--device cpu] [--tmp DIR]
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


def bare_loop(models: np.ndarray, grid, survey, device: torch.device) -> float:
    import deepwave

    src = torch.as_tensor(survey.source_indices(grid), device=device)
    rec = torch.as_tensor(survey.receiver_indices(grid), device=device)
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


def modelling_only(models: np.ndarray, grid, survey, device: torch.device, batch: int) -> float:
    from hybridfwi.physics.forward import simulate

    v = torch.as_tensor(models, device=device)
    fwd = ForwardConfig(device=str(device))
    t = time.perf_counter()
    with torch.no_grad():
        for lo in range(0, len(models), batch):
            simulate(v[lo:lo + batch], grid, survey, fwd)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(models) / (time.perf_counter() - t)


def ours(count: int, geometry, device: str, batch: int | None, family: str, tmp: str | None, workers: int | None) -> float:
    folder = tempfile.mkdtemp(prefix="hfwi-bench-", dir=tmp)
    try:
        cfg = GenerateConfig(families=[family], count=count, out=os.path.join(folder, "ds"), geometry=geometry,
                             forward=ForwardConfig(device=device), batch=batch, workers=workers)
        t = time.perf_counter()
        generate_dataset(cfg, progress=False)
        return count / (time.perf_counter() - t)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=None, help="models per propagation call [8 on a CPU, 256 on a GPU]")
    p.add_argument("--workers", type=int, default=None, help="processes drawing models [generate's default]")
    p.add_argument("--device", default="cpu")
    p.add_argument("--family", default="curvefault-a")
    p.add_argument("--tmp", default=None, help="folder for the datasets written (e.g. /dev/shm to leave the disk out)")
    p.add_argument("--bare-count", type=int, default=None, help="models in the bare loop [count, at most 256]")
    a = p.parse_args()
    device = resolve_device(a.device)
    geom = load_geometry("openfwi")
    grid, survey = geom.grid, geom.survey
    batch = a.batch or (256 if device.type == "cuda" else 8)
    models = np.stack([make_model(a.family, 0, i) for i in range(a.count)])
    nb = min(a.bare_count or a.count, a.count, 256)
    settings = {"count": a.count, "repeats": a.repeats, "batch": batch, "workers": a.workers, "device": str(device),
                "family": a.family, "geometry": "openfwi", "tmp": a.tmp or "default temp dir", "bare_count": nb}
    rec = Record(f"generate_throughput_{device.type}", settings)
    ours(min(batch, a.count), geom, str(device), batch, a.family, a.tmp, a.workers)  # warm-up (imports, allocator)
    bare_loop(models[:2], grid, survey, device)
    modelling_only(models[:batch], grid, survey, device, batch)
    for r in range(len(rec.repeats), a.repeats):
        b = bare_loop(models[:nb], grid, survey, device)
        m = modelling_only(models, grid, survey, device, batch)
        o = ours(a.count, geom, str(device), batch, a.family, a.tmp, a.workers)
        print(f"repeat {r + 1}/{a.repeats}: bare deepwave loop {b:.2f} samples/s, modelling alone {m:.2f}, "
              f"hybridfwi generate {o:.2f} samples/s, ratio {o / b:.3f}")
        rec.add({"bare_samples_per_s": b, "modelling_only_samples_per_s": m, "hybridfwi_samples_per_s": o, "ratio": o / b})
    summary = {
        "bare_samples_per_s_median": median(x["bare_samples_per_s"] for x in rec.repeats),
        "modelling_only_samples_per_s_median": median(x["modelling_only_samples_per_s"] for x in rec.repeats),
        "hybridfwi_samples_per_s_median": median(x["hybridfwi_samples_per_s"] for x in rec.repeats),
        "ratio_median": median(x["ratio"] for x in rec.repeats),
        "target_ratio": 0.95,
        "target_samples_per_s_gpu": 1000,
    }
    path = rec.finish(summary)
    print(f"median: bare {summary['bare_samples_per_s_median']:.2f} samples/s, modelling alone "
          f"{summary['modelling_only_samples_per_s_median']:.2f}, hybridfwi {summary['hybridfwi_samples_per_s_median']:.2f} "
          f"samples/s, ratio {summary['ratio_median']:.3f} -> {path}")


if __name__ == "__main__":
    main()
