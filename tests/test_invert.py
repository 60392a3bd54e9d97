import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import one_line_error, real_file

from hybridfwi.cli.main import cli


def test_invert_dl_then_fwi_on_a_synthetic_survey(tmp_path):
    """On the network's own (openfwi) geometry: no adaptation, the safeguard scores the starts, and FWI
    improves the start it chose."""
    runner = CliRunner()
    s = tmp_path / "s.segy"
    r = runner.invoke(cli, ["synth", "--model", "curvefault-a:5", "--seed", "200009", "--out", str(s), "--accuracy", "8"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "run"
    r = runner.invoke(cli, ["invert", str(s), "--out", str(out), "--true", str(tmp_path / "s.model.npy"),
                            "--iterations", "3", "--bands", "full", "--physics-steps", "0", "--no-progress", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert "refined" in r.output and "start:" in r.output
    for name in ("velocity_dl.npy", "velocity_dl.segy", "velocity_refined.npy", "velocity_refined.segy", "velocity_gradient.npy",
                 "velocity_start.npy", "report.json", "models.png", "wavelet.png", "fwi/gathers.png", "fwi/misfit.png",
                 "fwi/history.json", "fwi/wavelet.npy", "run.json"):
        assert (out / name).exists(), name
    rep = json.loads((out / "report.json").read_text())
    for key in ("data_misfit_gradient", "data_misfit_dl", "data_misfit_start", "data_misfit_refined", "start", "metrics",
                "model_rmse_ms", "network_frame", "adapted", "timings_s", "water", "warnings", "problem", "curve"):
        assert key in rep or (key == "water" and not rep["problem"]["marine"]), key
    assert rep["adapted"] is None and rep["network_frame"]["identity"]  # the survey is the network's geometry
    assert not rep["field_data"] and rep["misfit"] == "l2" and rep["warnings"] == []
    assert rep["physics_guided"] is None and not (out / "velocity_physics.npy").exists()  # --physics-steps 0: pixel FWI only
    assert set(rep["model_rmse_ms"]) == {"gradient", "dl", "start", "refined"}
    assert set(rep["metrics"]["refined"]) == {"mae_ms", "rmse_ms", "mae_norm", "ssim"}
    # the safeguard scored the reference, the DL model and a blend, and started from the best of them
    choice = rep["start"]
    assert set(choice["low_band_misfits"]) == {"dl", "reference", "blend 0.5"}
    scores = choice["low_band_misfits"]
    best = min(scores, key=scores.get)
    evidence = choice["evidence_over_reference"]  # Student's t of each candidate's per-shot lead over the reference
    assert set(evidence) == {"dl", "blend 0.5"} and all(np.isfinite(t) for t in evidence.values())
    if max(evidence.values()) < 2.0:  # no lead that holds shot after shot: the reference stays
        assert choice["chosen"] == "reference"
    else:
        assert choice["chosen"] == best or (choice["chosen"] == "dl" and scores["dl"] <= 1.005 * scores[best])  # ties go to dl
    start = np.load(out / "velocity_start.npy")
    named = {"dl": np.load(out / "velocity_dl.npy"), "reference": np.load(out / "velocity_gradient.npy")}
    if choice["chosen"] in named:
        np.testing.assert_array_equal(start, named[choice["chosen"]])
    # FWI from that start lowers the data misfit and the model error
    assert rep["data_misfit_refined"] < rep["data_misfit_start"]
    assert rep["model_rmse_ms"]["refined"] < rep["model_rmse_ms"]["start"]
    dl = np.load(out / "velocity_dl.npy")
    assert dl.shape == (70, 70) and np.all(np.isfinite(dl))
    assert rep["timings_s"]["total"] == pytest.approx(sum(v for k, v in rep["timings_s"].items() if k != "total"))
    hist = json.loads((out / "fwi" / "history.json").read_text())
    assert len(hist) == 3 and len(rep["curve"]) == 4
    r = runner.invoke(cli, ["invert", str(s), "--out", str(out)])
    one_line_error(r, "--resume")


def test_invert_warns_when_a_marine_survey_shows_no_seabed(tmp_path):
    """A free-surface survey (read as marine) over a model with no water at all: no seabed reflection is
    picked, so no water layer is imposed, and invert says so on the console and in the report, naming the
    option that sets the seabed when the user knows it."""
    runner = CliRunner()
    s = tmp_path / "s.segy"
    r = runner.invoke(cli, ["synth", "--model", "flatvel-a:3", "--seed", "200011", "--out", str(s), "--free-surface"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "run"
    r = runner.invoke(cli, ["invert", str(s), "--out", str(out), "--iterations", "1", "--bands", "full", "--physics-steps", "0",
                            "--no-progress", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["problem"]["marine"] and "water" not in rep
    note = rep["problem"]["water"]
    assert "no seabed reflection picked" in note and "--seabed-depth" in note and note in rep["warnings"]
    assert f"warning: {note}" in r.output


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "marine_small")


@pytest.mark.slow
def test_invert_shipped_marine_example_adapts_and_orders_the_models(tmp_path):
    """The README's example with --adapt on: water picked, network adapted (LoRA, cached), the start chosen by low-band
    misfit, and FWI from it fitting the data. (Model errors depend on the shipped network, which is to
    be replaced: they are reported, not asserted.)"""
    runner = CliRunner()
    out, cache = tmp_path / "run", tmp_path / "cache"
    args = ["invert", os.path.join(EXAMPLE, "survey.segy"), "--true", os.path.join(EXAMPLE, "survey.model.npy"),
            "--cache", str(cache), "--no-progress", "--device", "cpu", "--adapt", "on"]
    r = runner.invoke(cli, [*args, "--out", str(out), "--adapt-samples", "16", "--adapt-epochs", "6", "--iterations", "8"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    true = np.load(os.path.join(EXAMPLE, "survey.model.npy"))
    # water: 1500-1530 m/s in the family; the picked layer within 3% / 15% of the truth
    true_seabed = float(np.mean((true < 1540).sum(axis=0))) * 15.0
    assert abs(rep["water"]["velocity_ms"] - true[0, 0]) < 0.03 * true[0, 0]
    assert abs(rep["water"]["seabed_depth_picked_m"] - true_seabed) < 0.15 * true_seabed
    assert set(rep["model_rmse_ms"]) - {"physics"} == {"gradient", "dl", "start", "refined"}
    scores = rep["start"]["low_band_misfits"]
    best = min(scores, key=scores.get)
    assert rep["start"]["chosen"] == best or scores["dl"] <= 1.005 * scores[best]
    assert rep["data_misfit_refined"] < 0.5 * rep["data_misfit_start"]
    refined = np.load(out / "velocity_refined.npy")
    assert np.allclose(refined[:5], rep["water"]["velocity_ms"], atol=1.0)  # the water layer stays frozen
    assert not rep["network_frame"]["identity"] and min(rep["network_frame"]["coverage"]) > 0.8
    assert rep["adapted"]["reused"] is False and rep["adapted"]["trainable_percent"] < 1.0
    for name in ("velocity_dl.segy", "velocity_refined.segy", "velocity_gradient.npy", "models.png", "wavelet.png", "fwi/gathers.png"):
        assert (out / name).exists(), name
    # a second run reuses the cached adapter
    r = runner.invoke(cli, [*args, "--out", str(tmp_path / "again"), "--adapt-samples", "16", "--adapt-epochs", "6",
                            "--iterations", "1", "--bands", "full"])
    assert r.exit_code == 0, r.output
    rep2 = json.loads((tmp_path / "again" / "report.json").read_text())
    assert rep2["adapted"]["reused"] is True and rep2["adapted"]["key"] == rep["adapted"]["key"]
    assert np.array_equal(np.load(tmp_path / "again" / "velocity_dl.npy"), np.load(out / "velocity_dl.npy"))


@pytest.mark.slow
def test_invert_viking_real_marine_data(tmp_path):
    """Acceptance on real data: defaults, under the time limit, water 1450-1550 m/s, seabed 300-420 m,
    refined misfit below the start's, repairs reported."""
    path = real_file("viking_small.segy")
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["invert", path, "--out", str(out), "--cache", str(tmp_path / "cache"), "--no-progress",
                                 "--device", "cpu"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    refined = np.load(out / "velocity_refined.npy")
    g = rep["grid"]
    z = g["z0"] + np.arange(g["nz"]) * g["dz"]
    water = refined[z < 300.0]
    assert 1450.0 <= water.min() and water.max() <= 1550.0
    assert 300.0 <= rep["water"]["seabed_depth_refined_model_m"] <= 420.0
    assert rep["data_misfit_refined"] < rep["data_misfit_start"]
    repairs = " ".join(rep["repaired_on_read"])
    assert "1500 samples" in repairs and "CoordinateUnits" in repairs
    assert rep["timings_s"]["total"] < 15 * 60
    assert rep["field_data"] and rep["problem"]["free_surface"] and rep["fwi"]["config"]["misfit"] == "gc"


@pytest.mark.parametrize("name, words", [("cdp700.su", "CDP"), ("f3.sgy", "post-stack"), ("shot-gather.sgy", "--receiver-spacing"),
                                         ("poland2d_example_ffid_231.sgy", "--receiver-spacing"),
                                         ("malformed_nan_f11.segy", "negative start time"), ("truncated_File010690.sgy", "truncated"),
                                         ("small.su", "no sample interval")])
@pytest.mark.parametrize("command", ["invert", "fwi", "predict"])
def test_unusable_real_files_are_refused_in_one_line(tmp_path, command, name, words):
    path = real_file(name)
    extra = ["--initial", "gradient"] if command == "fwi" else []
    r = CliRunner().invoke(cli, [command, path, "--out", str(tmp_path / "run"), "--no-progress", *extra])
    one_line_error(r, words, name)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, words", [
    (["--adapt", "sometimes"], ["--adapt"]),
    (["--iterations", "0"], ["--iterations"]),
    (["--iterations", "3", "--physics-steps", "3"], ["--physics-steps"]),
    (["--water-velocity", "-1500"], ["--water-velocity"]),
    (["--top", "rigid"], ["--top"]),
    (["--bands", "4,x"], ["--bands"]),
    (["--bands", "600"], ["Nyquist"]),
    (["--source-x", "1,abc", "--receiver-spacing", "10"], ["--source-x"]),
    (["--receiver-spacing", "10"], ["together"]),
    (["--dx", "0"], ["--dx"]),
    (["--dx", "50"], ["coarser than the receiver spacing"]),
    (["--tmax", "0.005"], ["--tmax"]),
    (["--config", "missing.json"], ["missing.json"]),
    (["--true", "missing.npy"], ["missing.npy"]),
    (["--model", "nowhere"], ["not a model checkpoint"]),
    (["--unknown-option"], ["--unknown-option"]),
])
def test_invert_bad_options_exit_2_in_one_line_and_write_nothing(tmp_path, small_geometry_file, args, words):
    s = tmp_path / "s.segy"
    assert CliRunner().invoke(cli, ["synth", "--model", "flatvel-a", "--geometry", small_geometry_file, "--out", str(s)]).exit_code == 0
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["invert", str(s), "--out", str(out), "--no-progress", *args])
    one_line_error(r, *words)
    assert not out.exists()
