import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import one_line_error
from hybridfwi.cli.main import cli
from hybridfwi.core import Geometry
from hybridfwi.io.reader import read_survey
from hybridfwi.io.segy import read_model_segy
from hybridfwi.physics import ForwardConfig, forward_model
from hybridfwi.synth.families import make_model


def run(args):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result


def test_synth_writes_survey_and_true_model(tmp_path, small_geometry_file, small_grid, small_survey):
    out = tmp_path / "run" / "survey.segy"
    r = run(["synth", "--model", "gas:3", "--geometry", small_geometry_file, "--out", str(out), "--seed", "2"])
    assert r.exit_code == 0, r.output
    sf = read_survey(out)
    model = np.load(tmp_path / "run" / "survey.model.npy")
    np.testing.assert_array_equal(model, make_model("gas", 2, 3, 40, 60))
    np.testing.assert_array_equal(read_model_segy(tmp_path / "run" / "survey.model.segy").values, model)
    np.testing.assert_array_equal(sf.record.data, forward_model(model, small_grid, small_survey))
    assert sf.survey == small_survey and sf.grid_hint == small_grid and sf.synthetic
    # an existing survey is not overwritten without --force
    again = ["synth", "--model", "gas:4", "--geometry", small_geometry_file, "--out", str(out), "--seed", "2"]
    one_line_error(run(again), "already exists", "--force")
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "survey.model.npy"), model)
    assert run(again + ["--force"]).exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "survey.model.npy"), make_model("gas", 2, 4, 40, 60))


def test_synth_with_noise_and_finer_modelling(tmp_path, small_geometry_file, small_grid, small_survey):
    clean = tmp_path / "clean.segy"
    noisy = tmp_path / "noisy.segy"
    assert run(["synth", "--model", "curvevel-a:1", "--geometry", small_geometry_file, "--out", str(clean),
                "--refine", "2", "--accuracy", "8"]).exit_code == 0
    assert run(["synth", "--model", "curvevel-a:1", "--geometry", small_geometry_file, "--out", str(noisy),
                "--refine", "2", "--accuracy", "8", "--snr", "20"]).exit_code == 0
    c, n = read_survey(clean).record.data, read_survey(noisy).record.data
    snr = 10 * np.log10(np.mean(c.astype(np.float64) ** 2) / np.mean((n - c).astype(np.float64) ** 2))
    assert abs(snr - 20.0) < 0.2
    coarse = forward_model(make_model("curvevel-a", 0, 1, 40, 60), small_grid, small_survey, ForwardConfig(accuracy=4))
    assert 0 < np.linalg.norm(c - coarse) / np.linalg.norm(coarse) < 0.3  # not the inverse crime, same physics


def test_synth_from_npy_model_and_free_surface_override(tmp_path, small_geometry_file):
    v = np.full((40, 60), 2200.0, np.float32)
    np.save(tmp_path / "v.npy", v)
    r = run(["synth", "--model", str(tmp_path / "v.npy"), "--geometry", small_geometry_file, "--out", str(tmp_path / "s.segy"),
             "--free-surface"])
    assert r.exit_code == 0, r.output
    assert read_survey(tmp_path / "s.segy").survey.free_surface
    np.save(tmp_path / "bad.npy", np.full((10, 10), 2200.0, np.float32))
    r = run(["synth", "--model", str(tmp_path / "bad.npy"), "--geometry", small_geometry_file, "--out", str(tmp_path / "t.segy")])
    one_line_error(r, "shape")
    assert not (tmp_path / "t.segy").exists()


def test_synth_max_vel_is_raised_to_the_model_unless_given(tmp_path, small_geometry_file):
    """``--max-vel`` defaults to "auto": a basin model faster than 4500 m/s is modelled; a given limit is kept."""
    v = np.full((40, 60), 5500.0, np.float32)
    v[:10] = 2000.0
    np.save(tmp_path / "fast.npy", v)
    args = ["synth", "--model", str(tmp_path / "fast.npy"), "--geometry", small_geometry_file]
    assert run(args + ["--out", str(tmp_path / "a.segy")]).exit_code == 0
    one_line_error(run(args + ["--out", str(tmp_path / "b.segy"), "--max-vel", "4500"]), "--max-vel")
    assert not (tmp_path / "b.segy").exists()


