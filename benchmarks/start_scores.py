"""Does the safeguard's score follow model error? Candidate starts scored by several data misfits, on the dev suite.

The safeguard (``hybridfwi.hybrid.start.choose_start``) picks the start among the 1-D reference,
the DL model and their blends by one data misfit (``SCORE_MISFIT``; ``gc`` until this diagnostic
chose envelope) in the lowest FWI band. This diagnostic scores the
same candidates, prepared exactly as ``invert`` prepares them, by each misfit (``gc``, ``envelope``,
``l2``) in each FWI band, and records each candidate's model RMSE against the true model, so the
rules can be compared by how often they pick the candidate with the lowest RMSE and by the RMSE
given away when they do not (regret). Dev suite only (validation seeds): a benchmark suite is a test.

    hybridfwi benchmark make --suite dev --out /tmp/dev3 --cases 2
    python benchmarks/start_scores.py --suite /tmp/dev3

Each row also records the safeguard's own pick (``pick_start`` on the envelope band-1 scores, ties
to the DL model) under each hedge margin, and the network's SHA-256.

Writes ``benchmarks/results/start_scores_dev.json`` (finished cases are kept: a killed run resumes);
``start_scores_dev4.json`` is the same with the phase-4 network, on the 27-case dev suite:

    hybridfwi benchmark make --suite dev --out /tmp/dev5 --cases 2
    python benchmarks/start_scores.py --suite /tmp/dev5 --out benchmarks/results/start_scores_dev4.json
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, misfit_table, save_rows  # noqa: E402

from hybridfwi.dl.checkpoint import weights_digest  # noqa: E402
from hybridfwi.hybrid.pipeline import HybridConfig  # noqa: E402
from hybridfwi.hybrid.start import SCORE_MISFIT, pick_start, start_candidates  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402


def rule_name(misfit: str, k: int) -> str:
    return f"{misfit} band {k + 1}"


#: Margins of the safeguard's hedge (``HybridConfig.blend_tolerance``) also summarised for the
#: safeguard's own score: a blend within the margin of the best-scoring candidate is picked.
HEDGES = (0.02, 0.05, 0.1, 0.15)


def summary(rows: list[dict]) -> dict:
    """Per rule: cases where it picks the lowest-RMSE candidate, and the median and worst regret (m/s);
    for the safeguard's score (``envelope band 1``) also with the hedge of each margin in ``HEDGES``."""
    out = {}
    rules = sorted({r for row in rows for r in row["scores"]})
    rules += [f"envelope band 1, blend within {100 * t:g}%" for t in HEDGES]
    for rule in rules:
        base, _, hedge = rule.partition(", blend within ")
        tol = float(hedge.rstrip("%")) / 100 if hedge else 0.0
        regret, hits = [], 0
        for row in rows:
            if base not in row["scores"]:
                continue
            sc = row["scores"][base]
            choice = pick_start(sc, tol, prefer=None)  # the safeguard's rule, without its tie to DL
            best = min(row["rmse"].values())
            regret.append(row["rmse"][choice] - best)
            hits += row["rmse"][choice] == best
        out[rule] = {"cases": len(regret), "picks_lowest_rmse": hits, "median_regret_ms": float(np.median(regret)),
                     "worst_regret_ms": float(np.max(regret))}
    return out


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "start_scores.py", "start_scores_dev.json")
    for c, true, problem, hc, prep in todo:
        t = time.time()
        g = problem.grid
        cands = start_candidates(prep.reference, prep.dl, hc.blends, problem.water, g.z)
        stages = list(prep.fcfg.stages)
        scores = misfit_table(cands, problem, prep.fcfg)
        own = scores[rule_name(SCORE_MISFIT, 0)]
        picks = {f"blend within {100 * tol:g}%": pick_start(own, tol) for tol in sorted({0.0, *HEDGES, HybridConfig.blend_tolerance})}
        rows.append({"case": c.id, "family": c.family, "bands_hz": stages, "rmse": {n: rmse(v, true) for n, v in cands.items()},
                     "scores": scores, "safeguard_picks": picks, "weights_sha256": weights_digest(hc.model),
                     "wall_time_s": time.time() - t})
        print(json.dumps({"case": c.id, "rmse": rows[-1]["rmse"], "gc band 1": scores[rule_name("gc", 0)]}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))  # the summary, also when every case was already there
    for rule, s in summary(rows).items():
        print(f"{rule:16s} lowest-RMSE picks {s['picks_lowest_rmse']}/{s['cases']}  median regret {s['median_regret_ms']:.0f}  "
              f"worst {s['worst_regret_ms']:.0f} m/s")


if __name__ == "__main__":
    main()
