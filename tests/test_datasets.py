import filecmp
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from torch.utils.data import Dataset

from hybridfwi.errors import InputError
from hybridfwi.physics import ForwardConfig, forward_model
from hybridfwi.synth import seeds
from hybridfwi.synth.datasets import GenerateConfig, ShotDataset, generate_dataset, plan_shards
from hybridfwi.synth.families import make_model


def _cfg(out, geometry, **kw):
    base = dict(families=["flatfault-b", "gas"], count=7, out=str(out), geometry=geometry, seed=5, batch=3, shard_size=4)
    base.update(kw)
    return GenerateConfig(**base)


def _shard_files(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".npy"))


def test_shards_hold_the_models_and_their_data(tmp_path, small_geometry):
    manifest = generate_dataset(_cfg(tmp_path / "ds", small_geometry), progress=False)
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
    np.testing.assert_array_equal(data[2], forward_model(model[2, 0], small_geometry.grid, small_geometry.survey))
    np.testing.assert_array_equal(np.load(folder / "model3.npy")[0, 0], make_model("gas", 5, 4, 40, 60))
    assert not (folder / ".partial").exists()
    saved = json.loads((folder / "manifest.json").read_text())
    assert saved["config"]["geometry"]["nt"] == 400 and saved["config"]["geometry"]["grid"]["nx"] == 60
    assert saved["config"]["purpose"] == "pretrain" and "deepwave" in saved["versions"]


