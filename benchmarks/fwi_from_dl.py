"""Where does FWI from a good DL start stop, and why? The shared FWI alone from the DL model, under a
few FWI settings, with the model error after every iteration, on chosen dev cases.

A diagnostic, not a choice. On the OpenFWI-geometry dev cases FWI started from the true model stays
within 0.03-0.12x the DL model's MAE of the truth (``dev_floor4.json``): the noise and the modelling
mismatch do not pull it away from the truth. This records how far the same FWI gets from
the DL start (no safeguard, no physics-guided steps: the FWI stage by itself) with today's settings,
with Adam in place of L-BFGS, with a depth preconditioner, and with four times the iterations, and
the RMSE path through the bands; beside each end, its data misfit in every band (and the DL model's
and the true model's: does the end explain the data as well as the truth?) and its MAE in seven
depth slabs. Each variant changes the FWI every method shares, so a default
taken from it would apply to ``fwi_gradient`` too. Dev suite only (validation seeds).

    python benchmarks/fwi_from_dl.py --suite /tmp/dev5 --cases flatvel-a-0,curvevel-a-0,curvefault-a-0,style-a-0

Writes ``benchmarks/results/fwi_from_dl_dev.json`` (finished cases are kept: a killed run resumes).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import band_misfits, dev_case_run, save_rows  # noqa: E402

from hybridfwi.core import VelocityModel  # noqa: E402
from hybridfwi.dl.checkpoint import weights_digest  # noqa: E402
from hybridfwi.inversion.config import FWIConfig  # noqa: E402
from hybridfwi.inversion.fwi import FWI  # noqa: E402
from hybridfwi.metrics import mae, rmse  # noqa: E402

#: FWI settings tried on top of the problem's own (JSON objects of FWIConfig fields).
VARIANTS = ("{}", '{"optimizer": "adam", "lr": 10.0}', '{"depth_power": 1.0}', '{"iterations": 60}')


def misfits(v: np.ndarray, problem, prep) -> dict:
    """Data misfit (the FWI's own) of model ``v`` in each FWI band: ``{band: misfit}``."""
    return dict(zip(map(str, prep.fcfg.stages), band_misfits(v, problem, prep.fcfg)))


def mae_by_depth(v: np.ndarray, true: np.ndarray, slabs: int = 7) -> list[float]:
    """MAE (m/s) of ``v`` in ``slabs`` equal depth slabs, top first."""
    return [float(np.abs(a - b).mean()) for a, b in zip(np.array_split(v, slabs), np.array_split(true, slabs))]


def summary(rows: list[dict]) -> dict:
    """Per variant: median over cases of the final MAE as a fraction of the DL model's, and of the wall time."""
    out = {}
    for var in VARIANTS:
        got = [r for r in rows if var in r["variants"]]
        if got:
            out[var] = {"cases": len(got),
                        "median_mae_ratio_to_dl": float(np.median([r["variants"][var]["mae"] / r["mae_dl"] for r in got])),
                        "median_wall_time_s": float(np.median([r["variants"][var]["wall_time_s"] for r in got]))}
    return out


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "fwi_from_dl.py", "fwi_from_dl_dev.json")
    for c, true, problem, hc, prep in todo:
        row = {"case": c.id, "family": c.family, "bands_hz": list(prep.fcfg.stages), "rmse_dl": rmse(prep.dl, true),
               "mae_dl": mae(prep.dl, true), "mae_by_depth_dl": mae_by_depth(prep.dl, true),
               "data_misfit_dl": misfits(prep.dl, problem, prep), "data_misfit_true": misfits(true, problem, prep),
               "weights_sha256": weights_digest(None), "variants": {}}
        for var in VARIANTS:
            cfg = FWIConfig(**{**prep.fcfg.to_dict(), **json.loads(var)}).validate(problem.record.survey.dt)
            t = time.time()
            res = FWI(prep.record, VelocityModel(prep.dl, problem.grid), cfg, true=true, wavelet=prep.wavelet).run(progress=False)
            curve = res.curve()
            row["variants"][var] = {"mae": mae(res.model.values, true), "rmse": rmse(res.model.values, true),
                                    "wall_time_s": time.time() - t, "mae_by_depth": mae_by_depth(res.model.values, true),
                                    "data_misfit": misfits(res.model.values, problem, prep),
                                    "rmse_path": [round(p["rmse_ms"], 1) for p in curve],
                                    "band_path": [p["band_hz"] for p in curve]}
            print(json.dumps({"case": c.id, "variant": var, "mae_dl": row["mae_dl"], "mae": row["variants"][var]["mae"],
                              "wall_time_s": row["variants"][var]["wall_time_s"]}), flush=True)
        rows.append(row)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))  # the summary, also when every case was already there


if __name__ == "__main__":
    main()
