"""Does the start stay put under another noise draw? The safeguard with and without its shot-by-shot test, on the dev suite.

The safeguard (``hybridfwi.hybrid.start.choose_start``) scores the 1-D reference, the DL model and
their blends by the envelope misfit in the lowest FWI band. Compared by their totals alone, a
candidate can replace the reference by a lead smaller than another noise realisation moves it
(``spread_ood.json``: the start of one test case flipped between draws). With
``HybridConfig.start_evidence`` (``t`` >= 2 by default) a candidate replaces the reference only when
its lead holds shot after shot: Student's ``t`` of the paired per-shot differences
(:func:`~hybridfwi.hybrid.start.evidence_over_reference`).

For every dev case (validation seeds: a benchmark suite is a test), prepared exactly as ``invert``
prepares it, this records each candidate's score, its ``t`` against the reference, its model RMSE,
and the start picked by totals alone and by the rule. Run it on the dev suite and on the same
suite made with another noise draw to see how often each rule changes its mind:

    hybridfwi benchmark make --suite dev --out /tmp/dev7 --cases 6
    hybridfwi benchmark make --suite dev --out /tmp/dev7d1 --cases 6 --noise-draw 1
    python benchmarks/start_evidence.py --suite /tmp/dev7 --out benchmarks/results/start_evidence_dev.json
    python benchmarks/start_evidence.py --suite /tmp/dev7d1 --out benchmarks/results/start_evidence_dev_draw1.json

Finished cases are kept: a killed run resumes.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, save_rows  # noqa: E402

from hybridfwi.dl.checkpoint import weights_digest  # noqa: E402
from hybridfwi.hybrid.start import choose_start, pick_start, start_candidates  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402


def summary(rows: list[dict]) -> dict:
    """Cases, cases where the two rules pick differently, and the start RMSE each rule gives away
    against the lowest-RMSE candidate (summed over the cases, m/s)."""
    def regret(rule):
        return float(sum(r["rmse"][r[rule]] - min(r["rmse"].values()) for r in rows))

    return {"cases": len(rows), "picks_differ": [r["case"] for r in rows if r["pick_by_total"] != r["pick_with_evidence"]],
            "summed_regret_by_total_ms": regret("pick_by_total"), "summed_regret_with_evidence_ms": regret("pick_with_evidence")}


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "start_evidence.py", "start_evidence_dev.json")
    for c, true, problem, hc, prep in todo:
        t = time.time()
        cands = start_candidates(prep.reference, prep.dl, hc.blends, problem.water, problem.grid.z)
        choice = choose_start(cands, problem, prep.fcfg, blend_tolerance=hc.blend_tolerance, min_evidence=hc.start_evidence)
        rows.append({"case": c.id, "family": c.family, "noise_draw": manifest.get("noise_draw", 0),
                     "n_shots": problem.record.survey.n_shots, "scores": choice.misfits, "t_over_reference": choice.evidence_record(),
                     "rmse": {n: rmse(v, true) for n, v in cands.items()},
                     "pick_by_total": pick_start(choice.misfits, hc.blend_tolerance), "pick_with_evidence": choice.name,
                     "min_evidence": hc.start_evidence, "weights_sha256": weights_digest(hc.model), "wall_time_s": time.time() - t})
        r = rows[-1]
        print(json.dumps({k: r[k] for k in ("case", "pick_by_total", "pick_with_evidence", "t_over_reference")}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))
    print(json.dumps(summary(rows), indent=1))


if __name__ == "__main__":
    main()
