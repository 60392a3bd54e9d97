"""Networks, normalisation, training pairs, checkpoints, pretraining, peft fine-tuning, survey adaptation,
prediction through the network frame, evaluation, and the CLI commands around them."""

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import one_line_error
from hybridfwi.cli.main import cli
from hybridfwi.core import Geometry, Grid, ShotRecord, Survey, VelocityModel, Wavelet
from hybridfwi.dl.checkpoint import DEFAULT_MODEL, ModelConfig, load_checkpoint, save_checkpoint
from hybridfwi.dl.data import NetworkPairs, load_batch
from hybridfwi.dl.finetune import METHODS, FinetuneConfig, adapt, finetune, load_model
from hybridfwi.dl.normalize import Normalizer, log_transform
from hybridfwi.dl.pretrain import PretrainConfig, pretrain
from hybridfwi.dl.registry import create_model
from hybridfwi.dl.train import TrainConfig, count_parameters, fit
from hybridfwi.errors import InputError
from hybridfwi.synth.datasets import GenerateConfig, ShotDataset, generate_dataset


def _tiny_geometry() -> Geometry:
    """40 x 60 cells at 10 m, 3 shots, 30 receivers from 0 m, 15 Hz, 0.4 s."""
    s = Survey(dt=0.001, nt=400, source_x=[50.0, 300.0, 550.0], source_z=[10.0] * 3, receiver_x=np.arange(30) * 20.0,
               receiver_z=[10.0] * 30, wavelet=Wavelet(peak_freq=15.0))
    return Geometry(Grid(nz=40, nx=60, dz=10.0, dx=10.0), s)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Two families x 12 samples, and 8 marine samples, on the tiny geometry."""
    geom = _tiny_geometry()
    root = tmp_path_factory.mktemp("dl")
    generate_dataset(GenerateConfig(families=["flatvel-a", "curvevel-a"], count=12, out=str(root / "a"), geometry=geom, seed=3),
                     progress=False)
    generate_dataset(GenerateConfig(families=["marine"], count=8, out=str(root / "b"), geometry=geom, seed=4), progress=False)
    return root, geom


def test_networks_reach_peft_and_have_the_right_shapes():
    for name in ("compact", "inversionnet"):
        m = create_model(name).eval()
        assert not any(isinstance(x, torch.nn.ConvTranspose2d) for x in m.modules())
        with torch.no_grad():
            y = m(torch.randn(1, 5, 1000, 70))
        assert y.shape == (1, 1, 70, 70) and y.abs().max() <= 1.0
    _, total = count_parameters(create_model("inversionnet"))
    assert 10e6 < total < 30e6  # InversionNet-sized (OpenFWI's has 24.4 M)
    _, small = count_parameters(create_model("compact"))
    assert small < 2e6
    # a top-boundary channel is one more input channel
    m = create_model("compact", in_shape=(6, 1000, 70), width=8).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 6, 1000, 70)).shape == (2, 1, 70, 70)
    with pytest.raises(InputError, match="unknown architecture"):
        create_model("resnet")


def test_normalisation_follows_openfwi():
    n = Normalizer(data_min=-3.0, data_max=5.0)
    x = torch.tensor([-(np.e ** 3 - 1), 0.0, np.e ** 5 - 1], dtype=torch.float64)
    torch.testing.assert_close(log_transform(x), torch.tensor([-3.0, 0.0, 5.0], dtype=torch.float64))
    torch.testing.assert_close(n.data(x), torch.tensor([-1.0, -0.25, 1.0], dtype=torch.float64))
    v = torch.tensor([1500.0, 3000.0, 4500.0])
    torch.testing.assert_close(n.velocity(v), torch.tensor([-1.0, 0.0, 1.0]))
    torch.testing.assert_close(n.velocity_inverse(n.velocity(v)), v)
    assert Normalizer.from_dict(n.to_dict()) == n


def test_per_sample_normalisation_ignores_the_amplitude_unit_and_adds_the_top_channel():
    n = Normalizer(vmin=1450.0, vmax=6000.0, mode="per-sample", clip=40.0, top_channel=True)
    x = torch.randn(2, 3, 50, 7, dtype=torch.float64)
    x[1, :, :, 4] = 0.0  # a dead trace: not counted in the RMS
    y = n.data(x, torch.tensor([1.0, 0.0]))
    assert y.shape == (2, 4, 50, 7)
    torch.testing.assert_close(n.data(1000.0 * x, torch.tensor([1.0, 0.0])), y)  # any amplitude unit
    assert torch.all(y[0, 3] == 1.0) and torch.all(y[1, 3] == -1.0)  # +1 free surface, -1 absorbing top
    assert y[:, :3].abs().max() <= 1.0
    # the dead trace does not lower the others' scale: sample 1 is sample 1 without it
    alone = n.data(x[1:, :, :, [0, 1, 2, 3, 5, 6]], torch.tensor([0.0]))
    torch.testing.assert_close(y[1:, :3][..., [0, 1, 2, 3, 5, 6]], alone[:, :3])
    torch.testing.assert_close(n.velocity(torch.tensor([1450.0, 6000.0])), torch.tensor([-1.0, 1.0]))


def test_training_pairs_in_and_out_of_the_network_geometry(tiny_data):
    root, geom = tiny_data
    ds = ShotDataset(str(root / "a"))
    own = NetworkPairs(ds, geom)
    assert len(own) == len(ds) == 24 and own.frames == [None]
    d, m, fs = own.arrays(5)
    np.testing.assert_array_equal(d, ds.arrays(5)[0])
    np.testing.assert_array_equal(m, ds.arrays(5)[1])
    assert fs == 0.0 and own.family(5) == "flatvel-a" and own.sample(5) == 5
    x, y = load_batch(own, [0, 7], Normalizer(), torch.device("cpu"))
    assert x.shape == (2, 3, 400, 30) and y.shape == (2, 1, 40, 60)
    # the same data read by a network trained on OpenFWI's geometry: through the frame, one pair per tile
    from hybridfwi.core import load_geometry
    from hybridfwi.dl.frame import network_frame

    net = load_geometry("openfwi")
    pairs = NetworkPairs(ds, net)
    fr = pairs.frames[0]
    assert fr is not None and not fr.identity and len(pairs) == len(ds) * fr.n_tiles
    d, m, _ = pairs.arrays(3)
    assert d.shape == (5, 1000, 70) and m.shape == (1, 70, 70)
    j = pairs.sample(3)
    raw, model = ds.arrays(j)
    ref = network_frame(geom.grid, geom.survey, net)
    k = [i for i in range(len(pairs)) if pairs.sample(i) == j].index(3)
    np.testing.assert_array_equal(d, ref.to_network(ShotRecord(raw, geom.survey))[k])
    np.testing.assert_array_equal(m[0], ref.model_to_network(model[0])[k])


def test_checkpoint_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    m = create_model("compact", in_shape=(3, 400, 30), out_shape=(40, 60))
    m.train()(torch.randn(4, 3, 400, 30))  # move BatchNorm statistics away from their defaults
    m.eval()
    geom = _tiny_geometry()
    cfg = ModelConfig(arch="compact", arch_kwargs={"in_shape": [3, 400, 30], "out_shape": [40, 60]}, normalizer=Normalizer(),
                      geometry=geom.to_dict())
    save_checkpoint(str(tmp_path / "ck"), m, cfg)
    assert sorted(os.listdir(tmp_path / "ck")) == ["config.json", "model.safetensors"]
    m2, cfg2 = load_checkpoint(str(tmp_path / "ck"))
    x = torch.randn(2, 3, 400, 30)
    with torch.no_grad():
        assert torch.equal(m(x), m2.eval()(x))
    assert cfg2.in_shape == (3, 400, 30) and cfg2.out_shape == (40, 60) and cfg2.net_geometry() == geom
    with pytest.raises(InputError, match="not a model checkpoint"):
        load_checkpoint(str(tmp_path))
    with pytest.raises(InputError, match="does not record its training geometry"):
        ModelConfig(arch="compact", arch_kwargs={}, normalizer=Normalizer()).net_geometry()
    # damaged weights are bad input, named
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_checkpoint(str(tmp_path / "ck"))


def test_pretrain_learns_and_resumes_exactly(tiny_data):
    root, geom = tiny_data
    ds = ShotDataset(str(root / "a"))
    pairs = NetworkPairs(ds, geom)
    norm = Normalizer.fit(ds)
    tc = TrainConfig(epochs=4, batch_size=4, lr=3e-3, seed=1, device="cpu")

    def run(out, stop_after=None):
        torch.manual_seed(0)
        m = create_model("compact", in_shape=(3, 400, 30), out_shape=(40, 60))
        seen = []

        def on_epoch(e):
            seen.append(e)
            if stop_after is not None and len(seen) == stop_after:
                raise KeyboardInterrupt

        os.makedirs(out, exist_ok=True)
        return m, fit(m, pairs, norm, tc, out, lambda *_: None, progress=False, on_epoch=on_epoch)

    m_full, rec = run(str(root / "full"))
    losses = [h["train_l1"] for h in rec["history"]]
    assert losses[-1] < 0.8 * losses[0], losses
    assert rec["samples_train"] + rec["samples_val"] == 24 and rec["processes"] == 1
    with pytest.raises(KeyboardInterrupt):
        run(str(root / "cut"), stop_after=2)
    m_res, rec2 = run(str(root / "cut"))  # resumes from epoch 2
    assert [h["epoch"] for h in rec2["history"]] == [1, 2, 3, 4]
    for (k, a), (_, b) in zip(m_full.state_dict().items(), m_res.state_dict().items()):
        assert torch.equal(a, b), k


def _curvevel_survey(tiny_data, tmp_path):
    """``tmp_path/s.segy``: curvevel-a model 4 on the tiny geometry (example seed 200005), the true
    model beside it (``s.model.npy``)."""
    _, geom = tiny_data
    (tmp_path / "g.json").write_text(geom.to_json())
    s = tmp_path / "s.segy"
    assert CliRunner().invoke(cli, ["synth", "--model", "curvevel-a:4", "--geometry", str(tmp_path / "g.json"), "--out", str(s),
                                    "--seed", "200005"]).exit_code == 0
    return s


def _curvevel_problem(tiny_data, tmp_path, bands: list):
    """The inversion problem of :func:`_curvevel_survey`'s survey, FWI in ``bands`` (Hz; None: full)."""
    from hybridfwi.inversion.problem import ProblemConfig
    from hybridfwi.workflow.runs import load_problem

    return load_problem(str(_curvevel_survey(tiny_data, tmp_path)), None, ProblemConfig(bands=bands))[1]


