"""Scaling out with PyTorch distributed: FWI iteration time and generation throughput with 1 and
2 (or more) processes launched by torchrun, the way users run ``torchrun ... hybridfwi``.

The script launches itself: for every configuration (processes x threads per process) and every
repeat it runs ``python -m torch.distributed.run --nproc-per-node N benchmarks/scaling.py --worker``
(also for one process, so that both sides pay the same start-up, which is not timed). Each worker
times, after a warm-up, Adam FWI iterations (one forward + adjoint propagation of every shot,
split across ranks, misfit and gradient all-reduced) and a ``generate`` job (chunks split across
ranks, rank 0 assembling the shards). Configurations alternate within every repeat; medians are
reported, with speed-up and parallel efficiency (speed-up / processes) against 1 process x 1 thread.

On a CPU each process works on 1 thread by default, and the baseline "1 process x P threads"
(deepwave's OpenMP threads over the same cores) is measured too: processes only pay off where they
beat threads. P processes cannot be more than P times faster than one on P cores, and less when
the shots do not split evenly (``--shots`` should be a multiple of the processes) or other work
shares the cores. On a GPU machine, ``--device cuda`` gives each process the GPU of its local rank
(processes share the GPU when there are fewer GPUs than processes).

Writes ``benchmarks/results/scaling_<device>.json`` (machine, settings, every repeat, medians) and
prints a table.

    python benchmarks/scaling.py [--device cpu] [--procs 1,2] [--repeats 3] [--iterations 5]
                                 [--shots 8] [--count 16] [--geometry openfwi] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


# ----------------------------------------------------------------------------------- the worker
def _survey(geometry: str, shots: int, tiny: bool):
    import numpy as np

    from hybridfwi.core import Geometry, Grid, Survey, Wavelet, load_geometry

    if tiny:  # tests/conftest.py's small geometry: 40 x 60 cells, 0.4 s
        grid = Grid(nz=40, nx=60, dz=10.0, dx=10.0)
        survey = Survey(dt=0.001, nt=400, source_x=np.zeros(1), source_z=np.full(1, 10.0), receiver_x=np.arange(30) * 20.0,
                        receiver_z=np.full(30, 10.0), wavelet=Wavelet(peak_freq=15.0), name="small")
    else:
        geom = load_geometry(geometry)
        grid, survey = geom.grid, geom.survey
    # ``shots`` sources spread evenly across the line, at the survey's source depth
    xs = np.linspace(grid.x[0] + grid.dx, grid.x[-1] - grid.dx, shots)
    rx, rz = (np.asarray(v)[0] if np.ndim(v) == 2 else np.asarray(v) for v in (survey.receiver_x, survey.receiver_z))
    survey = Survey(dt=survey.dt, nt=survey.nt, source_x=xs, source_z=np.full(shots, float(np.ravel(survey.source_z)[0])),
                    receiver_x=rx, receiver_z=rz, wavelet=survey.wavelet, free_surface=survey.free_surface, name=survey.name)
    return Geometry(grid, survey)


def worker(a) -> None:
    import numpy as np
    import torch
    from scipy.ndimage import gaussian_filter

    from hybridfwi import dist
    from hybridfwi.core import ShotRecord, VelocityModel
    from hybridfwi.inversion import FWI, FWIConfig
    from hybridfwi.physics.forward import ForwardConfig, forward_model
    from hybridfwi.synth.datasets import GenerateConfig, generate_dataset
    from hybridfwi.synth.families import make_model

    torch.set_num_threads(a.threads)
    dist.init(a.device)
    geom = _survey(a.geometry, a.shots, a.tiny)
    g = geom.grid
    device = dist.device_for(a.device)
    out: dict = {"processes": dist.world_size(), "threads": a.threads, "device": device}

    # FWI: Adam (one evaluation per iteration, so every iteration costs the same)
    true = make_model("curvefault-a", 0, 1, g.nz, g.nx)
    obs = forward_model(true, g, geom.survey, ForwardConfig(device=device))  # every rank the same (deterministic)
    init = gaussian_filter(true, 5.0, mode="nearest")
    cfg = FWIConfig(iterations=a.iterations + 1, optimizer="adam", device=a.device, checkpoint_every_s=1e9)
    engine = FWI(ShotRecord(obs, geom.survey), VelocityModel(init, g), cfg)
    engine.step()  # warm-up (allocation, first deepwave call)
    dist.barrier()
    walls = []
    for _ in range(a.iterations):
        if torch.cuda.is_available() and "cuda" in device:
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        engine.step()
        if torch.cuda.is_available() and "cuda" in device:
            torch.cuda.synchronize(device)
        walls.append(time.perf_counter() - t)
    out["fwi_s_per_iteration"] = float(np.median(walls))

    # generate: a fresh dataset folder (the parent gives a new one per run), after a warm-up job
    fwd = ForwardConfig(device=a.device)
    warm = GenerateConfig(families=["curvefault-a"], count=max(2, dist.world_size()), out=os.path.join(a.tmp, "warm"),
                          geometry=geom, seed=0, batch=1, forward=fwd)
    generate_dataset(warm, progress=False)
    cfg_g = GenerateConfig(families=["curvefault-a"], count=a.count, out=os.path.join(a.tmp, "gen"), geometry=geom, seed=0,
                           batch=a.batch, forward=fwd)
    dist.barrier()
    t = time.perf_counter()
    generate_dataset(cfg_g, progress=False)
    out["generate_samples_per_s"] = a.count / (time.perf_counter() - t)
    if dist.is_main():
        with open(a.result, "w", encoding="utf-8") as fh:
            json.dump(out, fh)


# ----------------------------------------------------------------------------------- the parent
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(a, procs: int, threads: int) -> dict:
    """One torchrun run of the worker; its measurements."""
    tmp = tempfile.mkdtemp(prefix="scaling-", dir=a.tmp)
    try:
        result = os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(procs),
               "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), os.path.abspath(__file__), "--worker",
               "--result", result, "--tmp", tmp, "--threads", str(threads), "--device", a.device, "--geometry", a.geometry,
               "--shots", str(a.shots), "--iterations", str(a.iterations), "--count", str(a.count), "--batch", str(a.batch)]
        if a.tiny:
            cmd.append("--tiny")
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"torchrun with {procs} process(es) failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        with open(result, encoding="utf-8") as fh:
            return json.load(fh)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--procs", default="1,2", help="process counts to compare (comma separated)")
    p.add_argument("--threads", type=int, default=1, help="threads per process (CPU)")
    p.add_argument("--no-thread-baseline", action="store_true",
                   help="CPU: skip the 1 process x max(procs) threads baseline")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--iterations", type=int, default=5, help="timed FWI iterations per run")
    p.add_argument("--shots", type=int, default=8, help="shots of the survey (a multiple of the process counts)")
    p.add_argument("--count", type=int, default=16, help="samples generated per run")
    p.add_argument("--batch", type=int, default=1, help="models per propagation call in generate")
    p.add_argument("--geometry", default="openfwi", help="grid and receivers (a preset or a geometry JSON)")
    p.add_argument("--tiny", action="store_true", help="the test geometry (40 x 60 cells, 0.4 s): a quick check that it runs")
    p.add_argument("--tmp", default=None, help="scratch folder (default: the system's)")
    # worker side
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker(a)
        return

    from _common import Record, median

    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device here")
    procs = [int(v) for v in a.procs.split(",")]
    configs = [(n, a.threads) for n in procs]
    if a.device == "cpu" and not a.no_thread_baseline and max(procs) > 1:
        configs.append((1, max(procs) * a.threads))
    a.tmp = a.tmp or tempfile.gettempdir()
    settings = {k: getattr(a, k) for k in ("device", "procs", "threads", "iterations", "shots", "count", "batch", "geometry", "tiny")}
    settings["configs"] = [list(c) for c in configs]
    settings["launcher"] = "python -m torch.distributed.run --nproc-per-node N (start-up not timed)"
    rec = Record(f"scaling_{a.device}", settings)
    for r in range(len(rec.repeats), a.repeats):
        row = {}
        for n, t in configs:  # alternating within every repeat: drifts of the machine hit every config alike
            row[f"{n}x{t}"] = launch(a, n, t)
            print(f"repeat {r + 1}/{a.repeats}: {n} process(es) x {t} thread(s): "
                  f"FWI {row[f'{n}x{t}']['fwi_s_per_iteration']:.3f} s/it, "
                  f"generate {row[f'{n}x{t}']['generate_samples_per_s']:.2f} samples/s", flush=True)
        rec.add(row)
    base = f"{configs[0][0]}x{configs[0][1]}"
    summary = {}
    for n, t in configs:
        key = f"{n}x{t}"
        fwi = median([rp[key]["fwi_s_per_iteration"] for rp in rec.repeats])
        gen = median([rp[key]["generate_samples_per_s"] for rp in rec.repeats])
        summary[key] = {"processes": n, "threads_per_process": t, "fwi_s_per_iteration_median": fwi,
                        "generate_samples_per_s_median": gen}
    b = summary[base]
    for s in summary.values():
        units = s["processes"] * s["threads_per_process"] / configs[0][0] / configs[0][1]  # cores used, relative
        s["fwi_speedup"] = b["fwi_s_per_iteration_median"] / s["fwi_s_per_iteration_median"]
        s["generate_speedup"] = s["generate_samples_per_s_median"] / b["generate_samples_per_s_median"]
        s["fwi_efficiency"] = s["fwi_speedup"] / units
        s["generate_efficiency"] = s["generate_speedup"] / units
    summary["baseline"] = base
    summary["cores"] = os.cpu_count()
    path = rec.finish(summary)
    print(f"\n{'processes x threads':>20} | {'FWI s/it':>9} | {'speed-up':>8} | {'effic.':>6} | "
          f"{'generate samples/s':>18} | {'speed-up':>8} | {'effic.':>6}")
    for key, s in summary.items():
        if isinstance(s, dict):
            print(f"{key:>20} | {s['fwi_s_per_iteration_median']:9.3f} | {s['fwi_speedup']:8.2f} | {s['fwi_efficiency']:6.0%} | "
                  f"{s['generate_samples_per_s_median']:18.2f} | {s['generate_speedup']:8.2f} | {s['generate_efficiency']:6.0%}")
    print(f"(medians of {a.repeats} repeats; efficiency = speed-up / cores used; {os.cpu_count()} cores here; {a.shots} shots)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
