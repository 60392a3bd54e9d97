"""Do the data prefer the true model? The safeguard's candidate starts and the true model, scored by each
data misfit in each FWI band, on chosen dev cases.

A diagnostic of the modelling behind the misfits: when a candidate far from the truth scores lower than
the true model itself, no rule on that misfit can pick the best start, and FWI is pulled away from the
truth (the data are modelled on a finer grid, with noise, and the wavelet is estimated per model, so
the true model need not score zero, but it should score lowest). Dev suite only (validation seeds).

    python benchmarks/true_scores.py --suite /tmp/dev5 --cases marine-0,marine-1 --out benchmarks/results/true_scores_dev.json

Finished cases are kept (a killed run resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, load_rows, misfit_table, read_dev_suite, save_rows  # noqa: E402

from hybridfwi.dl.checkpoint import weights_digest  # noqa: E402
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare  # noqa: E402
from hybridfwi.hybrid.start import start_candidates  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402


def summary(rows: list[dict]) -> dict:
    """Per misfit and band: cases where the true model scores lowest of all, and where a candidate beats it."""
    out: dict = {}
    for row in rows:
        for rule, sc in row["scores"].items():
            s = out.setdefault(rule, {"cases": 0, "true_lowest": 0, "beaten_by": []})
            s["cases"] += 1
            best = min(sc, key=sc.get)
            s["true_lowest"] += best == "true"
            if best != "true":
                s["beaten_by"].append(f"{row['case']}: {best}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--cases", required=True, help="comma-separated case ids")
    ap.add_argument("--out", default=os.path.join(RESULTS, "true_scores_dev.json"))
    args = ap.parse_args()
    manifest, cases = read_dev_suite(args.suite, "true_scores.py")
    rows = load_rows(args.out)
    done = {r["case"] for r in rows}
    for c in cases:
        if c.id not in args.cases.split(",") or c.id in done:
            continue
        t = time.time()
        true = np.load(c.true)
        _, problem = load_problem(c.survey, None, None)
        hc = HybridConfig(device="cpu").validate()
        prep = prepare(problem, hc, Stages(1, None), progress=False)
        models = {**start_candidates(prep.reference, prep.dl, hc.blends, problem.water, problem.grid.z), "true": true}
        rows.append({"case": c.id, "family": c.family, "bands_hz": list(prep.fcfg.stages),
                     "rmse": {n: rmse(v, true) for n, v in models.items()}, "scores": misfit_table(models, problem, prep.fcfg),
                     "weights_sha256": weights_digest(None), "wall_time_s": time.time() - t})
        print(json.dumps({"case": c.id, "rmse": rows[-1]["rmse"], "envelope band 1": rows[-1]["scores"]["envelope band 1"]}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))


if __name__ == "__main__":
    main()
