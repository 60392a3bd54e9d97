"""Running a benchmark suite: ``compare`` on every case, resumable, and per-family aggregates.

``run_suite`` writes::

    OUT/run.json                     the suite, the network and the settings (a resume must match)
    OUT/cases/<id>/                  one ``compare`` folder per case (results.json, models, figures)
    OUT/results.json                 every case's records and, per family and overall, the mean and
                                     median of every metric per method, and the hybrid/FWI ratios
    OUT/results.md                   the same as tables
    OUT/rmse.png                     RMSE per family and method

A finished case (its ``results.json`` exists) is never redone, and the aggregate is computed from
the case files alone, so the tables are the same with or without an interruption. ``redo`` reruns
chosen methods in finished cases and keeps the others (after a change that affects only those
methods; ``--redo hybrid`` accepts a record made with other hybrid-only settings, ``HYBRID_ONLY``,
``--redo dl --redo hybrid`` also other settings of the DL prediction, ``DL_AND_HYBRID``, and records
today's); what was redone, and when, is recorded in ``results.json`` (``redone``). Cases are
spread over ``jobs`` worker processes, or over the ranks under ``torchrun``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from hybridfwi import dist
from hybridfwi.bench.suites import METHODS, Case, read_suite
from hybridfwi.errors import InputError
from hybridfwi.hybrid.pipeline import HybridConfig
from hybridfwi.workflow.runs import RunFolder

__all__ = ["SuiteRun", "run_suite", "aggregate", "suite_markdown", "METRICS"]

#: Aggregated per method (mean and median).
METRICS = ("mae_ms", "rmse_ms", "mae_norm", "ssim", "data_misfit", "fwi_iterations", "wall_time_s")


@dataclass
class SuiteRun:
    """Attributes: the suite folder, the output folder, the hybrid/FWI settings (network in
    ``hybrid.model``), methods, worker processes, progress."""

    suite: str
    out: str
    hybrid: HybridConfig = field(default_factory=lambda: HybridConfig(device="cpu"))
    methods: tuple = METHODS
    jobs: int = 1
    progress: bool = True
    cases: list | None = None  # only these case ids (None: all)
    redo: tuple = ()  # methods rerun in finished cases (the others' records are kept)


def _check_model(spec: str | None) -> None:
    from hybridfwi.dl.finetune import load_model

    _, cfg = load_model(spec, device="cpu")
    if cfg.geometry is None:
        raise InputError(f"--model {spec!r} does not record the geometry it was trained on; it cannot read the suite's surveys")
    adapter = cfg.record.get("adapter")
    if adapter and adapter.get("frame"):
        raise InputError(f"--model {spec!r} carries a survey adapter (made for one survey's frame); give a base network: "
                         f"benchmark runs adapt per case as invert does")


def _run_case(case: Case, run: SuiteRun, progress: bool) -> None:
    from hybridfwi.workflow.compare_run import CompareRun, run_compare

    out = os.path.join(run.out, "cases", case.id)
    if os.path.exists(os.path.join(out, "results.json")):
        return
    resume = os.path.isdir(out) and os.path.exists(os.path.join(out, "run.json"))
    run_compare(CompareRun(survey=case.survey, out=out, hybrid=run.hybrid, methods=run.methods, true=case.true,
                           resume=resume, progress=progress, renew=_renewable(run.redo)))


def _renewable(redo: tuple) -> tuple:
    """Settings that may differ from a finished run's record when ``redo`` reruns their methods:
    the hybrid's own (safeguard, physics-guided steps), which no other method reads, and, when the DL
    method is redone too, those of the DL prediction both read (``DL_AND_HYBRID``)."""
    from hybridfwi.hybrid.pipeline import DL_AND_HYBRID, HYBRID_ONLY

    names = HYBRID_ONLY + (DL_AND_HYBRID if "dl" in redo else ()) if "hybrid" in redo else ()
    return tuple(f"hybrid.{k}" for k in names)


def _worker(k: int, jobs: int, run: SuiteRun, cases: list[Case]) -> None:
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // jobs))
    for i in range(k, len(cases), jobs):
        _run_case(cases[i], run, progress=False)


def run_suite(run: SuiteRun) -> dict:
    """Run (or resume) every case of a suite; aggregate; return ``results.json``'s content."""
    manifest, cases = read_suite(run.suite)
    every_case = cases
    if run.cases:
        unknown = sorted(set(run.cases) - {c.id for c in cases})
        if unknown:
            raise InputError(f"--case {', '.join(unknown)}: not in suite {manifest['suite']} ({', '.join(c.id for c in cases)})")
        cases = [c for c in cases if c.id in run.cases]
    if isinstance(run.jobs, bool) or not isinstance(run.jobs, int) or run.jobs < 1:
        raise InputError(f"--jobs must be a positive integer, got {run.jobs!r}")
    run.hybrid.validate()
    _check_model(run.hybrid.model)
    settings = {"suite": os.path.abspath(run.suite), "suite_name": manifest["suite"], "model": run.hybrid.model,
                "hybrid": {k: v for k, v in run.hybrid.__dict__.items() if k not in ("fwi", "device")}, "methods": list(run.methods)}
    # a redo of some cases only keeps the others' records: they must share the run's settings
    folder = RunFolder(run.out, "benchmark", settings, resume=True, renew=() if run.cases else _renewable(run.redo)).check()
    unknown = sorted(set(run.redo) - set(run.methods))
    if unknown:
        raise InputError(f"--redo {', '.join(unknown)}: not a method of this run ({', '.join(run.methods)})")
    with dist.main_first():
        folder.create()
        if dist.is_main() and run.redo:
            _forget(run.out, cases, run.redo, every=set(run.redo) >= set(run.methods))
    t0 = time.perf_counter()
    if dist.world_size() > 1:
        for i in dist.shard(len(cases)):
            # A case is one rank's own work: inside solo() its compare runs as in a plain process
            # (all shots on this rank, no collectives, and this rank writes the case folder).
            # Without it the FWI of different cases on different ranks would all-reduce each
            # other's gradients (or hang), and only rank 0's cases would be written.
            with dist.solo():
                _run_case(cases[i], run, progress=False)
        dist.barrier()
    elif run.jobs > 1:
        import torch.multiprocessing as mp

        mp.start_processes(_worker, args=(run.jobs, run, cases), nprocs=run.jobs, join=True, start_method="spawn")
    else:
        from tqdm.auto import tqdm

        for case in tqdm(cases, desc=f"benchmark {manifest['suite']}", unit="case", disable=not run.progress):
            _run_case(case, run, progress=False)
    if not dist.is_main():
        return {}
    # the aggregate covers every finished case, not only this run's (--case X leaves the others' in)
    ran = {c.id for c in cases}
    finished = [c for c in every_case if c.id in ran or os.path.exists(os.path.join(run.out, "cases", c.id, "results.json"))]
    res = aggregate(manifest, finished, run.out)
    res["wall_time_s_this_run"] = time.perf_counter() - t0
    res["machine"] = _machine()
    redone = _previous(run.out).get("redone", [])
    if run.redo:
        m = res["machine"]
        redone.append({"methods": list(run.redo), "cases": [c.id for c in cases], "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "machine": m.get("gpu") or m.get("cpu"), "weights_sha256": _weights(run.hybrid.model)})
    if redone:
        res["redone"] = redone
    folder.save_json("results.json", res)
    folder.save_text("results.md", suite_markdown(res))
    _figures(folder, res)
    return res


def _forget(out: str, cases: list[Case], methods: tuple, every: bool = False) -> None:
    """Remove ``methods``' records, models and checkpoints (and the case summary) from finished cases;
    with ``every`` (every method of the run is redone) the whole case folder, so its ``compare``
    starts afresh and settings all methods share (the problem's, e.g. its bands) may differ."""
    import shutil

    from hybridfwi.workflow.compare_run import _safe

    for c in cases:
        folder = os.path.join(out, "cases", c.id)
        if not os.path.isdir(folder):
            continue
        if every:
            shutil.rmtree(folder)
            continue
        names = [os.path.join(folder, "results.json")]
        for m in methods:
            safe = _safe(m)
            names += [os.path.join(folder, "methods", f"{safe}.json"), os.path.join(folder, "models", f"{safe}.npy"),
                      os.path.join(folder, "checkpoints", f"{safe}.pt")]
            if m == "hybrid":
                names.append(os.path.join(folder, "checkpoints", "hybrid_physics.pt"))
        for n in names:
            if os.path.exists(n):
                os.remove(n)


def _previous(out: str) -> dict:
    path = os.path.join(out, "results.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def _weights(spec: str | None) -> str:
    """SHA-256 of the base network's weights behind the DL and hybrid methods (``spec`` as ``--model``)."""
    from hybridfwi.dl.checkpoint import weights_digest
    from hybridfwi.dl.finetune import ADAPTER_META

    base = (spec or "").partition("+")[0]
    if base and os.path.exists(os.path.join(base, ADAPTER_META)):  # an adapter folder alone names its base
        with open(os.path.join(base, ADAPTER_META), encoding="utf-8") as fh:
            base = json.load(fh).get("base") or ""
    return weights_digest(base or None)


def _machine() -> dict:
    from hybridfwi.dl.train import machine

    return machine()


def _stats(values: list) -> dict:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": None, "median": None, "n": 0}
    return {"mean": float(v.mean()), "median": float(np.median(v)), "n": int(v.size)}


def _pga_kept(summary: dict | None) -> bool | None:
    """Whether the hybrid went on from its physics-guided result (None: no steps ran, or a result
    made before the held-out check was recorded)."""
    if not summary:
        return None
    held = summary.get("held_out")
    return bool(held["kept"]) if held else summary.get("best_step", 0) > 0


def aggregate(manifest: dict, cases: list[Case], out: str) -> dict:
    """Every case's results and, per family and overall, mean and median of each metric per method,
    plus per-case ratios of the hybrid to FWI from the 1-D reference."""
    per_case = {}
    for c in cases:
        path = os.path.join(out, "cases", c.id, "results.json")
        if not os.path.exists(path):
            raise InputError(f"case {c.id} has no results yet; run the benchmark again to finish it")
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
        rec = {"family": c.family, "methods": {}, "time_to_accuracy": r.get("time_to_accuracy", {}),
               "start": r["methods"].get("hybrid", {}).get("start"),
               "physics_guided_kept": _pga_kept(r["methods"].get("hybrid", {}).get("physics_guided"))}
        for name, m in r["methods"].items():
            rec["methods"][name] = {k: m.get(k) for k in METRICS}
            rec["methods"][name]["curve"] = m.get("curve")
        h, g = rec["methods"].get("hybrid"), rec["methods"].get("fwi_gradient")
        dl = rec["methods"].get("dl")
        if h and g and h.get("rmse_ms") and g.get("rmse_ms"):
            rec["ratio_hybrid_to_fwi_gradient_rmse"] = h["rmse_ms"] / g["rmse_ms"]
        if h and dl and h.get("mae_ms") and dl.get("mae_ms"):
            rec["ratio_hybrid_to_dl_mae"] = h["mae_ms"] / dl["mae_ms"]
        if h and g and h.get("data_misfit") and g.get("data_misfit"):
            rec["ratio_hybrid_to_fwi_gradient_misfit"] = h["data_misfit"] / g["data_misfit"]
        per_case[c.id] = rec
    families = sorted({c.family for c in cases}, key=[c.family for c in cases].index)

    def agg(ids: list[str]) -> dict:
        order = list(METHODS)
        names = {m for i in ids for m in per_case[i]["methods"]}
        methods = [m for m in order if m in names] + sorted(names - set(order))
        out_ = {"cases": len(ids), "methods": {}}
        for m in methods:
            out_["methods"][m] = {k: _stats([per_case[i]["methods"].get(m, {}).get(k) for i in ids]) for k in METRICS}
        for key in ("ratio_hybrid_to_fwi_gradient_rmse", "ratio_hybrid_to_dl_mae", "ratio_hybrid_to_fwi_gradient_misfit"):
            out_[key] = _stats([per_case[i].get(key) for i in ids])
        its = [per_case[i]["time_to_accuracy"].get("hybrid", {}) for i in ids]
        out_["hybrid_time_to_accuracy_fraction"] = _stats(
            [t["iterations"] / t["of_iterations"] if t.get("iterations") is not None and t.get("of_iterations") else np.inf
             for t in its if t])
        return out_

    fam_agg = {f: agg([i for i, r in per_case.items() if r["family"] == f]) for f in families}
    return {"suite": manifest["suite"], "modelling": manifest["modelling"], "how": manifest["how"], "cases": per_case,
            "families": fam_agg, "overall": agg(list(per_case)), "metrics": list(METRICS)}


def suite_markdown(res: dict) -> str:
    """Per family: each method's median (mean) RMSE, MAE, SSIM, data misfit; the hybrid/FWI ratios."""
    lines = [f"# Benchmark `{res['suite']}`", "", f"Observed data: {res['how']}.", ""]
    has_rmse = any(m.get("rmse_ms", {}).get("n") for f in res["families"].values() for m in f["methods"].values())
    head = "| family | cases | method | " + ("RMSE (m/s) | MAE (m/s) | MAE (norm.) | SSIM | " if has_rmse else "") + "data misfit |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    rows = list(res["families"].items()) + [("**all**", res["overall"])]
    for fam, a in rows:
        for m, st in a["methods"].items():
            def f(k, fmt):
                s = st[k]
                return "" if s["median"] is None else (fmt.format(s["median"]) + " (" + fmt.format(s["mean"]) + ")")
            row = f"| {fam} | {a['cases']} | {m} | "
            if has_rmse:
                row += f"{f('rmse_ms', '{:.0f}')} | {f('mae_ms', '{:.0f}')} | {f('mae_norm', '{:.4f}')} | {f('ssim', '{:.3f}')} | "
            row += f"{f('data_misfit', '{:.3g}')} |"
            lines.append(row)
    lines += ["", "Values: median (mean) over the family's cases.", ""]
    head = "| family | hybrid / fwi_gradient RMSE | hybrid / dl MAE | hybrid / fwi_gradient misfit | hybrid iterations to fwi_gradient's final accuracy (fraction) |"
    lines += [head, "|---|---|---|---|---|"]
    for fam, a in rows:
        def r(k):
            s = a[k]
            if s["median"] is None:
                return ""
            if k == "hybrid_time_to_accuracy_fraction":
                return f"{s['median']:.2f}"
            return f"{s['median']:.2f} (max {max(_case_values(res, fam, k)):.2f})"
        lines.append(f"| {fam} | {r('ratio_hybrid_to_fwi_gradient_rmse')} | {r('ratio_hybrid_to_dl_mae')} | "
                     f"{r('ratio_hybrid_to_fwi_gradient_misfit')} | {r('hybrid_time_to_accuracy_fraction')} |")
    lines += ["", "Ratios: median (largest) over the family's cases; below 1 means the hybrid is better.", ""]
    lines += ["## Cases", "", "| case | start | " + " | ".join(["dl RMSE", "hybrid RMSE", "fwi_gradient RMSE", "fwi_smooth RMSE",
                                                              "hybrid/fwi_gradient"]) + " |", "|---|---|---|---|---|---|---|"]
    for cid, c in res["cases"].items():
        def v(m):
            x = c["methods"].get(m, {}).get("rmse_ms")
            return "" if x is None else f"{x:.0f}"
        ratio = c.get("ratio_hybrid_to_fwi_gradient_rmse")
        lines.append(f"| {cid} | {c.get('start') or ''} | {v('dl')} | {v('hybrid')} | {v('fwi_gradient')} | {v('fwi_smooth')} | "
                     f"{'' if ratio is None else f'{ratio:.2f}'} |")
    return "\n".join(lines) + "\n"


def _case_values(res: dict, fam: str, key: str) -> list:
    vals = [c.get(key) for c in res["cases"].values() if (fam == "**all**" or c["family"] == fam) and c.get(key) is not None]
    return vals or [float("nan")]


def _figures(folder: RunFolder, res: dict) -> None:
    from hybridfwi.viz.plots import plot_suite_bars

    if any(m.get("rmse_ms", {}).get("n") for f in res["families"].values() for m in f["methods"].values()):
        folder.save_figure("rmse.png", plot_suite_bars(res, "rmse_ms", "model RMSE (m/s), median over cases"))

