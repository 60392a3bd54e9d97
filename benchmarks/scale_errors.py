"""Which scales of the model each method gets right: the committed benchmark models split into long and short wavelengths.

    python benchmarks/scale_errors.py --suites /tmp/suite_marmousi /tmp/suite_ood ...
    # writes results/scale_errors.json and prints a table

The model RMSE the benchmark reports mixes two things FWI treats differently: the long wavelengths
(the kinematics, which decide cycle skipping) and the short ones (reflectivity, which FWI adds
where the data ask for it, and which a slightly misplaced interface turns into RMSE). For every
case of each suite given (the folders ``hybridfwi benchmark make`` wrote: the true models are read
from there, never committed) and every method model committed under
``benchmarks/results/benchmark_<suite>/cases/<case>/models/``, this splits model and truth with
one Gaussian filter of standard deviation ``sigma = lambda / 4``, where ``lambda`` is the true
model's mean velocity over the top FWI band's high cut (the band the case's records name; its
half-width at half-maximum is about 0.29 lambda, near FWI's lambda / 2 resolution), and reports

- ``long``: RMSE between the filtered model and the filtered truth (m/s);
- ``short``: RMSE between the residuals (model minus its filtered self, truth likewise);
- ``total``: the benchmark's RMSE (``long**2 + short**2`` up to their cross term).

Nothing is run: the models are the committed ones, made on the machine each record names.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

import numpy as np
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS  # noqa: E402

from hybridfwi.bench.suites import read_suite  # noqa: E402
from hybridfwi.errors import InputError  # noqa: E402
from hybridfwi.io.atomic import atomic_write_text  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402

METHODS = ("dl", "hybrid", "fwi_gradient", "fwi_smooth")


def split_rmse(model: np.ndarray, true: np.ndarray, sigma_cells: tuple[float, float]) -> dict:
    """``long``, ``short`` and ``total`` RMSE (m/s) of ``model`` against ``true`` (both ``(nz, nx)``
    m/s), split by a Gaussian filter of ``sigma_cells`` (z, x)."""
    m, t = np.asarray(model, np.float64), np.asarray(true, np.float64)
    ms, ts = gaussian_filter(m, sigma_cells, mode="nearest"), gaussian_filter(t, sigma_cells, mode="nearest")
    return {"long": rmse(ms, ts), "short": rmse(m - ms, t - ts), "total": rmse(m, t)}


def fail(msg: str) -> None:
    print(f"scale_errors.py: {msg}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", nargs="+", required=True, help="suite folders (benchmark make --out), for their true models")
    ap.add_argument("--out", default=os.path.join(RESULTS, "scale_errors.json"))
    args = ap.parse_args()
    table: dict = {}
    for folder in args.suites:
        try:
            manifest, suite_cases = read_suite(folder)
        except InputError as exc:
            fail(str(exc))
        name = manifest["suite"]
        truths = {c.id: c.true for c in suite_cases}
        runs = os.path.join(RESULTS, f"benchmark_{name}", "cases")
        if not os.path.isdir(runs):
            fail(f"no committed benchmark run for suite {name!r} ({runs}); make one with hybridfwi benchmark run")
        cases: dict = {}
        for cid in sorted(os.listdir(runs)):
            if cid not in truths:
                fail(f"case {cid} of {runs} is not in {folder}: give the folder the run was made from")
            rec_path = os.path.join(runs, cid, "results.json")
            if not os.path.isfile(rec_path):
                fail(f"{rec_path} is missing (an unfinished run?): finish it with hybridfwi benchmark run")
            with open(rec_path, encoding="utf-8") as fh:
                rec = json.load(fh)
            true = np.load(truths[cid])
            g = rec["grid"]
            top = rec["fwi_config"]["bands"][-1] or rec["problem"]["spectrum_hz"]["usable_high"]
            lam = float(true.mean()) / float(top)
            sigma = (lam / 4 / g["dz"], lam / 4 / g["dx"])
            row = {"top_band_hz": top, "wavelength_m": lam, "sigma_m": lam / 4}
            for m in METHODS:
                path = os.path.join(runs, cid, "models", f"{m}.npy")
                if os.path.exists(path):
                    v = np.load(path)
                    if v.shape != true.shape:
                        fail(f"{path} has shape {v.shape}, the true model {true.shape}: not the same grid")
                    row[m] = split_rmse(v, true, sigma)
            cases[cid] = row
        median = {m: {k: statistics.median(c[m][k] for c in cases.values() if m in c) for k in ("long", "short", "total")}
                  for m in METHODS if any(m in c for c in cases.values())}
        with open(os.path.join(RESULTS, f"benchmark_{name}", "results.json"), encoding="utf-8") as fh:
            made_on = json.load(fh).get("machine", {}).get("cpu")
        table[name] = {"models_made_on": made_on, "median": median, "cases": cases}
        print(f"\n{name}: RMSE long / short / total (m/s)")
        for cid, row in cases.items():
            cells = "  ".join(f"{m} {row[m]['long']:.0f}/{row[m]['short']:.0f}/{row[m]['total']:.0f}" for m in METHODS if m in row)
            print(f"  {cid:22s} lambda {row['wavelength_m']:.0f} m  {cells}")
    atomic_write_text(args.out, json.dumps({"what": "model RMSE split into long and short wavelengths (benchmarks/scale_errors.py); "
                                            "read from the committed benchmark models, nothing run", "suites": table}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
