import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import real_file

from hybridfwi.cli.main import cli


def test_invert_dl_then_fwi_on_a_synthetic_survey(tmp_path):
    """On the network's own (openfwi) geometry: the DL model is a fair start and FWI improves it."""
    runner = CliRunner()
    s = tmp_path / "s.segy"
    assert runner.invoke(cli, ["synth", "--model", "curvefault-a:5", "--seed", "9", "--out", str(s), "--accuracy", "8"]).exit_code == 0
    out = tmp_path / "run"
    r = runner.invoke(cli, ["invert", str(s), "--out", str(out), "--true", str(tmp_path / "s.model.npy"),
                            "--iterations", "3", "--bands", "full", "--no-progress", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    for name in ("velocity_dl.npy", "velocity_dl.segy", "velocity_refined.npy", "velocity_refined.segy", "report.json", "models.png",
                 "fwi/gathers.png", "fwi/misfit.png"):
        assert (out / name).exists(), name
    rep = json.loads((out / "report.json").read_text())
    assert rep["data_misfit_refined"] < rep["data_misfit_dl"]
    assert rep["model_rmse_ms"]["refined"] < rep["model_rmse_ms"]["dl"]
    assert rep["adapted"] is None and rep["network_frame"]["identity"]
    dl = np.load(out / "velocity_dl.npy")
    assert dl.shape == (70, 70) and np.all(np.isfinite(dl)) and rep["warnings"] == []
    true = np.load(tmp_path / "s.model.npy")
    assert np.sqrt(np.mean((dl - true) ** 2)) < 250.0  # the shipped model's prediction is a usable start
    # the FWI started from the DL model
    hist = json.loads((out / "fwi" / "history.json").read_text())
    assert len(hist) == 3
    r = runner.invoke(cli, ["invert", str(s), "--out", str(out)])
    assert r.exit_code == 2 and "--resume" in r.output


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "marine_small")


def test_invert_shipped_marine_example_adapts_and_orders_the_models(tmp_path):
    """The README's example: water picked, network adapted (LoRA, cached), and model errors ordered
    1-D reference > DL > refined."""
    runner = CliRunner()
    out, cache = tmp_path / "run", tmp_path / "cache"
    args = ["invert", os.path.join(EXAMPLE, "survey.segy"), "--true", os.path.join(EXAMPLE, "survey.model.npy"),
            "--cache", str(cache), "--no-progress", "--device", "cpu"]
    r = runner.invoke(cli, [*args, "--out", str(out), "--adapt-samples", "16", "--adapt-epochs", "6", "--iterations", "8"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    true = np.load(os.path.join(EXAMPLE, "survey.model.npy"))
    # water: 1500-1530 m/s in the family; the picked layer within 3% / 15% of the truth
    true_seabed = float(np.mean((true < 1540).sum(axis=0))) * 15.0
    assert abs(rep["water"]["velocity_ms"] - true[0, 0]) < 0.03 * true[0, 0]
    assert abs(rep["water"]["seabed_depth_picked_m"] - true_seabed) < 0.15 * true_seabed
    rm = rep["model_rmse_ms"]
    assert rm["refined"] < rm["dl"] < rm["gradient"], rm
    assert rep["data_misfit_refined"] < rep["data_misfit_dl"]
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


def test_invert_viking_real_marine_data(tmp_path):
    """Acceptance on real data: defaults, under the time limit, water 1450-1550 m/s, seabed 300-420 m,
    refined misfit below the DL model's, repairs reported."""
    path = real_file("viking_small.segy")
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["invert", path, "--out", str(out), "--cache", str(tmp_path / "cache"), "--no-progress",
                                 "--device", "cpu"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    refined = np.load(out / "velocity_refined.npy")
    g = rep["grid"]
    z = np.arange(g["nz"]) * g["dz"]
    water = refined[z < 300.0]
    assert 1450.0 <= water.min() and water.max() <= 1550.0
    assert 300.0 <= rep["water"]["seabed_depth_refined_model_m"] <= 420.0
    assert rep["data_misfit_refined"] < rep["data_misfit_dl"]
    repairs = " ".join(rep["repaired_on_read"])
    assert "1500 samples" in repairs and "CoordinateUnits" in repairs
    assert rep["timings_s"]["total"] < 15 * 60
    assert rep["problem"]["free_surface"] and rep["fwi"]["misfit"] == "gc"


@pytest.mark.parametrize("name, words", [("cdp700.su", "CDP"), ("f3.sgy", "post-stack"), ("shot-gather.sgy", "trace counts"),
                                         ("poland2d_example_ffid_231.sgy", "--receiver-spacing"),
                                         ("malformed_nan_f11.segy", "negative start time"), ("truncated_File010690.sgy", "truncated")])
def test_invert_refuses_unusable_real_files_in_one_line(tmp_path, name, words):
    path = real_file(name)
    r = CliRunner().invoke(cli, ["invert", path, "--out", str(tmp_path / "run"), "--no-progress"])
    assert r.exit_code == 2, r.output
    assert words in r.output and len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert not (tmp_path / "run").exists()
