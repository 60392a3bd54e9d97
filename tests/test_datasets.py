import filecmp
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hybridfwi.errors import InputError
from hybridfwi.physics import forward_model
from torch.utils.data import Dataset

from hybridfwi.synth.datasets import GenerateConfig, ShotDataset, generate_dataset, plan_shards
from hybridfwi.synth.families import make_model


def _cfg(out, survey, **kw):
    base = dict(families=["flatfault-b", "gas"], count=7, out=str(out), survey=survey, seed=5, batch=3, shard_size=4)
    base.update(kw)
    return GenerateConfig(**base)


def _shard_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".npy"))


def test_shards_hold_the_models_and_their_data(tmp_path, small_survey):
    manifest = generate_dataset(_cfg(tmp_path / "ds", small_survey), progress=False)
    assert manifest["complete"] and manifest["total"] == 14
    assert [s["count"] for s in manifest["shards"]] == [4, 3, 4, 3]
    folder = tmp_path / "ds"
    assert _shard_files(folder) == sorted([f"data{k}.npy" for k in range(4)] + [f"model{k}.npy" for k in range(4)])
    data = np.load(folder / "data1.npy")
    model = np.load(folder / "model1.npy")
    assert data.shape == (3, 3, 400, 30) and model.shape == (3, 1, 40, 60)
    assert data.dtype == model.dtype == np.float32
    # shard 1 = flatfault-b samples 4..6; shard 3 = gas samples 4..6
    np.testing.assert_array_equal(model[2, 0], make_model("flatfault-b", 5, 6, 40, 60))
    np.testing.assert_array_equal(data[2], forward_model(model[2, 0], small_survey))
    np.testing.assert_array_equal(np.load(folder / "model3.npy")[0, 0], make_model("gas", 5, 4, 40, 60))
    assert not (folder / ".partial").exists()
    saved = json.loads((folder / "manifest.json").read_text())
    assert saved["config"]["geometry"]["nt"] == 400 and "deepwave" in saved["versions"]


def test_batch_size_does_not_change_the_bytes(tmp_path, small_survey):
    generate_dataset(_cfg(tmp_path / "a", small_survey, batch=1), progress=False)
    generate_dataset(_cfg(tmp_path / "b", small_survey, batch=5), progress=False)
    for name in _shard_files(tmp_path / "a"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name


def test_sigkill_then_resume_is_byte_identical(tmp_path, small_survey, small_geometry_file):
    reference = tmp_path / "ref"
    generate_dataset(_cfg(reference, small_survey, count=9), progress=False)

    out = tmp_path / "killed"
    def cmd(batch):
        return [sys.executable, "-m", "hybridfwi", "generate", "--family", "flatfault-b", "--family", "gas",
                "--count", "9", "--seed", "5", "--geometry", small_geometry_file, "--out", str(out),
                "--batch", str(batch), "--shard-size", "4", "--no-progress", "--device", "cpu"]

    proc = subprocess.Popen(cmd(1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    partial = out / ".partial"
    while time.time() < deadline:  # kill in the middle of the second shard
        if (out / "model0.npy").exists() and partial.exists() and len(list(partial.glob("shard1_*.model.npy"))) >= 1:
            break
        if proc.poll() is not None:
            pytest.fail("generate finished before it could be killed: " + proc.stderr.read().decode())
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "model3.npy").exists(), "killed too late to test resuming"
    # resume with another batch size: the bytes must not change
    resumed = subprocess.run(cmd(3), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert _shard_files(out) == _shard_files(reference)
    for name in _shard_files(reference):
        assert filecmp.cmp(reference / name, out / name, shallow=False), name
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_resume_with_other_settings_is_refused(tmp_path, small_survey):
    generate_dataset(_cfg(tmp_path / "ds", small_survey, count=2), progress=False)
    with pytest.raises(InputError, match="other settings"):
        generate_dataset(_cfg(tmp_path / "ds", small_survey, count=2, seed=6), progress=False)


def test_out_must_not_be_a_file_or_foreign_folder(tmp_path, small_survey):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        generate_dataset(_cfg(f, small_survey), progress=False)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not a hybridfwi dataset"):
        generate_dataset(_cfg(tmp_path / "foreign", small_survey), progress=False)


def test_reader_over_our_format(tmp_path, small_survey):
    generate_dataset(_cfg(tmp_path / "ds", small_survey), progress=False)
    ds = ShotDataset(tmp_path / "ds")
    assert isinstance(ds, Dataset) and len(ds) == 14
    d, m = ds[9]  # gas sample 2
    assert tuple(d.shape) == (3, 400, 30) and tuple(m.shape) == (1, 40, 60)
    assert ds.family(9) == "gas" and ds.family(3) == "flatfault-b"
    np.testing.assert_array_equal(m[0].numpy(), make_model("gas", 5, 2, 40, 60))
    assert ds.surveys[0] == small_survey
    only_gas = ShotDataset(tmp_path / "ds", families=["gas"])
    assert len(only_gas) == 7
    with pytest.raises(IndexError):
        ds[14]


def test_reader_over_a_published_openfwi_folder(tmp_path):
    """OpenFWI publishes data/dataK.npy + model/modelK.npy (Vel, Style) or seisK.npy + velK.npy (Fault)."""
    rng = np.random.default_rng(0)
    vel = tmp_path / "FlatVel_A"
    (vel / "data").mkdir(parents=True)
    (vel / "model").mkdir()
    fault = tmp_path / "CurveFault_A"
    fault.mkdir()
    arrays = {}
    for k in (1, 2, 10):
        arrays[("v", k)] = (rng.standard_normal((2, 5, 20, 7)).astype(np.float32), rng.uniform(1500, 4500, (2, 1, 7, 7)).astype(np.float32))
        np.save(vel / "data" / f"data{k}.npy", arrays[("v", k)][0])
        np.save(vel / "model" / f"model{k}.npy", arrays[("v", k)][1])
    arrays[("f", 0)] = (rng.standard_normal((3, 5, 20, 7)).astype(np.float32), rng.uniform(1500, 4500, (3, 1, 7, 7)).astype(np.float32))
    np.save(fault / "seis2_1_0.npy", arrays[("f", 0)][0])
    np.save(fault / "vel2_1_0.npy", arrays[("f", 0)][1])
    ds = ShotDataset([vel, fault])
    assert len(ds) == 9
    # natural order: data1, data2, data10
    d, m = ds.arrays(5)
    np.testing.assert_array_equal(d, arrays[("v", 10)][0][1])
    np.testing.assert_array_equal(m, arrays[("v", 10)][1][1])
    d, m = ds.arrays(8)
    np.testing.assert_array_equal(m, arrays[("f", 0)][1][2])


def test_incomplete_dataset_is_not_read(tmp_path, small_survey):
    cfg = _cfg(tmp_path / "ds", small_survey)

    class Stop(Exception):
        pass

    def stop(n):
        raise Stop

    with pytest.raises(Stop):
        generate_dataset(cfg, progress=False, on_chunk=stop)
    with pytest.raises(InputError, match="incomplete"):
        ShotDataset(tmp_path / "ds")


def test_plan_shards():
    shards = plan_shards(["a", "b"], 5, 2)
    assert [(s["family"], s["start"], s["count"]) for s in shards] == [
        ("a", 0, 2), ("a", 2, 2), ("a", 4, 1), ("b", 0, 2), ("b", 2, 2), ("b", 4, 1)]
