"""The network frame: a survey on its grid read into a network's acquisition, and predictions read back.

The constant-density acoustic wave equation is unchanged when space and time are scaled together,
and in a 1-D model a trace depends only on its offset: both let a survey of another size and
layout be read as the network's own acquisition. These tests model both sides and compare.
"""

import numpy as np
import pytest
import torch

from hybridfwi.core import Grid, ShotRecord, Survey, Wavelet, load_geometry
from hybridfwi.dl.frame import FrameConfig, network_frame
from hybridfwi.errors import InputError
from hybridfwi.physics import forward_model

NET = load_geometry("openfwi")


def _corr(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_openfwi_itself_is_the_identity_frame():
    fr = network_frame(NET.grid, NET.survey, NET)
    assert fr.identity and fr.scale == 1.0 and fr.n_tiles == 1 and fr.to_dict()["identity"]
    d = np.random.default_rng(0).standard_normal(NET.survey.data_shape).astype(np.float32)
    x = fr.to_network(ShotRecord(d, NET.survey))
    assert x.shape == (1, 5, 1000, 70) and np.array_equal(x[0], d)
    v = np.random.default_rng(1).uniform(1500, 4500, (1, 70, 70)).astype(np.float32)
    assert np.array_equal(fr.from_network(v), v[0]) and np.array_equal(fr.model_to_network(v[0]), v)


def test_openfwi_scaled_by_two_reads_as_openfwi():
    """OpenFWI's acquisition with x, z and t doubled (20 m grid, 2 ms, 7.5 Hz): its data, read into the
    frame, are the data modelled in OpenFWI's own geometry for the same 1-D model (in scaled units)."""
    ng, ns = NET.grid, NET.survey
    g = Grid(nz=70, nx=70, dz=20.0, dx=20.0)
    s = Survey(dt=0.002, nt=1000, source_x=2 * ns.source_x, source_z=2 * ns.source_z, receiver_x=2 * ns.receiver_x,
               receiver_z=2 * ns.receiver_z, wavelet=Wavelet(peak_freq=7.5))

    def profile(z_net):
        return 1600.0 + 2.0 * z_net + 400.0 * (z_net > 400.0)

    v_net = np.repeat(profile(ng.z)[:, None], ng.nx, axis=1).astype(np.float32)
    v_survey = np.repeat(profile(g.z / 2.0)[:, None], g.nx, axis=1).astype(np.float32)
    d_net = forward_model(v_net, ng, ns)
    d_survey = forward_model(v_survey, g, s)
    fr = network_frame(g, s, NET)
    assert not fr.identity and fr.scale == pytest.approx(2.0) and fr.target_peak_hz == pytest.approx(7.5)
    assert fr.tiles == [pytest.approx(0.0)] and fr.warnings == []
    x = fr.to_network(ShotRecord(d_survey, s))
    assert x.shape == (1, *ns.data_shape) and fr.coverage == [1.0]
    assert _corr(x[0], d_net) > 0.99
    # trace by trace, too (the 2-D amplitudes differ by one factor of the scale, not by trace)
    per_trace = [_corr(x[0, i, :, j], d_net[i, :, j]) for i in range(5) for j in range(0, 70, 7)]
    assert min(per_trace) > 0.99


@pytest.fixture(scope="module")
def streamer():
    """End-on trailing streamer over a 1-D gradient: sources every 100 m, 10 m channels behind the
    source, 66-75 channels per shot (fewer near the left edge, where the streamer would leave the grid)."""
    g = Grid(nz=70, nx=138, dz=10.0, dx=10.0)
    v = np.repeat((1800.0 + 1.2 * g.z)[:, None], g.nx, axis=1).astype(np.float32)
    sx = np.arange(0.0, 1301.0, 100.0)
    rx = []
    for i, x in enumerate(sx):
        r = x - 10.0 * np.arange(66 + (7 * i) % 10)
        rx.append(r[r >= 0.0])
    s = Survey(dt=0.001, nt=1000, source_x=sx, source_z=10.0, receiver_x=rx, receiver_z=[10.0], wavelet=Wavelet(peak_freq=15.0))
    return g, s, v, ShotRecord(forward_model(v, g, s), s)


def test_trailing_streamer_is_read_by_offset_and_reciprocity(streamer):
    g, s, v, rec = streamer
    assert not s.regular and np.all(s.offsets[s.receiver_mask] <= 0)  # only negative offsets were recorded
    assert len(set(s.receiver_mask.sum(axis=1))) > 5
    fr = network_frame(g, s, NET)
    assert fr.scale == pytest.approx(1.0) and fr.n_tiles == 3 and fr.tiles == pytest.approx([0.0, 340.0, 680.0])
    x = fr.to_network(rec)
    assert x.shape == (3, 5, 1000, 70)
    ok = fr.plans()[1]["ok"]
    assert fr.coverage[1] > 0.8 and ok.mean() == fr.coverage[1]
    # both signs of offset: the positive ones can only come from reciprocity
    net_off = NET.survey.offsets
    assert ok[net_off > 100].mean() > 0.8 and ok[net_off < -100].mean() > 0.8
    # what the network would record there, modelled directly
    t = fr.tiles[1]
    direct = Survey(dt=0.001, nt=1000, source_x=t + NET.survey.source_x, source_z=10.0, receiver_x=t + NET.survey.receiver_x[0],
                    receiver_z=10.0, wavelet=Wavelet(peak_freq=fr.target_peak_hz))
    ref = forward_model(v, g, direct)
    per_trace = [_corr(x[1, i, :, j], ref[i, :, j]) for i in range(5) for j in range(70) if ok[i, j]]
    assert len(per_trace) == ok.sum() and min(per_trace) > 0.99
    # traces no shot covers are zero
    for k in range(3):
        miss = ~fr.plans()[k]["ok"]
        assert not x[k].transpose(0, 2, 1)[miss].any()
    # the record must be the frame's own acquisition
    with pytest.raises(InputError, match="not the one this network frame was built for"):
        fr.to_network(rec.select(range(1, s.n_shots)))


def test_missing_shots_lower_the_coverage(streamer):
    """Sources every 300 m instead of 100 m: many network sources are beyond max_shift of any shot."""
    g, s, _, rec = streamer
    sparse = rec.select([0, 3, 6, 9, 12])
    full = network_frame(g, s, NET, FrameConfig(max_shift=0.1))
    full.plans()
    fr = network_frame(g, sparse.survey, NET, FrameConfig(max_shift=0.1))
    x = fr.to_network(sparse)
    assert 0.0 < fr.coverage[1] < full.coverage[1] - 0.2
    assert not x[1].transpose(0, 2, 1)[~fr.plans()[1]["ok"]].any()


def _scaled_frame():
    """A survey at a scale of 1.25 (12 m grid, 12 Hz) four tiles wide."""
    g = Grid(nz=60, nx=150, dz=12.0, dx=12.0)
    sx = np.arange(0.0, 1780.0, 100.0)
    s = Survey(dt=0.001, nt=1200, source_x=sx, source_z=12.0, receiver_x=[np.clip(x - 12.0 * np.arange(60), 0, None) for x in sx],
               receiver_z=[12.0], wavelet=Wavelet(peak_freq=12.0))
    return g, network_frame(g, s, NET)


def test_a_smooth_model_survives_the_round_trip(streamer):
    g, fr = _scaled_frame()
    assert fr.scale == pytest.approx(1.25) and fr.n_tiles == 4
    zz, xx = np.meshgrid(g.z, g.x, indexing="ij")
    v = (2000.0 + 1.5 * zz + 300.0 * np.sin(2 * np.pi * xx / 1500.0) * np.exp(-zz / 600.0)).astype(np.float32)
    net = fr.model_to_network(v)
    assert net.shape == (4, 70, 70)
    # each tile holds the survey model at survey x = tile start + 1.25 x_net, z = 1.25 z_net
    t = fr.tiles[2]
    zq, xq = 1.25 * NET.grid.z[:, None], t + 1.25 * NET.grid.x[None, :]
    expect = 2000.0 + 1.5 * zq + 300.0 * np.sin(2 * np.pi * xq / 1500.0) * np.exp(-zq / 600.0)
    inside = (zq <= g.z_max) & (xq <= g.x_max)
    assert np.abs(net[2] - expect)[np.broadcast_to(inside, expect.shape)].max() < 0.01 * 2000.0
    back = fr.from_network(net)
    assert back.shape == g.shape
    covered = (g.x >= fr.tiles[0]) & (g.x <= fr.tiles[-1] + fr.width)
    assert covered.all() and fr.depth >= g.z_max
    assert np.max(np.abs(back - v) / v) < 0.01
    # the same through the streamer's frame (scale 1)
    g1, s1, _, _ = streamer
    f1 = network_frame(g1, s1, NET)
    v1 = (1800.0 + 1.2 * g1.z[:, None] + 200.0 * np.cos(2 * np.pi * g1.x[None, :] / 900.0)).astype(np.float32)
    assert np.max(np.abs(f1.from_network(f1.model_to_network(v1)) - v1) / v1) < 0.01


def test_gradients_flow_through_from_network():
    _, fr = _scaled_frame()
    rng = np.random.default_rng(0)
    p0 = torch.as_tensor(rng.uniform(1500.0, 4000.0, (fr.n_tiles, 9, 11)))  # any network output shape
    w = torch.as_tensor(rng.standard_normal(fr.grid.shape))
    dp = torch.as_tensor(rng.standard_normal(p0.shape))

    def loss(p):
        out = fr.from_network(p)
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == fr.grid.shape
        return ((out - 2500.0) ** 2 * w).sum() / 1e6

    p = p0.clone().requires_grad_(True)
    loss(p).backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    analytic = float((p.grad * dp).sum())
    e = 1e-3
    with torch.no_grad():
        numeric = float((loss(p0 + e * dp) - loss(p0 - e * dp)) / (2 * e))
    assert abs(analytic - numeric) <= 1e-6 * abs(numeric), (analytic, numeric)
    # numpy in, numpy out: the same values
    np.testing.assert_allclose(fr.from_network(p0.numpy()), fr.from_network(p0).numpy(), rtol=1e-6)


def test_frame_shapes_errors_and_report():
    g, fr = _scaled_frame()
    with pytest.raises(InputError, match="4 tile predictions"):
        fr.from_network(np.zeros((3, 70, 70), np.float32))
    d = fr.to_dict()
    assert d["scale"] == pytest.approx(1.25) and d["tile_width_m"] == pytest.approx(1.25 * 690.0) and len(d["tiles_x_m"]) == 4
    assert d["depth_m"] == pytest.approx(1.25 * 690.0) and d["target_peak_hz"] == pytest.approx(12.0)
    # a survey too deep for the network's window at the lowest usable frequency is read higher up, with a warning
    deep = Grid(nz=150, nx=150, dz=12.0, dx=12.0)
    fr2 = network_frame(deep, fr.survey, NET, usable_low_hz=5.0)
    assert fr2.scale < (deep.z_max + deep.dz) / 700.0 and any("extended downwards" in w for w in fr2.warnings)


def test_windows_without_data_are_dropped_and_the_nearest_one_extends(streamer):
    """Shots only at the right end (x = 1200, 1300 m, receivers trailing to 550 m): the two left
    windows read no trace, so they are not predicted from empty input; the kept window's prediction
    is extended to the left."""
    g, s, v, rec = streamer
    right = rec.select([12, 13])
    everything = network_frame(g, right.survey, NET, FrameConfig(min_coverage=0.0))
    everything.plans()
    assert everything.n_tiles == 3 and everything.coverage[:2] == [0.0, 0.0] and everything.coverage[2] > 0.5
    fr = network_frame(g, right.survey, NET)
    x = fr.to_network(right)
    assert fr.tiles == pytest.approx([680.0]) and fr.dropped == pytest.approx([0.0, 340.0]) and x.shape == (1, 5, 1000, 70)
    np.testing.assert_array_equal(x[0], everything.to_network(right)[2])
    assert any("2 of 3 network windows" in w for w in fr.warnings) and fr.to_dict()["tiles_dropped_x_m"] == [0.0, 340.0]
    # a prediction laterally varying inside the window: left of it, every column is the window's first
    pred = (1800.0 + 1.2 * NET.grid.z[:, None] + 2.0 * NET.grid.x[None, :])[None].astype(np.float32)
    back = fr.from_network(pred)
    left = g.x < 680.0
    edge = back[:, np.argmin(np.abs(g.x - 680.0))]
    np.testing.assert_allclose(back[:, left], np.repeat(edge[:, None], left.sum(), axis=1), rtol=1e-6)
    assert back[:, -1].mean() > edge.mean() + 500.0
    with pytest.raises(InputError, match="expected 1 tile predictions"):
        fr.from_network(np.zeros((3, 70, 70), np.float32))
    # a survey no window reads well keeps its best window
    sparse = network_frame(g, right.survey, NET, FrameConfig(min_coverage=0.99))
    assert sparse.n_tiles == 1 and sparse.tiles == pytest.approx([680.0])
