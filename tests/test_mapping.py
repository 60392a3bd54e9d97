"""The survey -> network mapping: acoustic scale invariance, and the prediction mapped back."""

import numpy as np
import pytest
import torch

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord
from hybridfwi.core.survey import PRESETS, Survey
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.dl.finetune import load_model
from hybridfwi.dl.mapping import from_network, network_frame, to_network
from hybridfwi.physics.forward import ForwardConfig, forward_model
from hybridfwi.synth.families import make_model


def scaled_openfwi(s: float) -> Survey:
    """OpenFWI's acquisition with x, z and t scaled by ``s`` (frequency by 1/s), shifted to x0 = 1000 m."""
    o = PRESETS["openfwi"]()
    x0 = 1000.0
    return Survey(grid=Grid(nz=70, nx=70, dz=10 * s, dx=10 * s, x0=x0), dt=o.dt * s, nt=o.nt,
                  source_x=x0 + o.source_x * s, source_z=o.source_z * s, receiver_x=x0 + o.receiver_x[0] * s,
                  receiver_z=o.receiver_z[0] * s, wavelet=Wavelet(peak_freq=15.0 / s), name=f"openfwi x{s:g}")


@pytest.fixture(scope="module")
def scaled_pair():
    v = make_model("curvefault-a", 3, 0, 70, 70)
    out = []
    for s in (1.5, 3.0):
        sv = scaled_openfwi(s)
        out.append(ShotRecord(forward_model(v, sv, ForwardConfig(device="cpu")), sv))
    return v, out


def test_scale_invariance_same_network_input_and_prediction(scaled_pair):
    v, (a, b) = scaled_pair
    net = PRESETS["openfwi"]()
    fa, fb = network_frame(a.survey, net), network_frame(b.survey, net)
    assert fa.scale == pytest.approx(1.5) and fb.scale == pytest.approx(3.0)
    assert fa.shots == [0, 1, 2, 3, 4] and max(fa.shot_distance_m) < 1e-6
    xa, xb = to_network(a, net, fa), to_network(b, net, fb)
    # the raw data differ by a grid-scale amplitude factor; in the network frame they coincide
    ratio = np.abs(b.data).max() / np.abs(a.data).max()
    assert ratio > 3.5  # 2-D point-source amplitudes grow with the cell size squared
    assert np.abs(xa - xb).max() <= 1e-3 * np.abs(xa).max()
    model, cfg = load_model(None)
    with torch.no_grad():
        pa, pb = (model(cfg.normalizer.data(torch.as_tensor(x[None])))[0, 0].numpy() for x in (xa, xb))
    assert np.abs(pa - pb).max() < 1e-3  # normalised velocity, [-1, 1]
    # mapped back, the two predictions are the same model in their own metres
    va = from_network(cfg.normalizer.velocity_inverse(torch.as_tensor(pa)).numpy(), net, fa, a.survey.grid)
    vb = from_network(cfg.normalizer.velocity_inverse(torch.as_tensor(pb)).numpy(), net, fb, b.survey.grid)
    assert np.abs(va - vb).max() < 5.0


def test_mapping_reads_the_right_shot_receiver_and_time():
    """A survey twice the network's size sampled at 1 ms, shots listed in reverse: network sample
    (k, i, r) reads the survey shot at the k-th source position, at survey time 2 t_i, receiver r."""
    net = PRESETS["openfwi"]()
    base = scaled_openfwi(2.0)
    sv = Survey(grid=base.grid, dt=0.001, nt=2000, source_x=base.source_x[::-1].copy(), source_z=base.source_z,
                receiver_x=base.receiver_x[0], receiver_z=base.receiver_z[0], wavelet=base.wavelet)
    j = np.arange(sv.nt)[None, :, None]
    label = (np.arange(5)[:, None, None] + 1) * 1000.0 + np.arange(70)[None, None, :] * 10.0
    data = (label + 5.0 * np.sin(2 * np.pi * j / 400.0)).astype(np.float32)
    fr = network_frame(sv, net)
    assert fr.shots == [4, 3, 2, 1, 0] and fr.scale == pytest.approx(2.0) and fr.x_lo == pytest.approx(1000.0)
    x = to_network(ShotRecord(data, sv), net, fr).astype(np.float64)
    i = np.arange(1000)[None, :, None]
    expect = label[::-1] + 5.0 * np.sin(2 * np.pi * 2 * i / 400.0)
    x *= expect[0, 500, 0] / x[0, 500, 0]  # undo the amplitude normalisation
    assert np.allclose(x[:, 100:900], expect[:, 100:900], rtol=2e-3)


def test_prediction_maps_back_by_scaled_coordinates():
    """A network-grid model that is linear in x and z, read onto a grid of the survey's size, is the
    same linear function of x / s and z / s (clamped outside the network's frame)."""
    net = PRESETS["openfwi"]()
    sv = scaled_openfwi(2.0)
    fr = network_frame(sv, net)
    zn, xn = net.grid.z[:, None], net.grid.x[None, :]
    pred = 2000.0 + zn * 2.0 + xn * 0.5
    grid = Grid(nz=50, nx=80, dz=25.0, dx=25.0, x0=900.0)
    v = from_network(pred, net, fr, grid)
    zq = np.clip(grid.z / 2.0, 0, 690)[:, None]
    xq = np.clip((grid.x - 1000.0) / 2.0, 0, 690)[None, :]
    assert np.allclose(v, 2000.0 + zq * 2.0 + xq * 0.5, atol=1e-2)
