"""Was a change in a rerun benchmark case the new default or the machine? A same-machine control.

When a default that changes the problem (e.g. ``ProblemConfig.top_stage``) is adopted, the suites
are rerun with it, often on another machine than the committed records'. The hybrid amplifies the
last-bit differences between CPUs (the network's prediction alone differs by up to 0.2 % between
an AMD EPYC and an Intel Xeon), so a case's change mixes the two. This reruns the hybrid of the
given cases of a committed benchmark suite on this machine with the *old* setting, given as a
ProblemConfig JSON object (``--old``), and records, per FWI stage, its RMSE beside the committed
run's (made with today's defaults, on the machine its record names), the stages as
``stage_gains.py`` splits a curve::

    python benchmarks/machine_control.py --suite /tmp/suite_ood --cases gas-0,gradient-0,salt-0 \\
        --old '{"top_stage": 1.5}' --out benchmarks/results/machine_control_top_stage_ood.json
    for s in openfwi-a openfwi-b; do python benchmarks/machine_control.py --suite /tmp/suite_$s \\
        --cases $(ls /tmp/suite_$s/cases | paste -sd,) --old '{"top_stage": 1.5}' \\
        --out benchmarks/results/machine_control_top_stage_$s.json; done

A diagnostic, not a choice: nothing is tuned here (the default was chosen on the dev suite), and
the hybrid is run exactly as ``benchmark run`` runs it apart from ``--old``. Finished cases are kept
in ``--out`` (a killed run resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402
from stage_gains import stages  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", required=True, help="a benchmark suite folder with a committed run (benchmark make)")
    ap.add_argument("--cases", required=True, help="comma-separated case ids")
    ap.add_argument("--old", required=True, help="the old ProblemConfig setting(s), a JSON object")
    ap.add_argument("--out", required=True, help="results file (JSON)")
    args = ap.parse_args()

    import torch

    from hybridfwi.bench.suites import read_suite
    from hybridfwi.errors import InputError
    from hybridfwi.hybrid.pipeline import HybridConfig
    from hybridfwi.inversion.problem import ProblemConfig
    from hybridfwi.io.atomic import atomic_write_text
    from hybridfwi.workflow.compare_run import CompareRun, run_compare

    try:
        old = json.loads(args.old)
        if not isinstance(old, dict):
            raise ValueError
        problem = ProblemConfig(**old).validate()
    except (ValueError, TypeError, InputError) as e:
        why = f" ({e})" if str(e) else ""
        ap.error(f"--old: not a JSON object of ProblemConfig fields{why}; e.g. '{{\"top_stage\": 1.5}}'")
    try:
        manifest, cases = read_suite(args.suite)
    except InputError as e:
        ap.error(str(e))
    committed_path = os.path.join(RESULTS, f"benchmark_{manifest['suite']}", "results.json")
    if not os.path.exists(committed_path):
        ap.error(f"{committed_path}: no committed run of suite {manifest['suite']}; run benchmark run first")
    with open(committed_path, encoding="utf-8") as fh:
        committed = json.load(fh)
    wanted = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(wanted) - {c.id for c in cases})
    if unknown:
        ap.error(f"--cases {', '.join(unknown)}: not in suite {manifest['suite']}")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    rec = {"suite": manifest["suite"], "old": old, "machine": machine(), "committed": committed_path,
           "committed_machine": committed.get("machine", {}).get("cpu"), "cases": {}}
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as fh:
            prev = json.load(fh)
        if prev.get("old") == old and prev.get("suite") == rec["suite"]:
            rec["cases"] = prev.get("cases", {})
    for case in (c for c in cases if c.id in wanted):
        if case.id in rec["cases"]:
            continue
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            res = run_compare(CompareRun(survey=case.survey, out=os.path.join(tmp, "run"), hybrid=HybridConfig(device="cpu"),
                                         methods=("hybrid",), true=case.true, problem=problem, progress=False))
        hyb = res["methods"]["hybrid"]
        now = committed["cases"][case.id]["methods"]["hybrid"]
        rec["cases"][case.id] = {
            "old_setting_this_machine": {"rmse_ms": hyb["rmse_ms"], "mae_ms": hyb["mae_ms"], "stages": stages(hyb["curve"], hyb["rmse_ms"]),
                                         "curve": hyb["curve"]},
            "default_committed": {"rmse_ms": now["rmse_ms"], "mae_ms": now["mae_ms"], "stages": stages(now["curve"], now["rmse_ms"])},
            "wall_time_s": time.perf_counter() - t0}
        atomic_write_text(args.out, json.dumps(rec, indent=2) + "\n")
        print(f"{case.id}: hybrid RMSE {hyb['rmse_ms']:.1f} m/s with {old} here, {now['rmse_ms']:.1f} committed -> {args.out}")


if __name__ == "__main__":
    main()
