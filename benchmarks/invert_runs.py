"""``hybridfwi invert`` with defaults on the shipped example and on the Viking Graben shots.

Runs the command a user runs (a subprocess, defaults, CPU), and keeps what its ``report.json``
says: data misfits of the 1-D reference, the DL model and the refined model on one band, model
RMSE where the true model is known (the example), the water layer, and wall time per stage.
Writes ``benchmarks/results/invert_example.json`` and ``invert_viking.json`` (the latter only when
``../shared/data/real/viking_small.segy`` is present). ``compare_viking`` runs ``hybridfwi compare``
on the Viking shots (DL-only, the hybrid, FWI from the 1-D reference; one FWI budget) and keeps each
method's data misfit on the common band, iterations and wall time: ``compare_viking.json``.

    python benchmarks/invert_runs.py [--only example|viking|compare_viking]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "marine_small")
VIKING = os.path.join(ROOT, "..", "shared", "data", "real", "viking_small.segy")
KEEP = ("data_misfit_band", "data_misfit_wavelet", "data_misfit_gradient", "data_misfit_dl", "data_misfit_start",
        "data_misfit_refined", "model_rmse_ms", "metrics", "water", "start", "network_frame", "adapted", "timings_s", "grid",
        "bands_hz", "physics_guided_skipped")


def _cli(argv: list[str], result: str) -> tuple[str, float, dict]:
    """Run ``hybridfwi ARGV --out RUN --device cpu --no-progress`` in a scratch folder, with an empty
    adapter cache (so the wall time is a first run's, adaptation included); return the command as
    shown (paths inside the project made relative), its wall time and RUN/``result``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cmd = ["hybridfwi", *argv, "--out", out, "--device", "cpu", "--no-progress"]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "HYBRIDFWI_CACHE": os.path.join(tmp, "cache")})
        wall = time.perf_counter() - t
        with open(os.path.join(out, result), encoding="utf-8") as fh:
            rec = json.load(fh)
    shown = [c if not c.startswith(ROOT) else os.path.relpath(c, ROOT) for c in cmd[:-5]]
    return " ".join(shown) + " --out RUN --device cpu", wall, rec


def run(name: str, args: list[str]) -> dict:
    cmd, wall, rep = _cli(["invert", *args], "report.json")
    return {"command": cmd, "wall_time_s": wall, "report": {k: rep[k] for k in KEEP if k in rep}}


def compare(args: list[str]) -> dict:
    cmd, wall, res = _cli(["compare", *args, "--methods", "dl,hybrid,fwi_gradient"], "results.json")
    methods = {k: {f: m[f] for f in ("data_misfit", "fwi_iterations", "wall_time_s", "start", "start_misfits",
                                                    "physics_guided_skipped") if f in m}
               for k, m in res["methods"].items()}
    return {"command": cmd, "wall_time_s": wall, "band_hz": res.get("band_hz"), "methods": methods,
            "hybrid_over_fwi_gradient_misfit": methods["hybrid"]["data_misfit"] / methods["fwi_gradient"]["data_misfit"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["example", "viking", "compare_viking"], default=None)
    a = ap.parse_args()
    jobs = {"example": [os.path.join(EXAMPLE, "survey.segy"), "--true", os.path.join(EXAMPLE, "survey.model.npy")]}
    if os.path.exists(VIKING):
        jobs["viking"] = [VIKING]
        jobs["compare_viking"] = [VIKING]
    for name, args in jobs.items():
        if a.only and name != a.only:
            continue
        rec = {"machine": machine(), **(compare(args) if name.startswith("compare") else run(name, args))}
        path = os.path.join(RESULTS, f"{name}.json" if name.startswith("compare") else f"invert_{name}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(rec, fh, indent=1)
        os.replace(path + ".tmp", path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
