"""Shared by the benchmarks: machine description and resumable result records."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def machine() -> dict:
    """CPU, cores, GPU and library versions of this machine."""
    import deepwave
    import numpy
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "deepwave": deepwave.__version__,
        "numpy": numpy.__version__,
    }


class Record:
    """Repeats saved as they finish (``.NAME.partial.json``), so a killed benchmark resumes."""

    def __init__(self, name: str, settings: dict):
        os.makedirs(RESULTS, exist_ok=True)
        self.name = name
        self.settings = settings
        self.partial = os.path.join(RESULTS, f".{name}.partial.json")
        self.repeats: list[dict] = []
        if os.path.exists(self.partial):
            with open(self.partial, encoding="utf-8") as fh:
                old = json.load(fh)
            if old.get("settings") == settings:
                self.repeats = old["repeats"]
                print(f"resuming {name}: {len(self.repeats)} repeat(s) already measured")

    def add(self, repeat: dict) -> None:
        self.repeats.append(repeat)
        tmp = self.partial + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"settings": self.settings, "repeats": self.repeats}, fh)
        os.replace(tmp, self.partial)

    def finish(self, summary: dict) -> str:
        path = os.path.join(RESULTS, f"{self.name}.json")
        record = {"benchmark": self.name, "machine": machine(), "settings": self.settings, "summary": summary, "repeats": self.repeats}
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
        if os.path.exists(self.partial):
            os.remove(self.partial)
        return path


def median(values) -> float:
    return float(statistics.median(values))


def read_dev_suite(path: str, script: str):
    """``(manifest, cases)`` of a dev suite (validation seeds); exits (code 2) with a one-line message
    when ``path`` is not a suite, and for any other suite, since defaults are chosen on validation
    seeds only."""
    from hybridfwi.bench.suites import read_suite
    from hybridfwi.errors import InputError

    try:
        manifest, cases = read_suite(path)
    except InputError as e:  # no such folder, not a suite: one line, nothing written
        print(f"{script}: {e}", file=sys.stderr)
        sys.exit(2)
    if manifest.get("seed_range") != "validation":
        print(f"{script}: defaults are chosen on validation seeds only; give a dev suite (benchmark make --suite dev)",
              file=sys.stderr)
        sys.exit(2)
    return manifest, cases


def load_rows(path: str) -> list[dict]:
    """The rows already saved in a dev-suite results file (none when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return json.load(fh).get("rows", [])


def save_rows(path: str, manifest: dict, rows: list[dict], summary: dict) -> None:
    """Write a dev-suite results file atomically: machine, suite, rows so far and their summary.

    Each row carries ``machine_cpu``, the CPU (or GPU) it was measured on: rows already in the file
    without one get the file's earlier ``machine``, new rows this machine's. ``machine`` is the one
    that wrote the file last, ``machines`` every one its rows came from."""
    from hybridfwi.io.atomic import atomic_write_text

    here = machine()
    here_name = here["gpu"] or here["cpu"]
    before_name, before = here_name, []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            old = json.load(fh)
        m = old.get("machine") or {}
        before_name = m.get("gpu") or m.get("cpu") or here_name
        before = [json.dumps({k: v for k, v in r.items() if k != "machine_cpu"}, sort_keys=True) for r in old.get("rows", [])]
    for r in rows:
        if "machine_cpu" not in r:
            key = json.dumps(r, sort_keys=True)
            r["machine_cpu"] = before_name if key in before else here_name
    atomic_write_text(path, json.dumps({"machine": here, "machines": sorted({r["machine_cpu"] for r in rows}),
                                        "suite": manifest["suite"], "seed_range": manifest["seed_range"],
                                        "modelling": manifest.get("modelling"), "rows": rows, "summary": summary}, indent=1))


def dev_case_run(doc: str, script: str, out_name: str):
    """The shared frame of a per-case dev-suite diagnostic: parses ``--suite``, ``--out`` (default
    ``benchmarks/results/<out_name>``), ``--cache`` and ``--cases`` (comma-separated ids; all when
    absent); returns ``(args, manifest, rows, todo)``, where ``todo`` yields
    ``(case, true, problem, hc, prep)`` for each chosen case not yet in ``rows``, prepared exactly as
    ``invert`` prepares it (a killed run resumes)."""
    import argparse

    import numpy as np

    from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare
    from hybridfwi.workflow.runs import load_problem

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--out", default=os.path.join(RESULTS, out_name))
    ap.add_argument("--cache", default=None, help="adaptation cache folder")
    ap.add_argument("--cases", default=None, help="comma-separated case ids [all]")
    args = ap.parse_args()
    manifest, cases = read_dev_suite(args.suite, script)
    rows = load_rows(args.out)
    only = set(args.cases.split(",")) if args.cases else None
    unknown = sorted(only - {c.id for c in cases}) if only else []
    if unknown:
        ap.error(f"--cases {', '.join(unknown)}: not in {args.suite}")

    def todo():
        done = {r["case"] for r in rows}
        for c in cases:
            if c.id in done or (only and c.id not in only):
                continue
            _, problem = load_problem(c.survey, None, None)
            hc = HybridConfig(device="cpu", cache=args.cache).validate()
            yield c, np.load(c.true), problem, hc, prepare(problem, hc, Stages(1, None), progress=False)

    return args, manifest, rows, todo()


def start_and_pga(c, true, problem, hc, prep):
    """The safeguard's start and the physics-guided stage from it (held-out check off), exactly as
    ``invert`` runs them: ``(row, start, pga_config, result)``. ``row`` has the case, its bands, the
    start's name and RMSE, ``rmse_pga`` (None when the start is the 1-D reference: no steps run from
    it, and ``result`` is None) and ``best_step``."""
    from hybridfwi.hybrid.pga import physics_adapt
    from hybridfwi.hybrid.pipeline import safeguard_start
    from hybridfwi.metrics import rmse

    choice, _, start, wavelet = safeguard_start(problem, prep, hc)
    row = {"case": c.id, "family": c.family, "bands_hz": list(prep.fcfg.stages), "start": choice.name,
           "rmse_start": float(rmse(start, true)), "rmse_pga": None}
    pc, res = hc.pga_config(holdout=False), None
    if choice.name != "reference":  # as in run_hybrid: no physics-guided steps from the 1-D reference
        res = physics_adapt(problem, prep, pc, start, wavelet, progress=False)
        row.update(rmse_pga=float(rmse(res.velocity, true)), best_step=int(res.best_step))
    return row, start, pc, res


def band_misfits(v, problem, cfg) -> list[float]:
    """Data misfit (``cfg.misfit``) of model ``v`` (``(nz, nx)`` m/s) in each FWI band of ``cfg``, with
    its own least-squares wavelet when the source is unknown (as the safeguard scores starts)."""
    from hybridfwi.core import VelocityModel
    from hybridfwi.inversion.fwi import data_misfit

    return [float(data_misfit(VelocityModel(v, problem.grid), problem.record, cfg, band_hz=band,
                              estimate=problem.estimate_wavelet)[0]) for band in cfg.stages]


def misfit_table(models: dict, problem, fcfg) -> dict:
    """``{"<misfit> band <k>": {name: data misfit}}`` of ``models`` (name -> ``(nz, nx)`` m/s) for every
    misfit and FWI band of ``fcfg`` (:func:`band_misfits`)."""
    from hybridfwi.inversion.config import FWIConfig
    from hybridfwi.physics.misfits import MISFITS

    out: dict = {}
    for m in MISFITS:
        cfg = FWIConfig(**{**fcfg.to_dict(), "misfit": m})
        for name, v in models.items():
            for k, value in enumerate(band_misfits(v, problem, cfg)):
                out.setdefault(f"{m} band {k + 1}", {})[name] = value
    return out
