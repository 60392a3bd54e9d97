"""The in-memory hybrid: starting models, the safeguard that chooses between them, and the pipeline
from a given DL model to FWI (no network needed: the DL model is handed in)."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from hybridfwi.core import Grid, ShotRecord, VelocityModel, WaterLayer
from hybridfwi.hybrid.pipeline import HybridConfig, Prepared, after_steps, fwi_config, run_hybrid
from hybridfwi.hybrid.start import blend, choose_start, dl_start, evidence_over_reference, pick_start, reference_model, seabed_from_model
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.fwi import data_misfit
from hybridfwi.inversion.problem import build_problem
from hybridfwi.io.reader import read_survey
from hybridfwi.io.segy import write_shots
from hybridfwi.metrics import rmse
from hybridfwi.physics import forward_model
from hybridfwi.synth.families import make_model


def test_reference_model_land_and_marine():
    g = Grid(nz=50, nx=4, dz=20.0, dx=20.0)
    land = reference_model(g, None)
    np.testing.assert_allclose(land[:, 0], 1500.0 + g.z)
    assert np.all(land == land[:, :1])
    sea = reference_model(g, WaterLayer(velocity=1490.0, seabed_depth=200.0), vmax=2000.0)
    assert np.all(sea[g.z < 200.0] == 1490.0)
    np.testing.assert_allclose(sea[g.z >= 200.0, 0], np.minimum(1600.0 + (g.z[g.z >= 200.0] - 200.0), 2000.0))
    assert seabed_from_model(sea, g.z, 1490.0) == 200.0
    assert seabed_from_model(np.full((50, 4), 1490.0), g.z, 1490.0) is None


def test_blend_is_linear_in_slowness_and_dl_start_is_bounded():
    a, b = np.full((3, 3), 2000.0, np.float32), np.full((3, 3), 4000.0, np.float32)
    np.testing.assert_allclose(blend(a, b, 0.5), 1.0 / (0.5 / 2000.0 + 0.5 / 4000.0))
    np.testing.assert_allclose(blend(a, b, 1e-9), 2000.0, rtol=1e-6)
    g = Grid(nz=3, nx=3, dz=10.0, dx=10.0)
    fcfg = FWIConfig(vmin=1500.0, vmax=4000.0)
    v = dl_start(np.array([[1000.0, 2000.0, 9000.0]] * 3, np.float32), g, WaterLayer(1480.0, 5.0), fcfg)
    assert np.all(v[0] == 1480.0)  # water imposed (above 5 m)
    assert 1500.0 < v[1:].min() and v[1:].max() < 4000.0 and v[1, 1] == 2000.0


@pytest.fixture
def small_problem(tmp_path, small_grid, small_survey):
    true = make_model("flatfault-a", 0, 2, 40, 60)
    write_shots(tmp_path / "s.segy", ShotRecord(forward_model(true, small_grid, small_survey), small_survey), grid=small_grid)
    return build_problem(read_survey(tmp_path / "s.segy")), true


def test_safeguard_prefers_the_model_that_explains_the_data(small_problem):
    problem, true = small_problem
    fcfg = fwi_config(problem, HybridConfig(iterations=2, device="cpu"))
    good = gaussian_filter(true, 2.0, mode="nearest")
    bad = np.full_like(true, 2000.0)
    c = choose_start({"dl": bad, "reference": good}, problem, fcfg)
    assert c.name == "reference" and c.misfits["reference"] < c.misfits["dl"]
    assert "explains the data worse" in c.message and c.band_hz == fcfg.stages[0]
    c = choose_start({"dl": good, "reference": bad}, problem, fcfg)
    assert c.name == "dl" and "worse" not in c.message
    # a tie (within 0.5%) goes to the preferred candidate
    c = choose_start({"other": good, "dl": good.copy()}, problem, fcfg)
    assert c.name == "dl"
    # the hedge: a blend the data hardly tell from the best is the start; a blend they do tell is not
    dl = good * 1.03  # 3 % too fast
    near = blend(dl, dl * 1.0004, 0.5)  # 0.02 % faster still
    far = blend(bad, dl, 0.5)
    c = choose_start({"dl": dl, "reference": bad, "blend 0.5": near}, problem, fcfg, blend_tolerance=0.05)
    assert c.misfits["dl"] < c.misfits["blend 0.5"] <= 1.05 * c.misfits["dl"]
    assert c.name == "blend 0.5" and "hedges" in c.message
    assert choose_start({"dl": dl, "reference": bad, "blend 0.5": near}, problem, fcfg).name == "dl"  # no hedge by default
    # nor in invert's default (the hedge off since the phase-4 network: start_scores_dev4.json)
    assert choose_start({"dl": dl, "reference": bad, "blend 0.5": near}, problem, fcfg,
                        blend_tolerance=HybridConfig().blend_tolerance).name == "dl"
    c = choose_start({"dl": dl, "reference": bad, "blend 0.5": far}, problem, fcfg, blend_tolerance=0.05)
    assert c.name == "dl" and c.misfits["blend 0.5"] > 1.05 * c.misfits["dl"]
    # a blend that scores best keeps the start under the hedge, even within the 0.5 % tie that goes to DL without it
    nearer = blend(dl, dl * 1.00004, 0.5)
    c = choose_start({"dl": nearer, "reference": bad, "blend 0.5": dl}, problem, fcfg, blend_tolerance=0.05)
    assert c.name == "blend 0.5" and c.misfits["blend 0.5"] < c.misfits["dl"] <= 1.005 * c.misfits["blend 0.5"]
    assert choose_start({"dl": nearer, "reference": bad, "blend 0.5": dl}, problem, fcfg).name == "dl"  # the tie, without the hedge


def test_per_shot_shares_sum_to_the_total_and_locate_an_anomaly(small_problem):
    """Each shot's share of the misfit comes from the same propagation and sums to the total; a slow
    body under the first shot (x 0-120 m of 590) disturbs that shot's data most."""
    problem, true = small_problem
    fcfg = FWIConfig(**{**fwi_config(problem, HybridConfig(iterations=2, device="cpu")).to_dict(), "misfit": "envelope"})
    v = true.copy()
    v[5:15, 0:12] = 1500.0  # 50-150 m deep, under the shot at 50 m
    shares, _ = data_misfit(VelocityModel(v, problem.grid), problem.record, fcfg, band_hz=fcfg.stages[0], per_shot=True)
    total, _ = data_misfit(VelocityModel(v, problem.grid), problem.record, fcfg, band_hz=fcfg.stages[0])
    assert shares.shape == (3,) and np.isclose(shares.sum(), total, rtol=1e-6)
    assert shares.argmax() == 0 and shares[0] > 2 * shares[2]
    exact, _ = data_misfit(VelocityModel(true, problem.grid), problem.record, fcfg, band_hz=fcfg.stages[0], per_shot=True)
    assert exact.max() < 1e-3 * shares[0]  # the data were made on this grid: the true model explains them


