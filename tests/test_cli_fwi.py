import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from hybridfwi.cli.main import cli
from hybridfwi.core import ShotRecord
from hybridfwi.io.segy import write_shots


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def synth_survey(tmp_path, small_geometry_file):
    out = tmp_path / "obs.segy"
    r = run(["synth", "--model", "flatfault-a:2", "--geometry", small_geometry_file, "--out", str(out), "--accuracy", "8"])
    assert r.exit_code == 0, r.output
    return out


def test_fwi_end_to_end(tmp_path, synth_survey):
    out = tmp_path / "run"
    true = str(synth_survey).replace(".segy", ".model.npy")
    r = run(["fwi", str(synth_survey), "--initial", f"smooth:40:{true}", "--true", true, "--out", str(out),
             "--iterations", "4", "--bands", "10,full", "--no-progress"])
    assert r.exit_code == 0, r.output
    for name in ("model.npy", "model.segy", "history.json", "report.json", "models.png", "misfit.png", "gathers.png", "config.json"):
        assert (out / name).exists(), name
    rep = json.loads((out / "report.json").read_text())
    for key in ("data_misfit_initial", "data_misfit_final", "iterations", "wall_time_s", "device",
                "model_rmse_initial_ms", "model_rmse_final_ms", "model_mae_final_ms", "ssim_final"):
        assert key in rep, key
    assert rep["iterations"] == 8 and rep["device"] == "cpu"
    assert rep["data_misfit_final"] < rep["data_misfit_initial"]
    assert rep["model_rmse_final_ms"] < rep["model_rmse_initial_ms"]
    hist = json.loads((out / "history.json").read_text())
    assert [h["band_hz"] for h in hist] == [10.0] * 4 + [None] * 4
    model = np.load(out / "model.npy")
    assert model.shape == (40, 60) and np.all(np.isfinite(model))
    # running again into the same folder without --resume is refused, and changes nothing
    before = (out / "model.npy").read_bytes()
    r = run(["fwi", str(synth_survey), "--initial", "gradient", "--out", str(out)])
    assert r.exit_code == 2 and "--resume" in r.output
    assert (out / "model.npy").read_bytes() == before


def _bad(r, *words):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    for w in words:
        assert w in r.output, (w, r.output)


def test_fwi_bad_inputs_exit_2_and_write_nothing(tmp_path, synth_survey, small_survey):
    out = tmp_path / "run"
    base = [str(synth_survey), "--out", str(out), "--no-progress"]
    np.save(tmp_path / "wrong.npy", np.full((10, 10), 2000.0, np.float32))
    cases = [
        (["fwi", str(tmp_path / "missing.segy"), "--initial", "gradient", "--out", str(out)], ["no such file"]),
        (["fwi", *base, "--initial", str(tmp_path / "wrong.npy")], ["shape", "(40, 60)"]),
        (["fwi", *base, "--initial", "gradient", "--vmin", "3000", "--vmax", "2000"], ["vmin"]),
        (["fwi", *base, "--initial", "gradient", "--bands", "5,800"], ["Nyquist"]),
        (["fwi", *base, "--initial", "gradient", "--bands", "5,abc"], ["--bands"]),
        (["fwi", *base, "--initial", "gradient:abc"], ["--initial"]),
        (["fwi", *base, "--initial", "gradient", "--config", str(tmp_path / "nope.json")], ["does not exist"]),
    ]
    for args, words in cases:
        _bad(run(args), *words)
        assert not out.exists(), args
    # a survey whose receivers lie outside its model grid
    small_survey.receiver_x[:, -1] = 2000.0
    bad = tmp_path / "outside.segy"
    write_shots(bad, ShotRecord(np.zeros(small_survey.data_shape, np.float32), small_survey))
    _bad(run(["fwi", str(bad), "--initial", "gradient", "--out", str(out)]), "outside the model")
    assert not out.exists()


def test_fwi_sigkill_and_resume_matches_uninterrupted(tmp_path, synth_survey):
    true = str(synth_survey).replace(".segy", ".model.npy")
    common = ["--initial", f"smooth:40:{true}", "--iterations", "6", "--no-progress", "--device", "cpu"]
    ref = tmp_path / "ref"
    assert run(["fwi", str(synth_survey), "--out", str(ref), *common]).exit_code == 0
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "hybridfwi", "fwi", str(synth_survey), "--out", str(out), *common]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        if proc.poll() is not None:
            pytest.fail("fwi finished before it could be killed")
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
