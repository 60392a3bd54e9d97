import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from hybridfwi.cli.main import cli
from hybridfwi.io.segy import read_model_segy, read_shots
from hybridfwi.physics import ForwardConfig, forward_model
from hybridfwi.synth.families import make_model


def run(args):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result


def assert_bad_input(result, *words):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert "Traceback" not in result.output
    last = lines[-1]
    for w in words:
        assert w in result.output, (w, result.output)
    assert last.startswith("Error") or "Error" in result.output


def test_synth_writes_survey_and_true_model(tmp_path, small_geometry_file, small_survey):
    out = tmp_path / "run" / "survey.segy"
    r = run(["synth", "--model", "gas:3", "--geometry", small_geometry_file, "--out", str(out), "--seed", "2"])
    assert r.exit_code == 0, r.output
    rec = read_shots(out)
    model = np.load(tmp_path / "run" / "survey.model.npy")
    np.testing.assert_array_equal(model, make_model("gas", 2, 3, 40, 60))
    np.testing.assert_array_equal(read_model_segy(tmp_path / "run" / "survey.model.segy").values, model)
    np.testing.assert_array_equal(rec.data, forward_model(model, small_survey))
    assert rec.survey == small_survey


def test_synth_with_noise_and_finer_modelling(tmp_path, small_geometry_file, small_survey):
    clean = tmp_path / "clean.segy"
    noisy = tmp_path / "noisy.segy"
    assert run(["synth", "--model", "curvevel-a:1", "--geometry", small_geometry_file, "--out", str(clean),
                "--refine", "2", "--accuracy", "8"]).exit_code == 0
    assert run(["synth", "--model", "curvevel-a:1", "--geometry", small_geometry_file, "--out", str(noisy),
                "--refine", "2", "--accuracy", "8", "--snr", "20"]).exit_code == 0
    c, n = read_shots(clean).data, read_shots(noisy).data
    snr = 10 * np.log10(np.mean(c.astype(np.float64) ** 2) / np.mean((n - c).astype(np.float64) ** 2))
    assert abs(snr - 20.0) < 0.2
    coarse = forward_model(make_model("curvevel-a", 0, 1, 40, 60), small_survey, ForwardConfig(accuracy=4))
    assert 0 < np.linalg.norm(c - coarse) / np.linalg.norm(coarse) < 0.3  # not the inverse crime, same physics


def test_synth_from_npy_model(tmp_path, small_geometry_file):
    v = np.full((40, 60), 2200.0, np.float32)
    np.save(tmp_path / "v.npy", v)
    r = run(["synth", "--model", str(tmp_path / "v.npy"), "--geometry", small_geometry_file, "--out", str(tmp_path / "s.segy")])
    assert r.exit_code == 0, r.output
    np.save(tmp_path / "bad.npy", np.full((10, 10), 2200.0, np.float32))
    r = run(["synth", "--model", str(tmp_path / "bad.npy"), "--geometry", small_geometry_file, "--out", str(tmp_path / "t.segy")])
    assert_bad_input(r, "shape")
    assert not (tmp_path / "t.segy").exists()


def test_generate_and_plot(tmp_path, small_geometry_file):
    out = tmp_path / "ds"
    r = run(["generate", "--family", "flatvel-a", "--family", "marine", "--count", "2", "--out", str(out),
             "--geometry", small_geometry_file, "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "wrote 4 samples" in r.output
    r = run(["plot", str(out), "--index", "3", "--out", str(tmp_path / "s.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run(["plot", str(out), "--index", "9", "--out", str(tmp_path / "t.png")])
    assert_bad_input(r, "out of range")


def test_plot_survey_and_models(tmp_path, small_geometry_file):
    s = tmp_path / "s.segy"
    assert run(["synth", "--model", "salt", "--geometry", small_geometry_file, "--out", str(s)]).exit_code == 0
    for target, kind in ((s, "shot gathers"), (tmp_path / "s.model.segy", "velocity model"), (tmp_path / "s.model.npy", "velocity model")):
        r = run(["plot", str(target), "--out", str(tmp_path / "f.png")])
        assert r.exit_code == 0 and kind in r.output, r.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["generate", "--family", "granite", "--count", "2"], ["unknown family", "granite"]),
        (["generate", "--family", "salt", "--count", "0"], ["--count"]),
        (["generate", "--family", "salt", "--count", "-3"], ["--count"]),
        (["generate", "--family", "salt", "--count", "2", "--geometry", "nope.json"], ["does not exist"]),
        (["generate", "--family", "salt", "--count", "2", "--geometry", "openfwi", "--max-vel", "-1"], ["max_vel"]),
        (["synth", "--model", "granite:1"], ["neither a .npy file nor a family"]),
        (["synth", "--model", "salt:x"], ["integer"]),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, args, words):
    out = ["--out", str(tmp_path / ("ds" if args[0] == "generate" else "s.segy"))]
    r = run(args + out)
    assert_bad_input(r, *words)
    assert not os.path.exists(out[1]) or not os.listdir(out[1])


def test_out_path_that_is_a_file(tmp_path):
    f = tmp_path / "taken"
    f.write_text("keep me")
    r = run(["generate", "--family", "salt", "--count", "1", "--out", str(f)])
    assert_bad_input(r, "is a file")
    assert f.read_text() == "keep me"


def test_geometry_with_missing_fields(tmp_path, small_survey):
    d = small_survey.to_dict()
    del d["receiver_x"]
    (tmp_path / "g.json").write_text(json.dumps(d))
    r = run(["generate", "--family", "salt", "--count", "1", "--out", str(tmp_path / "ds"), "--geometry", str(tmp_path / "g.json")])
    assert_bad_input(r, "receiver_x")
    (tmp_path / "bad.json").write_text("{not json")
    r = run(["synth", "--model", "salt", "--geometry", str(tmp_path / "bad.json"), "--out", str(tmp_path / "s.segy")])
    assert_bad_input(r, "not valid JSON")


def test_receivers_outside_the_model(tmp_path, small_survey):
    small_survey.receiver_x[:, -1] = 900.0  # the grid ends at 590 m
    small_survey.to_json(tmp_path / "g.json")
    for args in (["generate", "--family", "salt", "--count", "1", "--out", str(tmp_path / "ds")],
                 ["synth", "--model", "salt", "--out", str(tmp_path / "s.segy")]):
        r = run(args + ["--geometry", str(tmp_path / "g.json")])
        assert_bad_input(r, "outside the model", "900")
    assert not (tmp_path / "s.segy").exists() and not (tmp_path / "ds").exists()


def test_too_coarse_grid_is_refused(tmp_path, small_survey):
    small_survey.wavelet = type(small_survey.wavelet)(peak_freq=40.0)
    small_survey.to_json(tmp_path / "g.json")
    r = run(["synth", "--model", "marine", "--geometry", str(tmp_path / "g.json"), "--out", str(tmp_path / "s.segy")])
    assert_bad_input(r, "cells per minimum wavelength")
    assert not (tmp_path / "s.segy").exists()


def test_families_listing():
    r = run(["families"])
    assert r.exit_code == 0 and "marine" in r.output and "OOD" in r.output and "curvefault-b" in r.output


def test_generate_checks_dispersion_before_writing(tmp_path, small_survey):
    small_survey.wavelet = type(small_survey.wavelet)(peak_freq=40.0)
    small_survey.to_json(tmp_path / "g.json")
    r = run(["generate", "--family", "salt", "--count", "1", "--out", str(tmp_path / "ds"), "--geometry", str(tmp_path / "g.json")])
    assert_bad_input(r, "cells per minimum wavelength")
    assert not (tmp_path / "ds").exists()
