"""Does averaging the network's prediction with its prediction from the mirrored data (test-time
flip, ``HybridConfig.dl_flip``) give a better DL start? DL model error with and without it on the
dev suite's cases (validation seeds: no benchmark, example or Marmousi model), each read exactly as
``invert`` reads it (frame, adaptation, water imposed), the flip forced on every case; ``flip_applies``
says whether ``invert`` would use it (the frame's live traces mirror-symmetric). Network passes only.

    python benchmarks/dl_flip.py --suite /tmp/dev5 --out benchmarks/results/dl_flip_dev.json

Finished cases are kept (a killed run resumes). With ``--dataset`` instead, the network's own frame
(OpenFWI geometry, no frame reading, every family the network knows and the held-out ones): OpenFWI
metrics per family (``hybridfwi evaluate``) with and without the flip, on a validation-seed dataset:

    hybridfwi generate --family flatvel-a --family curvevel-a --family flatfault-a --family curvefault-a \
        --family style-a --family flatvel-b --family curvevel-b --family flatfault-b --family curvefault-b \
        --family style-b --family basin-land --family basin-marine --family marine --family salt --family gas \
        --family gradient --count 40 --seed 12345 --out /tmp/valflip --device cpu
    python benchmarks/dl_flip.py --dataset /tmp/valflip --out benchmarks/results/dl_flip_val.json

After the end-to-end run (``dev_choices.py ... --out benchmarks/results/dev_dl_flip.json --variants '{}'
'{"dl_flip": true}'``), ``--end-to-end`` adds to ``dl_flip_dev.json``'s summary the hybrid's end with
and without the flip on the cases where it applies, and how much the DL RMSE and the end moved:

    python benchmarks/dl_flip.py --end-to-end benchmarks/results/dev_dl_flip.json --out benchmarks/results/dl_flip_dev.json
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, median, save_rows  # noqa: E402

from hybridfwi.dl.checkpoint import weights_digest  # noqa: E402
from hybridfwi.dl.finetune import load_model  # noqa: E402
from hybridfwi.dl.predict import flip_applies, predict_survey  # noqa: E402
from hybridfwi.hybrid.pipeline import dl_start  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402


def summary(rows: list[dict]) -> dict:
    if not rows:
        return {}
    def part(rs: list[dict]) -> dict:
        return {"cases": len(rs), "median_rmse_ratio_flip_to_direct": median([r["rmse_flip"] / r["rmse_direct"] for r in rs]),
                "flip_lower": sum(r["rmse_flip"] < r["rmse_direct"] for r in rs),
                "sum_rmse_direct": float(sum(r["rmse_direct"] for r in rs)), "sum_rmse_flip": float(sum(r["rmse_flip"] for r in rs)),
                "median_mae_ratio_flip_to_direct": median([r["mae_flip"] / r["mae_direct"] for r in rs])}

    out = {"all": part(rows)}
    for name, keep in (("flip_applies", True), ("one_sided", False)):
        rs = [r for r in rows if r["flip_applies"] == keep]
        if rs:
            out[name] = part(rs)
    return out


def on_dataset(folder: str, out: str) -> None:
    """``evaluate`` with and without the flip on ``folder`` -> ``out``: per family both MAEs and their ratio."""
    from _common import machine

    from hybridfwi.dl.predict import EvalConfig, evaluate

    res = {flip: evaluate(EvalConfig(model=None, data=[folder], device="cpu", flip=flip)) for flip in (False, True)}
    fams = {f: {"samples": m["samples"], "mae_direct": m["mae"], "mae_flip": res[True]["families"][f]["mae"],
                "mae_ratio": res[True]["families"][f]["mae"] / m["mae"], "ssim_direct": m["ssim"],
                "ssim_flip": res[True]["families"][f]["ssim"]} for f, m in res[False]["families"].items()}
    summary = {"families": len(fams), "flip_lower": sum(v["mae_ratio"] < 1 for v in fams.values()),
               "overall_mae_direct": res[False]["overall"]["mae"], "overall_mae_flip": res[True]["overall"]["mae"],
               "overall_mae_ratio": res[True]["overall"]["mae"] / res[False]["overall"]["mae"]}
    with open(os.path.join(folder, "manifest.json")) as f:
        seed = json.load(f).get("seed")
    doc = {"benchmark": "dl_flip_val", "machine": machine(), "data": folder, "seed": seed, "weights_sha256": weights_digest(None),
           "metric": "MAE on velocity normalised to [-1, 1] by 1500-4500 m/s (OpenFWI)", "families": fams, "summary": summary}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(summary))


def end_to_end(path: str, out: str) -> None:
    """Hybrid RMSE with (``{"dl_flip": true}``) and without (``{}``) the flip from ``path``, on the cases
    of ``out`` where the flip applies, written into ``out``'s summary as ``end_to_end``."""
    with open(out) as f:
        doc = json.load(f)
    applies = {r["case"] for r in doc["rows"] if r["flip_applies"]}
    with open(path) as f:
        runs = json.load(f)["rows"]
    by: dict = {}
    for r in runs:
        by.setdefault(r["case"], {})[r["variant"]] = r
    a, b = "{}", '{"dl_flip": true}'
    cases = sorted(c for c, v in by.items() if c in applies and a in v and b in v)
    ratio = [by[c][b]["rmse_hybrid"] / by[c][a]["rmse_hybrid"] for c in cases]
    doc["summary"]["end_to_end"] = {
        "file": os.path.basename(path), "cases": len(cases),
        "sum_rmse_hybrid_direct": float(sum(by[c][a]["rmse_hybrid"] for c in cases)),
        "sum_rmse_hybrid_flip": float(sum(by[c][b]["rmse_hybrid"] for c in cases)),
        "median_rmse_ratio_flip_to_direct": median(ratio), "flip_lower": sum(x < 0.99 for x in ratio),
        "flip_higher": sum(x > 1.01 for x in ratio),
        "median_abs_change_dl": median([abs(by[c][b]["rmse_dl"] / by[c][a]["rmse_dl"] - 1) for c in cases]),
        "median_abs_change_end": median([abs(x - 1) for x in ratio]),
        "starts_changed": {c: [by[c][a]["start"], by[c][b]["start"]] for c in cases if by[c][a]["start"] != by[c][b]["start"]}}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(doc["summary"]["end_to_end"]))


