"""Physics of the forward modelling: arrival times, reciprocity, batching, guards."""

import numpy as np
import pytest
import torch

from hybridfwi.core import Grid, Survey, Wavelet
from hybridfwi.errors import InputError, ModellingError
from hybridfwi.physics import ForwardConfig, forward_model, simulate
from hybridfwi.synth.families import make_model


def green2d_trace(wavelet: np.ndarray, dt: float, t0: float) -> np.ndarray:
    """2-D acoustic Green's function H(t - t0) / sqrt(t^2 - t0^2) (t0 = r / v) convolved with the
    wavelet; each sample's kernel is integrated exactly, so the singularity at t0 is handled."""
    n = wavelet.size
    edges = np.arange(n + 1) * dt
    lo = np.maximum(edges[:-1], t0)
    hi = np.maximum(edges[1:], t0)
    kernel = np.arccosh(hi / t0) - np.arccosh(lo / t0)
    return np.convolve(wavelet, kernel)[:n]


def xcorr_lag(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Lag (samples, a later than b is positive) and peak normalised correlation."""
    c = np.correlate(a, b, mode="full")
    k = int(np.argmax(c))
    return k - (b.size - 1), float(c[k] / (np.linalg.norm(a) * np.linalg.norm(b)))


def homogeneous_survey(nz=60, nx=140, h=5.0, nt=900, dt=0.0005):
    return Survey(
        grid=Grid(nz=nz, nx=nx, dz=h, dx=h),
        dt=dt,
        nt=nt,
        source_x=np.array([50.0]),
        source_z=np.array([150.0]),
        receiver_x=np.arange(60.0, 660.0, 50.0),
        receiver_z=np.full(12, 150.0),
        wavelet=Wavelet(peak_freq=15.0),
    )


def test_direct_wave_arrival_matches_offset_over_velocity():
    s = homogeneous_survey()
    v = 2000.0
    data = forward_model(np.full(s.grid.shape, v, np.float32), s, ForwardConfig(accuracy=8))[0]
    w = s.wavelet.array(s.nt, s.dt).astype(np.float64)
    for j, off in enumerate(np.abs(s.offsets[0])):
        analytic = green2d_trace(w, s.dt, off / v)
        lag, corr = xcorr_lag(data[:, j].astype(np.float64), analytic)
        assert abs(lag) <= 1, f"offset {off} m: arrival off by {lag} samples"
        assert corr > 0.995, f"offset {off} m: waveform differs from the 2-D Green's function (corr {corr:.4f})"


def test_flat_reflector_two_way_time():
    s = homogeneous_survey(nz=100, nx=140, nt=1200)
    s.source_z[:] = 20.0
    s.receiver_z[:] = 20.0
    v1, v2 = 2000.0, 3000.0
    k = 70  # interface halfway between cells k-1 and k: z = 347.5 m
    z_ref = (k - 0.5) * s.grid.dz
    layered = np.full(s.grid.shape, v1, np.float32)
    layered[k:] = v2
    cfg = ForwardConfig(accuracy=8)
    reflection = forward_model(layered, s, cfg)[0] - forward_model(np.full(s.grid.shape, v1, np.float32), s, cfg)[0]
    w = s.wavelet.array(s.nt, s.dt).astype(np.float64)
    h = z_ref - 20.0
    for j, off in enumerate(np.abs(s.offsets[0])):
        if off > 1.0 * h:  # pre-critical, near-normal incidence: image-source waveform
            continue
        t_twt = np.hypot(off, 2.0 * h) / v1
        analytic = green2d_trace(w, s.dt, t_twt)
        lag, corr = xcorr_lag(reflection[:, j].astype(np.float64), analytic)
        assert abs(lag) * s.dt <= 2 * 0.001, f"offset {off} m: reflection off by {lag} samples of {s.dt} s"
        assert corr > 0.97
    # reflection coefficient sign and size at the smallest offset: (v2 - v1) / (v2 + v1) = 0.2
    j = int(np.argmin(np.abs(s.offsets[0])))
    direct_like = green2d_trace(w, s.dt, np.hypot(s.offsets[0, j], 2 * h) / v1)
    direct_like *= np.abs(forward_model(np.full(s.grid.shape, v1, np.float32), s, cfg)[0][:, j]).max() / np.abs(
        green2d_trace(w, s.dt, abs(s.offsets[0, j]) / v1)).max()
    ratio = float(np.dot(reflection[:, j], direct_like) / np.dot(direct_like, direct_like))
    assert 0.15 < ratio < 0.25


def test_source_receiver_reciprocity():
    g = Grid(nz=50, nx=70, dz=10.0, dx=10.0)
    v = make_model("curvefault-b", 3, 0, 50, 70)
    a, b = (120.0, 60.0), (560.0, 230.0)  # (x, z) in metres, inside the model
    def one(src, rec):
        s = Survey(grid=g, dt=0.001, nt=700, source_x=[src[0]], source_z=[src[1]], receiver_x=[rec[0]],
                   receiver_z=[rec[1]], wavelet=Wavelet(peak_freq=12.0))
        return forward_model(v, s, ForwardConfig(max_vel=4500.0))[0, :, 0].astype(np.float64)
    ab, ba = one(a, b), one(b, a)
    assert np.linalg.norm(ab) > 0
    assert np.linalg.norm(ab - ba) / np.linalg.norm(ab) < 0.01


def test_batched_and_one_by_one_agree(small_survey):
    models = np.stack([make_model(f, 1, i, 40, 60) for i, f in enumerate(["flatvel-b", "salt", "gas", "style-a"])])
    batched = forward_model(models, small_survey)
    single = np.stack([forward_model(m, small_survey) for m in models])
    assert batched.shape == (4, 3, 400, 30) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, single, rtol=0, atol=1e-6 * np.abs(single).max())


def test_results_do_not_depend_on_other_models_in_the_batch(small_survey):
    """max_vel and pml_freq are pinned: a slow model batched with a fast one models the same."""
    slow = np.full((40, 60), 1600.0, np.float32)
    fast = np.full((40, 60), 4400.0, np.float32)
    alone = forward_model(slow, small_survey)
    together = forward_model(np.stack([slow, fast]), small_survey)[0]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6 * np.abs(alone).max())


def test_refined_grid_models_the_same_physics(small_survey):
    v = make_model("curvevel-a", 0, 0, 40, 60)
    coarse = forward_model(v, small_survey, ForwardConfig(accuracy=8))
    fine = forward_model(v, small_survey, ForwardConfig(accuracy=8, refine=2))
    # away from the source's near field, a 2x finer grid gives the same amplitudes and arrivals
    far = np.abs(small_survey.offsets) >= 100.0
    for shot in range(small_survey.n_shots):
        c, f = coarse[shot][:, far[shot]], fine[shot][:, far[shot]]
        assert np.linalg.norm(f - c) / np.linalg.norm(c) < 0.03
        assert np.abs(f).max() == pytest.approx(np.abs(c).max(), rel=0.01)


def test_free_surface_ghost_has_reflection_coefficient_minus_one(small_survey):
    v = np.full((40, 60), 2000.0, np.float32)
    absorbing = forward_model(v, small_survey)[0]
    small_survey.free_surface = True
    free = forward_model(v, small_survey)[0]
    # source and receivers 10 m below a pressure-release surface: at offsets >> 20 m the ghost
    # (the surface reflection) arrives almost with the direct wave, inverted, and cancels it
    for j in np.flatnonzero(np.abs(small_survey.offsets[0]) >= 150.0):
        ghost = free[:, j] - absorbing[:, j]
        corr = np.dot(ghost, absorbing[:, j]) / (np.linalg.norm(ghost) * np.linalg.norm(absorbing[:, j]))
        assert corr < -0.95
        assert np.abs(free[:, j]).max() < 0.35 * np.abs(absorbing[:, j]).max()


def test_dispersion_rule_refuses_coarse_grids(small_survey):
    v = np.full((40, 60), 600.0, np.float32)  # 600 m/s at 15 Hz on 10 m: 4 cells per wavelength
    with pytest.raises(ModellingError, match="cells per minimum wavelength"):
        forward_model(v, small_survey)
    with pytest.warns(UserWarning, match="grid too coarse"):
        forward_model(v, small_survey, ForwardConfig(dispersion="warn"))


def test_model_faster_than_max_vel_is_refused(small_survey):
    with pytest.raises(ModellingError, match="max_vel"):
        forward_model(np.full((40, 60), 5000.0, np.float32), small_survey)


def test_wrong_model_shape_is_refused(small_survey):
    with pytest.raises(InputError, match="does not match the survey grid"):
        forward_model(np.full((41, 60), 2000.0, np.float32), small_survey)


def test_gradient_flows_to_the_model(small_survey):
    v = torch.full((40, 60), 2500.0, requires_grad=True)
    d = simulate(v, small_survey, shots=[1])
    assert d.shape == (1, 400, 30)
    (d ** 2).sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().max() > 0