def test_batch_size_does_not_change_the_bytes(tmp_path, small_geometry):
    generate_dataset(_cfg(tmp_path / "a", small_geometry, batch=1), progress=False)
    generate_dataset(_cfg(tmp_path / "b", small_geometry, batch=5), progress=False)
    for name in _shard_files(tmp_path / "a"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name


def test_sigkill_then_resume_is_byte_identical(tmp_path, small_geometry, small_geometry_file):
    reference = tmp_path / "ref"
    generate_dataset(_cfg(reference, small_geometry, count=9), progress=False)

    out = tmp_path / "killed"
    def cmd(batch):
        return [sys.executable, "-m", "hybridfwi", "generate", "--family", "flatfault-b", "--family", "gas",
                "--count", "9", "--seed", "5", "--geometry", small_geometry_file, "--out", str(out),
                "--batch", str(batch), "--shard-size", "4", "--no-progress", "--device", "cpu"]

    proc = subprocess.Popen(cmd(1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    partial = out / ".partial"
    while time.time() < deadline:  # kill once a few chunks (of 18) are saved: in the middle of the second shard
        if partial.exists() and len(list(partial.glob("shard1_*.model.npy"))) >= 1:
            break
        if proc.poll() is not None:
            pytest.fail("generate finished before it could be killed: " + proc.stderr.read().decode())
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    chunks = len(list(partial.glob("shard*_*.model.npy")))
    assert not (out / "model3.npy").exists() and 0 < chunks < 18, "killed too late to test resuming"
    assert not json.loads((out / "manifest.json").read_text())["complete"]
    with pytest.raises(InputError, match="incomplete"):
        ShotDataset(out)
    # resume with another batch size: the bytes must not change
    resumed = subprocess.run(cmd(3), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert _shard_files(out) == _shard_files(reference)
    for name in _shard_files(reference):
        assert filecmp.cmp(reference / name, out / name, shallow=False), name
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_resume_with_other_settings_is_refused(tmp_path, small_geometry):
    generate_dataset(_cfg(tmp_path / "ds", small_geometry, count=2), progress=False)
    with pytest.raises(InputError, match="other settings"):
        generate_dataset(_cfg(tmp_path / "ds", small_geometry, count=2, seed=6), progress=False)
    # finishing a complete dataset again changes nothing
    before = {n: (tmp_path / "ds" / n).read_bytes() for n in os.listdir(tmp_path / "ds")}
    generate_dataset(_cfg(tmp_path / "ds", small_geometry, count=2), progress=False)
    assert {n: (tmp_path / "ds" / n).read_bytes() for n in os.listdir(tmp_path / "ds")} == before


def test_out_must_not_be_a_file_or_foreign_folder(tmp_path, small_geometry):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        generate_dataset(_cfg(f, small_geometry), progress=False)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not a hybridfwi dataset"):
        generate_dataset(_cfg(tmp_path / "foreign", small_geometry), progress=False)


def test_reader_over_our_format(tmp_path, small_geometry):
    generate_dataset(_cfg(tmp_path / "ds", small_geometry), progress=False)
    ds = ShotDataset(tmp_path / "ds")
    assert isinstance(ds, Dataset) and len(ds) == 14
    d, m = ds[9]  # gas sample 2
    assert tuple(d.shape) == (3, 400, 30) and tuple(m.shape) == (1, 40, 60)
    assert ds.family(9) == "gas" and ds.family(3) == "flatfault-b"
    np.testing.assert_array_equal(m[0].numpy(), make_model("gas", 5, 2, 40, 60))
    assert ds.geometries == [small_geometry] and ds.geometry(9) == small_geometry
    assert ds.manifests[0]["config"]["seed"] == 5
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
    assert len(ds) == 9 and ds.geometries == [None, None] and ds.manifests == [None, None] and ds.geometry(0) is None
    # natural order: data1, data2, data10
    d, m = ds.arrays(5)
    np.testing.assert_array_equal(d, arrays[("v", 10)][0][1])
    np.testing.assert_array_equal(m, arrays[("v", 10)][1][1])
    d, m = ds.arrays(8)
    np.testing.assert_array_equal(m, arrays[("f", 0)][1][2])


def test_incomplete_dataset_is_not_read(tmp_path, small_geometry):
    cfg = _cfg(tmp_path / "ds", small_geometry)

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


def test_seed_ranges_are_disjoint_and_enforced(tmp_path, small_geometry):
    spans = sorted(seeds.RANGES.values())
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    assert seeds.purpose_of(0) == "pretrain" and seeds.purpose_of(10_000) == "validation"
    assert seeds.purpose_of(100_000) == "benchmark" and seeds.purpose_of(205_000) == "example" and seeds.purpose_of(10**7) is None
    assert seeds.RANGES["adaptation"][0] <= seeds.adaptation_seed("some survey key") <= seeds.RANGES["adaptation"][1]
    assert seeds.adaptation_seed("k") == seeds.adaptation_seed("k")
    with pytest.raises(InputError, match="not in the benchmark range"):
        generate_dataset(_cfg(tmp_path / "ds", small_geometry, purpose="benchmark"), progress=False)
    assert not (tmp_path / "ds").exists()
    for purpose in ("validation", "benchmark", "example"):
        with pytest.raises(InputError, match="fine-tuning data must come from"):
            seeds.check_training_dataset({"config": {"seed": seeds.RANGES[purpose][0], "purpose": purpose}}, "x", "fine-tuning")
    seeds.check_training_dataset({"config": {"seed": 3, "purpose": "pretrain"}}, "x")
    seeds.check_training_dataset(None, "openfwi folder")  # published data are the user's own


def test_water_layer_and_automatic_max_vel(tmp_path, small_geometry):
    """A survey-specific set: the water layer on every model; a basin family faster than the default
    max_vel raises it when automatic (and is refused when fixed)."""
    cfg = GenerateConfig(families=["basin-land"], count=2, out=str(tmp_path / "ds"), geometry=small_geometry, seed=20_001,
                         purpose="adaptation", water=(1490.0, 55.0), forward=ForwardConfig(auto_max_vel=True))
    manifest = generate_dataset(cfg, progress=False)
    assert manifest["config"]["water"] == [1490.0, 55.0] and manifest["config"]["forward"]["max_vel"] == 6000.0
    models = np.load(tmp_path / "ds" / "model0.npy")[:, 0]
    z = small_geometry.grid.z
    assert np.all(models[:, z < 55.0] == 1490.0)
    np.testing.assert_array_equal(models[1][z >= 55.0], make_model("basin-land", 20_001, 1, 40, 60)[z >= 55.0])
    with pytest.raises(InputError, match="raise --max-vel"):
        generate_dataset(GenerateConfig(families=["basin-land"], count=1, out=str(tmp_path / "ds2"), geometry=small_geometry),
                         progress=False)
