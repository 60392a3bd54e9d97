"""Which committed runs a change of the water picker touches: today's pick beside the recorded one.

For every case of the four benchmark suites (made with ``hybridfwi benchmark make``; give their
folders), the shipped example and the Viking shots, builds the problem as ``benchmark run`` and
``invert`` do and compares its water layer (seabed depth, water velocity) with the one recorded in
the committed results (``benchmark_<suite>/cases/<id>/results.json``, ``invert_example.json``,
``invert_viking.json``). A case whose pick is unchanged runs exactly as recorded: the picker feeds
the rest of the run only through the water layer. Nothing is inverted and nothing is chosen here;
the suites are only read. ``--dev`` adds dev suites' cases (validation seeds), which have no
recorded run: there the pick is compared with the picker's as it was before its moveout check, its
reach for shallow seabeds and its test of the first arrivals (``pick_water(check_moveout=False,
reach_shallow=False, check_top=False)``), to tell which dev-suite diagnostics they would touch.
Writes ``benchmarks/results/suite_picks.json``.

    for s in marmousi ood openfwi-a openfwi-b; do hybridfwi benchmark make --suite $s --out /tmp/suite_$s --cases 1; done
    hybridfwi benchmark make --suite dev --out /tmp/dev41 --cases 3
    hybridfwi benchmark make --suite dev --out /tmp/dev8 --cases 2
    python benchmarks/suite_picks.py --suites /tmp/suite_marmousi /tmp/suite_ood /tmp/suite_openfwi-a /tmp/suite_openfwi-b \
        --dev /tmp/dev41 /tmp/dev8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine, read_dev_suite  # noqa: E402

import hybridfwi.inversion.problem as problem_module  # noqa: E402
from hybridfwi.bench.suites import read_suite  # noqa: E402
from hybridfwi.errors import InputError  # noqa: E402
from hybridfwi.inversion.marine import pick_water  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIKING = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real", "viking_small.segy"))


def _today(path: str) -> dict:
    _, p = load_problem(path)
    w = p.water
    return {"seabed_m": None if w is None else w.seabed_depth, "water_ms": None if w is None else w.velocity,
            "method": None if w is None else w.method, "note": p.info.get("water")}


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)


def _benchmark_suite(folder: str) -> tuple[str, list]:
    """(suite name, cases) of a benchmark suite whose committed run records every case's results; exits
    (code 2) with a one-line message otherwise."""
    try:
        manifest, cases = read_suite(folder)
    except InputError as e:
        print(f"suite_picks.py: {e}", file=sys.stderr)
        sys.exit(2)
    name = manifest["suite"]
    missing = [c.id for c in cases if not os.path.exists(os.path.join(RESULTS, f"benchmark_{name}", "cases", c.id, "results.json"))]
    if missing:
        print(f"suite_picks.py: --suites {folder!r}: no committed run of suite {name!r} records case {missing[0]}; give the "
              "suites of benchmarks/results/benchmark_* (a dev suite goes to --dev)", file=sys.stderr)
        sys.exit(2)
    return name, cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", nargs="+", required=True, help="suite folders made by `hybridfwi benchmark make`")
    ap.add_argument("--dev", nargs="*", default=[], help="dev suites (validation seeds): picks today and without the moveout check, shallow reach and first-arrival test")
    ap.add_argument("--out", default=os.path.join(RESULTS, "suite_picks.json"))
    a = ap.parse_args()
    suites = [_benchmark_suite(folder) for folder in a.suites]  # every input checked before anything runs
    dev = [read_dev_suite(folder, "suite_picks.py") for folder in a.dev]
    rows, t0 = [], time.perf_counter()
    for name, cases in suites:
        for c in cases:
            with open(os.path.join(RESULTS, f"benchmark_{name}", "cases", c.id, "results.json"), encoding="utf-8") as fh:
                w = json.load(fh)["problem"].get("water")
            rec = w if isinstance(w, dict) else {}
            rows.append({"run": f"{name}/{c.id}", "recorded_seabed_m": rec.get("seabed_depth"),
                         "recorded_water_ms": rec.get("velocity"), **_today(c.survey)})
            print(json.dumps(rows[-1]), flush=True)
    for run, path, fname in (("example", os.path.join(ROOT, "examples", "marine_small", "survey.segy"), "invert_example.json"),
                             ("viking", VIKING, "invert_viking.json")):
        if not os.path.exists(path):
            continue
        with open(os.path.join(RESULTS, fname), encoding="utf-8") as fh:
            w = json.load(fh)["report"]["water"]
        rows.append({"run": run, "recorded_seabed_m": w.get("seabed_depth_picked_m"), "recorded_water_ms": w.get("velocity_ms"),
                     **_today(path)})
        print(json.dumps(rows[-1]), flush=True)
    for r in rows:
        r["changed"] = not (_same(r["recorded_seabed_m"], r["seabed_m"]) and _same(r["recorded_water_ms"], r["water_ms"]))
    dev_rows = []
    for manifest, cases in dev:
        for c in cases:
            today = _today(c.survey)
            problem_module.pick_water = lambda *args, **kw: pick_water(*args, **kw, check_moveout=False,
                                                                       reach_shallow=False, check_top=False)
            try:
                before = _today(c.survey)
            finally:
                problem_module.pick_water = pick_water
            dev_rows.append({"suite": f"dev --cases {manifest['cases_per_family']}", "case": c.id, "seabed_m": today["seabed_m"], "method": today["method"],
                             "seabed_m_before": before["seabed_m"], "changed": not _same(today["seabed_m"], before["seabed_m"])})
            print(json.dumps(dev_rows[-1]), flush=True)
    out = {"machine": machine(), "wall_time_s": time.perf_counter() - t0, "rows": rows,
           "changed": [r["run"] for r in rows if r["changed"]]}
    if a.dev:
        out.update(dev_rows=dev_rows, dev_changed=[f"{r['suite']}: {r['case']}" for r in dev_rows if r["changed"]])
    with open(a.out + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print("changed:", out["changed"], "dev:", out.get("dev_changed"))


if __name__ == "__main__":
    main()
