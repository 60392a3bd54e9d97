"""Where does the modelling mismatch between the observed data and the inversion's modelling sit?

The benchmark and dev suites model their observed data on a grid twice as fine at accuracy 8; the
inversion models on the case grid at accuracy 4. For each dev case this models the *true* model
both ways (no noise, the problem's acquisition and wavelet), low-passes both at the top FWI band,
and reports, by source-receiver offset in grid cells, the relative difference and the share of the
whole mismatch energy. A receiver on its source (offset under one cell) records the source's near
field, which depends on the grid: that is what ``FWIConfig.min_offset_m`` leaves out of the misfit.
Also the whole record's relative difference before and after one least-squares wavelet filter
(what the inversion's wavelet estimation absorbs, where it runs). Dev suite only (validation seeds).

    hybridfwi benchmark make --suite dev --out /tmp/dev3 --cases 2
    python benchmarks/offset_mismatch.py --suite /tmp/dev3

Writes ``benchmarks/results/offset_mismatch_dev.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, read_dev_suite, save_rows  # noqa: E402

from hybridfwi.bench.suites import MODELLING  # noqa: E402
from hybridfwi.physics import ForwardConfig, forward_model  # noqa: E402
from hybridfwi.physics.filters import Band, apply_band, band_response  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402

#: offset classes, in grid cells: [k, k + 1) for k below the last, then everything beyond
CLASSES = 6


def case_row(case, problem, true: np.ndarray) -> dict:
    s, g = problem.record.survey, problem.grid
    vmax = max(4500.0, float(np.ceil(true.max())))
    fine = forward_model(true, g, s, ForwardConfig(refine=MODELLING["refine"], accuracy=MODELLING["accuracy"], max_vel=vmax))
    coarse = forward_model(true, g, s, ForwardConfig(accuracy=MODELLING["inversion_accuracy"], max_vel=vmax))
    resp = band_response(Band(high=problem.bands[-1]), s.nt, s.dt)
    fine, coarse = apply_band(fine, resp, axis=1), apply_band(coarse, resp, axis=1)
    diff = ((fine - coarse) ** 2).sum(axis=1)  # (shots, receivers)
    energy = (coarse ** 2).sum(axis=1)
    offset = np.hypot(s.receiver_x - s.source_x[:, None], s.receiver_z - s.source_z[:, None]) / max(g.dx, g.dz)
    live = s.receiver_mask
    classes = []
    for k in range(CLASSES):
        sel = live & (offset >= k) & ((offset < k + 1) if k < CLASSES - 1 else True)
        if not sel.any():
            continue
        classes.append({"offset_cells": f"{k}-{k + 1}" if k < CLASSES - 1 else f">={k}", "traces": int(sel.sum()),
                        "relative_difference": float(np.sqrt(diff[sel].sum() / energy[sel].sum())),
                        "share_of_mismatch": float(diff[sel].sum() / diff[live].sum()),
                        "share_of_energy": float(energy[sel].sum() / energy[live].sum())})
    # what a least-squares wavelet filter (the inversion's wavelet estimation, on when the source is
    # unknown or the top is a free surface) absorbs: one filter for the whole record
    n = 2 * s.nt
    dfine, dcoarse = np.fft.rfft(fine, n=n, axis=1), np.fft.rfft(coarse, n=n, axis=1)
    filt = (np.conj(dcoarse) * dfine).sum(axis=(0, 2)) / ((np.abs(dcoarse) ** 2).sum(axis=(0, 2)) + 1e-30)
    matched = np.fft.irfft(dcoarse * filt[None, :, None], n=n, axis=1)[:, :s.nt]
    return {"case": case.id, "family": case.family, "cell_m": max(g.dx, g.dz), "band_hz": problem.bands[-1],
            "traces": int(live.sum()), "free_surface": bool(s.free_surface), "wavelet_estimated": bool(problem.estimate_wavelet),
            "relative_difference": float(np.linalg.norm(fine - coarse) / np.linalg.norm(coarse)),
            "relative_difference_after_wavelet_filter": float(np.linalg.norm(fine - matched) / np.linalg.norm(coarse)),
            "classes": classes}


def summary(rows: list[dict]) -> dict:
    near = [r["classes"][0] for r in rows if r["classes"] and r["classes"][0]["offset_cells"] == "0-1"]
    return {"cases_with_traces_on_the_source": len(near),
            "median_share_of_mismatch_on_the_source": float(np.median([c["share_of_mismatch"] for c in near])) if near else None,
            "median_relative_difference_on_the_source": float(np.median([c["relative_difference"] for c in near])) if near else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--out", default=os.path.join(RESULTS, "offset_mismatch_dev.json"))
    args = ap.parse_args()
    manifest, cases = read_dev_suite(args.suite, "offset_mismatch.py")
    rows = []
    for c in cases:
        _, problem = load_problem(c.survey, None, None)
        rows.append(case_row(c, problem, np.load(c.true)))
        first = rows[-1]["classes"][0]
        print(json.dumps({"case": c.id, "nearest": first}), flush=True)
    save_rows(args.out, manifest, rows, summary(rows))
    print(json.dumps(summary(rows)))


if __name__ == "__main__":
    main()