def test_evidence_over_reference_and_the_rule():
    """Student's t of the paired per-shot differences, and the rule that a candidate replaces the
    reference only when its lead holds shot after shot."""
    ref = np.array([1.0, 1.0, 1.0, 1.0])
    steady = np.array([0.5, 0.6, 0.4, 0.5])  # lower on every shot
    lucky = np.array([0.1, 1.05, 1.05, 1.05])  # lower in total (3.25 < 4), from one shot only
    t = evidence_over_reference({"reference": ref, "dl": steady, "blend 0.5": lucky})
    d = ref - steady
    assert np.isclose(t["dl"], d.mean() / (d.std(ddof=1) / 2.0))
    d = ref - lucky
    assert np.isclose(t["blend 0.5"], d.mean() / (d.std(ddof=1) / 2.0)) and 0 < t["blend 0.5"] < 1
    assert evidence_over_reference({"reference": ref, "dl": ref - 0.1})["dl"] == np.inf  # every shot agrees exactly
    assert evidence_over_reference({"reference": ref[:1], "dl": steady[:1]})["dl"] is None  # one shot: no test
    # one steady candidate lets the start leave the reference; the totals then choose among the others
    totals = {"reference": 4.0, "dl": float(steady.sum()), "blend 0.5": float(lucky.sum()) - 1.5}
    assert pick_start(totals) == pick_start(totals, evidence=t, min_evidence=2.0) == "blend 0.5"
    # a lead from one shot alone does not
    assert pick_start({"reference": 4.0, "blend 0.5": 3.25}) == "blend 0.5"
    assert pick_start({"reference": 4.0, "blend 0.5": 3.25}, evidence=t, min_evidence=2.0) == "reference"
    assert pick_start({"reference": 4.0, "blend 0.5": 3.25}, evidence={"blend 0.5": None}, min_evidence=2.0) == "blend 0.5"