@pytest.fixture(scope="module")
def tiny_base(tiny_data):
    root, _ = tiny_data
    out = str(root / "base")
    rec = pretrain(PretrainConfig(data=[str(root / "a")], out=out, train=TrainConfig(epochs=2, batch_size=6, seed=0, device="cpu")),
                   progress=False)
    assert rec["samples_train"] + rec["samples_val"] == 24
    return out


def test_online_pretraining_continues_from_weights_with_fresh_models_and_a_full_schedule(tmp_path):
    """A continued run (``init``, ``first_sample``) anneals its learning rate from lr to 1 % over its own
    models, not over models 0..first_sample, and draws the models after first_sample."""
    from hybridfwi.dl.pretrain import OnlineConfig, lr_factor, pretrain_online

    assert lr_factor(0, 10) == 1.0 and abs(lr_factor(5, 10) - 0.505) < 1e-12 and lr_factor(10, 10) == lr_factor(99, 10) == 0.01
    first = tmp_path / "first"
    cfg = dict(families=("flatvel-a",), samples=4, gen_batch=2, reuse=1, batch_size=2, val_per_family=1, validate_every=1,
               lr=1e-3, width=4, device="cpu", workers=0)
    pretrain_online(OnlineConfig(out=str(first), **cfg).validate(), progress=False)
    rec = pretrain_online(OnlineConfig(out=str(tmp_path / "next"), init=str(first), first_sample=1000, **cfg).validate(),
                          progress=False)
    assert rec["samples_generated"] == 1004 and rec["optimizer_steps"] == 2
    assert [h["samples"] for h in rec["history"]] == [1002, 1004]
    assert [h["lr"] for h in rec["history"]] == pytest.approx([1e-3 * lr_factor(1, 2), 1e-5])


def test_pretrained_checkpoint_records_its_geometry_and_recipe(tiny_data, tiny_base):
    _, geom = tiny_data
    _, cfg = load_checkpoint(tiny_base)
    assert cfg.net_geometry() == geom and cfg.in_shape == (3, 400, 30) and cfg.out_shape == (40, 60)
    assert cfg.record["data_recipe"]["families"] == ["curvevel-a", "flatvel-a"] and "training" in cfg.record


@pytest.mark.parametrize("method", [m for m in METHODS])
def test_finetune_methods_save_and_reload(tiny_data, tiny_base, method):
    root, _ = tiny_data
    out = str(root / f"ft-{method}")
    base_model, _ = load_checkpoint(tiny_base)
    bn_before = {k: v.clone() for k, v in base_model.state_dict().items() if "running" in k}
    rec = finetune(FinetuneConfig(data=[str(root / "b")], out=out, base=tiny_base, method=method, rank=1,
                                  train=TrainConfig(epochs=1, batch_size=4, lr=2e-3, device="cpu")), progress=False)
    if method == "full":
        assert rec["trainable_percent"] == 100.0
        assert os.path.exists(os.path.join(out, "model.safetensors"))
        spec = out
    else:
        assert rec["trainable_percent"] < 2.0  # tiny test network; the shipped one is checked below 1%
        assert os.path.exists(os.path.join(out, "adapter_config.json"))
        assert os.path.exists(os.path.join(out, "adapter_model.safetensors"))
        spec = f"{tiny_base}+{out}"
    model, cfg = load_model(spec)
    ds = ShotDataset(str(root / "b"))
    x = cfg.normalizer.data(torch.as_tensor(np.array(ds.arrays(0)[0][None])))
    with torch.no_grad():
        y = model(x)
    assert y.shape == (1, 1, 40, 60) and torch.isfinite(y).all()
    if method != "full":  # an adapter folder alone names its base
        alone, _ = load_model(out)
        with torch.no_grad():
            assert torch.equal(alone(x), y)
    # the state the run ended with (1 epoch: also the best), reloaded into a fresh wrapper, must
    # predict exactly what the saved adapter / checkpoint predicts
    end_state = torch.load(os.path.join(out, "train_state.pt"), weights_only=True)["model"]
    fresh, _ = load_checkpoint(tiny_base)
    trained = adapt(fresh, method, rank=1)
    trained.load_state_dict(end_state)
    with torch.no_grad():
        assert torch.equal(trained.eval()(x), y)
    if method != "full":  # adapters never touch the base: its weights and BatchNorm statistics stay frozen
        for k, v in bn_before.items():
            match = [key for key in end_state if key == k or key.endswith("." + k)]
            assert match and all(torch.equal(end_state[m], v) for m in match), k
        base_again, _ = load_checkpoint(tiny_base)
        with torch.no_grad():
            assert not torch.equal(base_again.eval()(x), y)  # and the adapter did change the prediction


def test_training_refuses_data_made_for_validation_or_benchmarks(tiny_data, tiny_base, tmp_path):
    _, geom = tiny_data
    held = str(tmp_path / "held")
    generate_dataset(GenerateConfig(families=["flatvel-a"], count=2, out=held, geometry=geom, seed=100_001, purpose="benchmark"),
                     progress=False)
    with pytest.raises(InputError, match="was made for benchmark"):
        pretrain(PretrainConfig(data=[held], out=str(tmp_path / "p"), train=TrainConfig(epochs=1, device="cpu")), progress=False)
    with pytest.raises(InputError, match="was made for benchmark"):
        finetune(FinetuneConfig(data=[held], out=str(tmp_path / "f"), base=tiny_base, train=TrainConfig(epochs=1, device="cpu")),
                 progress=False)


