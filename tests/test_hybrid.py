"""The in-memory hybrid: starting models, the safeguard that chooses between them, and the pipeline
from a given DL model to FWI (no network needed: the DL model is handed in)."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from hybridfwi.core import Grid, ShotRecord, WaterLayer
from hybridfwi.hybrid.pipeline import HybridConfig, Prepared, fwi_config, run_hybrid
from hybridfwi.hybrid.start import blend, choose_start, dl_start, reference_model, seabed_from_model
from hybridfwi.inversion.config import FWIConfig
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
                      ({"blend_tolerance": True}, "blend_tolerance"), ({"pga_warmup": -1}, "pga_warmup"),
                      ({"pga_warmup": 1.5}, "pga_warmup")):
        with pytest.raises(InputError, match=words):
            HybridConfig(**bad).validate()


def test_physics_guided_steps_default_to_all_of_the_first_band_but_one():
    """The default budget split (chosen on the dev suite): 14 of 15 iterations, never all of them,
    none with a single iteration; an explicit count that leaves no FWI iteration is refused."""
    from hybridfwi.errors import InputError

    assert [HybridConfig(iterations=n).validate().physics_steps for n in (1, 2, 3, 15, 30)] == [0, 1, 2, 14, 29]
    assert HybridConfig(iterations=15, pga_steps=0).validate().physics_steps == 0
    assert HybridConfig(iterations=15, pga_steps=14).validate().physics_steps == 14
    with pytest.raises(InputError, match="--physics-steps"):
        HybridConfig(iterations=5, pga_steps=5).validate()
