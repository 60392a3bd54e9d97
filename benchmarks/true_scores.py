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

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, misfit_table, save_rows  # noqa: E402

from hybridfwi.dl.checkpoint import weights_digest  # noqa: E402
from hybridfwi.hybrid.start import start_candidates  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402


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
    args, manifest, rows, todo = dev_case_run(__doc__, "true_scores.py", "true_scores_dev.json")
    for c, true, problem, hc, prep in todo:
        t = time.time()
        models = {**start_candidates(prep.reference, prep.dl, hc.blends, problem.water, problem.grid.z), "true": true}
        rows.append({"case": c.id, "family": c.family, "bands_hz": list(prep.fcfg.stages),
                     "rmse": {n: rmse(v, true) for n, v in models.items()}, "scores": misfit_table(models, problem, prep.fcfg),
                     "weights_sha256": weights_digest(None), "wall_time_s": time.time() - t})
        print(json.dumps({"case": c.id, "rmse": rows[-1]["rmse"], "envelope band 1": rows[-1]["scores"]["envelope band 1"]}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))  # the summary, also when every case was already there


if __name__ == "__main__":
    main()