def test_predict_and_evaluate_cli(tiny_data, tiny_base, tmp_path):
    root, geom = tiny_data
    (tmp_path / "g.json").write_text(geom.to_json())
    runner = CliRunner()
    r = runner.invoke(cli, ["synth", "--model", "flatvel-a:3", "--geometry", str(tmp_path / "g.json"), "--out", str(tmp_path / "s.segy"),
                            "--seed", "200001"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["predict", str(tmp_path / "s.segy"), "--model", tiny_base, "--out", str(tmp_path / "pred"), "--no-progress"])
    assert r.exit_code == 0, r.output
    v = np.load(tmp_path / "pred" / "velocity_dl.npy")
    assert v.shape == (40, 60) and np.all(np.isfinite(v))
    rep = json.loads((tmp_path / "pred" / "report.json").read_text())
    assert rep["network_frame"]["identity"] and rep["adapted"] is None  # the survey is the network's own geometry
    # the prediction is the network's output on the survey's data, read back as it is
    model, cfg = load_model(tiny_base)
    from hybridfwi.dl.predict import predict_survey
    from hybridfwi.io.reader import read_survey

    sf = read_survey(tmp_path / "s.segy")
    vm, frame = predict_survey(model, cfg, geom.grid, sf.record)
    assert frame.identity and np.allclose(v, vm.values, atol=1e-2)
    # a dataset folder: one prediction per sample
    r = runner.invoke(cli, ["predict", str(root / "b"), "--model", tiny_base, "--out", str(tmp_path / "pred_ds"), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert np.load(tmp_path / "pred_ds" / "predictions.npy").shape == (8, 1, 40, 60)
    r = runner.invoke(cli, ["evaluate", "--model", tiny_base, "--data", str(root / "a"), "--data", str(root / "b"),
                            "--out", str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "m.json").read_text())
    assert set(res["families"]) == {"flatvel-a", "curvevel-a", "marine"}
    assert res["overall"]["samples"] == 32 and (tmp_path / "m.md").exists()
    one_line_error(runner.invoke(cli, ["finetune", "--base", tiny_base, "--data", str(root / "b"), "--method", "bogus",
                                       "--out", str(tmp_path / "x")]), "--method")
    one_line_error(runner.invoke(cli, ["predict", str(tmp_path / "missing.segy"), "--model", tiny_base, "--out",
                                       str(tmp_path / "p2")]), "no such file")
    for args, words in (
        (["pretrain", "--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "pt")], "does not exist"),
        (["pretrain", "--data", str(root / "a"), "--epochs", "0", "--out", str(tmp_path / "pt")], "--epochs"),
        (["pretrain", "--out", str(tmp_path / "pt")], "--data"),
        (["finetune", "--base", str(tmp_path), "--data", str(root / "b"), "--out", str(tmp_path / "ft")], "not a model checkpoint"),
        (["evaluate", "--model", tiny_base, "--data", str(root / "a"), "--out", str(tmp_path / "m.txt")], ".json"),
        (["pretrain", "--data", str(root / "a"), "--out", tiny_base], "not empty"),
        (["predict", str(tmp_path / "s.segy"), "--model", str(tmp_path), "--out", str(tmp_path / "p3")], "not a model checkpoint"),
    ):
        one_line_error(runner.invoke(cli, args), words)
    assert not (tmp_path / "pt").exists() and not (tmp_path / "ft").exists() and not (tmp_path / "p3").exists()


def test_flip_averaging_is_mirror_equivariant(tiny_data, tiny_base, tmp_path):
    """Test-time flip: the averaged prediction from the mirrored data is the mirror of the averaged
    prediction (the wave equation has no handedness, and now neither has the prediction); the mirrored
    input reverses shots and receivers and keeps the top-boundary channel last; a network whose
    acquisition is not mirror-symmetric is refused."""
    from hybridfwi.dl.predict import mirror_symmetric, network_pass, predict_dataset, predict_tiles

    root, geom = tiny_data
    model, cfg = load_model(tiny_base)
    assert mirror_symmetric(cfg)  # sources 50, 300, 550 m and receivers 0..580 m on a 590 m line: within a cell
    ds = ShotDataset(str(root / "a"))
    x = torch.as_tensor(np.stack([ds.arrays(i)[0] for i in range(3)]), dtype=torch.float32)
    with torch.no_grad():
        plain = predict_tiles(model, cfg, x, False)
        both = predict_tiles(model, cfg, x, False, flip=True)
        mirrored = predict_tiles(model, cfg, x.flip((1, 3)), False, flip=True)
        direct_of_mirror = predict_tiles(model, cfg, x.flip((1, 3)), False)
    torch.testing.assert_close(mirrored, both.flip(-1), rtol=1e-5, atol=1e-2)
    torch.testing.assert_close(both, 0.5 * (plain + direct_of_mirror.flip(-1)), rtol=1e-5, atol=1e-2)
    assert float((plain - both).abs().max()) > 1.0  # the network itself is not mirror-equivariant
    # the input the network sees for the mirrored pass: shots and receivers reversed, the top channel last
    top = dataclasses.replace(cfg, normalizer=dataclasses.replace(cfg.normalizer, top_channel=True))
    seen = []

    def net(t):
        seen.append(t)
        return torch.zeros(t.shape[0], 1, 40, 60)

    xn = top.normalizer.data(x, True)
    network_pass(net, top, xn, flip=True)
    torch.testing.assert_close(seen[0][3:, :-1], xn[:, :-1].flip((1, 3)))
    assert torch.all(seen[0][3:, -1] == 1.0)  # the free-surface flag, still the last channel
    # a dataset: the same averaging as predict_tiles
    pred = predict_dataset(model, cfg, str(root / "a"), "cpu", flip=True)
    np.testing.assert_allclose(pred[:3, 0], both.numpy(), rtol=1e-5, atol=1e-2)
    r = CliRunner().invoke(cli, ["evaluate", "--model", tiny_base, "--data", str(root / "a"), "--out", str(tmp_path / "m.json"), "--flip"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m.json").read_text())["flip"] is True
    # predict --flip on a survey in the network's own geometry (every trace live): the report says so and
    # the velocity is the flip-averaged prediction
    (tmp_path / "g.json").write_text(geom.to_json())
    runner = CliRunner()
    assert runner.invoke(cli, ["synth", "--model", "flatvel-a:3", "--geometry", str(tmp_path / "g.json"), "--out",
                               str(tmp_path / "s.segy"), "--seed", "200001"]).exit_code == 0
    vs = {}
    for opt in ("--flip", "--no-flip"):
        r = runner.invoke(cli, ["predict", str(tmp_path / "s.segy"), "--model", tiny_base, "--out", str(tmp_path / opt), opt,
                                "--no-progress"])
        assert r.exit_code == 0, r.output
        assert json.loads((tmp_path / opt / "report.json").read_text())["dl_flip"] is (opt == "--flip")
        vs[opt] = np.load(tmp_path / opt / "velocity_dl.npy")
    assert float(np.abs(vs["--flip"] - vs["--no-flip"]).max()) > 1.0
    # one-sided live traces (a streamer read into a split spread): the flip does not apply
    from hybridfwi.dl.predict import flip_applies

    assert flip_applies(cfg, x.numpy())
    half = x.clone()
    half[:, :, :, :10] = 0.0
    assert not flip_applies(cfg, half)
    # a one-sided acquisition is not its own mirror image: refused
    lop = geom.survey.replace(source_x=np.array([50.0, 100.0, 150.0]))
    one_sided = dataclasses.replace(cfg, geometry=Geometry(geom.grid, lop).to_dict())
    assert not mirror_symmetric(one_sided)
    with pytest.raises(InputError, match="mirror-symmetric"):
        predict_tiles(model, one_sided, x, False, flip=True)


def test_adapt_to_survey_caches_the_adapter(tiny_data, tiny_base, tmp_path):
    """A survey in another geometry than the network's (scaled by 1.5): synthetic data in its geometry,
    read through its frame, LoRA; the adapter is cached and reused, the synthetic data deleted."""
    from hybridfwi.dl.adapt import AdaptConfig, adapt_to_survey, cache_entries
    from hybridfwi.dl.frame import network_frame

    _, geom = tiny_data
    g = Grid(nz=40, nx=60, dz=15.0, dx=15.0)
    s = geom.survey.replace(dt=0.0015, source_x=geom.survey.source_x * 1.5, source_z=geom.survey.source_z * 1.5,
                            receiver_x=geom.survey.receiver_x * 1.5, receiver_z=geom.survey.receiver_z * 1.5,
                            wavelet=Wavelet(peak_freq=10.0))
    _, mcfg = load_checkpoint(tiny_base)
    frame = network_frame(g, s, mcfg.net_geometry())
    assert not frame.identity and frame.scale == pytest.approx(1.5)
    cache = str(tmp_path / "cache")
    acfg = AdaptConfig(families=("flatvel-a", "curvevel-b"), count=4, epochs=1, rank=1, cache=cache, device="cpu", progress=False)
    adapter, info = adapt_to_survey(g, s, frame, tiny_base, acfg)
    assert info["reused"] is False and info["samples"] == 8 and info["trainable_percent"] < 2.0
    assert 20_000 <= info["seed"] <= 99_999  # the adaptation seed range
    assert not os.path.exists(os.path.join(info["cache"], "data_survey"))  # only the adapter is kept
    model, _ = load_model(adapter)
    with torch.no_grad():
        y = model(torch.zeros(1, 3, 400, 30))
    assert y.shape == (1, 1, 40, 60)
    again, info2 = adapt_to_survey(g, s, frame, tiny_base, acfg)
    assert again == adapter and info2["reused"] is True and info2["key"] == info["key"]
    other, info3 = adapt_to_survey(g, s, frame, tiny_base, AdaptConfig(**{**acfg.__dict__, "rank": 2}))
    assert info3["key"] != info["key"]
    entries = cache_entries(cache)
    assert sorted(e["key"] for e in entries) == sorted([info["key"], info3["key"]]) and all(e["complete"] for e in entries)
    # the cache command lists and clears them
    runner = CliRunner()
    r = runner.invoke(cli, ["cache", "list", "--cache", cache])
    assert r.exit_code == 0 and info["key"] in r.output and "2 adapter(s)" in r.output
    one_line_error(runner.invoke(cli, ["cache", "clear", "nokey", "--cache", cache]), "nokey")
    r = runner.invoke(cli, ["cache", "clear", info3["key"], "--cache", cache])
    assert r.exit_code == 0 and "deleted 1" in r.output
    assert [e["key"] for e in cache_entries(cache)] == [info["key"]]
    r = runner.invoke(cli, ["cache", "clear", "--cache", cache])
    assert r.exit_code == 0 and cache_entries(cache) == []


def test_adaptation_to_a_survey_with_different_receiver_counts(tiny_base, tmp_path):
    from hybridfwi.dl.adapt import AdaptConfig, adapt_to_survey
    from hybridfwi.dl.frame import network_frame

    g = Grid(nz=40, nx=60, dz=10.0, dx=10.0)
    s = Survey(dt=0.001, nt=400, source_x=[50.0, 300.0, 550.0], source_z=10.0,
               receiver_x=[np.arange(0.0, 300.0, 20.0), np.arange(100.0, 590.0, 20.0), np.arange(300.0, 590.0, 20.0)],
               receiver_z=[10.0], wavelet=Wavelet(peak_freq=15.0))
    _, mcfg = load_checkpoint(tiny_base)
    frame = network_frame(g, s, mcfg.net_geometry())
    adapter, info = adapt_to_survey(g, s, frame, tiny_base, AdaptConfig(families=("flatvel-b",), count=4, epochs=1,
                                                                        cache=str(tmp_path), device="cpu", progress=False))
    assert info["reused"] is False and os.path.isdir(adapter)


def test_invert_with_physics_guided_steps(tiny_data, tiny_base, tmp_path):
    """--physics-steps: the network tuned through the wave equation first, its steps counted in the FWI
    budget, the best iterate kept."""
    runner = CliRunner()
    s = _curvevel_survey(tiny_data, tmp_path)
    out = tmp_path / "run"
    r = runner.invoke(cli, ["invert", str(s), "--model", tiny_base, "--physics-steps", "2", "--iterations", "3", "--bands", "full",
                            "--no-safeguard", "--out", str(out), "--no-progress", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    pg = rep["physics_guided"]
    assert pg["steps"] == 2 and len(pg["misfits"]) == 2 and 0 < pg["trainable_percent"] < 100
    assert rep["start"]["chosen"] == "dl" and rep["fwi"]["iterations"] == 1  # 3 - 2 physics-guided steps
    assert [c["iteration"] for c in rep["curve"]] == [0, 1, 2, 3]
    # the kept iterate (pixel FWI's start) is never worse than the DL model it started from
    assert rep["data_misfit_physics"] <= rep["data_misfit_dl"] * 1.0001
    np.testing.assert_array_equal(np.load(out / "velocity_start.npy"), np.load(out / "velocity_dl.npy"))  # the safeguard's choice
    assert not np.array_equal(np.load(out / "velocity_physics.npy"), np.load(out / "velocity_dl.npy")) or pg["best_step"] == 0
    assert rep["data_misfit_refined"] < rep["data_misfit_dl"]


def test_physics_guided_steps_over_several_bands(tiny_data, tiny_base, tmp_path):
    """pga_bands='all': the steps are shared over the FWI bands from low to high, and the kept iterate
    is judged in the last band, where it is never worse than the start."""
    from hybridfwi.hybrid.pga import band_schedule
    from hybridfwi.hybrid.pipeline import HybridConfig, run_hybrid
    from hybridfwi.inversion.fwi import data_misfit

    assert band_schedule([3.0, 5.0, 13.0], 14, "all") == [3.0] * 5 + [5.0] * 5 + [13.0] * 4
    assert band_schedule([3.0, 5.0, 13.0], 2, "all") == [3.0, 5.0]
    assert band_schedule([None, 8.0], 3, "first") == [8.0] * 3 and band_schedule([None], 2, "all") == [None, None]
    with pytest.raises(InputError, match="'first' or 'all'"):
        band_schedule([3.0], 2, "some")
    with pytest.raises(InputError, match="pga_bands"):
        HybridConfig(pga_bands="last").validate()
    with pytest.raises(InputError, match="pga_misfit"):
        HybridConfig(pga_misfit="l1").validate()
    for bad in ("decoder", [], ["decoder", ""], [3]):
        with pytest.raises(InputError, match="pga_modules"):
            HybridConfig(pga_modules=bad).validate()
    problem = _curvevel_problem(tiny_data, tmp_path, [8.0, None])
    cfg = HybridConfig(model=tiny_base, pga_steps=3, pga_bands="all", pga_misfit="envelope", pga_modules=("nowhere",), iterations=4,
                       safeguard=False, device="cpu")
    res = run_hybrid(problem, cfg, log=None, progress=False)
    assert any("wraps every layer" in e for e in res.pga.events)  # no layer named so: all of them, said
    assert [h["band_hz"] for h in res.pga.history] == [8.0, 8.0, None]
    assert res.pga.curve[-1]["band_hz"] is None
    fcfg = dataclasses.replace(res.prepared.fcfg, misfit="envelope")
    last = [float(data_misfit(VelocityModel(v, problem.grid), res.prepared.record, fcfg, res.prepared.wavelet, band_hz=None)[0])
            for v in (res.start, res.pga.velocity)]
    assert last[1] <= last[0] * 1.0001
    assert res.pga.curve[-1]["data_misfit"] == pytest.approx(last[1], rel=1e-3)


def test_fwi_after_the_physics_guided_steps_in_the_last_band(tiny_data, tiny_base, tmp_path):
    """fwi_after_pga='last': after the steps, FWI runs the first band's rest and then the last band
    with the middle band's iterations; the whole hybrid spends the budget of every band."""
    from hybridfwi.hybrid.pipeline import HybridConfig, run_hybrid

    problem = _curvevel_problem(tiny_data, tmp_path, [4.0, 8.0, None])
    cfg = HybridConfig(model=tiny_base, pga_steps=2, iterations=3, safeguard=False, fwi_after_pga="last", device="cpu")
    res = run_hybrid(problem, cfg, log=None, progress=False)
    assert len(res.pga.history) == 2
    assert [h["band_hz"] for h in res.fwi.history] == [4.0] + [None] * 6
    assert len(res.curve) == 2 + 1 + 6 + 1 == 3 * 3 + 1  # the start, then one entry per iteration of the budget
    assert res.fwi.history[-1]["misfit"] < res.fwi.history[1]["misfit"]  # the long last band lowers its misfit


def test_physics_guided_steps_on_a_network_adapted_to_the_survey(tiny_data, tiny_base, tmp_path):
    """pga_after_adapt: True (the default) runs the steps on a network adapted to the survey as on any
    other; False skips them there, says so on the console and in the result, and gives pixel FWI the
    whole budget; without adaptation False changes nothing."""
    from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare, run_hybrid

    problem = _curvevel_problem(tiny_data, tmp_path, [6.0, None])
    cfg = HybridConfig(model=tiny_base, pga_steps=2, iterations=3, safeguard=False, device="cpu")
    skip = HybridConfig(**{**cfg.__dict__, "pga_after_adapt": False})
    prep = prepare(problem, cfg, Stages(1, None), progress=False)
    assert prep.adapt_info is None  # the network's own geometry: auto does not adapt
    ran = run_hybrid(problem, skip, log=None, progress=False, prepared=prep)
    assert ran.pga is not None and len(ran.pga.history) == 2 and ran.pga_skipped is None
    prep.adapt_info = {"key": "k", "reused": True}  # as stage 2 records an adaptation
    both = run_hybrid(problem, cfg, log=None, progress=False, prepared=prep)
    assert both.pga is not None and len(both.pga.history) == 2 and both.pga_skipped is None
    lines = []
    res = run_hybrid(problem, skip, log=lines.append, progress=False, prepared=prep)
    assert res.pga is None and "adapted to this survey" in res.pga_skipped
    assert any("physics-guided steps skipped" in x for x in lines)
    assert [h["band_hz"] for h in res.fwi.history] == [6.0] * 3 + [None] * 3  # the whole budget, 2 x 3
    assert len(res.curve) == 2 * 3 + 1
    assert res.fwi.history[-1]["misfit"] < res.fwi.history[0]["misfit"]


def test_adaptation_draws_from_the_families_asked_for(tiny_data, tiny_base, tmp_path):
    """HybridConfig.adapt_families picks the adaptation data's families (adapt_samples each); the
    cache tells the recipes apart, and the default on land is LAND_FAMILIES."""
    from hybridfwi.dl.adapt import LAND_FAMILIES
    from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare

    problem = _curvevel_problem(tiny_data, tmp_path, [6.0, None])
    common = dict(model=tiny_base, adapt="on", adapt_samples=2, adapt_epochs=1, cache=str(tmp_path / "cache"), device="cpu")
    one = prepare(problem, HybridConfig(adapt_families=["flatvel-b"], **common), Stages(1, None), progress=False)
    assert one.adapt_info["families"] == ["flatvel-b"] and one.adapt_info["samples"] == 2
    default = prepare(problem, HybridConfig(**common), Stages(1, None), progress=False)
    assert default.adapt_info["families"] == list(LAND_FAMILIES) and default.adapt_info["samples"] == 2 * len(LAND_FAMILIES)
    assert default.adapt_info["key"] != one.adapt_info["key"] and not default.adapt_info["reused"]
    assert not np.array_equal(default.dl_raw, one.dl_raw)  # another adapter, another prediction


def test_physics_guided_held_out_check(tiny_data, tiny_base, tmp_path, monkeypatch):
    """The held-out check scores the start and the adapted model in the band after the fitted one: it
    keeps a model that moved toward the truth, drops one that moved away, and when it drops, FWI
    starts from the unadapted start while the steps still count against the budget."""
    import hybridfwi.hybrid.pga as pga_mod
    from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare, run_hybrid
    from scipy.ndimage import gaussian_filter

    problem = _curvevel_problem(tiny_data, tmp_path, [6.0, 10.0])
    true = np.load(tmp_path / "s.model.npy")
    cfg = HybridConfig(model=tiny_base, pga_steps=2, iterations=3, safeguard=False, device="cpu")
    prep = prepare(problem, cfg, Stages(1, None), progress=False)
    near = gaussian_filter(true, 2.0)  # the truth, slightly smoothed
    far = near * 1.15  # 15 % too fast everywhere: arrivals far too early
    held = pga_mod._held_out(problem, prep, far, near, [6.0] * 3)
    assert held["band_hz"] == 10.0 and held["misfit"] == "envelope"  # the band after the fitted one
    assert held["kept"] and held["adapted"] < held["start"]
    held = pga_mod._held_out(problem, prep, near, far, [6.0] * 3)
    assert not held["kept"] and held["adapted"] > held["start"]
    assert pga_mod._held_out(problem, prep, near, far, [6.0, 10.0])["band_hz"] == 10.0  # every band fitted: the top
    # "all": every band after the fitted one is scored, and each must agree
    import dataclasses
    import sys
    from types import SimpleNamespace

    three = SimpleNamespace(fcfg=dataclasses.replace(prep.fcfg, bands=[4.0, 6.0, 10.0]))
    held = pga_mod._held_out(problem, three, far, near, [4.0] * 3, "all")
    assert [b[0] for b in held["bands"]] == [6.0, 10.0] and held["kept"]
    assert all(b[2] < b[1] for b in held["bands"])
    assert len(pga_mod._held_out(problem, three, far, near, [4.0] * 3, "next")["bands"]) == 1  # the band after only
    held = pga_mod._held_out(problem, three, near, far, [4.0] * 3, "all")
    assert not held["kept"] and all(b[2] > b[1] for b in held["bands"])
    # kept needs every band: a start that beats the adapted model in one band only is enough to drop it
    monkey = iter([1.0, 0.5, 1.0, 2.0])  # band 6: adapted lower; band 10: adapted higher
    monkeypatch.setattr(sys.modules["hybridfwi.inversion.fwi"], "data_misfit", lambda *a, **k: (next(monkey),))
    held = pga_mod._held_out(problem, three, near, far, [4.0] * 3, "all")
    assert held["bands"] == [[6.0, 1.0, 0.5], [10.0, 1.0, 2.0]] and not held["kept"]
    # shot after shot (holdout_evidence): a total fall carried by one shot is not enough
    shares = iter([np.array([1.0, 1.0, 1.0, 1.0]), np.array([0.2, 1.05, 1.0, 0.98])])  # start, adapted
    monkeypatch.setattr(sys.modules["hybridfwi.inversion.fwi"], "data_misfit", lambda *a, **k: (next(shares),))
    held = pga_mod._held_out(problem, prep, near, far, [6.0] * 3, "next", 2.0)
    d = np.array([0.8, -0.05, 0.0, 0.02])
    assert held["evidence"][0] == pytest.approx(d.mean() / (d.std(ddof=1) / 2.0), abs=1e-3)  # t of the paired falls, about 1
    assert held["start"] == pytest.approx(4.0) and held["adapted"] == pytest.approx(3.23)  # fell in total ...
    assert not held["kept"] and held["min_evidence"] == 2.0  # ... but not shot after shot
    shares = iter([np.array([1.0, 1.0, 1.0, 1.0]), np.array([0.2, 1.05, 1.0, 0.98])])
    assert pga_mod._held_out(problem, prep, near, far, [6.0] * 3, "next", 0.0)["kept"]  # 0: the total decides
    shares = iter([np.array([1.0, 1.0, 1.0, 1.0]), np.array([0.7, 0.8, 0.75, 0.72])])  # every shot fell
    held = pga_mod._held_out(problem, prep, near, far, [6.0] * 3, "next", 2.0)
    assert held["kept"] and held["evidence"][0] > 9
    monkeypatch.undo()
    # the real propagations: the move toward the truth falls shot after shot
    held = pga_mod._held_out(problem, prep, far, near, [6.0] * 3, "next", 2.0)
    assert held["kept"] and held["evidence"][0] >= 2.0
    with pytest.raises(InputError, match="held-out bands"):
        pga_mod._held_out(problem, three, near, far, [4.0], "some")

    # wiring: a rejected check hands the start on, unchanged, and says so
    monkeypatch.setattr(pga_mod, "_held_out", lambda *a: {"band_hz": 10.0, "misfit": "envelope", "start": 1.0, "adapted": 2.0,
                                                          "kept": False})
    logs: list = []
    res = run_hybrid(problem, cfg, log=logs.append, progress=False, prepared=prep)
    assert res.pga.best_step == 0 and not res.pga.held_out["kept"]
    np.testing.assert_array_equal(res.pga.velocity, res.start)
    np.testing.assert_array_equal(res.fwi_start, res.start)
    assert any("rose in the 10 Hz band (10 Hz band 1 -> 2)" in e and "unadapted start" in e for e in res.pga.events)
    assert any("held-out check" in m for m in logs)
    assert len(res.fwi.history) == 2 * 3 - 2  # the two physics-guided steps still came out of the budget
    # compare's hybrid record (and a benchmark's case row) carries the same outcome
    from hybridfwi.bench.run import _pga_kept
    from hybridfwi.hybrid.compare import CompareConfig, compare

    rec = compare(problem, CompareConfig(hybrid=cfg, methods=("hybrid",)), log=None, progress=False)["methods"]["hybrid"]
    assert rec["physics_guided"]["steps"] == 2 and rec["physics_guided"]["held_out"]["kept"] is False
    assert _pga_kept(rec["physics_guided"]) is False and _pga_kept(None) is None
    assert _pga_kept({"best_step": 1, "held_out": None}) is True
    assert HybridConfig(pga_holdout=False).validate().pga_holdout is False
    with pytest.raises(InputError, match="pga_holdout"):
        HybridConfig(pga_holdout="yes").validate()
    with pytest.raises(InputError, match="pga_holdout_bands"):
        HybridConfig(pga_holdout_bands="every").validate()
    assert HybridConfig(pga_holdout_evidence=2.0).pga_config().holdout_evidence == 2.0
    for bad in (-1.0, float("nan"), True):
        with pytest.raises(InputError, match="pga_holdout_evidence must be a number >= 0"):
            HybridConfig(pga_holdout_evidence=bad).validate()
    # a check that drops a total fall for want of evidence says so
    monkeypatch.setattr(pga_mod, "_held_out", lambda *a: {"band_hz": 10.0, "misfit": "envelope", "start": 2.0, "adapted": 1.5,
                                                          "bands": [[10.0, 2.0, 1.5]], "evidence": [0.9], "min_evidence": 2.0,
                                                          "kept": False})
    res = run_hybrid(problem, cfg, log=None, progress=False, prepared=prep)
    assert any("fell in total but not shot after shot (t under 2) (10 Hz band 2 -> 1.5; shot by shot t 0.90 over" in e
               for e in res.pga.events)
    np.testing.assert_array_equal(res.fwi_start, res.start)


def test_physics_guided_learning_rate_warms_up(tiny_data, tiny_base, tmp_path):
    """pga_warmup: Adam's rate grows linearly over the first steps (set in the optimiser itself, step
    by step, so a resumed run takes the same rates), then stays at pga_lr."""
    from hybridfwi.hybrid.pga import PGAConfig
    from hybridfwi.hybrid.pipeline import HybridConfig, run_hybrid

    assert [PGAConfig(lr=0.004, warmup=4).lr_at(k) for k in range(6)] == pytest.approx([0.001, 0.002, 0.003, 0.004, 0.004, 0.004])
    assert PGAConfig(lr=0.004, warmup=0).lr_at(0) == 0.004 and PGAConfig(lr=0.004, warmup=1).lr_at(0) == 0.004
    problem = _curvevel_problem(tiny_data, tmp_path, [8.0, None])
    cfg = HybridConfig(model=tiny_base, pga_steps=3, pga_warmup=2, pga_lr=0.002, pga_holdout=False, iterations=4, safeguard=False,
                       device="cpu").validate()
    assert cfg.pga_config().warmup == 2 and cfg.pga_config(holdout=True).holdout is True
    res = run_hybrid(problem, cfg, log=None, progress=False)
    assert [h["lr"] for h in res.pga.history] == pytest.approx([0.001, 0.002, 0.002])
    # killed after its first step, then resumed: the remaining steps take the rates of their index
    import hybridfwi.hybrid.pga as pga_mod

    ck, save = str(tmp_path / "pga.ckpt"), pga_mod._save

    def save_then_die(path, *a):
        save(path, *a)
        raise KeyboardInterrupt

    pga_mod._save = save_then_die
    try:
        with pytest.raises(KeyboardInterrupt):
            run_hybrid(problem, cfg, log=None, progress=False, pga_checkpoint=ck)
    finally:
        pga_mod._save = save
    res2 = run_hybrid(problem, cfg, log=None, progress=False, pga_checkpoint=ck, resume=True)
    assert [h["lr"] for h in res2.pga.history] == pytest.approx([0.001, 0.002, 0.002])
    assert [h["misfit"] for h in res2.pga.history] == pytest.approx([h["misfit"] for h in res.pga.history], rel=1e-4)


def test_physics_guided_adapter_seed(tiny_data, tiny_base, tmp_path):
    """PGAConfig.seed sets the fresh adapter's random initialisation: every seed starts from the
    network's own prediction (LoRA's B is zero), the same seed takes the same steps, another seed
    other steps; invert's run is seed 0."""
    from hybridfwi.hybrid.pga import physics_adapt
    from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare, run_hybrid

    problem = _curvevel_problem(tiny_data, tmp_path, [8.0, None])
    cfg = HybridConfig(model=tiny_base, pga_steps=2, pga_holdout=False, iterations=3, safeguard=False, device="cpu").validate()
    prep = prepare(problem, cfg, Stages(1, None), progress=False)
    pc = cfg.pga_config()
    assert pc.seed == 0
    a, b, c = (physics_adapt(problem, prep, dataclasses.replace(pc, seed=s), prep.dl, prep.wavelet, progress=False) for s in (0, 0, 1))
    assert a.history[0]["misfit"] == b.history[0]["misfit"] == pytest.approx(c.history[0]["misfit"], rel=1e-6)
    assert a.history[1]["misfit"] == b.history[1]["misfit"]
    assert abs(a.history[1]["misfit"] - c.history[1]["misfit"]) > 1e-6 * a.history[1]["misfit"]
    res = run_hybrid(problem, cfg, log=None, progress=False, prepared=prep)
    assert [h["misfit"] for h in res.pga.history] == [h["misfit"] for h in a.history]


def test_physics_guided_mean_of_iterates(tiny_data, tiny_base, tmp_path, monkeypatch):
    """pga_keep="mean": the stage hands on the mean velocity of the iterates after steps 1..n (the
    same iterates as the "best" run's), kept only when its misfit is below the start's; the running
    sum survives a kill and resume."""
    import sys

    import hybridfwi.hybrid.pga as pga_mod
    from hybridfwi.hybrid.pipeline import HybridConfig, run_hybrid

    problem = _curvevel_problem(tiny_data, tmp_path, [8.0, None])
    fwd = sys.modules["hybridfwi.physics.forward"]
    seen: list = []
    simulate = fwd.simulate

    def recording(v, *a, **k):
        seen.append(v.detach().cpu().numpy().copy())
        return simulate(v, *a, **k)

    monkeypatch.setattr(fwd, "simulate", recording)
    base = dict(model=tiny_base, pga_steps=3, pga_lr=0.01, pga_holdout=False, iterations=4, safeguard=False, device="cpu")
    run_hybrid(problem, HybridConfig(**base).validate(), log=None, progress=False)  # keep="best": records the iterates
    iterates = seen[:4]  # the start, then the model after steps 1, 2 and 3 (the last forward run)
    seen.clear()
    cfg = HybridConfig(**base, pga_keep="mean").validate()
    mean = run_hybrid(problem, cfg, log=None, progress=False)
    for a, b in zip(seen[:3], iterates[:3]):  # the same steps
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-2)
    expected = (iterates[1] + iterates[2] + iterates[3]) / 3.0
    np.testing.assert_allclose(seen[3], expected, rtol=1e-5, atol=1e-2)  # the fourth forward run is the mean's
    assert float(np.abs(expected - iterates[3]).max()) > 1.0  # the mean is not the last iterate
    # here the mean fits the fitted band better than the start, so it goes on
    assert mean.pga.curve[-1]["data_misfit"] < mean.pga.history[0]["misfit"] and mean.pga.best_step == 3
    np.testing.assert_allclose(mean.pga.velocity, expected, rtol=1e-5, atol=1e-2)
    assert any("kept the mean of steps 1-3" in e for e in mean.pga.events)
    # killed after the second step, then resumed: the same mean (the running sum is checkpointed)
    ck, save, calls = str(tmp_path / "pga.ckpt"), pga_mod._save, []

    def save_then_die(path, *a):
        save(path, *a)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(pga_mod, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_hybrid(problem, cfg, log=None, progress=False, pga_checkpoint=ck)
    monkeypatch.setattr(pga_mod, "_save", save)
    again = run_hybrid(problem, cfg, log=None, progress=False, pga_checkpoint=ck, resume=True)
    assert len(again.pga.history) == 3 and again.pga.best_step == mean.pga.best_step
    np.testing.assert_allclose(again.pga.velocity, mean.pga.velocity, rtol=1e-5, atol=1e-2)
    with pytest.raises(InputError, match="pga_keep"):
        HybridConfig(pga_keep="last").validate()


def test_physics_guided_steps_can_skip_a_blend_start(tiny_data, tiny_base, tmp_path, monkeypatch):
    """pga_from_blend=False: when the safeguard's start is a blend, pixel FWI starts from it with the
    whole budget; from the DL model itself the steps still run and come out of the budget."""
    import hybridfwi.hybrid.pipeline as pipe

    problem = _curvevel_problem(tiny_data, tmp_path, [8.0, None])
    base = dict(model=tiny_base, pga_steps=2, pga_holdout=False, iterations=3, device="cpu")
    prep = pipe.prepare(problem, pipe.HybridConfig(**base), pipe.Stages(1, None), progress=False)
    blend = 1.0 / (0.5 / prep.reference + 0.5 / prep.dl)
    monkeypatch.setattr(pipe, "safeguard_start", lambda problem, prep, cfg: (None, "blend 0.5", blend, prep.wavelet))
    skip = pipe.run_hybrid(problem, pipe.HybridConfig(**base, pga_from_blend=False).validate(), log=None, progress=False, prepared=prep)
    assert skip.pga is None and len(skip.fwi.history) == 2 * 3  # every iteration of both bands is FWI's
    np.testing.assert_array_equal(skip.fwi_start, blend)
    run = pipe.run_hybrid(problem, pipe.HybridConfig(**base).validate(), log=None, progress=False, prepared=prep)
    assert run.pga is not None and len(run.pga.history) == 2 and len(run.fwi.history) == 2 * 3 - 2
    monkeypatch.setattr(pipe, "safeguard_start", lambda problem, prep, cfg: (None, "dl", prep.dl, prep.wavelet))
    dl = pipe.run_hybrid(problem, pipe.HybridConfig(**base, pga_from_blend=False).validate(), log=None, progress=False, prepared=prep)
    assert dl.pga is not None and len(dl.fwi.history) == 2 * 3 - 2
    with pytest.raises(InputError, match="pga_from_blend"):
        pipe.HybridConfig(pga_from_blend="no").validate()


def test_compare_cli_runs_every_method_with_one_budget(tiny_data, tiny_base, tmp_path):
    _, geom = tiny_data
    (tmp_path / "g.json").write_text(geom.to_json())
    runner = CliRunner()
    s = tmp_path / "s.segy"
    assert runner.invoke(cli, ["synth", "--model", "curvevel-a:2", "--geometry", str(tmp_path / "g.json"), "--out", str(s),
                               "--seed", "200002"]).exit_code == 0
    out = tmp_path / "cmp"
    args = ["compare", str(s), "--model", tiny_base, "--true", str(tmp_path / "s.model.npy"), "--iterations", "2", "--bands", "full",
            "--out", str(out), "--no-progress", "--device", "cpu"]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    res = json.loads((out / "results.json").read_text())
    assert set(res["methods"]) == {"dl", "hybrid", "fwi_gradient", "fwi_smooth"}
    for name, m in res["methods"].items():
        assert m["fwi_iterations"] == (0 if name == "dl" else 2), name
        assert {"mae_ms", "rmse_ms", "ssim", "data_misfit", "curve"} <= set(m)
        assert (out / "models" / f"{name}.npy").exists()
    for name in ("results.md", "models.png", "errors.png", "curves.png"):
        assert (out / name).exists(), name
    # FWI lowers the data misfit from every start it is given (same budget, same physics); the curve
    # holds every model from the start, with its model error
    for name in ("hybrid", "fwi_gradient", "fwi_smooth"):
        curve = res["methods"][name]["curve"]
        assert len(curve) == 3 and all(c["rmse_ms"] > 0 for c in curve)
        assert curve[-1]["data_misfit"] < curve[0]["data_misfit"], (name, curve)
        assert curve[-1]["rmse_ms"] == pytest.approx(res["methods"][name]["rmse_ms"], rel=1e-6)
    # --resume redoes nothing and gives the same results
    r = runner.invoke(cli, args + ["--resume"])
    assert r.exit_code == 0, r.output
    again = json.loads((out / "results.json").read_text())
    assert {k: v["rmse_ms"] for k, v in again["methods"].items()} == {k: v["rmse_ms"] for k, v in res["methods"].items()}
    one_line_error(runner.invoke(cli, ["compare", str(s), "--model", tiny_base, "--methods", "dl,magic", "--out",
                                       str(tmp_path / "c2")]), "magic")
    assert not (tmp_path / "c2").exists()


def _scaled_tiny(geom: Geometry, k: float = 1.5) -> Geometry:
    """The tiny geometry scaled by ``k`` in space and time."""
    s = geom.survey
    g = geom.grid
    return Geometry(Grid(nz=g.nz, nx=g.nx, dz=k * g.dz, dx=k * g.dx),
                    s.replace(dt=k * s.dt, source_x=k * s.source_x, source_z=k * s.source_z, receiver_x=k * s.receiver_x,
                              receiver_z=k * s.receiver_z, wavelet=Wavelet(peak_freq=s.wavelet.peak_freq / k)))


def test_invert_and_predict_adapt_the_network_to_another_geometry(tiny_data, tiny_base, tmp_path):
    """invert and predict on a survey that is not the network's geometry: both adapt the network the
    same way (one cached adapter) and give the same DL model; a second invert reuses the adapter."""
    _, geom = tiny_data
    (tmp_path / "g.json").write_text(_scaled_tiny(geom).to_json())
    runner = CliRunner()
    s = tmp_path / "s.segy"
    assert runner.invoke(cli, ["synth", "--model", "flatfault-a:1", "--geometry", str(tmp_path / "g.json"), "--out", str(s),
                               "--seed", "200003"]).exit_code == 0
    cache = str(tmp_path / "cache")
    common = ["--model", tiny_base, "--adapt", "on", "--adapt-samples", "2", "--adapt-epochs", "1", "--cache", cache, "--no-progress", "--device", "cpu"]
    inv = ["invert", str(s), "--iterations", "1", "--bands", "full", "--true", str(tmp_path / "s.model.npy"), *common]
    r = runner.invoke(cli, inv + ["--out", str(tmp_path / "inv")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "inv" / "report.json").read_text())
    assert rep["adapted"]["reused"] is False and rep["adapted"]["samples"] == 12  # 2 per land family
    assert not rep["network_frame"]["identity"] and rep["network_frame"]["scale"] == pytest.approx(1.5)
    assert rep["data_misfit_refined"] < rep["data_misfit_start"]
    r = runner.invoke(cli, ["predict", str(s), "--out", str(tmp_path / "pred"), *common])
    assert r.exit_code == 0, r.output
    prep = json.loads((tmp_path / "pred" / "report.json").read_text())
    assert prep["adapted"]["reused"] is True and prep["adapted"]["key"] == rep["adapted"]["key"]
    np.testing.assert_array_equal(np.load(tmp_path / "pred" / "velocity_dl.npy"), np.load(tmp_path / "inv" / "velocity_dl.npy"))
    r = runner.invoke(cli, inv + ["--out", str(tmp_path / "inv2")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "inv2" / "report.json").read_text())["adapted"]["reused"] is True
    # --adapt off reads the survey through the frame with the base network as it is
    r = runner.invoke(cli, ["predict", str(s), "--out", str(tmp_path / "pred_off"), *common, "--adapt", "off"])
    assert r.exit_code == 0, r.output
    off = json.loads((tmp_path / "pred_off" / "report.json").read_text())
    assert off["adapted"] is None and not off["network_frame"]["identity"]
    # an adapter as --model with adaptation asked for is refused
    adapter = os.path.join(rep["adapted"]["cache"], "adapter")
    one_line_error(runner.invoke(cli, ["predict", str(s), "--out", str(tmp_path / "p3"), "--model", adapter, "--adapt", "on",
                                       "--no-progress"]), "--adapt")


def test_adapter_as_model_with_adaptation_is_refused_before_writing(tiny_data, tiny_base, tmp_path):
    root, geom = tiny_data
    adapter = str(tmp_path / "adapter")
    finetune(FinetuneConfig(data=[str(root / "b")], out=adapter, base=tiny_base, method="lora", rank=1,
                            train=TrainConfig(epochs=1, batch_size=8, device="cpu")), progress=False)
    (tmp_path / "g.json").write_text(geom.to_json())
    runner = CliRunner()
    s = tmp_path / "s.segy"
    assert runner.invoke(cli, ["synth", "--model", "flatvel-a:1", "--geometry", str(tmp_path / "g.json"), "--out", str(s),
                               "--seed", "200004"]).exit_code == 0
    for cmd in ("predict", "invert"):
        out = tmp_path / cmd
        r = runner.invoke(cli, [cmd, str(s), "--out", str(out), "--model", adapter, "--adapt", "on", "--no-progress"])
        one_line_error(r, "--adapt")
        assert not out.exists(), cmd


@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_MODEL, "model.safetensors")), reason="no shipped model")
def test_shipped_model_beats_the_mean_profile_on_held_out_samples(tmp_path):
    from hybridfwi.core import load_geometry
    from hybridfwi.dl.predict import EvalConfig, evaluate

    model, cfg = load_model(None)
    fams = cfg.record["data_recipe"]["families"]
    generate_dataset(GenerateConfig(families=fams[:4], count=4, out=str(tmp_path / "held"), geometry=load_geometry("openfwi"),
                                    seed=100_987, purpose="benchmark"), progress=False)
    res = evaluate(EvalConfig(model=None, data=[str(tmp_path / "held")], device="cpu"))
    assert res["overall"]["samples"] == 16
    assert res["overall"]["mae"] < res["baseline_overall"]["mae"]
    assert res["overall"]["ssim"] > res["baseline_overall"]["ssim"]
    lora = adapt(model, "lora", rank=1)
    trainable, total = count_parameters(lora)
    assert trainable / total < 0.01


@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_MODEL, "model.safetensors")), reason="no shipped model")
def test_physics_guided_adapter_trains_under_one_percent_of_the_shipped_network():
    """The mission's budget: invert's physics-guided LoRA (default rank and layers) trains < 1 % of the
    shipped network's parameters; ``pga_modules`` restricts the wrapped layers to those named."""
    from hybridfwi.hybrid.pipeline import HybridConfig

    cfg = HybridConfig().validate()
    model, _ = load_model(None)
    lora = adapt(model, "lora", cfg.pga_rank, modules=list(cfg.pga_modules) if cfg.pga_modules else None)
    trainable, total = count_parameters(lora)
    assert 0 < trainable < 0.01 * (total - trainable)  # a share of the network's own parameters
    default = [n for n, m in lora.named_modules() if hasattr(m, "lora_A") and hasattr(m, "base_layer")]
    assert default and all(".encoder." in n or n.endswith(".fc") for n in default)
    # each wrapped layer adds rank * (fan-in + fan-out) weights: the count is the LoRA formula's
    expect = 0
    for m in model.modules():
        if hasattr(m, "lora_A") and hasattr(m, "base_layer"):
            w = m.base_layer.weight
            expect += cfg.pga_rank * (w[0].numel() + w.shape[0])
    assert trainable == expect
    dec, _ = load_model(None)
    dec = adapt(dec, "lora", 4, modules=["decoder", "head"])
    wrapped = [n for n, m in dec.named_modules() if hasattr(m, "lora_A") and hasattr(m, "base_layer")]
    assert wrapped and all(".decoder." in n or n.endswith(".head") for n in wrapped)
    with pytest.raises(InputError, match="no Conv2d/Linear layer"):
        adapt(load_model(None)[0], "lora", 2, modules=["nonexistent"])


@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_MODEL, "model.safetensors")), reason="no shipped model")
def test_model_card_lists_every_training_phase_and_the_evaluation(tmp_path):
    """The card of the shipped network: one entry per training record (phases, then the last run),
    their summed steps, and each family's evaluated MAE; a single-run folder gets no phase line."""
    import glob
    import shutil

    from hybridfwi.dl.card import write_card

    for f in ["config.json", "evaluation.json", *map(os.path.basename, glob.glob(os.path.join(DEFAULT_MODEL, "training_record*.json")))]:
        shutil.copy(os.path.join(DEFAULT_MODEL, f), tmp_path / f)
    records = sorted(glob.glob(str(tmp_path / "training_record_phase*.json"))) + [str(tmp_path / "training_record.json")]
    recs = [json.loads(open(p, encoding="utf-8").read()) for p in records]
    card = open(write_card(str(tmp_path)), encoding="utf-8").read()
    assert f"trained in {len(recs)} phases" in card
    assert f"in all {sum(r['optimizer_steps'] for r in recs):,} steps" in card
    assert f"models {recs[-1]['config']['first_sample']:,}-{recs[-1]['samples_generated']:,}" in card
    ev = json.loads((tmp_path / "evaluation.json").read_text())
    assert f"| flatvel-a | yes | {ev['families']['flatvel-a']['samples']} | {ev['families']['flatvel-a']['mae']:.4f} |" in card
    for p in records[:-1]:
        os.remove(p)
    assert "phases" not in open(write_card(str(tmp_path)), encoding="utf-8").read()
