"""Where in depth do the physics-guided steps lower or raise the model error? (dev suite only)

    python benchmarks/pga_depth.py --suite /tmp/dev5      # -> results/dev_pga_depth.json

On some dev cases the physics-guided steps fit the data far better in every misfit and band and
still raise the model RMSE (basin-streamer-0: l2 misfit in the fitted band 0.47 -> 0.28, envelope
in the next 0.27 -> 0.14, RMSE 265 -> 413 m/s; ``pga_holdout_dev27_n4.json``). If the error they add
lies where the data see little, the data cannot tell, and a check on the data cannot catch it.
This runs the steps exactly as ``invert`` runs them (seed 0, held-out check off) on every dev case
whose safeguard start is not the 1-D reference, and records the RMSE (m/s) of the start and of the
adapted model in ``SLABS`` equal depth slabs below the seabed (or the surface), and in the part of
the model the first band's data see and the part they hardly see, split by the start's
illumination: the squared first-band misfit gradient at the start, smoothed over a wavelength
(``illumination``), above or below ``SEEN`` of its largest value.

It also tries a candidate hand-on: the adapted model down to a cut depth and the start below it
(mixed in slowness over a cosine taper one wavelength of the first band long), for a cut at each
interior slab edge, beside the start (cut at the seabed) and the adapted model (no cut). Each is
scored as the held-out check scores (envelope misfit in the next FWI band, each model with its
own least-squares wavelet where the source is estimated); recorded: each one's RMSE and score,
the lowest-scoring one (``cut_pick``) and what the held-out check hands on today. Nothing here
changes a default.

Validation seeds only; finished cases are kept (a killed run resumes).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import dev_case_run, save_rows  # noqa: E402

from hybridfwi.hybrid.pga import physics_adapt  # noqa: E402
from hybridfwi.hybrid.pipeline import safeguard_start  # noqa: E402
from hybridfwi.metrics import rmse  # noqa: E402

#: Depth slabs below the seabed; the share of the largest smoothed illumination that counts as seen.
SLABS = 5
SEEN = 0.05


def wavelength(v: np.ndarray, prep) -> float:
    """One wavelength (m) of the first FWI band's top frequency (2.5 x the peak for a full band) in
    ``v``'s mean velocity."""
    band = next((b for b in prep.fcfg.stages if b is not None), None)
    return float(np.mean(v)) / (band or prep.record.survey.wavelet.peak_freq * 2.5)


def illumination(v: np.ndarray, problem, prep, wavelet: np.ndarray) -> np.ndarray:
    """The squared gradient of the first band's misfit at ``v`` ``(nz, nx)``, Gaussian-smoothed over
    one wavelength of the band's top frequency in ``v``'s mean velocity, normalised to a largest
    value of 1 (0 in the water, which every model shares)."""
    import torch
    from scipy.ndimage import gaussian_filter

    from hybridfwi.inversion.fwi import _deepwave_options, forward_config, trace_mask
    from hybridfwi.physics.filters import Band, apply_band, band_response
    from hybridfwi.physics.forward import simulate
    from hybridfwi.physics.misfits import misfit, misfit_scale

    fcfg, g, s = prep.fcfg, problem.grid, prep.record.survey
    band = next((b for b in fcfg.stages if b is not None), None)
    resp = band_response(Band(high=band, low=fcfg.low_cut), s.nt, s.dt)
    obs = torch.as_tensor(apply_band(prep.record.data, resp, axis=1))
    mask = trace_mask(s, g, fcfg, "cpu")
    vt = torch.as_tensor(np.asarray(v, np.float32)).requires_grad_(True)
    d = simulate(vt, g, s, forward_config(fcfg, torch.device("cpu")), source_amplitudes=torch.as_tensor(wavelet),
                 **_deepwave_options(fcfg))
    misfit(fcfg.misfit, apply_band(d, resp), obs, misfit_scale(fcfg.misfit, obs, mask), mask).backward()
    grad2 = vt.grad.numpy().astype(np.float64) ** 2
    lam = wavelength(v, prep)
    out = gaussian_filter(grad2, sigma=(lam / g.dz, lam / g.dx), mode="nearest")
    if problem.water is not None and problem.water.seabed_depth is not None:
        out[g.z < problem.water.seabed_depth] = 0.0
    return out / max(float(out.max()), 1e-300)


def cut_models(start: np.ndarray, adapted: np.ndarray, z: np.ndarray, top: float, lam: float) -> dict:
    """``{label: model}``: ``start``, the adapted model down to each interior slab edge (a cosine
    taper ``lam`` metres long centred on it, slowness mixed), and ``adapted``."""
    edges = np.linspace(top, z[-1] + 1e-6, SLABS + 1)[1:-1]
    out = {"start": np.asarray(start, np.float32)}
    for e in edges:
        w = np.clip(0.5 - (z - e) / lam, 0.0, 1.0)
        w = 0.5 - 0.5 * np.cos(np.pi * w)  # 1 above e - lam/2, 0 below e + lam/2
        out[f"cut {e:.0f} m"] = (1.0 / (w[:, None] / adapted + (1.0 - w[:, None]) / start)).astype(np.float32)
    out["adapted"] = np.asarray(adapted, np.float32)
    return out


