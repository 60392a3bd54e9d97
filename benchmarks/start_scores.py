"""Does the safeguard's score follow model error? Candidate starts scored by several data misfits, on the dev suite.

The safeguard (``hybridfwi.hybrid.start.choose_start``) picks the start among the 1-D reference,
the DL model and their blends by one data misfit (``SCORE_MISFIT``; ``gc`` until this diagnostic
chose envelope) in the lowest FWI band. This diagnostic scores the
same candidates, prepared exactly as ``invert`` prepares them, by each misfit (``gc``, ``envelope``,
``l2``) in each FWI band, and records each candidate's model RMSE against the true model, so the
rules can be compared by how often they pick the candidate with the lowest RMSE and by the RMSE
given away when they do not (regret). Dev suite only (validation seeds): a benchmark suite is a test.

    hybridfwi benchmark make --suite dev --out /tmp/dev2 --cases 2
    python benchmarks/start_scores.py --suite /tmp/dev2

Writes ``benchmarks/results/start_scores_dev.json`` (finished cases are kept: a killed run resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, load_rows, read_dev_suite, save_rows  # noqa: E402

from hybridfwi.core import VelocityModel  # noqa: E402
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare  # noqa: E402
from hybridfwi.hybrid.start import start_candidates  # noqa: E402
from hybridfwi.inversion.config import FWIConfig  # noqa: E402
from hybridfwi.inversion.fwi import data_misfit  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402
from hybridfwi.physics.misfits import MISFITS  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402


def rule_name(misfit: str, k: int) -> str:
    return f"{misfit} band {k + 1}"


def summary(rows: list[dict]) -> dict:
    """Per rule: cases where it picks the lowest-RMSE candidate, and the median and worst regret (m/s)."""
    out = {}
    rules = sorted({r for row in rows for r in row["scores"]})
    for rule in rules:
        regret, hits = [], 0
        for row in rows:
            if rule not in row["scores"]:
                continue
            sc = row["scores"][rule]
            pick = min(sc, key=sc.get)
            best = min(row["rmse"].values())
            regret.append(row["rmse"][pick] - best)
            hits += row["rmse"][pick] == best
        out[rule] = {"cases": len(regret), "picks_lowest_rmse": hits, "median_regret_ms": float(np.median(regret)),
                     "worst_regret_ms": float(np.max(regret))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--out", default=os.path.join(RESULTS, "start_scores_dev.json"))
    ap.add_argument("--cache", default=None, help="adaptation cache folder")
    args = ap.parse_args()
    manifest, cases = read_dev_suite(args.suite, "start_scores.py")
    rows = load_rows(args.out)
    done = {r["case"] for r in rows}
    for c in cases:
        if c.id in done:
            continue
        t = time.time()
        true = np.load(c.true)
        _, problem = load_problem(c.survey, None, None)
        hc = HybridConfig(device="cpu", cache=args.cache)
        prep = prepare(problem, hc, Stages(1, None), progress=False)
        g = problem.grid
        cands = start_candidates(prep.reference, prep.dl, hc.blends, problem.water, g.z)
        stages = list(prep.fcfg.stages)
        scores: dict = {}
        for m in MISFITS:
            cfg = FWIConfig(**{**prep.fcfg.to_dict(), "misfit": m})
            for k, band in enumerate(stages):
                scores[rule_name(m, k)] = {
                    name: float(data_misfit(VelocityModel(v, g), problem.record, cfg, band_hz=band, estimate=problem.estimate_wavelet)[0])
                    for name, v in cands.items()}
        rows.append({"case": c.id, "family": c.family, "bands_hz": stages, "rmse": {n: rmse(v, true) for n, v in cands.items()},
                     "scores": scores, "wall_time_s": time.time() - t})
        print(json.dumps({"case": c.id, "rmse": rows[-1]["rmse"], "gc band 1": scores[rule_name("gc", 0)]}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    for rule, s in summary(rows).items():
        print(f"{rule:16s} lowest-RMSE picks {s['picks_lowest_rmse']}/{s['cases']}  median regret {s['median_regret_ms']:.0f}  "
              f"worst {s['worst_regret_ms']:.0f} m/s")


if __name__ == "__main__":
    main()
