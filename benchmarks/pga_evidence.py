"""Should the held-out check of the physics-guided stage ask for a fall that holds shot after shot?

The held-out check (``hybridfwi.hybrid.pga``) keeps the stage's result when its envelope misfit in
the next FWI band fell below the start's, in total. On ``ood`` marine-streamer-0 that decision
flips with the noise realisation (``spread_ood.json``): a total fall within the shot-to-shot scatter.
This diagnostic runs the stage exactly as ``invert`` does (start chosen by the safeguard, default
recipe, check off) on each dev case, then scores the start and the result per shot in the band
the check scores, and records Student's ``t`` of the paired per-shot falls
(:func:`hybridfwi.hybrid.start.evidence_over_reference`) with the model RMSE of both. The rule
"keep the result when ``t >= m``" is judged for m = 0 (today's rule: the total fell), 1 and 2 by how
often it agrees with the RMSE and how much RMSE it gives away against the better of the two.
Dev suite only (validation seeds): a benchmark suite is a test.

    hybridfwi benchmark make --suite dev --out /tmp/dev5 --cases 2
    python benchmarks/pga_evidence.py --suite /tmp/dev5

Writes ``benchmarks/results/pga_evidence_dev27.json`` (finished cases are kept: a killed run resumes).
Again on the dev suite of 59 cases (the one the start test was measured on):

    hybridfwi benchmark make --suite dev --out /tmp/dev7 --cases 6
    python benchmarks/pga_evidence.py --suite /tmp/dev7 --out benchmarks/results/pga_evidence_dev59.json

and on the same 59 cases under another noise draw:

    hybridfwi benchmark make --suite dev --out /tmp/dev7d1 --cases 6 --noise-draw 1
    python benchmarks/pga_evidence.py --suite /tmp/dev7d1 --out benchmarks/results/pga_evidence_dev59_draw1.json
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, save_rows, start_and_pga  # noqa: E402

from hybridfwi.hybrid.pga import _held_out, band_schedule  # noqa: E402

#: The thresholds judged: 0 is today's rule (the total fell), 2 the one the start test uses.
THRESHOLDS = (0.0, 1.0, 2.0)


def keeps(row: dict, m: float) -> bool:
    """Whether the check with threshold ``m`` keeps this row's result (as ``_held_out`` decides)."""
    t = row["t"]
    fell = row["adapted_misfit"] < row["start_misfit"]
    return fell if m <= 0 else fell and (t is None or t >= m)


def summary(rows: list[dict]) -> dict:
    """Per threshold: cases where the rule agrees with the RMSE (keeps a result that lowered it, drops
    one that raised it), the cases it keeps, and the median and worst RMSE its choice gives away
    against the better of start and result; and the cases where it decides unlike today's rule."""
    ran = [r for r in rows if r.get("rmse_pga") is not None]
    out = {}
    for m in THRESHOLDS:
        agree, regret, kept = 0, [], 0
        for r in ran:
            k = keeps(r, m)
            kept += int(k)
            regret.append((r["rmse_pga"] if k else r["rmse_start"]) - min(r["rmse_pga"], r["rmse_start"]))
            agree += int(k == bool(r["rmse_pga"] < r["rmse_start"]))
        out[f"t >= {m:g}" if m > 0 else "total fell (today)"] = {
            "cases": len(ran), "kept": kept, "agrees_with_rmse": agree,
            "median_regret_ms": float(np.median(regret)) if regret else None,
            "worst_regret_ms": float(np.max(regret)) if regret else None,
            "differs_from_today": [r["case"] for r in ran if keeps(r, m) != keeps(r, 0.0)]}
    return out


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "pga_evidence.py", "pga_evidence_dev27.json")
    for c, true, problem, hc, prep in todo:
        t0 = time.time()
        row, start, pc, res = start_and_pga(c, true, problem, hc, prep)
        if res is not None:
            if res.best_step > 0:
                held = _held_out(problem, prep, start, res.velocity, band_schedule(list(prep.fcfg.stages), pc.steps, pc.bands),
                                 pc.holdout_bands)
                row.update(band_hz=held["band_hz"], start_misfit=held["start"], adapted_misfit=held["adapted"],
                           t=None if held["evidence"][0] is None else float(held["evidence"][0]), n_shots=int(problem.record.survey.n_shots))
            else:  # no step lowered the misfit: the stage hands the start on, the check does not run
                row.update(rmse_pga=row["rmse_start"], start_misfit=0.0, adapted_misfit=0.0, t=None)
        row["wall_time_s"] = time.time() - t0
        rows.append(row)
        print(json.dumps({k: row.get(k) for k in ("case", "start", "rmse_start", "rmse_pga", "t")}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    if rows:
        save_rows(args.out, manifest, rows, summary(rows))
    for rule, s in summary(rows).items():
        print(f"{rule:20s} keeps {s['kept']}/{s['cases']}, agrees with the RMSE on {s['agrees_with_rmse']}  median regret "
              f"{s['median_regret_ms']:.0f}  worst {s['worst_regret_ms']:.0f} m/s  differs from today on {s['differs_from_today']}")


if __name__ == "__main__":
    main()
