"""Networks, normalisation, checkpoints, pretraining, peft fine-tuning, prediction, evaluation."""

import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hybridfwi.cli.main import cli
from hybridfwi.dl.checkpoint import DEFAULT_MODEL, ModelConfig, load_checkpoint, save_checkpoint
from hybridfwi.dl.finetune import METHODS, FinetuneConfig, adapt, finetune, load_model
from hybridfwi.dl.normalize import Normalizer, fit_input, log_transform
from hybridfwi.dl.pretrain import PretrainConfig, pretrain
from hybridfwi.dl.registry import create_model
from hybridfwi.dl.train import TrainConfig, count_parameters, fit
from hybridfwi.errors import InputError
from hybridfwi.synth.datasets import GenerateConfig, ShotDataset, generate_dataset


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Two families x 12 samples on a 40 x 60, 3-shot, 0.4 s geometry."""
    from hybridfwi.core import Grid, Survey, Wavelet

    s = Survey(grid=Grid(nz=40, nx=60, dz=10.0, dx=10.0), dt=0.001, nt=400, source_x=[50.0, 300.0, 550.0],
               source_z=[10.0] * 3, receiver_x=np.arange(30) * 20.0 + 10.0, receiver_z=[10.0] * 30, wavelet=Wavelet(peak_freq=15.0))
    root = tmp_path_factory.mktemp("dl")
    generate_dataset(GenerateConfig(families=["flatvel-a", "curvevel-a"], count=12, out=str(root / "a"), survey=s, seed=3),
                     progress=False)
    generate_dataset(GenerateConfig(families=["marine"], count=8, out=str(root / "b"), survey=s, seed=4), progress=False)
    return root, s


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


def test_fit_input_resamples_other_geometries():
    x = torch.randn(2, 9, 800, 100)
    y = fit_input(x, (5, 1000, 70))
    assert y.shape == (2, 5, 1000, 70)
    shots = torch.arange(9.0)[None, :, None, None].expand(2, 9, 800, 100)  # each shot holds its index
    np.testing.assert_allclose(fit_input(shots, (5, 1000, 70))[0, :, 500, 35].numpy(), [0, 2, 4, 6, 8], atol=1e-5)
    t = torch.linspace(0, 1, 800)[None, None, :, None].expand(1, 5, 800, 70)
    lin = fit_input(t, (5, 1000, 70))[0, 0, :, 0]
    torch.testing.assert_close(lin, torch.linspace(0, 1, 1000), atol=2e-3, rtol=0)
    assert fit_input(x, (9, 800, 100)) is x


def test_checkpoint_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    m = create_model("compact", in_shape=(3, 400, 30), out_shape=(40, 60))
    m.train()(torch.randn(4, 3, 400, 30))  # move BatchNorm statistics away from their defaults
    m.eval()
    cfg = ModelConfig(arch="compact", arch_kwargs={"in_shape": [3, 400, 30], "out_shape": [40, 60]}, normalizer=Normalizer())
    save_checkpoint(str(tmp_path / "ck"), m, cfg)
    assert sorted(os.listdir(tmp_path / "ck")) == ["config.json", "model.safetensors"]
    m2, cfg2 = load_checkpoint(str(tmp_path / "ck"))
    x = torch.randn(2, 3, 400, 30)
    with torch.no_grad():
        assert torch.equal(m(x), m2.eval()(x))
    assert cfg2.in_shape == (3, 400, 30) and cfg2.out_shape == (40, 60)
    with pytest.raises(InputError, match="not a model checkpoint"):
        load_checkpoint(str(tmp_path))


def test_pretrain_learns_and_resumes_exactly(tiny_data):
    root, _ = tiny_data
    ds = ShotDataset(str(root / "a"))
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
        return m, fit(m, ds, norm, (3, 400, 30), tc, out, lambda *_: None, progress=False, on_epoch=on_epoch)

    m_full, rec = run(str(root / "full"))
    losses = [h["train_l1"] for h in rec["history"]]
    assert losses[-1] < 0.8 * losses[0], losses
    with pytest.raises(KeyboardInterrupt):
        run(str(root / "cut"), stop_after=2)
    m_res, rec2 = run(str(root / "cut"))  # resumes from epoch 2
    assert [h["epoch"] for h in rec2["history"]] == [1, 2, 3, 4]
    for (k, a), (_, b) in zip(m_full.state_dict().items(), m_res.state_dict().items()):
        assert torch.equal(a, b), k


@pytest.fixture(scope="module")
def tiny_base(tiny_data):
    root, _ = tiny_data
    out = str(root / "base")
    rec = pretrain(PretrainConfig(data=[str(root / "a")], out=out, train=TrainConfig(epochs=2, batch_size=6, seed=0, device="cpu")),
                   progress=False)
    assert rec["samples_train"] + rec["samples_val"] == 24
    return out


@pytest.mark.parametrize("method", [m for m in METHODS])
def test_finetune_methods_save_and_reload(tiny_data, tiny_base, method):
    root, s = tiny_data
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
    x = fit_input(cfg.normalizer.data(torch.as_tensor(np.array(ds.arrays(0)[0][None]))), cfg.in_shape)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (1, 1, 40, 60) and torch.isfinite(y).all()
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


def test_predict_and_evaluate_cli(tiny_data, tiny_base, tmp_path):
    root, s = tiny_data
    s.to_json(tmp_path / "g.json")
    runner = CliRunner()
    r = runner.invoke(cli, ["synth", "--model", "flatvel-a:3", "--geometry", str(tmp_path / "g.json"), "--out", str(tmp_path / "s.segy")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["predict", str(tmp_path / "s.segy"), "--model", tiny_base, "--out", str(tmp_path / "pred")])
    assert r.exit_code == 0, r.output
    v = np.load(tmp_path / "pred" / "velocity_dl.npy")
    assert v.shape == (40, 60) and 1500 <= v.min() and v.max() <= 4500
    r = runner.invoke(cli, ["evaluate", "--model", tiny_base, "--data", str(root / "a"), "--data", str(root / "b"),
                            "--out", str(tmp_path / "m.json")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "m.json").read_text())
    assert set(res["families"]) == {"flatvel-a", "curvevel-a", "marine"}
    assert res["overall"]["samples"] == 32 and (tmp_path / "m.md").exists()
    r = runner.invoke(cli, ["finetune", "--base", tiny_base, "--data", str(root / "b"), "--method", "bogus", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2
    r = runner.invoke(cli, ["predict", str(tmp_path / "missing.segy"), "--model", tiny_base, "--out", str(tmp_path / "p2")])
    assert r.exit_code == 2 and "no such file" in r.output
    for args, words in (
        (["pretrain", "--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "pt")], "does not exist"),
        (["pretrain", "--data", str(root / "a"), "--epochs", "0", "--out", str(tmp_path / "pt")], "--epochs"),
        (["finetune", "--base", str(tmp_path), "--data", str(root / "b"), "--out", str(tmp_path / "ft")], "not a model checkpoint"),
        (["evaluate", "--model", tiny_base, "--data", str(root / "a"), "--out", str(tmp_path / "m.txt")], ".json"),
        (["pretrain", "--data", str(root / "a"), "--out", tiny_base], "not empty"),
    ):
        r = runner.invoke(cli, args)
        assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, (args, r.output)
    assert not (tmp_path / "pt").exists() and not (tmp_path / "ft").exists()


@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_MODEL, "model.safetensors")), reason="no shipped model")
def test_shipped_model_beats_the_mean_profile_on_held_out_samples(tmp_path):
    from hybridfwi.core import load_geometry
    from hybridfwi.dl.predict import EvalConfig, evaluate

    model, cfg = load_model(None)
    fams = cfg.record["data_recipe"]["families"]
    generate_dataset(GenerateConfig(families=fams[:4], count=4, out=str(tmp_path / "held"), survey=load_geometry("openfwi"),
                                    seed=987), progress=False)
    res = evaluate(EvalConfig(model=None, data=[str(tmp_path / "held")], out=str(tmp_path / "m.json"), device="cpu"))
    assert res["overall"]["mae"] < res["baseline_overall"]["mae"]
    assert res["overall"]["ssim"] > res["baseline_overall"]["ssim"]
    lora = adapt(model, "lora", rank=1)
    trainable, total = count_parameters(lora)
    assert trainable / total < 0.01
