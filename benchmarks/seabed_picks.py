"""How well the water layer is picked: the seabed picker on validation-seed marine models.

Draws ``--count`` ``basin-marine`` models (soft and hard seabeds, water 3-45 % of the depth) from the
*validation* seed range (never a benchmark or example model), models them in two geometries, the
dev suite's 6 Hz towed streamer (4 km, 25 m cells, near offset 100 m) and OpenFWI's 15 Hz geometry
with a free surface, adds 30 dB noise, and runs the picker exactly as the problem builder does.
Writes ``benchmarks/results/seabed_picks.json``: per model the true seabed (median over columns),
the pick, and the velocity below the seabed; per geometry the median absolute error, how many
picks were too deep or too shallow by more than 10 % of the depth + 25 m, the worst too-deep error,
and how many seabeds were not found. ``--compare-gap 1.5`` also runs the picker as it was before
(a 1.5-period gap behind the direct wave) on the same data; ``--compare-moveout`` runs it without
its moveout check (``pick_water(check_moveout=False)``), ``--compare-reach`` without its reach
for shallow seabeds (``pick_water(reach_shallow=False)``).

The same models (seed 10 700) are also modelled under the dev suite's sparse-shot streamer
(``sparse-streamer``: 4 shots 25 m apart, near offset 262 m, 10 Hz, 15 m cells, free surface).
``deep-streamer``: ``--count`` ``basin-marine`` models (validation seed 10 720) under 750-1575 m
more of their own water, on a 4 km deep grid under the dev streamer recorded for 6 s.
``land-*``: ``--count`` ``basin-land`` models (validation seed 10 730: no water at all) under the
streamer, OpenFWI's geometry and the sparse-shot streamer, each with a free surface, so that the data
read as marine; any pick there is a false water layer. ``--compare-top`` runs the picker without its
test of the first arrivals (``pick_water(check_top=False)``).

A third set, ``soft-streamer``, holds seabeds too soft to reflect: ``--count`` further
``basin-marine`` models (validation seed 10 710) whose sediments below the seabed are replaced,
wherever they are faster, by water velocity + 5-50 m/s at the seabed rising 0.4-1.2 m/s per m
(unconsolidated mud), under the dev streamer. Its true seabed is the first cell that is not water.

    python benchmarks/seabed_picks.py --count 24 --compare-gap 1.5 --compare-moveout --compare-reach --compare-top
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, machine  # noqa: E402

from hybridfwi.bench.suites import _geometry  # noqa: E402
from hybridfwi.core.model import ShotRecord  # noqa: E402
from hybridfwi.hybrid.start import seabed_from_model  # noqa: E402
from hybridfwi.inversion.marine import onset_lag, pick_water  # noqa: E402
from hybridfwi.physics.forward import ForwardConfig, forward_model  # noqa: E402
from hybridfwi.synth import seeds  # noqa: E402
from hybridfwi.synth.families import make_model  # noqa: E402
from hybridfwi.synth.single import add_noise  # noqa: E402

SEED = 10_700  # validation range (the dev suite uses 10_500-10_502)
SOFT_SEED = 10_710  # validation range: the soft-seabed set
DEEP_SEED = 10_720  # validation range: the deep-water set
LAND_SEED = 10_730  # validation range: land models under a free surface (no water at all)
GEOMETRIES = {"streamer-4km": {"geometry": "streamer-4km"}, "openfwi-free-surface": {"geometry": "openfwi", "free_surface": True},
              "sparse-streamer": {"geometry": "streamer-sparse-3.7km"}, "soft-streamer": {"geometry": "streamer-4km"},
              "deep-streamer": {"geometry": "deep"}, "land-streamer": {"geometry": "streamer-4km"},
              "land-openfwi-free-surface": {"geometry": "openfwi", "free_surface": True},
              "land-sparse-streamer": {"geometry": "streamer-sparse-3.7km"}}


def _deep_geometry():
    """The dev streamer over a 4 km deep model, recorded 6 s (1500 samples of 4 ms)."""
    from hybridfwi.bench.suites import _streamer
    from hybridfwi.core.grid import Grid
    from hybridfwi.core.survey import Geometry

    return Geometry(Grid(nz=161, nx=161, dz=25.0, dx=25.0), _streamer(4000.0, 8, 2500.0, 100.0, 25.0, 25.0, 6.0, 0.004, 1500, 1200.0))


def deepen(v: np.ndarray, nz: int, rng: np.random.Generator) -> np.ndarray:
    """``v`` (nz, nx) under 30-63 more cells of its own water (750-1575 m at 25 m), cut to ``nz`` rows."""
    extra = int(rng.integers(30, 64))
    return np.concatenate([np.full((extra, v.shape[1]), float(np.median(v[0])), np.float32), v], axis=0)[:nz]


def soften(v: np.ndarray, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``v`` (nz, nx) with the sediments under its water (velocity of the top row) replaced, where
    they are faster, by water velocity + 5-50 m/s at the seabed rising 0.4-1.2 m/s per m."""
    vw = float(np.median(v[0]))
    water = np.abs(v - vw) < 1e-3
    zsb = z[water.argmin(axis=0)][None, :]
    mud = vw + rng.uniform(5.0, 50.0) + rng.uniform(0.4, 1.2) * np.clip(z[:, None] - zsb, 0.0, None)
    return np.where(water, v, np.minimum(v, mud)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--compare-gap", type=float, default=None, help="also pick with this gap (periods)")
    ap.add_argument("--compare-moveout", action="store_true", help="also pick without the moveout check")
    ap.add_argument("--compare-reach", action="store_true", help="also pick without the reach for shallow seabeds")
    ap.add_argument("--compare-top", action="store_true", help="also pick without the test of the first arrivals")
    ap.add_argument("--out", default=os.path.join(RESULTS, "seabed_picks.json"))
    a = ap.parse_args()
    seeds.check("validation", SEED)
    seeds.check("validation", SOFT_SEED)
    seeds.check("validation", DEEP_SEED)
    seeds.check("validation", LAND_SEED)
    rows = []
    t0 = time.perf_counter()
    for gname, spec in GEOMETRIES.items():
        geom = _deep_geometry() if gname == "deep-streamer" else _geometry(spec)
        g, s = geom.grid, geom.survey
        soft, deep, land = gname == "soft-streamer", gname == "deep-streamer", gname.startswith("land-")
        rng = np.random.default_rng(DEEP_SEED if deep else SOFT_SEED)
        for i in range(a.count):
            if land:
                v = make_model("basin-land", LAND_SEED, i, g.nz, g.nx)
            else:
                v = make_model("basin-marine", SOFT_SEED if soft else DEEP_SEED if deep else SEED, i, g.nz, g.nx)
            if soft:
                v = soften(v, g.z, rng)
            if deep:
                v = deepen(v, g.nz, rng)
            data = forward_model(v, g, s, ForwardConfig(accuracy=8, max_vel=max(4500.0, float(np.ceil(v.max()))), device="cpu"))
            data = add_noise(data, 30.0, seed=i)
            if not s.regular:
                data = data * s.receiver_mask[:, None, :]
            lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
            rec = ShotRecord(data.astype(np.float32), s, 0.0)
            w = pick_water(rec, -lag, peak_hz=s.wavelet.peak_freq)
            vw = float(np.median(v[0]))
            true = None if land else seabed_from_model(v, g.z, vw, jump=1.0 if soft else 30.0)
            below = float(np.median([c[np.argmax(c > vw + 30.0)] for c in v.T])) if true is not None else None
            rows.append({"geometry": gname, "index": i, "true_seabed_m": true, "water_ms": vw, "below_seabed_ms": below,
                         "picked_m": None if w is None else w.seabed_depth, "picked_water_ms": None if w is None else w.velocity})
            if a.compare_gap is not None:
                old = pick_water(rec, -lag, peak_hz=s.wavelet.peak_freq, gap_periods=a.compare_gap)
                rows[-1]["picked_m_compare"] = None if old is None else old.seabed_depth
            if a.compare_moveout:
                old = pick_water(rec, -lag, peak_hz=s.wavelet.peak_freq, check_moveout=False)
                rows[-1]["picked_m_no_moveout"] = None if old is None else old.seabed_depth
            if a.compare_reach:
                old = pick_water(rec, -lag, peak_hz=s.wavelet.peak_freq, reach_shallow=False)
                rows[-1]["picked_m_no_reach"] = None if old is None else old.seabed_depth
            if a.compare_top:
                old = pick_water(rec, -lag, peak_hz=s.wavelet.peak_freq, check_top=False)
                rows[-1]["picked_m_no_top"] = None if old is None else old.seabed_depth
            rows[-1]["method"] = None if w is None else w.method
            print(json.dumps(rows[-1]), flush=True)
    out = {"machine": machine(), "seed": SEED, "family": "basin-marine", "seed_range": "validation", "noise_db": 30.0,
           "wall_time_s": time.perf_counter() - t0, "rows": rows, "summary": summary(rows)}
    if a.compare_gap is not None:
        out["compare_gap_periods"] = a.compare_gap
        out["summary_compare"] = summary([{**r, "picked_m": r["picked_m_compare"]} for r in rows])
    if a.compare_moveout:
        out["summary_no_moveout"] = summary([{**r, "picked_m": r["picked_m_no_moveout"]} for r in rows])
    if a.compare_top:
        out["summary_no_top"] = summary([{**r, "picked_m": r["picked_m_no_top"]} for r in rows])
    if a.compare_reach:
        out["summary_no_reach"] = summary([{**r, "picked_m": r["picked_m_no_reach"]} for r in rows])
    out["soft_seed"], out["deep_seed"], out["land_seed"] = SOFT_SEED, DEEP_SEED, LAND_SEED
    with open(a.out + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print(json.dumps(out["summary"], indent=1))


def summary(rows: list[dict]) -> dict:
    """Per geometry: median |pick - true|, picks too deep / too shallow (beyond 10 % + 25 m), missing;
    on the land sets (no water), how many picks put a water layer where there is none."""
    out = {}
    for gname in sorted({r["geometry"] for r in rows}):
        if gname.startswith("land-"):
            rs = [r for r in rows if r["geometry"] == gname]
            out[gname] = {"models": len(rs), "false_water_layers": sum(r["picked_m"] is not None for r in rs)}
            continue
        rs = [r for r in rows if r["geometry"] == gname and r["true_seabed_m"]]
        err = [r["picked_m"] - r["true_seabed_m"] for r in rs if r["picked_m"] is not None]
        tol = [0.1 * r["true_seabed_m"] + 25.0 for r in rs if r["picked_m"] is not None]
        out[gname] = {"models": len(rs), "median_abs_error_m": float(np.median(np.abs(err))) if err else None,
                      "too_deep": int(sum(e > t for e, t in zip(err, tol))), "too_shallow": int(sum(e < -t for e, t in zip(err, tol))),
                      "worst_too_deep_m": float(max(err)) if err else None, "missing": sum(r["picked_m"] is None for r in rs)}
    return out


if __name__ == "__main__":
    main()
