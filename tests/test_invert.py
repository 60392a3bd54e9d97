import json
import os

import numpy as np
from click.testing import CliRunner

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
    assert rep["model_rmse_refined_ms"] < rep["model_rmse_dl_ms"]
    dl = np.load(out / "velocity_dl.npy")
    assert dl.shape == (70, 70) and np.all(np.isfinite(dl)) and rep["warnings"] == []
    true = np.load(tmp_path / "s.model.npy")
    assert np.sqrt(np.mean((dl - true) ** 2)) < 250.0  # the shipped model's prediction is a usable start
    # the FWI started from the DL model
    hist = json.loads((out / "fwi" / "history.json").read_text())
    assert len(hist) == 3
    r = runner.invoke(cli, ["invert", str(s), "--out", str(out)])
    assert r.exit_code == 2 and "--resume" in r.output


def test_invert_refuses_segy_without_geometry_sidecar(tmp_path, small_geometry_file):
    runner = CliRunner()
    s = tmp_path / "s.segy"
    assert runner.invoke(cli, ["synth", "--model", "salt", "--geometry", small_geometry_file, "--out", str(s)]).exit_code == 0
    os.remove(tmp_path / "s.json")
    r = runner.invoke(cli, ["invert", str(s), "--out", str(tmp_path / "run")])
    assert r.exit_code == 2 and "sidecar" in r.output and "hybridfwi info" in r.output
    assert not (tmp_path / "run").exists()


def test_invert_warns_when_the_survey_geometry_is_not_the_networks(tmp_path, small_geometry_file):
    runner = CliRunner()
    s = tmp_path / "s.segy"
    assert runner.invoke(cli, ["synth", "--model", "salt", "--geometry", small_geometry_file, "--out", str(s)]).exit_code == 0
    r = runner.invoke(cli, ["invert", str(s), "--out", str(tmp_path / "run"), "--iterations", "1", "--bands", "full", "--no-progress"])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "run" / "report.json").read_text())
    assert rep["warnings"] and "differs from the network" in rep["warnings"][0]
