"""How the hybrid's defaults were chosen: variants of ``invert``'s hybrid on the dev suite only.

The dev suite (``hybridfwi benchmark make --suite dev``) draws its models from the *validation*
seed range, which neither pretraining, adaptation, the example nor any benchmark suite can draw
(``hybridfwi.synth.seeds``). No default is tuned on a benchmark or example model.

For each dev case and each variant (``--variants`` JSON objects of HybridConfig fields), runs the
hybrid exactly as ``invert`` does and records the model RMSE of the 1-D reference, the DL start,
the start actually chosen, the hybrid's end and wall time; FWI from the 1-D reference with the same
budget (``fwi_gradient``) is run once per case. Writes ``benchmarks/results/dev_choices.json``
(finished rows are kept, so a killed run resumes).

    hybridfwi benchmark make --suite dev --out /tmp/dev --cases 2
    python benchmarks/dev_choices.py --suite /tmp/dev --cases basin-streamer-0,basin-land-split-0,curvefault-b-0 \
        --variants '{"pga_steps": 0}' '{"pga_steps": 5}' '{"pga_steps": 10}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402

from hybridfwi.bench.suites import read_suite  # noqa: E402
from hybridfwi.core import VelocityModel  # noqa: E402
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare, run_hybrid  # noqa: E402
from hybridfwi.inversion.fwi import FWI  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--cases", default=None, help="comma-separated case ids [all]")
    ap.add_argument("--variants", nargs="+", default=['{"pga_steps": 0}'])
    ap.add_argument("--out", default=os.path.join(RESULTS, "dev_choices.json"))
    ap.add_argument("--cache", default=None, help="adaptation cache folder")
    args = ap.parse_args()
    manifest, cases = read_suite(args.suite)
    if manifest.get("seed_range") != "validation":
        sys.exit("dev_choices.py: defaults are chosen on validation seeds only; give a dev suite (benchmark make --suite dev)")
    only = set(args.cases.split(",")) if args.cases else None
    rows = json.load(open(args.out, encoding="utf-8")).get("rows", []) if os.path.exists(args.out) else []
    done = {(r["case"], r["variant"]) for r in rows}

    def save():
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"machine": machine(), "suite": manifest["suite"], "seed_range": manifest["seed_range"],
                       "modelling": manifest.get("modelling"), "rows": rows, "summary": summary(rows)}, fh, indent=1)
        os.replace(tmp, args.out)

    for c in cases:
        if only and c.id not in only:
            continue
        true = np.load(c.true)
        _, problem = load_problem(c.survey, None, None)
        # one preparation (reference, wavelet, DL prediction) per case, shared by every variant: the
        # variants differ in what happens after the start (physics-guided steps, FWI)
        prep = prepare(problem, HybridConfig(device="cpu", cache=args.cache), Stages(1, None), progress=False)
        for var in args.variants:
            if (c.id, var) in done:
                continue
            hc = HybridConfig(device="cpu", cache=args.cache, **json.loads(var))
            t = time.time()
            res = run_hybrid(problem, hc, true=true, log=None, progress=False, prepared=prep)
            rows.append({"case": c.id, "family": c.family, "variant": var,
                         "rmse_reference": rmse(prep.reference, true), "rmse_dl": rmse(prep.dl, true),
                         "start": res.choice.name if res.choice else "dl", "rmse_start": rmse(res.start, true),
                         "rmse_after_physics": rmse(res.pga.velocity, true) if res.pga else None,
                         "rmse_hybrid": rmse(res.fwi.model.values, true), "wall_time_s": time.time() - t})
            print(json.dumps(rows[-1]), flush=True)
            save()
        if (c.id, "fwi_gradient") not in done:
            t = time.time()
            r = FWI(prep.record, VelocityModel(prep.reference, problem.grid), prep.fcfg, true=true,
                    wavelet=prep.wavelet).run(progress=False)
            rows.append({"case": c.id, "family": c.family, "variant": "fwi_gradient", "rmse_reference": rmse(prep.reference, true),
                         "rmse_hybrid": rmse(r.model.values, true), "wall_time_s": time.time() - t})
            print(json.dumps(rows[-1]), flush=True)
            save()


def summary(rows: list[dict]) -> dict:
    """Per variant: median RMSE of the hybrid's end, and its median ratio to fwi_gradient on the same case."""
    grad = {r["case"]: r["rmse_hybrid"] for r in rows if r["variant"] == "fwi_gradient"}
    out = {}
    for var in sorted({r["variant"] for r in rows}):
        rs = [r for r in rows if r["variant"] == var]
        ratios = [r["rmse_hybrid"] / grad[r["case"]] for r in rs if r["case"] in grad]
        out[var] = {"cases": len(rs), "median_rmse_end": float(np.median([r["rmse_hybrid"] for r in rs])),
                    "median_ratio_to_fwi_gradient": float(np.median(ratios)) if ratios else None,
                    "median_wall_time_s": float(np.median([r["wall_time_s"] for r in rs]))}
    return out


if __name__ == "__main__":
    main()
