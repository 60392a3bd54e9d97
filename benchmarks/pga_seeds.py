"""How much of the physics-guided steps' outcome is the luck of the adapter's initialisation? (dev suite only)

    python benchmarks/pga_seeds.py --suite /tmp/dev5      # -> results/dev_pga_seeds.json
    # the 59-case dev suite's 32 cases beyond those 27 (benchmark make --suite dev --cases 6):
    python benchmarks/pga_seeds.py --suite /tmp/dev7 --out benchmarks/results/dev_pga_seeds_dev59.json \
        --cases "$(comm -13 <(ls /tmp/dev5/cases) <(ls /tmp/dev7/cases) | paste -sd,)"

The physics-guided stage (:mod:`hybridfwi.hybrid.pga`) trains a fresh LoRA adapter whose ``A``
matrices start random (``PGAConfig.seed``, 0 in ``invert``) and ``B`` matrices zero, with Adam,
whose first step moves every weight by about the learning rate whatever its gradient. On the dev
suite the hybrid's end has followed small changes of the DL start loosely (the flip moved the DL
RMSE by a median 4.8 % and the end by 11.7 %, ``dev_dl_flip.json``). This measures the part the
initialisation alone plays: on every dev case whose safeguard start is not the 1-D reference, the
physics-guided steps are run exactly as ``invert`` runs them (same start, wavelet, steps, rate,
bands) under ``SEEDS``, and each run records the RMSE (m/s) of the iterate the steps keep
(``adapted``), the held-out check's verdict, and the RMSE of the model pixel FWI would start from
(``handed_on``: the adapted model when the check keeps it, the start otherwise), beside the start's
RMSE and each step's RMSE. Nothing here changes a default; seed 0 is ``invert``'s run.

Validation seeds only; finished cases are kept (a killed run resumes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, save_rows  # noqa: E402

from hybridfwi.hybrid.pga import _held_out, band_schedule, physics_adapt  # noqa: E402
from hybridfwi.hybrid.pipeline import safeguard_start  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402

#: The adapter initialisations run on each case (0 is ``invert``'s).
SEEDS = (0, 1, 2)


def summary(rows: list[dict]) -> dict:
    """Over the cases: the median and largest spread (max - min over the seeds, m/s) of the adapted
    and the handed-on RMSE, the median spread relative to the start's RMSE, the cases where the
    seeds disagree on the held-out verdict, and those where some seed lowers the RMSE of the model
    handed on and another raises it."""
    if not rows:
        return {"cases": 0}
    spread = {k: [max(r["seeds"][s][k] for s in r["seeds"]) - min(r["seeds"][s][k] for s in r["seeds"]) for r in rows]
              for k in ("rmse_adapted", "rmse_handed_on")}
    rel = [max(r["seeds"][s]["rmse_adapted"] for s in r["seeds"]) / r["rmse_start"]
           - min(r["seeds"][s]["rmse_adapted"] for s in r["seeds"]) / r["rmse_start"] for r in rows]
    return {"cases": len(rows), "seeds": list(SEEDS),
            **{f"median_spread_{k}_ms": float(np.median(v)) for k, v in spread.items()},
            **{f"largest_spread_{k}_ms": float(max(v)) for k, v in spread.items()},
            "median_spread_adapted_over_start": float(np.median(rel)),
            "verdict_differs": [r["case"] for r in rows if len({r["seeds"][s]["kept"] for s in r["seeds"]}) > 1],
            "handed_on_both_sides_of_start": [
                r["case"] for r in rows
                if min(r["seeds"][s]["rmse_handed_on"] for s in r["seeds"]) < r["rmse_start"] - 1e-6
                < max(r["seeds"][s]["rmse_handed_on"] for s in r["seeds"]) - 2e-6]}


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "pga_seeds.py", "dev_pga_seeds.json")
    for c, true, problem, hc, prep in todo:
        t0 = time.time()
        choice, name, start, wavelet = safeguard_start(problem, prep, hc)
        if name == "reference":  # invert runs no steps from the 1-D reference
            continue
        pc = hc.pga_config(holdout=False)
        row = {"case": c.id, "family": c.family, "start": name, "rmse_start": rmse(start, true), "steps": pc.steps, "seeds": {}}
        schedule = band_schedule(list(prep.fcfg.stages), pc.steps, pc.bands)
        for seed in SEEDS:
            res = physics_adapt(problem, prep, dataclasses.replace(pc, seed=seed), start, wavelet, true=true, progress=False)
            kept = False
            if res.best_step > 0:
                kept = _held_out(problem, prep, start, res.velocity, schedule, hc.pga_holdout_bands, hc.pga_holdout_evidence)["kept"]
            adapted = rmse(res.velocity, true)
            row["seeds"][str(seed)] = {"best_step": res.best_step, "rmse_adapted": adapted, "kept": bool(kept),
                                       "rmse_handed_on": adapted if kept else row["rmse_start"],
                                       "rmse_path": [round(h["model_rmse_ms"], 1) for h in res.history]}
        row["wall_time_s"] = time.time() - t0
        rows.append(row)
        print(json.dumps({"case": c.id, "start": round(row["rmse_start"]),
                          **{s: (round(v["rmse_adapted"]), v["kept"]) for s, v in row["seeds"].items()}}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))
    print(json.dumps(summary(rows), indent=1))


if __name__ == "__main__":
    main()
