"""Where the iterations pay: the model RMSE gained in each band of each FWI method, from the committed runs.

    python benchmarks/stage_gains.py            # prints the table, writes results/stage_gains.json

Reads the per-iteration curves (``curve``: iteration, band, model RMSE) that ``benchmark run``
records for ``hybrid`` and ``fwi_gradient`` in ``benchmarks/results/benchmark_<suite>/results.json``
and reports, per suite and band stage (1 = the lowest band), the RMSE at the stage's exit over its
RMSE at entry (below 1: the stage lowered the model error), the median over cases, with the
iterations the stage took. For the hybrid the first stage holds the physics-guided steps (their
kept result, or the start when the held-out check dropped it, enters the next stage). Nothing is
run: the figures are read from the records, made on the machine each record names.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS  # noqa: E402

SUITES = ("ood", "marmousi", "openfwi-a", "openfwi-b")
METHODS = ("hybrid", "fwi_gradient")


def stages(curve: list[dict], final_rmse: float) -> list[dict]:
    """Per band stage of one method's curve: ``band_hz``, ``iterations``, ``rmse_in``, ``rmse_out``
    (the next stage's first recorded RMSE, or ``final_rmse`` after the last)."""
    out: list[dict] = []
    for e in curve:
        if "rmse_ms" not in e:
            continue
        if not out or e.get("band_hz") != out[-1]["band_hz"]:
            if out:
                out[-1]["rmse_out"] = e["rmse_ms"]
            out.append({"band_hz": e.get("band_hz"), "iterations": 0, "rmse_in": e["rmse_ms"]})
        out[-1]["iterations"] += 1
    if out:
        out[-1]["rmse_out"] = final_rmse
        out[-1]["iterations"] -= 1  # the last entry is the end, not an iteration
    return out


def main() -> None:
    table: dict = {}
    for suite in SUITES:
        path = os.path.join(RESULTS, f"benchmark_{suite}", "results.json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            res = json.load(fh)
        table[suite] = {"machine": res.get("machine", {}).get("cpu"), "methods": {}}
        for method in METHODS:
            per_stage: dict = {}
            cases = {}
            for cid, case in res["cases"].items():
                rec = case["methods"].get(method)
                if not rec or not rec.get("curve"):
                    continue
                st = stages(rec["curve"], rec["rmse_ms"])
                cases[cid] = st
                for k, s in enumerate(st):
                    per_stage.setdefault(k + 1, []).append(s["rmse_out"] / s["rmse_in"])
            table[suite]["methods"][method] = {
                "median_exit_over_entry": {str(k): float(np.median(v)) for k, v in per_stage.items()},
                "cases": cases}
    out = os.path.join(RESULTS, "stage_gains.json")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(table, fh, indent=1)
    print("suite       method        RMSE exit / entry per band stage (median over cases)")
    for suite, t in table.items():
        for method, m in t["methods"].items():
            cols = "  ".join(f"stage {k}: {v:.2f}" for k, v in m["median_exit_over_entry"].items())
            print(f"{suite:11s} {method:13s} {cols}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