def held_out_scores(models: dict, problem, prep) -> tuple[float | None, dict]:
    """The held-out check's band (the FWI band after the first; the only one when there is one) and
    each model's score there (``SCORE_MISFIT``, own wavelet where the source is estimated)."""
    from hybridfwi.core import VelocityModel
    from hybridfwi.hybrid.start import SCORE_MISFIT
    from hybridfwi.inversion.config import FWIConfig
    from hybridfwi.inversion.fwi import data_misfit

    stages = list(prep.fcfg.stages)
    band = stages[1] if len(stages) > 1 else stages[0]
    cfg = FWIConfig(**{**prep.fcfg.to_dict(), "misfit": SCORE_MISFIT})
    return band, {k: float(data_misfit(VelocityModel(v, problem.grid), problem.record, cfg, band_hz=band,
                                       estimate=problem.estimate_wavelet)[0]) for k, v in models.items()}


def split(v: np.ndarray, true: np.ndarray, z: np.ndarray, top: float, seen: np.ndarray) -> dict:
    """RMSE of ``v`` in each depth slab below ``top`` and in the seen and unseen parts."""
    edges = np.linspace(top, z[-1] + 1e-6, SLABS + 1)
    slabs = [float(np.sqrt(np.mean((v[(z >= a) & (z < b)] - true[(z >= a) & (z < b)]) ** 2))) for a, b in zip(edges[:-1], edges[1:])]
    below = (z >= top)[:, None] & np.ones_like(seen, bool)
    return {"slabs": slabs, "seen": rmse(v[below & seen], true[below & seen]) if (below & seen).any() else None,
            "unseen": rmse(v[below & ~seen], true[below & ~seen]) if (below & ~seen).any() else None}


def main() -> None:
    args, manifest, rows, todo = dev_case_run(__doc__, "pga_depth.py", "dev_pga_depth.json")
    for c, true, problem, hc, prep in todo:
        t0 = time.time()
        choice, name, start, wavelet = safeguard_start(problem, prep, hc)
        if name == "reference":
            continue
        res = physics_adapt(problem, prep, hc.pga_config(holdout=False), start, wavelet, progress=False)
        z = problem.grid.z
        top = problem.water.seabed_depth if problem.water is not None and problem.water.seabed_depth is not None else 0.0
        ill = illumination(start, problem, prep, wavelet)
        seen = ill >= SEEN
        row = {"case": c.id, "family": c.family, "start": name, "best_step": res.best_step, "slab_top_m": top,
               "seen_share": float(seen[z >= top].mean()),
               "rmse": {"start": rmse(start, true), "adapted": rmse(res.velocity, true)},
               "start_split": split(start, true, z, top, seen), "adapted_split": split(res.velocity, true, z, top, seen),
               }
        cuts = cut_models(start, res.velocity, z, top, wavelength(start, prep))
        band, scores = held_out_scores(cuts, problem, prep)
        row.update(held_out_band_hz=band, cut_rmse={k: rmse(v, true) for k, v in cuts.items()}, cut_scores=scores,
                   cut_pick=min(scores, key=scores.get),
                   check_today="adapted" if res.best_step > 0 and scores["adapted"] < scores["start"] else "start",
                   wall_time_s=time.time() - t0)
        rows.append(row)
        print(json.dumps({"case": c.id, "rmse": {k: round(v) for k, v in row["rmse"].items()},
                          "slabs": [(round(a), round(b)) for a, b in zip(row["start_split"]["slabs"], row["adapted_split"]["slabs"])],
                          "seen": [round(row[k]["seen"] or 0) for k in ("start_split", "adapted_split")],
                          "unseen": [round(row[k]["unseen"] or 0) for k in ("start_split", "adapted_split")],
                          "seen_share": round(row["seen_share"], 2),
                          "cuts": {k: (round(row["cut_rmse"][k]), round(v, 4)) for k, v in scores.items()},
                          "pick": row["cut_pick"], "today": row["check_today"]}), flush=True)
        save_rows(args.out, manifest, rows, summary(rows))
    save_rows(args.out, manifest, rows, summary(rows))
    print(json.dumps(summary(rows), indent=1))


def summary(rows: list[dict]) -> dict:
    """Summed RMSE (m/s) of the model handed on today and of the lowest-scoring cut, and the cases
    where they differ; the cases where some cut has a lower RMSE than both the start and the adapted model."""
    if not rows:
        return {"cases": 0}
    today = [r["cut_rmse"][r["check_today"]] for r in rows]
    pick = [r["cut_rmse"][r["cut_pick"]] for r in rows]
    return {"cases": len(rows), "sum_rmse_today": float(sum(today)), "sum_rmse_cut_pick": float(sum(pick)),
            "cut_pick_lower": int(sum(b < a - 1e-6 for a, b in zip(today, pick))),
            "cut_pick_higher": int(sum(b > a + 1e-6 for a, b in zip(today, pick))),
            "sum_rmse_best_cut_oracle": float(sum(min(r["cut_rmse"].values()) for r in rows)),
            "a_cut_beats_both_ends": [r["case"] for r in rows
                                      if min(v for k, v in r["cut_rmse"].items() if k.startswith("cut"))
                                      < min(r["cut_rmse"]["start"], r["cut_rmse"]["adapted"]) - 1e-6]}


if __name__ == "__main__":
    main()