def test_generate_and_plot(tmp_path, small_geometry_file):
    out = tmp_path / "ds"
    r = run(["generate", "--family", "flatvel-a", "--family", "marine", "--count", "2", "--out", str(out),
             "--geometry", small_geometry_file, "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "wrote 4 samples" in r.output and "pretrain seed 0" in r.output
    r = run(["plot", str(out), "--index", "3", "--out", str(tmp_path / "s.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run(["plot", str(out), "--index", "9", "--out", str(tmp_path / "t.png")])
    one_line_error(r, "out of range")


def test_generate_purpose_follows_the_seed(tmp_path, small_geometry_file):
    out = tmp_path / "val"
    r = run(["generate", "--family", "flatvel-a", "--count", "1", "--seed", "10001", "--out", str(out),
             "--geometry", small_geometry_file, "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "validation seed 10001" in r.output
    assert json.loads((out / "manifest.json").read_text())["config"]["purpose"] == "validation"
    # such data never train a network
    r = run(["pretrain", "--data", str(out), "--out", str(tmp_path / "net"), "--epochs", "1", "--no-progress"])
    one_line_error(r, "validation", "pretrain")
    assert not (tmp_path / "net").exists() or not os.listdir(tmp_path / "net")


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
        (["generate", "--family", "salt", "--family", "salt", "--count", "1"], ["twice"]),
        (["generate", "--family", "salt", "--count", "2", "--geometry", "nope.json"], ["does not exist"]),
        (["generate", "--family", "salt", "--count", "2", "--geometry", "openfwi", "--max-vel", "-1"], ["--max-vel"]),
        (["generate", "--family", "salt", "--count", "2", "--seed", "250000"], ["--seed 250000", "no seed range"]),
        (["generate", "--family", "salt", "--count", "2", "--bogus"], ["--bogus"]),
        (["generate", "--count", "2"], ["--family"]),
        (["synth", "--model", "granite:1"], ["neither a .npy file nor a family"]),
        (["synth", "--model", "salt:x"], ["integer"]),
        (["synth", "--model", "salt", "--snr", "500"], ["--snr"]),
        (["synth", "--model", "salt", "--snr", "nan"], ["--snr"]),
        (["synth", "--model", "salt", "--accuracy", "3"], ["--accuracy"]),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, args, words):
    out = ["--out", str(tmp_path / ("ds" if args[0] == "generate" else "s.segy"))]
    r = run(args + out)
    one_line_error(r, *words)
    assert not os.path.exists(out[1]) or not os.listdir(out[1])


def test_unknown_command_and_synth_out_kinds(tmp_path):
    one_line_error(run(["nonsense"]), "No such command")
    one_line_error(run(["synth", "--model", "salt", "--out", str(tmp_path / "s.txt")]), ".segy")
    one_line_error(run(["synth", "--model", "salt", "--out", str(tmp_path)]), "--out", "directory")


def test_out_path_that_is_a_file(tmp_path):
    f = tmp_path / "taken"
    f.write_text("keep me")
    r = run(["generate", "--family", "salt", "--count", "1", "--out", str(f)])
    one_line_error(r, "is a file")
    assert f.read_text() == "keep me"


def test_geometry_with_missing_fields(tmp_path, small_geometry):
    d = small_geometry.to_dict()
    del d["receiver_x"]
    (tmp_path / "g.json").write_text(json.dumps(d))
    r = run(["generate", "--family", "salt", "--count", "1", "--out", str(tmp_path / "ds"), "--geometry", str(tmp_path / "g.json")])
    one_line_error(r, "receiver_x")
    d = small_geometry.to_dict()
    del d["grid"]
    (tmp_path / "g2.json").write_text(json.dumps(d))
    r = run(["synth", "--model", "salt", "--geometry", str(tmp_path / "g2.json"), "--out", str(tmp_path / "s.segy")])
    one_line_error(r, "'grid'")
    (tmp_path / "bad.json").write_text("{not json")
    r = run(["synth", "--model", "salt", "--geometry", str(tmp_path / "bad.json"), "--out", str(tmp_path / "s.segy")])
    one_line_error(r, "not valid JSON")


def test_receivers_outside_the_model(tmp_path, small_grid, small_survey):
    s = small_survey.replace(receiver_x=np.where(np.arange(30) == 29, 900.0, small_survey.receiver_x))  # the grid ends at 590 m
    (tmp_path / "g.json").write_text(Geometry(small_grid, s).to_json())
    for args in (["generate", "--family", "salt", "--count", "1", "--out", str(tmp_path / "ds")],
                 ["synth", "--model", "salt", "--out", str(tmp_path / "s.segy")]):
        r = run(args + ["--geometry", str(tmp_path / "g.json")])
        one_line_error(r, "outside the model", "900")
    assert not (tmp_path / "s.segy").exists() and not (tmp_path / "ds").exists()


def test_too_coarse_grid_is_refused(tmp_path, small_grid, small_survey):
    s = small_survey.replace(wavelet=type(small_survey.wavelet)(peak_freq=40.0))
    (tmp_path / "g.json").write_text(Geometry(small_grid, s).to_json())
    r = run(["synth", "--model", "marine", "--geometry", str(tmp_path / "g.json"), "--out", str(tmp_path / "s.segy")])
    one_line_error(r, "cells per minimum wavelength")
    assert not (tmp_path / "s.segy").exists()


def test_families_listing():
    r = run(["families"])
    assert r.exit_code == 0 and "marine" in r.output and "OOD" in r.output and "curvefault-b" in r.output
    assert "basin-marine" in r.output and "basin-land" in r.output


def test_generate_checks_dispersion_before_writing(tmp_path, small_grid, small_survey):
    s = small_survey.replace(wavelet=type(small_survey.wavelet)(peak_freq=40.0))
    (tmp_path / "g.json").write_text(Geometry(small_grid, s).to_json())
    r = run(["generate", "--family", "salt", "--count", "1", "--out", str(tmp_path / "ds"), "--geometry", str(tmp_path / "g.json")])
    one_line_error(r, "cells per minimum wavelength")
    assert not (tmp_path / "ds").exists()


def test_version_and_help():
    r = run(["--version"])
    assert r.exit_code == 0 and "hybridfwi" in r.output
    for cmd in ("invert", "fwi", "predict", "compare", "cache", "generate", "synth"):
        r = run([cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output, cmd
