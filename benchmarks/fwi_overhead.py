"""Time per FWI iteration: hybridfwi's engine against a minimal hand-written deepwave loop.

Same model, shots, band (full) and optimiser (Adam) on both sides, in one process, alternating
blocks of iterations; prints the median time per iteration of each and their ratio, and writes
``benchmarks/results/fwi_overhead_<device>.json``.

The minimal loop is ``deepwave.scalar`` + MSE + Adam on the velocity itself. The engine adds what
it needs to be usable: the bounded (sigmoid) parameterisation, normalised misfit, gradient
conditioning, the divergence guard, history, and a checkpoint written after every iteration.

    python benchmarks/fwi_overhead.py [--blocks 4] [--iterations 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import torch
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Record, median  # noqa: E402

from hybridfwi.core import ShotRecord, VelocityModel, load_geometry  # noqa: E402
from hybridfwi.inversion import FWI, FWIConfig  # noqa: E402
from hybridfwi.physics.forward import ForwardConfig, forward_model, resolve_device  # noqa: E402
from hybridfwi.synth.families import make_model  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--iterations", type=int, default=5, help="iterations per block")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    import deepwave

    device = resolve_device(a.device)
    geom = load_geometry("openfwi")
    g, s = geom.grid, geom.survey
    true = make_model("curvefault-a", 0, 1)
    obs = forward_model(true, g, s, ForwardConfig(accuracy=8, device=str(device)))
    init = gaussian_filter(true, 4.0, mode="nearest")
    vmin, vmax = 1400.0, 4800.0
    settings = {"blocks": a.blocks, "iterations": a.iterations, "device": str(device), "geometry": "openfwi",
                "model": "curvefault-a:1", "optimizer": "adam"}
    rec = Record(f"fwi_overhead_{device.type}", settings)

    # --- minimal loop
    obs_t = torch.as_tensor(obs, device=device).transpose(1, 2)  # deepwave layout (shot, receiver, time)
    src = torch.as_tensor(s.source_indices(g), device=device)
    rcv = torch.as_tensor(s.receiver_indices(g), device=device)
    amp = torch.as_tensor(s.wavelet.array(s.nt, s.dt), device=device).expand(s.n_shots, 1, s.nt)
    v = torch.as_tensor(init, device=device).clone().requires_grad_(True)
    opt = torch.optim.Adam([v], lr=20.0)

    def bare_iteration():
        opt.zero_grad()
        out = deepwave.scalar(v, 10.0, s.dt, source_amplitudes=amp, source_locations=src, receiver_locations=rcv,
                              pml_freq=s.wavelet.peak_freq, max_vel=vmax, accuracy=4)
        loss = torch.nn.functional.mse_loss(out.receiver_amplitudes, obs_t)
        loss.backward()
        opt.step()
        with torch.no_grad():
            v.clamp_(vmin, vmax)
        return float(loss.detach())

    # --- hybridfwi engine (with a checkpoint after every iteration, as the CLI runs it)
    folder = tempfile.mkdtemp(prefix="hfwi-bench-")
    cfg = FWIConfig(vmin=vmin, vmax=vmax, optimizer="adam", lr=20.0, iterations=10**6, device=str(device.type))
    engine = FWI(ShotRecord(obs, s), VelocityModel(init, g), cfg, checkpoint=os.path.join(folder, "ck.pt"))

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    bare_iteration()
    engine.step()  # warm-up
    try:
        for b in range(len(rec.repeats), a.blocks):
            tb, te = [], []
            for _ in range(a.iterations):
                t = time.perf_counter()
                bare_iteration()
                sync()
                tb.append(time.perf_counter() - t)
            for _ in range(a.iterations):
                t = time.perf_counter()
                engine.step()
                sync()
                te.append(time.perf_counter() - t)
            mb, me = median(tb), median(te)
            print(f"block {b + 1}/{a.blocks}: minimal loop {mb * 1000:.1f} ms/it, hybridfwi {me * 1000:.1f} ms/it, ratio {me / mb:.3f}")
            rec.add({"bare_s_per_it": tb, "hybridfwi_s_per_it": te, "ratio": me / mb})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    all_b = [x for r in rec.repeats for x in r["bare_s_per_it"]]
    all_e = [x for r in rec.repeats for x in r["hybridfwi_s_per_it"]]
    summary = {
        "bare_s_per_iteration_median": median(all_b),
        "hybridfwi_s_per_iteration_median": median(all_e),
        "ratio_of_medians": median(all_e) / median(all_b),
        "block_ratio_median": median(r["ratio"] for r in rec.repeats),
        "overhead_percent": 100.0 * (median(all_e) / median(all_b) - 1.0),
        "target_overhead_percent": 5.0,
    }
    path = rec.finish(summary)
    print(f"median: minimal {summary['bare_s_per_iteration_median'] * 1000:.1f} ms/it, hybridfwi "
          f"{summary['hybridfwi_s_per_iteration_median'] * 1000:.1f} ms/it, overhead {summary['overhead_percent']:+.1f}% "
          f"(target <= 5%) -> {path}")


if __name__ == "__main__":
    main()