def main() -> None:
    if "--end-to-end" in sys.argv:
        import argparse

        ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        ap.add_argument("--end-to-end", dest="path", required=True)
        ap.add_argument("--out", default="benchmarks/results/dl_flip_dev.json")
        a = ap.parse_args()
        return end_to_end(a.path, a.out)
    if "--dataset" in sys.argv:
        import argparse

        ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        ap.add_argument("--dataset", required=True)
        ap.add_argument("--out", default="benchmarks/results/dl_flip_val.json")
        a = ap.parse_args()
        return on_dataset(a.dataset, a.out)
    args, manifest, rows, todo = dev_case_run(__doc__, "dl_flip.py", "dl_flip_dev.json")
    for c, true, problem, hc, prep in todo:
        t = time.time()
        model, mcfg = load_model(prep.model_spec, device="cpu")
        out = {}
        for name, flip in (("direct", False), ("flip", True)):
            vm, _ = predict_survey(model, mcfg, problem.grid, prep.record, prep.wavelet, device="cpu", frame=prep.frame, flip=flip)
            v = dl_start(vm.values, problem.grid, problem.water, prep.fcfg)
            out[f"rmse_{name}"] = rmse(v, true)
            out[f"mae_{name}"] = float(np.mean(np.abs(v - true)))
        applies = flip_applies(mcfg, prep.frame.to_network(prep.record, prep.wavelet))
        rows.append({"case": c.id, "family": c.family, **out, "flip_applies": applies, "rmse_reference": rmse(prep.reference, true),
                     "weights_sha256": weights_digest(None), "wall_time_s": time.time() - t})
        print(json.dumps(rows[-1]), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))


if __name__ == "__main__":
    main()
