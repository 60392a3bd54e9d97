"""Does a band the physics-guided steps did not fit tell when they moved the model the wrong way?

The physics-guided stage (``hybridfwi.hybrid.pga``) tunes the network to lower the data misfit in
the first FWI band and keeps its lowest-misfit step. On geology the network has not learned (the
dev suite's ``marine-streamer`` cases) the misfit falls while the model error rises. This
diagnostic runs the stage exactly as ``invert`` does (start chosen by the safeguard, default
recipe) on each dev case and scores the start and the stage's result by each misfit in every FWI
band (each model with its own least-squares wavelet when the source is unknown, as the safeguard
scores starts), with the model RMSE of both, so a rule "keep the result only when a held-out band agrees"
can be judged by how often it keeps the results that lowered the RMSE and drops those that raised
it. Dev suite only (validation seeds): a benchmark suite is a test.

    hybridfwi benchmark make --suite dev --out /tmp/dev3 --cases 2
    python benchmarks/pga_holdout.py --suite /tmp/dev3

Writes ``benchmarks/results/pga_holdout_dev.json`` (finished cases are kept: a killed run resumes).
On the widened dev suite (27 cases; 2026-11-27, AMD machine; the first 21 were run on a folder
made before the last six families were added, with identical data):

    hybridfwi benchmark make --suite dev --out /tmp/dev5 --cases 2
    python benchmarks/pga_holdout.py --suite /tmp/dev5 --out benchmarks/results/pga_holdout_dev27.json

Again with the network of training phases 1-4 (2026-11-28, AMD machine):

    python benchmarks/pga_holdout.py --suite /tmp/dev5 --out benchmarks/results/pga_holdout_dev27_n4.json
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, misfit_table, save_rows, start_and_pga  # noqa: E402


def summary(rows: list[dict]) -> dict:
    """Per rule "keep the stage's result when its misfit in this band is below the start's": the
    cases where the rule agrees with the RMSE (keeps a result that lowered it, or drops one that
    raised it), and the median and worst RMSE the rule's choice gives away against the better of
    the two."""
    out = {}
    ran = [r for r in rows if r.get("rmse_pga") is not None]

    def judge(keys_of) -> dict | None:
        """A rule keeping the result when the misfit fell in every score ``keys_of(row)`` names
        (rows with none of them are skipped)."""
        agree, regret = 0, []
        for r in ran:
            keys = [k for k in keys_of(r) if k in r["scores"]]  # a band only some cases have
            if not keys:
                continue
            keep = all(r["scores"][k]["pga"] < r["scores"][k]["start"] for k in keys)
            regret.append((r["rmse_pga"] if keep else r["rmse_start"]) - min(r["rmse_pga"], r["rmse_start"]))
            agree += keep == (r["rmse_pga"] < r["rmse_start"])
        return {"cases": len(regret), "agrees_with_rmse": agree, "median_regret_ms": float(np.median(regret)),
                "worst_regret_ms": float(np.max(regret))} if regret else None

    for rule in sorted({k for r in ran for k in r["scores"]}):
        out[rule] = judge(lambda r, rule=rule: [rule])
    # the check's two rules (PGAConfig.holdout_bands): "next" is "envelope band 2" above; "all" needs the
    # envelope misfit to fall in every band the steps did not fit (band 1 is the one they fit)
    every = judge(lambda r: [f"envelope band {k}" for k in range(2, len(r["bands_hz"]) + 1)] or ["envelope band 1"])
    if every:
        out["envelope every unfitted band"] = every
    out["always keep (before the check)"] = {"cases": len(ran), "agrees_with_rmse": sum(r["rmse_pga"] < r["rmse_start"] for r in ran),
                                  "median_regret_ms": float(np.median([max(0.0, r["rmse_pga"] - r["rmse_start"]) for r in ran]))
                                  if ran else None,
                                  "worst_regret_ms": float(max([max(0.0, r["rmse_pga"] - r["rmse_start"]) for r in ran], default=0.0))}
    return out


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "pga_holdout.py", "pga_holdout_dev.json")
    for c, true, problem, hc, prep in todo:
        t = time.time()
        row, start, _, res = start_and_pga(c, true, problem, hc, prep)
        if res is not None:
            row["scores"] = misfit_table({"start": start, "pga": res.velocity}, problem, prep.fcfg)
        row["wall_time_s"] = time.time() - t
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("case", "start", "rmse_start", "rmse_pga")}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    if rows:  # the summary of the rows as this script sums them now, also when no case was left to run
        save_rows(args.out, manifest, rows, summary(rows))
    for rule, s in summary(rows).items():
        print(f"{rule:22s} agrees with the RMSE on {s['agrees_with_rmse']}/{s['cases']}  median regret "
              f"{s['median_regret_ms']:.0f}  worst {s['worst_regret_ms']:.0f} m/s")


if __name__ == "__main__":
    main()
