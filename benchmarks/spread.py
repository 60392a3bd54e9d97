"""How much of a per-case benchmark result is the luck of one noise realisation?

Every committed suite result (``benchmarks/results/benchmark_<suite>/``) was measured on one
realisation of the 30 dB noise per case (draw 0). This script makes the same suite again with other
noise realisations (``benchmark make --noise-draw J``: the same true models and clean data, another
noise seed), runs ``dl``, ``hybrid`` and ``fwi_gradient`` on each with invert's defaults
(``benchmark run --method ...``), and writes, per case and draw, the RMSE and MAE of each method, the
start the hybrid chose and the ratios the issue-10 targets are stated in, beside draw 0 read from
the committed results::

    python benchmarks/spread.py --suite ood --draws 1 2
    python benchmarks/spread.py --suite marmousi --draws 1 2      # needs the Marmousi2 file
    python benchmarks/spread.py --suite ood --draws 1 2 --recheck marine-streamer-0

``--redo-hybrid`` reruns the hybrid on the given draws after a default that only the hybrid reads
changed (``dl`` and ``fwi_gradient`` are kept: their records do not depend on it)::

    python benchmarks/spread.py --suite ood --draws 1 2 --redo-hybrid

``--redo-all CASE ...`` reruns every method on those cases of the draws, after a change that every
method reads (the problem's bands: ``top_stage``, 2026-12-07)::

    python benchmarks/spread.py --suite ood --draws 1 2 --redo-all salt-0 gas-0 gradient-0

``--only CASE ...`` reruns every method on those cases only, on the draws, in a fresh ``--work``,
and keeps the other cases' rows of those draws from the existing results file: after a change that
moved only some cases' records, when the work folder of the first run is gone. Each such rerun is
listed under ``partial_reruns`` (draws, cases, machine, date, and the methods' seconds on those
cases), since the kept rows may come from another machine; ``methods_wall_time_s_per_draw`` keeps
the first run's whole-draw times::

    python benchmarks/spread.py --suite ood --draws 1 2 --only salt-0 gas-0 gradient-0

``--recheck CASE`` also reruns the methods on draw 0 itself for that case with today's code
(``draw0_rerun`` in the output, kept by later runs): the committed records may be older than the
code, and this shows whether they still stand.

Output: ``benchmarks/results/spread_<suite>.json`` (rewritten after every draw, so a killed run
keeps what it finished; the suites and runs in ``--work`` resume where they stopped). Per draw,
``methods_wall_time_s_per_draw`` sums the methods' own wall times over the cases, read from their
records, so a resumed draw still reports what its runs took.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402

METHODS = ("dl", "hybrid", "fwi_gradient")


def _row(rec: dict) -> dict:
    m = rec["methods"]
    row = {"start": rec.get("start"), "physics_guided_kept": rec.get("physics_guided_kept")}
    for name in METHODS:
        row[f"{name}_rmse_ms"] = m.get(name, {}).get("rmse_ms")
        row[f"{name}_mae_ms"] = m.get(name, {}).get("mae_ms")
    curve = m.get("fwi_gradient", {}).get("curve") or [{}]
    row["reference_rmse_ms"] = curve[0].get("rmse_ms")  # the 1-D reference: fwi_gradient's start
    row["hybrid_to_fwi_gradient_rmse"] = rec.get("ratio_hybrid_to_fwi_gradient_rmse")
    row["hybrid_to_dl_mae"] = rec.get("ratio_hybrid_to_dl_mae")
    return row


def _dl_below_reference(row: dict) -> bool:
    """The DL model's RMSE is below the 1-D reference's (the marmousi target)."""
    return None not in (row["dl_rmse_ms"], row["reference_rmse_ms"]) and row["dl_rmse_ms"] < row["reference_rmse_ms"]


def _compute_time(res: dict, cases: list | None = None) -> float:
    """Seconds the methods took on a draw, summed over its cases (or those given), from their own
    records (so a resumed draw reports the time its runs took, not the time of the resume)."""
    return float(sum(m.get("wall_time_s") or 0.0 for cid, c in res["cases"].items() if cases is None or cid in cases
                     for m in c["methods"].values()))


def _spread(values: list) -> dict | None:
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"n": len(v), "min": min(v), "median": statistics.median(v), "max": max(v)}


def summarise(draws: dict[int, dict]) -> dict:
    """Per case: the spread of each ratio and RMSE over the draws; per draw: the suite's median and
    worst ratio (as the README states the targets)."""
    cases = list(draws[min(draws)])
    per_case = {}
    for c in cases:
        rows = {j: d[c] for j, d in draws.items() if c in d}
        r = [row["hybrid_to_fwi_gradient_rmse"] for row in rows.values()]
        per_case[c] = {
            "draws": len(rows),
            "hybrid_to_fwi_gradient_rmse": _spread(r),
            "draws_above_1": sum(1 for x in r if x is not None and x > 1.0),
            "draws_at_most_0.7": sum(1 for x in r if x is not None and x <= 0.7),
            "hybrid_to_dl_mae": _spread([row["hybrid_to_dl_mae"] for row in rows.values()]),
            "draws_dl_below_reference": sum(map(_dl_below_reference, rows.values())),
            "starts": {str(j): row["start"] for j, row in rows.items()},
            **{f"{m}_rmse_ms": _spread([row[f"{m}_rmse_ms"] for row in rows.values()]) for m in METHODS},
        }
    # how far each method's RMSE moves between draws: max / min over the draws, median over the cases
    moves = {m: [c[f"{m}_rmse_ms"]["max"] / c[f"{m}_rmse_ms"]["min"] for c in per_case.values()
                 if c[f"{m}_rmse_ms"] and c[f"{m}_rmse_ms"]["n"] > 1 and c[f"{m}_rmse_ms"]["min"] > 0] for m in METHODS}
    spread = {f"{m}_rmse_max_over_min_median": statistics.median(v) if v else None for m, v in moves.items()}
    per_draw = {}
    for j, d in draws.items():
        r = [row["hybrid_to_fwi_gradient_rmse"] for row in d.values() if row["hybrid_to_fwi_gradient_rmse"] is not None]
        q = [row["hybrid_to_dl_mae"] for row in d.values() if row["hybrid_to_dl_mae"] is not None]
        per_draw[str(j)] = {"cases": len(d),
                            "hybrid_to_fwi_gradient_rmse_median": statistics.median(r) if r else None,
                            "hybrid_to_fwi_gradient_rmse_worst": max(r) if r else None,
                            "hybrid_to_dl_mae_worst": max(q) if q else None,
                            "cases_dl_below_reference": sum(map(_dl_below_reference, d.values()))}
    return {"per_case": per_case, "per_draw": per_draw, "across_draws": spread}


def _committed(suite: str) -> dict:
    path = os.path.join(RESULTS, f"benchmark_{suite}", "results.json")
    with open(path, encoding="utf-8") as fh:
        res = json.load(fh)
    return {c: _row(rec) for c, rec in res["cases"].items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", required=True, choices=("openfwi-a", "openfwi-b", "ood", "marmousi"))
    ap.add_argument("--draws", type=int, nargs="+", required=True, help="noise draws to add (1, 2, ...; 0 is the committed run)")
    ap.add_argument("--cases", type=int, default=1, help="cases per family, as the committed suite was made [1]")
    ap.add_argument("--work", default="/tmp/spread", help="where the extra suites and runs are kept (resumable)")
    ap.add_argument("--marmousi", default=None, help="the Marmousi2 file (marmousi suite)")
    ap.add_argument("--out", default=None, help="results file [benchmarks/results/spread_<suite>.json]")
    ap.add_argument("--recheck", nargs="*", default=[], metavar="CASE", help="rerun draw 0 of these cases with today's code")
    ap.add_argument("--redo-all", nargs="+", default=[], metavar="CASE",
                    help="rerun every method on these cases of the draws (after a change every method reads, such as the "
                         "problem's bands); the other cases' runs are kept")
    ap.add_argument("--only", nargs="+", default=[], metavar="CASE",
                    help="rerun every method on these cases only, and keep the other cases' rows of the draws from the "
                         "existing results file")
    ap.add_argument("--redo-hybrid", action="store_true",
                    help="rerun the hybrid on the draws (after a default only the hybrid reads changed); drops the "
                         "draw-0 rechecks, which the committed run, rerun after that change, replaces")
    args = ap.parse_args()
    if any(j < 1 for j in args.draws):
        ap.error("--draws: 1, 2, ... (draw 0 is read from the committed results)")

    import torch

    from hybridfwi.bench.run import SuiteRun, _weights, run_suite
    from hybridfwi.bench.suites import make_suite
    from hybridfwi.hybrid.pipeline import HybridConfig
    from hybridfwi.io.atomic import atomic_write_text

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    out = args.out or os.path.join(RESULTS, f"spread_{args.suite}.json")
    draws = {0: _committed(args.suite)}
    settings = {"suite": args.suite, "cases_per_family": args.cases, "methods": list(METHODS), "draws": [0] + args.draws,
                "hybrid": "invert's defaults (HybridConfig(device='cpu'))", "weights_sha256": _weights(None),
                "draw_0": f"benchmarks/results/benchmark_{args.suite}/results.json (committed)"}
    times, rerun, old = {}, {}, {}
    if os.path.exists(out):
        with open(out, encoding="utf-8") as fh:
            old = json.load(fh)
        if not args.redo_hybrid:
            rerun = old.get("draw0_rerun", {})
    for flag, given in (("--redo-all", args.redo_all), ("--only", args.only)):
        unknown = sorted(set(given) - set(draws[0]))
        if unknown:
            ap.error(f"{flag} {', '.join(unknown)}: not a case of the committed {args.suite} run")
    partial: list = []  # a whole-draw run writes only the draws it ran, so no earlier partial rerun stays in the file
    if args.only:
        if args.redo_all or args.redo_hybrid:
            ap.error("--only reruns every method on its cases: give it without --redo-all and --redo-hybrid")
        missing = [j for j in args.draws if str(j) not in old.get("draws", {})]
        if missing:
            ap.error(f"--only keeps the other cases' rows from {out}, which has no draw {', '.join(map(str, missing))}: "
                     f"run those draws without --only")
        times = dict(old.get("methods_wall_time_s_per_draw", {}))
        partial = [p for p in old.get("settings", {}).get("partial_reruns", [])  # a resumed or wider rerun replaces one
                   if not (set(p["draws"]) & set(args.draws) and set(p["cases"]) <= set(args.only))]
        partial.append({"draws": list(args.draws), "cases": list(args.only), "machine": machine().get("cpu"),
                        "date": time.strftime("%Y-%m-%d", time.gmtime())})
        # draws this run does not touch are kept as they are
        draws.update({int(k): v for k, v in old["draws"].items() if k != "0" and int(k) not in args.draws})
        settings["partial_reruns"] = partial
        settings["draws"] = sorted(set(settings["draws"]) | {int(k) for k in old["draws"]})
    if args.recheck:
        unknown = sorted(set(args.recheck) - set(draws[0]))
        if unknown:
            ap.error(f"--recheck {', '.join(unknown)}: not a case of the committed {args.suite} run")
        suite_dir, run_dir = os.path.join(args.work, f"suite_{args.suite}_draw0"), os.path.join(args.work, f"run_{args.suite}_draw0")
        make_suite(args.suite, suite_dir, per_family=args.cases, marmousi=args.marmousi)
        res = run_suite(SuiteRun(suite=suite_dir, out=run_dir, hybrid=HybridConfig(device="cpu"), methods=METHODS,
                                 cases=list(args.recheck)))
        rerun.update({c: {"today": _row(res["cases"][c]), "committed": draws[0][c], "machine": res["machine"].get("cpu")}
                      for c in args.recheck})
    for j in args.draws:
        suite_dir = os.path.join(args.work, f"suite_{args.suite}_draw{j}")
        run_dir = os.path.join(args.work, f"run_{args.suite}_draw{j}")
        make_suite(args.suite, suite_dir, per_family=args.cases, marmousi=args.marmousi, noise_draw=j)
        if args.redo_all:  # those cases afresh, every method (the aggregate below covers every case)
            run_suite(SuiteRun(suite=suite_dir, out=run_dir, hybrid=HybridConfig(device="cpu"), methods=METHODS,
                               cases=list(args.redo_all), redo=METHODS))
        res = run_suite(SuiteRun(suite=suite_dir, out=run_dir, hybrid=HybridConfig(device="cpu"), methods=METHODS,
                                 cases=list(args.only) or None, redo=("hybrid",) if args.redo_hybrid else ()))
        d = {c: _row(rec) for c, rec in res["cases"].items()}
        if args.only:  # the other cases' rows from the existing file
            ran = set(args.only)
            d.update({c: row for c, row in old["draws"][str(j)].items() if c not in ran})
            partial[-1].setdefault("methods_wall_time_s", {})[str(j)] = _compute_time(res, args.only)
        else:
            times[str(j)] = _compute_time(res)
        if set(d) != set(draws[0]):
            raise SystemExit(f"draw {j} has cases {sorted(d)}, the committed run {sorted(draws[0])}: give the --cases it was made with")
        draws[j] = d
        # a partial rerun keeps the machine of the whole-draw run; its own is in partial_reruns
        record = {"benchmark": f"spread_{args.suite}", "machine": old["machine"] if args.only else machine(), "settings": settings,
                  "methods_wall_time_s_per_draw": times, "summary": summarise(draws),
                  "draws": {str(k): v for k, v in draws.items()}, "draw0_rerun": rerun}
        atomic_write_text(out, json.dumps(record, indent=2) + "\n")
        took = partial[-1]["methods_wall_time_s"][str(j)] if args.only else times[str(j)]
        print(f"draw {j}: {len(args.only) or len(d)} cases run, the methods took {took:.0f} s -> {out}")


if __name__ == "__main__":
    main()
