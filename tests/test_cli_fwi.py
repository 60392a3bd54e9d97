import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import one_line_error
from hybridfwi.cli.main import cli
from hybridfwi.core import ShotRecord
from hybridfwi.io.segy import write_shots


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def synth_survey(tmp_path, small_geometry_file):
    out = tmp_path / "obs.segy"
    r = run(["synth", "--model", "flatfault-a:2", "--geometry", small_geometry_file, "--out", str(out), "--accuracy", "8",
             "--seed", "200000"])
    assert r.exit_code == 0, r.output
    return out


def test_fwi_end_to_end(tmp_path, synth_survey):
    out = tmp_path / "run"
    true = str(synth_survey).replace(".segy", ".model.npy")
    r = run(["fwi", str(synth_survey), "--initial", f"smooth:40:{true}", "--true", true, "--out", str(out),
             "--iterations", "4", "--bands", "10,full", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "data misfit" in r.output and "model RMSE" in r.output
    for name in ("model.npy", "model.segy", "wavelet.npy", "history.json", "report.json", "models.png", "misfit.png", "gathers.png",
                 "run.json"):
        assert (out / name).exists(), name
    rep = json.loads((out / "report.json").read_text())
    for key in ("data_misfit_initial", "data_misfit_final", "iterations", "wall_time_s", "device", "model_rmse_initial_ms",
                "model_rmse_final_ms", "initial_metrics", "final_metrics", "problem", "grid", "fwi"):
        assert key in rep, key
    assert rep["iterations"] == 8 and rep["device"] == "cpu"
    assert rep["grid"] == {"nz": 40, "nx": 60, "dz": 10.0, "dx": 10.0, "z0": 0.0, "x0": 0.0}  # the synthetic survey's own grid
    assert rep["fwi"]["misfit"] == "l2" and not rep["fwi"]["estimate_wavelet"]  # synthetic: the wavelet is known
    assert rep["data_misfit_final"] < rep["data_misfit_initial"]
    assert rep["model_rmse_final_ms"] < rep["model_rmse_initial_ms"]
    assert rep["final_metrics"]["ssim"] > rep["initial_metrics"]["ssim"]
    assert rep["final_metrics"]["mae_ms"] < rep["initial_metrics"]["mae_ms"]
    hist = json.loads((out / "history.json").read_text())
    assert [h["band_hz"] for h in hist] == [10.0] * 4 + [None] * 4
    model = np.load(out / "model.npy")
    assert model.shape == (40, 60) and np.all(np.isfinite(model))
    # running again into the same folder without --resume is refused, and changes nothing
    before = (out / "model.npy").read_bytes()
    r = run(["fwi", str(synth_survey), "--initial", "gradient", "--out", str(out)])
    one_line_error(r, "--resume")
    assert (out / "model.npy").read_bytes() == before


def test_fwi_from_the_reference_model_with_a_config_file(tmp_path, synth_survey):
    """``--initial reference`` (the 1-D start invert uses) and settings from a JSON file, options winning."""
    out = tmp_path / "run"
    (tmp_path / "fwi.json").write_text(json.dumps({"optimizer": "adam", "lr": 30.0, "iterations": 7, "tv_weight": 0.001}))
    r = run(["fwi", str(synth_survey), "--initial", "reference", "--config", str(tmp_path / "fwi.json"), "--iterations", "2",
             "--bands", "full", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["iterations"] == 2 and rep["fwi"]["optimizer"] == "adam" and rep["fwi"]["tv_weight"] == 0.001
    assert rep["data_misfit_final"] < rep["data_misfit_initial"]
    assert rep["initial"] == "reference"
    run_cfg = json.loads((out / "run.json").read_text())
    assert run_cfg["kind"] == "fwi" and run_cfg["settings"]["initial"] == "reference"


def test_fwi_builds_a_grid_from_the_data_when_asked(tmp_path, synth_survey):
    """--dx/--depth/--padding: a synthetic survey is inverted on a grid built from its data, not its own."""
    out = tmp_path / "run"
    r = run(["fwi", str(synth_survey), "--initial", "gradient:1600:2600", "--dx", "5", "--depth", "200", "--padding", "20",
             "--iterations", "1", "--bands", "full", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    g = rep["grid"]
    assert g["dx"] == g["dz"] == 5.0 and g["x0"] == -20.0 and g["z0"] + (g["nz"] - 1) * 5.0 >= 200.0
    assert g["x0"] + (g["nx"] - 1) * 5.0 >= 600.0 and rep["problem"]["grid_rule"] == "given (--dx)"
    model = np.load(out / "model.npy")
    assert model.shape == (g["nz"], g["nx"])
    assert rep["data_misfit_final"] < rep["data_misfit_initial"]
    # a true model on the survey's own grid no longer fits
    true = str(synth_survey).replace(".segy", ".model.npy")
    one_line_error(run(["fwi", str(synth_survey), "--initial", "gradient", "--dx", "5", "--true", true, "--out",
                        str(tmp_path / "run2"), "--no-progress"]), "true model", "(40, 60)")


def test_fwi_bad_inputs_exit_2_and_write_nothing(tmp_path, synth_survey, small_grid, small_survey):
    out = tmp_path / "run"
    base = [str(synth_survey), "--out", str(out), "--no-progress"]
    np.save(tmp_path / "wrong.npy", np.full((10, 10), 2000.0, np.float32))
    (tmp_path / "typo.json").write_text(json.dumps({"iterations": 3, "typo_field": 1}))
    cases = [
        (["fwi", str(tmp_path / "missing.segy"), "--initial", "gradient", "--out", str(out)], ["no such file"]),
        (["fwi", *base, "--initial", str(tmp_path / "wrong.npy")], ["shape", "(40, 60)"]),
        (["fwi", *base, "--initial", "gradient", "--vmin", "3000", "--vmax", "2000"], ["vmin"]),
        (["fwi", *base, "--initial", "gradient", "--bands", "5,800"], ["Nyquist"]),
        (["fwi", *base, "--initial", "gradient", "--bands", "5,abc"], ["--bands"]),
        (["fwi", *base, "--initial", "gradient:abc"], ["--initial"]),
        (["fwi", *base, "--initial", "gradient", "--config", str(tmp_path / "nope.json")], ["does not exist"]),
        (["fwi", *base, "--initial", "gradient", "--config", str(tmp_path / "typo.json")], ["typo_field"]),
        (["fwi", *base, "--initial", "gradient", "--iterations", "0"], ["--iterations"]),
        (["fwi", *base, "--initial", "gradient", "--optimizer", "sgd"], ["--optimizer"]),
        (["fwi", *base, "--initial", "gradient", "--vmin", "nan"], ["--vmin"]),
        (["fwi", *base, "--initial", "gradient", "--dx", "-5"], ["--dx"]),
        (["fwi", *base], ["--initial"]),
        (["fwi", *base, "--initial", "gradient", "--receiver-spacing", "10"], ["together"]),
    ]
    for args, words in cases:
        one_line_error(run(args), *words)
        assert not out.exists(), args
    # a survey whose receivers lie outside its model grid
    s = small_survey.replace(receiver_x=np.where(np.arange(30) == 29, 2000.0, small_survey.receiver_x))
    bad = tmp_path / "outside.segy"
    write_shots(bad, ShotRecord(np.ones(s.data_shape, np.float32), s), grid=small_grid)
    one_line_error(run(["fwi", str(bad), "--initial", "gradient", "--out", str(out)]), "outside the model")
    assert not out.exists()


def test_fwi_sigkill_and_resume_matches_uninterrupted(tmp_path, synth_survey):
    true = str(synth_survey).replace(".segy", ".model.npy")
    common = ["--initial", f"smooth:40:{true}", "--iterations", "6", "--bands", "full", "--no-progress", "--device", "cpu"]
    ref = tmp_path / "ref"
    assert run(["fwi", str(synth_survey), "--out", str(ref), *common]).exit_code == 0
    out = tmp_path / "killed"
    # the checkpoint interval comes from the config file (0: after every iteration)
    (tmp_path / "ck.json").write_text(json.dumps({"checkpoint_every_s": 0.0}))
    common += ["--config", str(tmp_path / "ck.json")]
    cmd = [sys.executable, "-m", "hybridfwi", "fwi", str(synth_survey), "--out", str(out), *common]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        if proc.poll() is not None:
            pytest.fail("fwi finished before it could be killed: " + proc.stderr.read().decode())
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "report.json").exists(), "killed too late"
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(out / "model.npy"), np.load(ref / "model.npy"))
    assert [h["misfit"] for h in json.loads((out / "history.json").read_text())] == \
        [h["misfit"] for h in json.loads((ref / "history.json").read_text())]
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
    # resuming with other settings is refused
    r = subprocess.run(cmd + ["--iterations", "7", "--resume"], capture_output=True, text=True)
    assert r.returncode == 2 and "other settings" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
