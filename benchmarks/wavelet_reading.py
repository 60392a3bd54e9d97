"""How much does the DL start depend on the wavelet the data are read with? (dev suite only)

    python benchmarks/wavelet_reading.py --suite /tmp/dev8      # -> results/dev_wavelet_reading.json

Where the source is unknown (field data, free-surface data), ``invert`` estimates a least-squares
wavelet in the 1-D reference model, and the network frame shapes the data from that wavelet to the
network's Ricker before the network reads them (``NetworkFrame.to_network``). In a reference that is
kinematically wrong, the least-squares wavelet absorbs part of the traveltime error. This measures,
on every dev case whose problem estimates the wavelet, the RMSE (m/s) of the DL start
(``dl_start``: bounds and water layer, no adaptation) when the data are read with:

- ``reference``: the wavelet estimated in the 1-D reference (what ``invert`` does today);
- ``dl_k``: re-estimated in the previous DL start and the data read again, ``k`` = 1, 2 rounds;
- ``mean_0_1``: the slowness mean of the ``reference`` and ``dl_1`` starts;
- ``direct_wave``: estimated in the 1-D reference from the direct-wave window only (samples up to
  1.5 periods after the direct wave through the water, on traces with offsets up to twice the
  picked seabed depth or four wavelengths in water, whichever is larger): the part of the data the
  reference models right whatever lies below the seabed (a candidate, not in ``invert``);
- ``true_model``: estimated in the true model (an oracle, not available in practice: the wavelet
  that best explains the data, against which the others are measured).

Also per case: the shift (ms) and zero-lag correlation of the reference wavelet against the oracle.

With ``--hybrid`` it runs ``invert``'s hybrid (defaults, no adaptation) from today's preparation and from
the same preparation with the DL model read with the ``direct_wave`` wavelet (only the DL model
changes; the safeguard, the physics-guided steps and FWI estimate their own wavelets as always),
rows saved as each case finishes (``--out``, default ``results/dev_direct_wave_hybrid.json``):

    python benchmarks/wavelet_reading.py --suite /tmp/dev8 --hybrid \
        --cases marine-0,marine-1,basin-streamer-0,marine-streamer-1,marine-streamer-2,basin-streamer-1,marine-streamer-3,marine-streamer-0,basin-streamer-2
Nothing here changes a default. Validation seeds only (the script refuses any other suite).
Resumable: cases already in the results file are skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, load_rows, read_dev_suite, save_rows  # noqa: E402

from hybridfwi.dl.finetune import load_model  # noqa: E402
from hybridfwi.dl.predict import predict_survey  # noqa: E402
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare  # noqa: E402
from hybridfwi.hybrid.start import dl_start  # noqa: E402
from hybridfwi.inversion.fwi import estimate_wavelet_in  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402
from hybridfwi.workflow.runs import load_problem  # noqa: E402

VARIANTS = ("reference", "dl_1", "dl_2", "mean_0_1", "direct_wave", "true_model")


def direct_wave_wavelet(problem, prep) -> tuple[np.ndarray, int]:
    """The least-squares wavelet from the direct-wave window in the 1-D reference, and the number of
    traces the window keeps."""
    import torch

    from hybridfwi.inversion.fwi import forward_config
    from hybridfwi.inversion.wavelet_estimation import estimate_wavelet
    from hybridfwi.physics.forward import simulate

    s, g = prep.record.survey, problem.grid
    w0 = problem.record.survey.wavelet.array(s.nt, s.dt)
    with torch.no_grad():
        syn = simulate(torch.as_tensor(prep.reference, dtype=torch.float32), g, s, forward_config(prep.fcfg, torch.device("cpu")),
                       source_amplitudes=torch.as_tensor(w0)).numpy()
    vw = problem.water.velocity if problem.water else 1500.0
    seabed = problem.water.seabed_depth if problem.water else 0.0
    period = 1.0 / s.wavelet.peak_freq
    t = np.arange(s.nt) * s.dt
    off = np.abs(np.asarray(s.receiver_x, float) - np.asarray(s.source_x, float)[:, None])  # (shots, receivers)
    near = off <= max(2.0 * seabed, 4.0 * vw * period)
    mask = (t[None, :, None] <= off[:, None, :] / vw + 1.5 * period) & near[:, None, :]
    return estimate_wavelet(prep.record.data * mask, syn * mask, w0), int(near.sum())


def shift_ms(w: np.ndarray, ref: np.ndarray, dt: float) -> tuple[float, float]:
    """``(shift of w against ref in ms, zero-lag correlation)``; positive: ``w`` arrives later."""
    xc = np.correlate(w, ref, "full")
    lag = int(np.argmax(np.abs(xc))) - (ref.size - 1)
    corr = float(np.dot(w, ref) / (np.linalg.norm(w) * np.linalg.norm(ref) + 1e-30))
    return lag * dt * 1e3, corr


def summary(rows: list[dict]) -> dict:
    out = {"cases": len(rows)}
    if not rows:
        return out
    base = np.array([r["rmse"]["reference"] for r in rows])
    for v in VARIANTS:
        x = np.array([r["rmse"][v] for r in rows])
        out[v] = {"sum_rmse": float(x.sum()), "median_rmse": float(np.median(x)),
                  "lower_than_reference_wavelet": int((x < base).sum()) if v != "reference" else None}
    out["rmse_reference_model_sum"] = float(sum(r["rmse_reference_model"] for r in rows))
    return out


def prepared_cases(cases: list, done: set):
    """``(case, problem, preparation without adaptation, true model, time.time() before preparing)`` for
    each case not in ``done`` whose source is estimated."""
    for c in cases:
        if c.id in done:
            continue
        _, problem = load_problem(c.survey)
        if not problem.estimate_wavelet:
            continue
        t0 = time.time()
        yield c, problem, prepare(problem, HybridConfig(device="cpu", adapt="off"), Stages(1, None), progress=False), np.load(c.true), t0


def hybrid_rows(manifest: dict, cases: list, out: str) -> None:
    """The hybrid from the reference-read and the direct-wave-read DL model, per case (resumable)."""
    from hybridfwi.hybrid.pipeline import run_hybrid

    rows = load_rows(out)
    done = {r["case"] for r in rows}
    model, mcfg = load_model(None, device="cpu")

    def summary_h(rows: list[dict]) -> dict:
        if not rows:
            return {"cases": 0}
        a = np.array([r["reference"]["rmse_hybrid"] for r in rows])
        b = np.array([r["direct_wave"]["rmse_hybrid"] for r in rows])
        return {"cases": len(rows), "hybrid_lower_with_direct_wave": int((b < a).sum()),
                "sum_rmse_hybrid": {"reference": float(a.sum()), "direct_wave": float(b.sum())}}

    cfg = HybridConfig(device="cpu", adapt="off")
    for c, problem, prep, true, _ in prepared_cases(cases, done):
        w_direct, _ = direct_wave_wavelet(problem, prep)
        vm, _ = predict_survey(model, mcfg, problem.grid, prep.record, w_direct, device="cpu", frame=prep.frame)
        preps = {"reference": prep,
                 "direct_wave": dataclasses.replace(prep, dl_raw=vm.values, dl=dl_start(vm.values, problem.grid, problem.water, prep.fcfg))}
        row: dict = {"case": c.id, "family": c.family, "bands_hz": problem.bands, "rmse_reference_model": rmse(prep.reference, true)}
        for name, p in preps.items():
            t0 = time.time()
            res = run_hybrid(problem, cfg, true=true, log=None, progress=False, prepared=p)
            row[name] = {"rmse_dl": rmse(p.dl, true), "start": res.choice.name if res.choice else "dl",
                         "rmse_hybrid": rmse(res.fwi.model.values, true), "wall_time_s": time.time() - t0}
        rows.append(row)
        print(c.id, {k: {m: (round(x) if isinstance(x, float) else x) for m, x in row[k].items()} for k in preps}, flush=True)
        save_rows(out, manifest, rows, summary_h(rows))
    save_rows(out, manifest, rows, summary_h(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, help="a dev suite folder (benchmark make --suite dev)")
    ap.add_argument("--out", default=None, help="results file [results/dev_wavelet_reading.json, with --hybrid "
                                                    "results/dev_direct_wave_hybrid.json]")
    ap.add_argument("--hybrid", action="store_true", help="run the hybrid from both DL reads (minutes per case)")
    ap.add_argument("--cases", default=None, help="comma-separated case ids, in this order [all]")
    args = ap.parse_args()
    manifest, cases = read_dev_suite(args.suite, "wavelet_reading.py")
    if args.cases:
        by_id = {c.id: c for c in cases}
        unknown = [k for k in args.cases.split(",") if k not in by_id]
        if unknown:
            ap.error(f"--cases {', '.join(unknown)}: not in {args.suite}")
        cases = [by_id[k] for k in args.cases.split(",")]
    if args.hybrid:
        return hybrid_rows(manifest, cases, args.out or os.path.join(RESULTS, "dev_direct_wave_hybrid.json"))
    args.out = args.out or os.path.join(RESULTS, "dev_wavelet_reading.json")
    rows = load_rows(args.out)
    done = {r["case"] for r in rows}
    model, mcfg = load_model(None, device="cpu")
    for c, problem, prep, true, t0 in prepared_cases(cases, done):
        g = problem.grid

        def read(w: np.ndarray) -> np.ndarray:
            vm, _ = predict_survey(model, mcfg, g, prep.record, w, device="cpu", frame=prep.frame)
            return dl_start(vm.values, g, problem.water, prep.fcfg)

        starts = {"reference": prep.dl}
        w = prep.wavelet
        for k in (1, 2):
            w = estimate_wavelet_in(starts["reference" if k == 1 else f"dl_{k - 1}"], g, prep.record, prep.fcfg, wavelet=w)
            starts[f"dl_{k}"] = read(w)
        starts["mean_0_1"] = 2.0 / (1.0 / starts["reference"] + 1.0 / starts["dl_1"])
        w_direct, n_direct = direct_wave_wavelet(problem, prep)
        starts["direct_wave"] = read(w_direct)
        # the true model may be faster than the FWI's bound: model it under its own velocity limit
        fc_true = dataclasses.replace(prep.fcfg, vmax=max(prep.fcfg.vmax, float(true.max()) + 1.0))
        w_true = estimate_wavelet_in(true, g, prep.record, fc_true, wavelet=prep.wavelet)
        starts["true_model"] = read(w_true)
        s = prep.record.survey
        lag, corr = shift_ms(prep.wavelet, w_true, s.dt)
        rows.append({"case": c.id, "family": c.family, "rmse_reference_model": rmse(prep.reference, true),
                     "rmse": {k: rmse(v, true) for k, v in starts.items()},
                     "reference_wavelet_vs_true_model": {"shift_ms": lag, "zero_lag_correlation": corr},
                     "direct_wave_traces": n_direct,
                     "frame_coverage": [float(x) for x in prep.frame.coverage] if prep.frame.coverage else None,
                     "wall_time_s": time.time() - t0})
        print(c.id, {k: round(v) for k, v in rows[-1]["rmse"].items()}, f"shift {lag:+.0f} ms", flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))


if __name__ == "__main__":
    main()
