"""CUDA against CPU: forward modelling, gradients and a short FWI agree; timings side by side.

Run on a machine with a GPU: ``python benchmarks/gpu_checks.py``. Writes
``benchmarks/results/gpu_checks.json`` with the machine. Checks:

- forward modelling of a family model (openfwi geometry, absorbing and free-surface top):
  relative L2 difference CUDA vs CPU (float32), and the median time of each;
- the FWI gradient for the same model: relative L2 difference and cosine similarity;
- 10 L-BFGS iterations of FWI from a smoothed start: misfit histories and final models compared,
  median time per iteration on each device.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402


def _time(fn, repeats: int = 5) -> tuple[float, object]:
    out = None
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    from scipy.ndimage import gaussian_filter

    from hybridfwi.core.model import ShotRecord, VelocityModel
    from hybridfwi.core.survey import PRESETS
    from hybridfwi.inversion.config import FWIConfig
    from hybridfwi.inversion.fwi import FWI
    from hybridfwi.physics.forward import ForwardConfig, simulate
    from hybridfwi.synth.families import make_model

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark compares CUDA with the CPU")
    rec: dict = {"machine": machine(), "checks": {}}
    v = make_model("curvefault-a", 0, 3, 70, 70)
    geom = PRESETS["openfwi"]()
    g = geom.grid
    for top in ("absorbing", "free"):
        s = geom.survey.replace(free_surface=top == "free")
        cfg = ForwardConfig(device="cpu")
        outs, times = {}, {}
        for dev in ("cpu", "cuda"):
            vt = torch.as_tensor(v, device=dev)
            times[dev], d = _time(lambda vt=vt: simulate(vt, g, s, cfg))
            outs[dev] = d.cpu().numpy()
        rel = float(np.linalg.norm(outs["cuda"] - outs["cpu"]) / np.linalg.norm(outs["cpu"]))
        rec["checks"][f"forward_{top}"] = {"rel_l2_cuda_vs_cpu": rel, "median_s": times, "speedup": times["cpu"] / times["cuda"]}
        print(f"forward ({top} top): rel L2 {rel:.2e}; cpu {times['cpu']:.3f} s, cuda {times['cuda']:.3f} s", flush=True)
    # gradient
    s = geom.survey
    obs = simulate(torch.as_tensor(v), g, s, ForwardConfig(device="cpu")).detach()
    v0 = gaussian_filter(v, 4).astype(np.float32)
    grads = {}
    for dev in ("cpu", "cuda"):
        vt = torch.as_tensor(v0, device=dev).requires_grad_(True)
        d = simulate(vt, g, s, ForwardConfig(device="cpu"))
        ((d - obs.to(dev)) ** 2).sum().backward()
        grads[dev] = vt.grad.cpu().numpy().ravel()
    rel = float(np.linalg.norm(grads["cuda"] - grads["cpu"]) / np.linalg.norm(grads["cpu"]))
    cos = float(np.dot(grads["cuda"], grads["cpu"]) / np.linalg.norm(grads["cuda"]) / np.linalg.norm(grads["cpu"]))
    rec["checks"]["gradient"] = {"rel_l2_cuda_vs_cpu": rel, "cosine": cos}
    print(f"gradient: rel L2 {rel:.2e}, cosine {cos:.6f}", flush=True)
    # FWI
    record = ShotRecord(obs.numpy(), s)
    fw = {}
    for dev in ("cpu", "cuda"):
        cfg = FWIConfig(bands=[None], iterations=10, device=dev, vmin=1400, vmax=4800)
        e = FWI(record, VelocityModel(v0, g), cfg, true=v)
        r = e.run(progress=False)
        fw[dev] = {"misfit": [h["misfit"] for h in r.history], "rmse": [h.get("model_rmse_ms") for h in r.history],
                   "median_iteration_s": statistics.median(h["wall_s"] for h in r.history), "model": r.model.values}
    dm = float(np.abs(fw["cuda"]["model"] - fw["cpu"]["model"]).max())
    rec["checks"]["fwi"] = {dev: {k: val for k, val in fw[dev].items() if k != "model"} for dev in fw}
    rec["checks"]["fwi"]["max_model_difference_ms"] = dm
    rec["checks"]["fwi"]["speedup_per_iteration"] = fw["cpu"]["median_iteration_s"] / fw["cuda"]["median_iteration_s"]
    print(f"fwi: final misfit cpu {fw['cpu']['misfit'][-1]:.4g} cuda {fw['cuda']['misfit'][-1]:.4g}; max model difference "
          f"{dm:.3g} m/s; per iteration cpu {fw['cpu']['median_iteration_s']:.3f} s, cuda {fw['cuda']['median_iteration_s']:.3f} s",
          flush=True)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "gpu_checks.json"), "w", encoding="utf-8") as fh:
        json.dump(rec, fh, indent=2)


if __name__ == "__main__":
    main()