def test_safeguard_keeps_the_reference_against_a_lead_from_one_shot(small_problem, monkeypatch):
    """Through ``choose_start``: per-shot scores where the DL model leads in total on one shot's
    strength keep the reference, with the reason on the console line and the ``t`` recorded."""
    problem, true = small_problem
    fcfg = fwi_config(problem, HybridConfig(iterations=2, device="cpu"))
    shares = {1.0: np.array([1.0, 1.0, 1.0]), 2.0: np.array([0.2, 1.1, 1.1])}  # model value -> per-shot scores
    import importlib

    monkeypatch.setattr(importlib.import_module("hybridfwi.inversion.fwi"), "data_misfit",
                        lambda model, *a, **k: (shares[float(model.values.flat[0])], None))
    cands = {"dl": np.full_like(true, 2.0), "reference": np.full_like(true, 1.0)}
    c = choose_start(cands, problem, fcfg, min_evidence=2.0)
    assert c.name == "reference" and np.isclose(c.misfits["dl"], 2.4) and c.misfits["dl"] < c.misfits["reference"]
    assert "no candidate does shot after shot" in c.message and 0 < c.evidence_record()["dl"] < 2.0
    assert choose_start(cands, problem, fcfg).name == "dl"  # totals alone
    assert HybridConfig().start_evidence == 2.0


def test_run_hybrid_from_a_given_dl_model(small_problem):
    """The pipeline after the network: the safeguard keeps the better start, FWI refines it within the
    budget, and the curve runs from the start to the final model."""
    problem, true = small_problem
    cfg = HybridConfig(iterations=3, device="cpu", blends=(0.5,))
    fcfg = fwi_config(problem, cfg)
    assert fcfg.iterations == 3 and fcfg.misfit == "l2" and not fcfg.estimate_wavelet  # synthetic: known wavelet
    ref = reference_model(problem.grid, None)
    s = problem.record.survey
    dl = gaussian_filter(true, 3.0, mode="nearest")
    prep = Prepared(fcfg=fcfg, reference=ref, record=problem.record, wavelet=s.wavelet.array(s.nt, s.dt), dl=dl, dl_raw=dl)
    res = run_hybrid(problem, cfg, true=true, log=None, progress=False, prepared=prep)
    assert res.choice.name == "dl" and set(res.choice.misfits) == {"dl", "reference", "blend 0.5"}
    np.testing.assert_array_equal(res.start, dl)
    n = 3 * len(fcfg.stages)  # the problem's bands, 3 iterations each
    assert len(res.fwi.history) == n and len(res.curve) == n + 1
    last = [h for h in res.fwi.history if h["stage"] == len(fcfg.stages) - 1]
    assert res.fwi.final_misfit < last[0]["misfit"]  # compared in the same band
    assert rmse(res.fwi.model.values, true) < rmse(dl, true)
    assert set(res.timings) == {"choose", "fwi"}
    # without the safeguard the DL model is the start whatever the reference explains
    res2 = run_hybrid(problem, HybridConfig(iterations=1, device="cpu", safeguard=False), log=None, progress=False,
                      prepared=Prepared(fcfg=fwi_config(problem, HybridConfig(iterations=1, device="cpu")), reference=ref,
                                        record=problem.record, wavelet=prep.wavelet, dl=np.full_like(dl, 2000.0)))
    assert res2.choice is None and np.all(res2.start == 2000.0)


