"""Why does survey adaptation make the DL start worse where ``auto`` adapts? (dev suite only)

    python benchmarks/adapt_mismatch.py --suite /tmp/dev8 --cache /tmp/adapt_cache   # -> results/dev_adapt_mismatch.json
    python benchmarks/adapt_mismatch.py --suite /tmp/dev8 --cache /tmp/adapt_cache --adapt-families basin-marine \
        --adapt-samples 160 --out benchmarks/results/dev_adapt_mismatch_basin_marine.json

On each sparse-shot dev case (``basin-sparse``, where ``invert``'s ``--adapt auto`` adapts), the
RMSE (m/s) of the network's raw prediction, base network against the survey adapter ``invert``
makes (cached in ``--cache``; made there when absent, 4-6 min each on 2 cores), on these inputs:

- ``observed``: the case's data, read with the wavelet ``invert`` estimates in the 1-D reference;
- ``twin``: the case's true model modelled the way the adaptation data are (the problem's grid,
  acquisition and that same estimated wavelet, no noise), read the same way;
- ``twin_imposed_water``: the twin of the true model under the water layer adaptation imposes on its
  data (the picked seabed), scored against that model;
- ``marine_draws``: models of the held-out ``marine`` family (validation seed 10 600, indices 0-7,
  their own water layer), modelled in the case's geometry: how the adapter does on geology that
  neither pretraining nor adaptation saw (median and count of draws where it is worse);
- ``adaptation_draws``: fresh draws of the adaptation data's own recipe (its families, seed and
  imposed water layer, indices 500-507, which adaptation did not train on), median per family, and on how many draws the adapter is worse.

If the adapter is better on its own draws but worse on the twin, the case lies outside what the
adaptation data show (for example a seabed shallower than the imposed one); if it is worse on the
observed data only, the data are read differently from how the adaptation data are made.
Also recorded: the seabed ``invert`` picks against the true one. Nothing here changes a default.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, load_rows, read_dev_suite, save_rows  # noqa: E402

from hybridfwi.core.model import ShotRecord  # noqa: E402
from hybridfwi.dl.finetune import load_model  # noqa: E402
from hybridfwi.dl.predict import predict_survey  # noqa: E402
from hybridfwi.errors import InputError  # noqa: E402
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402
from hybridfwi.physics.forward import ForwardConfig, forward_model  # noqa: E402
from hybridfwi.synth.families import make_model  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402

DRAWS = range(500, 508)
MARINE_SEED = 10_600  # validation range, a seed no dev case uses


def summary(rows: list[dict]) -> dict:
    out: dict = {"cases": len(rows)}
    for k in ("observed", "twin", "twin_imposed_water", "marine_draws"):
        if not all(k in r for r in rows):
            continue
        out[k] = {"adapted_worse": sum(r[k]["adapted"] > r[k]["base"] for r in rows),
                  "sum_base": float(sum(r[k]["base"] for r in rows)), "sum_adapted": float(sum(r[k]["adapted"] for r in rows))}
    if rows and all("marine_draws" in r for r in rows):
        out["marine_draws"]["adapted_worse_draws"] = sum(r["marine_draws"]["adapted_worse_draws"] for r in rows)
        out["marine_draws"]["draws"] = 8 * len(rows)
    fams = [(r["case"], f, v) for r in rows for f, v in r["adaptation_draws"].items()]
    out["adaptation_draws"] = {"case_families": len(fams), "adapted_worse_median": sum(v["adapted"] > v["base"] for _, _, v in fams),
                               "draws": len(fams) * len(DRAWS), "adapted_worse_draws": sum(v["adapted_worse_draws"] for _, _, v in fams)}
    bm = [v for _, f, v in fams if f == "basin-marine"]
    out["adaptation_draws_basin_marine"] = {"draws": len(bm) * len(DRAWS), "adapted_worse_draws": sum(v["adapted_worse_draws"] for v in bm)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--cache", default=None, help="adaptation cache folder")
    ap.add_argument("--adapt-families", nargs="+", default=None, help="HybridConfig.adapt_families [invert's default]")
    ap.add_argument("--adapt-samples", type=int, default=32, help="adaptation samples per family [32]")
    ap.add_argument("--out", default=os.path.join(RESULTS, "dev_adapt_mismatch.json"))
    args = ap.parse_args()
    try:  # the recipe checked before anything runs: one line, exit 2
        HybridConfig(device="cpu", adapt_families=args.adapt_families, adapt_samples=args.adapt_samples).validate()
    except InputError as exc:
        ap.error(str(exc))
    manifest, cases = read_dev_suite(args.suite, "adapt_mismatch.py")
    rows = load_rows(args.out)
    done = {r["case"] for r in rows}
    for c in cases:
        if c.family != "basin-sparse" or c.id in done:
            continue
        t0 = time.time()
        true = np.load(c.true)
        _, problem = load_problem(c.survey)
        prep = prepare(problem, HybridConfig(device="cpu", cache=args.cache, adapt_families=args.adapt_families,
                                             adapt_samples=args.adapt_samples), Stages(1, None), progress=False)
        if prep.adapt_info is None:
            raise SystemExit(f"{c.id}: invert does not adapt on this case; nothing to compare")
        g, s, info = problem.grid, prep.record.survey, prep.adapt_info
        fwd = ForwardConfig(max_vel=6000.0, device="cpu")
        nets = {"base": load_model(None, device="cpu"), "adapted": load_model(prep.model_spec, device="cpu")}

        def predict(data: np.ndarray) -> dict:
            rec = ShotRecord(data, s, prep.record.t0)
            return {k: predict_survey(m, mc, g, rec, prep.wavelet, device="cpu", frame=prep.frame)[0].values for k, (m, mc) in nets.items()}

        row = {"case": c.id, "family": c.family, "adapt_families": info["families"], "adapt_samples": info["samples"],
               "observed": {k: rmse(v, true) for k, v in predict(prep.record.data).items()},
               "twin": {k: rmse(v, true) for k, v in predict(forward_model(true, g, s, fwd)).items()}}
        water = info["water"]
        if water is not None:
            tw = true.copy()
            tw[g.z < water[1]] = water[0]
            row["twin_imposed_water"] = {k: rmse(v, tw) for k, v in predict(forward_model(tw, g, s, fwd)).items()}
        draws: dict = {}
        for fam in info["families"]:
            errs: dict = {"base": [], "adapted": []}
            for j in DRAWS:
                m = make_model(fam, info["seed"], j, g.nz, g.nx)
                if water is not None:
                    m[g.z < water[1]] = water[0]
                for k, v in predict(forward_model(m, g, s, fwd)).items():
                    errs[k].append(rmse(v, m))
            draws[fam] = {k: float(np.median(v)) for k, v in errs.items()}
            draws[fam]["adapted_worse_draws"] = int(sum(a > b for a, b in zip(errs["adapted"], errs["base"])))
        row["adaptation_draws"] = draws
        errs = {"base": [], "adapted": []}
        for j in range(8):
            m = make_model("marine", MARINE_SEED, j, g.nz, g.nx)
            for k, v in predict(forward_model(m, g, s, fwd)).items():
                errs[k].append(rmse(v, m))
        row["marine_draws"] = {k: float(np.median(v)) for k, v in errs.items()}
        row["marine_draws"]["adapted_worse_draws"] = int(sum(a > b for a, b in zip(errs["adapted"], errs["base"])))
        col = true[:, true.shape[1] // 2]
        row["seabed_m"] = {"picked": float(problem.water.seabed_depth) if problem.water else None,
                           "true_mid_column": float(np.argmax(col > col[0] + 30.0) * g.dz)}
        row["wall_time_s"] = time.time() - t0
        rows.append(row)
        print(c.id, {k: {m: round(x) for m, x in row[k].items()} for k in ("observed", "twin", "twin_imposed_water") if k in row}, row["seabed_m"], flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))


if __name__ == "__main__":
    main()