def test_hybrid_config_is_checked():
    from hybridfwi.errors import InputError

    for bad, words in (({"adapt": "maybe"}, "--adapt"), ({"iterations": 0}, "--iterations"), ({"pga_steps": 5, "iterations": 5},
                       "--physics-steps"), ({"blends": (1.0,)}, "blend"), ({"blend_tolerance": -0.1}, "blend_tolerance"),
                      ({"blend_tolerance": True}, "blend_tolerance"),
                      ({"start_evidence": -1.0}, "start_evidence"), ({"start_evidence": float("nan")}, "start_evidence"), ({"pga_warmup": -1}, "pga_warmup"),
                      ({"pga_warmup": 1.5}, "pga_warmup"), ({"fwi_after_pga": "middle"}, "fwi_after_pga"),
                      ({"pga_after_adapt": "yes"}, "pga_after_adapt"), ({"pga_after_adapt": 1}, "pga_after_adapt"),
                      ({"adapt_families": "basin-marine"}, "adapt_families"), ({"adapt_families": []}, "adapt_families"),
                      ({"adapt_families": ["marine"]}, "marine not a pretraining family"),
                      ({"adapt_families": ["basin-marine", "basin-marine"]}, "twice")):
        with pytest.raises(InputError, match=words):
            HybridConfig(**bad).validate()
    # a list (a JSON config) is kept as a tuple of pretraining families
    assert HybridConfig(adapt_families=["basin-marine", "flatvel-b"]).validate().adapt_families == ("basin-marine", "flatvel-b")


def test_physics_guided_steps_default_to_all_of_the_first_band_but_one():
    """The default budget split (chosen on the dev suite): 14 of 15 iterations, never all of them,
    none with a single iteration; an explicit count that leaves no FWI iteration is refused."""
    from hybridfwi.errors import InputError

    assert [HybridConfig(iterations=n).validate().physics_steps for n in (1, 2, 3, 15, 30)] == [0, 1, 2, 14, 29]
    assert HybridConfig(iterations=15, pga_steps=0).validate().physics_steps == 0
    assert HybridConfig(iterations=15, pga_steps=14).validate().physics_steps == 14
    with pytest.raises(InputError, match="--physics-steps"):
        HybridConfig(iterations=5, pga_steps=5).validate()


def test_fwi_after_the_physics_guided_steps_keeps_the_budget():
    """``fwi_after_pga``: ``all`` runs every band with the first shortened by the steps; ``last``
    skips the middle bands and gives their iterations to the last, the total unchanged; with fewer
    than three bands, or no step taken, both are the same FWI."""
    fcfg = FWIConfig(bands=[3.0, 5.0, 8.0, 13.0], iterations=15)
    run, skip = after_steps(fcfg, "all", 14)
    assert run is fcfg and skip == 14
    run, skip = after_steps(fcfg, "last", 14)
    assert run.stages == [3.0, 13.0] and run.iterations == 45 and skip == 44
    budget = [run.iterations - skip, run.iterations]  # what FWI.budget gives per stage
    assert budget == [1, 45] and 14 + sum(budget) == 15 * 4  # the other methods' 60 iterations
    assert run.to_dict() | {"bands": fcfg.bands, "iterations": 15} == fcfg.to_dict()  # nothing else changes
    full = FWIConfig(bands=[3.0, 5.0, None], iterations=10)
    run, skip = after_steps(full, "last", 4)
    assert run.stages == [3.0, None] and run.iterations - skip == 6 and run.iterations == 20
    for cfg, steps in ((FWIConfig(bands=[3.0, 13.0], iterations=15), 14), (fcfg, 0)):
        assert after_steps(cfg, "last", steps) == (cfg, steps)
