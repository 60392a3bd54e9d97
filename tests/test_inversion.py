"""FWI engine: gradients, convergence on standard cases, resume, guards."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from hybridfwi.core import Grid, ShotRecord, Survey, VelocityModel, Wavelet, load_geometry
from hybridfwi.errors import InputError
from hybridfwi.inversion import FWI, FWIConfig, fwi
from hybridfwi.inversion.conditioning import gradient_weight
from hybridfwi.inversion.fwi import _Diverged, data_misfit, estimate_wavelet_in
from hybridfwi.inversion.wavelet_estimation import estimate_wavelet
from hybridfwi.metrics import rmse, ssim
from hybridfwi.physics import ForwardConfig, forward_model, simulate
from hybridfwi.physics.filters import Band, apply_band, band_response
from hybridfwi.physics.misfits import misfit, misfit_scale
from hybridfwi.synth.families import make_model
from hybridfwi.synth.single import add_noise


@pytest.mark.parametrize("name", ["l2", "gc", "envelope"])
def test_gradient_matches_finite_differences(name):
    """d/de J(v + e dv) from deepwave's adjoint gradient vs a central difference, float64."""
    g = Grid(nz=24, nx=32, dz=10.0, dx=10.0)
    s = Survey(dt=0.002, nt=250, source_x=[40.0, 270.0], source_z=[20.0, 20.0],
               receiver_x=np.arange(10.0, 310.0, 20.0), receiver_z=np.full(15, 20.0), wavelet=Wavelet(peak_freq=10.0))
    cfg = ForwardConfig(max_vel=4000.0)
    rng = np.random.default_rng(0)
    true = torch.as_tensor(make_model("curvevel-b", 1, 0, 24, 32).clip(1500, 3900), dtype=torch.float64)
    resp = band_response(Band(high=15.0), s.nt, s.dt)
    obs = apply_band(simulate(true, g, s, cfg), resp)
    scale = misfit_scale(name, obs)
    v = torch.as_tensor(gaussian_filter(true.numpy(), 3.0), dtype=torch.float64)
    dv = torch.as_tensor(gaussian_filter(rng.standard_normal((24, 32)), 2.0), dtype=torch.float64)
    dv = dv / dv.abs().max() * 50.0  # m/s

    def J(m):
        return misfit(name, apply_band(simulate(m, g, s, cfg), resp), obs, scale)

    vv = v.clone().requires_grad_(True)
    J(vv).backward()
    analytic = float((vv.grad * dv).sum())
    e = 1e-3
    with torch.no_grad():
        numeric = float((J(v + e * dv) - J(v - e * dv)) / (2 * e))
    assert numeric != 0
    assert abs(analytic - numeric) / abs(numeric) < 0.01, (analytic, numeric)


def test_camembert_objective_falls_fivefold_in_five_iterations():
    """Devito's FWI tutorial case: 101 x 101 at 10 m, 2.5 km/s with a 3.0 km/s disc, transmission."""
    g = Grid(nz=101, nx=101, dz=10.0, dx=10.0)
    zz, xx = np.meshgrid(g.z, g.x, indexing="ij")
    true = np.full(g.shape, 2500.0, np.float32)
    true[(zz - 500.0) ** 2 + (xx - 500.0) ** 2 <= 150.0 ** 2] = 3000.0  # radius 15 cells
    s = Survey(dt=0.002, nt=501, source_x=np.full(9, 20.0), source_z=np.linspace(0.0, 1000.0, 9),
               receiver_x=np.full(101, 980.0), receiver_z=g.z.copy(), wavelet=Wavelet(peak_freq=10.0))
    cfg = FWIConfig(vmin=2000.0, vmax=3500.0, iterations=5, taper_radius_m=0.0)
    obs = forward_model(true, g, s, ForwardConfig(max_vel=cfg.vmax))
    res = fwi(ShotRecord(obs, s), VelocityModel(np.full(g.shape, 2500.0, np.float32), g), cfg, true=true, progress=False)
    j = [h["misfit"] for h in res.history]
    from hybridfwi.inversion.fwi import data_misfit

    final, w = data_misfit(res.model, ShotRecord(obs, s), cfg)
    assert np.array_equal(w, s.wavelet.array(s.nt, s.dt).astype(np.float32))
    assert final < j[0] / 5.0, (j, final)
    assert res.final_misfit == pytest.approx(final, rel=1e-4)
    # the curve: one entry per model from the start, the last being the final model
    curve = res.curve()
    assert len(curve) == 6 and [c["data_misfit"] for c in curve] == j + [res.final_misfit]
    assert curve[-1]["rmse_ms"] == res.final_rmse_ms < curve[0]["rmse_ms"]
    # and the disc appears: faster inside than outside
    inside = (zz - 500.0) ** 2 + (xx - 500.0) ** 2 <= 100.0 ** 2
    assert res.model.values[inside].mean() > 2550.0


@pytest.mark.parametrize("refine, misfit_name", [(1, "l2"), (2, "gc")])
def test_small_faulted_model_without_inverse_crime(small_grid, small_survey, refine, misfit_name):
    """The same check as below on the small survey (40 x 60 cells, 3 shots), 15 iterations: observed
    data at accuracy 8 (same or 2x finer grid) plus 1% noise, inverted at accuracy 4."""
    true = make_model("curvefault-a", 0, 1, 40, 60)
    obs = add_noise(forward_model(true, small_grid, small_survey, ForwardConfig(accuracy=8, refine=refine)), 40.0, 0)
    init = gaussian_filter(true, 4.0, mode="nearest")
    res = fwi(ShotRecord(obs, small_survey), VelocityModel(init, small_grid), FWIConfig(iterations=15, misfit=misfit_name),
              true=true, progress=False)
    before, after = rmse(init, true), rmse(res.model.values, true)
    assert after < 0.88 * before, (before, after)
    assert ssim(res.model.values, true) > ssim(init, true)
    assert res.final_misfit < res.history[0]["misfit"]


@pytest.mark.slow
@pytest.mark.parametrize("refine, misfit_name", [(1, "l2"), (2, "gc")])
def test_openfwi_layered_faulted_without_inverse_crime(refine, misfit_name):
    """Observed data at accuracy 8 (on the same grid, or a 2x finer one) plus 1% noise; inversion at
    accuracy 4 on the survey grid. From the true model smoothed with sigma = 40 m, the model RMSE
    falls by at least 25% within 30 iterations. (On the finer grid the near-source amplitudes differ
    by ~10%, which L2 tries to fit; the trace-normalised correlation misfit does not.)"""
    geom = load_geometry("openfwi")
    g, s = geom.grid, geom.survey
    true = make_model("curvefault-a", 0, 1)
    obs = add_noise(forward_model(true, g, s, ForwardConfig(accuracy=8, refine=refine)), 40.0, 0)  # noise rms 1% of signal rms
    init = gaussian_filter(true, 4.0, mode="nearest")
    res = fwi(ShotRecord(obs, s), VelocityModel(init, g), FWIConfig(iterations=30, misfit=misfit_name), true=true, progress=False)
    before, after = rmse(init, true), rmse(res.model.values, true)
    assert after < 0.75 * before, (before, after)
    assert ssim(res.model.values, true) > ssim(init, true)


def _small_problem(grid, survey, seed=0):
    true = make_model("flatfault-b", seed, 0, 40, 60)
    obs = forward_model(true, grid, survey)
    init = gaussian_filter(true, 3.0, mode="nearest")
    return ShotRecord(obs, survey), VelocityModel(init, grid), true


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_interrupted_and_resumed_run_reaches_the_same_model(tmp_path, small_grid, small_survey, optimizer):
    rec, init, true = _small_problem(small_grid, small_survey)
    cfg = FWIConfig(bands=[8.0, None], iterations=3, optimizer=optimizer, estimate_wavelet=True, tv_weight=1e-3,
                    checkpoint_every_s=0.0)  # a checkpoint after every iteration
    full = FWI(rec, init, cfg, true=true).run(progress=False)
    # mid-band, at the band boundary, mid-band again; then with checkpoints only at band ends (the
    # run loses the iterations since, and redoes them to the same result)
    for stop_after, every, saved in ((2, 0.0, 2), (3, 0.0, 3), (4, 0.0, 4), (5, 1e9, 3)):
        run_cfg = FWIConfig(**{**cfg.to_dict(), "checkpoint_every_s": every})
        ckpt = str(tmp_path / f"ck{stop_after}.pt")
        calls = []

        def stop(entry):
            calls.append(entry)
            if len(calls) == stop_after:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            FWI(rec, init, run_cfg, true=true, checkpoint=ckpt, callback=stop).run(progress=False)
        resumed = FWI(rec, init, run_cfg, true=true, checkpoint=ckpt)
        resumed.load(ckpt)
        assert len(resumed.history) == saved
        out = resumed.run(progress=False)
        assert len(out.history) == 6
        np.testing.assert_array_equal(out.model.values, full.model.values)
        assert [h["misfit"] for h in out.history] == [h["misfit"] for h in full.history]
        np.testing.assert_array_equal(out.wavelet, full.wavelet)


def test_checkpoint_of_another_run_is_refused(tmp_path, small_grid, small_survey):
    rec, init, true = _small_problem(small_grid, small_survey)
    ckpt = str(tmp_path / "ck.pt")
    FWI(rec, init, FWIConfig(iterations=1), checkpoint=ckpt).run(progress=False)
    other = FWI(rec, init, FWIConfig(iterations=2))
    with pytest.raises(InputError, match="another run"):
        other.load(ckpt)


def test_divergence_reverts_to_last_good_model_and_halves_the_step(small_grid, small_survey):
    rec, init, true = _small_problem(small_grid, small_survey)

    class Flaky(FWI):
        calls = 0

        def evaluate(self, need_grad=True):
            Flaky.calls += 1
            if Flaky.calls == 4:
                raise _Diverged("non-finite misfit (nan)")
            return super().evaluate(need_grad)

    eng = Flaky(rec, init, FWIConfig(iterations=4, optimizer="adam", lr=30.0))
    before = []
    eng.callback = lambda e: before.append(eng.velocity())
    res = eng.run(progress=False)
    assert any("reverted to the last good model" in e for e in res.events)
    assert eng.lr_scale == 0.5
    reverted = [h for h in res.history if h["reverted"]]
    assert len(reverted) == 1
    k = res.history.index(reverted[0])
    # the model after iteration k-1 gave the bad misfit: back to the one before it, the last good
    np.testing.assert_array_equal(before[k], before[k - 2])
    assert np.all(np.isfinite(res.model.values))


def test_model_stays_inside_bounds_with_a_huge_step(small_grid, small_survey):
    rec, init, _ = _small_problem(small_grid, small_survey)
    cfg = FWIConfig(vmin=1600.0, vmax=4000.0, iterations=3, optimizer="adam", lr=5000.0)
    res = fwi(rec, init, cfg, progress=False)
    v = res.model.values
    assert np.all(np.isfinite(v)) and v.min() > 1600.0 and v.max() < 4000.0


def test_wavelet_estimation_recovers_scale_and_shift(small_grid, small_survey):
    v = make_model("gas", 0, 0, 40, 60)
    w = small_survey.wavelet.array(small_survey.nt, small_survey.dt)
    true_w = 2.5 * np.roll(w, 7)  # stronger and 7 ms later
    obs = simulate(torch.as_tensor(v), small_grid, small_survey, source_amplitudes=torch.as_tensor(true_w)).numpy()
    modelled = simulate(torch.as_tensor(v), small_grid, small_survey, source_amplitudes=torch.as_tensor(w)).numpy()
    est = estimate_wavelet(obs, modelled, w)
    assert np.linalg.norm(est - true_w) / np.linalg.norm(true_w) < 0.05
    # the same estimate in a model, through the inversion's own helpers, and the misfit it explains
    rec = ShotRecord(obs, small_survey)
    cfg = FWIConfig(device="cpu")
    est2 = estimate_wavelet_in(v, small_grid, rec, cfg)
    assert np.linalg.norm(est2 - true_w) / np.linalg.norm(true_w) < 0.05
    vm = VelocityModel(v, small_grid)
    known, _ = data_misfit(vm, rec, cfg)  # the survey's (wrong) wavelet
    fitted, w_used = data_misfit(vm, rec, cfg, estimate=True)
    assert np.linalg.norm(w_used - true_w) / np.linalg.norm(true_w) < 0.05
    assert fitted < 0.01 < 0.5 < known


def test_band_filter_is_identical_for_numpy_and_torch_and_cuts_high_frequencies():
    dt, nt = 0.002, 1000
    t = np.arange(nt) * dt
    x = np.stack([np.sin(2 * np.pi * 3.0 * t), np.sin(2 * np.pi * 30.0 * t)], -1)[None].astype(np.float32)  # (1, nt, 2)
    r = band_response(Band(high=10.0), nt, dt)
    y_np = apply_band(x, r, axis=1)
    y_t = apply_band(torch.as_tensor(x), r, axis=1).numpy()
    np.testing.assert_allclose(y_np, y_t, atol=1e-5)
    mid = slice(200, 800)
    assert np.abs(y_np[0, mid, 0]).max() == pytest.approx(1.0, abs=0.02)  # 3 Hz passes
    assert np.abs(y_np[0, mid, 1]).max() < 0.01  # 30 Hz is 40 dB down
    with pytest.raises(InputError, match="Nyquist"):
        band_response(Band(high=300.0), nt, dt)


def test_gradient_conditioning(small_grid, small_survey):
    v = np.full((40, 60), 2000.0, np.float32)
    v[:5] = 1500.0
    w = gradient_weight(small_grid, small_survey, v, freeze_above_m=100.0, taper_radius_m=50.0, depth_power=1.0)
    assert np.all(w[:10] == 0)  # z < 100 m frozen (and the taper at the 10 m sources)
    assert np.all(w[11:] > 0)
    assert w[30, 30] > w[15, 30]  # depth scaling
    w2 = gradient_weight(small_grid, small_survey, v, freeze_velocity_below=1510.0, taper_radius_m=0.0)
    assert np.all(w2[:5] == 0) and np.all(w2[5:] == 1)
    w3 = gradient_weight(small_grid, small_survey, v, taper_radius_m=50.0)
    assert w3[1, 5] == 0.0 and w3[1 + 5, 5] == pytest.approx(1.0) and 0 < w3[1 + 2, 5] < 1  # source at (10 m, 50 m)


def test_config_json_round_trip_and_validation(tmp_path):
    cfg = FWIConfig(bands=[5.0, 8.0, None], optimizer="adam", misfit="gc", tv_weight=0.01)
    path = tmp_path / "fwi.json"
    import json

    path.write_text(json.dumps(cfg.to_dict()))
    assert FWIConfig.from_json(str(path)) == cfg
    with pytest.raises(InputError, match="vmin"):
        FWIConfig(vmin=3000.0, vmax=2000.0).validate()
    with pytest.raises(InputError, match="Nyquist"):
        FWIConfig(bands=[600.0]).validate(dt=0.001)
    path.write_text(json.dumps({"iterations": 3, "typo_field": 1}))
    with pytest.raises(InputError, match="typo_field"):
        FWIConfig.from_json(str(path))


def test_shot_mini_batches_accumulate_the_same_gradient(small_grid, small_survey):
    rec, init, _ = _small_problem(small_grid, small_survey)
    grads = []
    for cfg in (FWIConfig(), FWIConfig(shots_per_batch=1), FWIConfig(shots_per_batch=2, storage_mode="cpu")):
        eng = FWI(rec, init, cfg)
        eng._prepare_stage()
        loss, _ = eng.evaluate()
        grads.append((loss, eng.p.grad.clone()))
    for loss, g in grads[1:]:
        assert loss == pytest.approx(grads[0][0], rel=1e-5)
        torch.testing.assert_close(g, grads[0][1], rtol=1e-4, atol=1e-6 * float(grads[0][1].abs().max()))


def test_ragged_survey_misfit_and_gradient_are_the_sum_over_its_shots(small_grid):
    """Shots with different receiver counts in one inversion: the padded entries count for nothing, so
    misfit and gradient (unnormalised) are the sums of those of each shot inverted alone."""
    rx = [np.arange(0.0, 300.0, 20.0), np.arange(200.0, 590.0, 20.0), np.arange(100.0, 400.0, 20.0)[::2]]
    s = Survey(dt=0.001, nt=400, source_x=[50.0, 300.0, 550.0], source_z=10.0, receiver_x=rx, receiver_z=[10.0],
               wavelet=Wavelet(peak_freq=15.0))
    rec, init, _ = _small_problem(small_grid, s)
    assert not s.regular
    cfg = FWIConfig(taper_radius_m=0.0, device="cpu")

    def loss_and_grad(r):
        eng = FWI(r, init, cfg)
        eng._prepare_stage()
        loss, _ = eng.evaluate()
        return loss * eng.scale, eng.p.grad.clone() * eng.scale, eng.scale

    total, grad, scale = loss_and_grad(rec)
    parts = [loss_and_grad(rec.select([i])) for i in range(3)]
    assert scale == pytest.approx(sum(p[2] for p in parts), rel=1e-6)
    assert total == pytest.approx(sum(p[0] for p in parts), rel=1e-5)
    summed = sum(p[1] for p in parts)
    torch.testing.assert_close(grad, summed, rtol=1e-4, atol=1e-5 * float(summed.abs().max()))


def test_skip_first_shortens_the_first_band_only(small_grid, small_survey):
    rec, init, _ = _small_problem(small_grid, small_survey)
    cfg = FWIConfig(bands=[8.0, None], iterations=3, optimizer="adam", device="cpu")
    res = FWI(rec, init, cfg, skip_first=2).run(progress=False)
    assert [h["band_hz"] for h in res.history] == [8.0, None, None, None]
    assert [c["iteration"] for c in res.curve(iteration_offset=2)] == [2, 3, 4, 5, 6]
    for bad in (3, -1):
        with pytest.raises(InputError, match="skip_first"):
            FWI(rec, init, cfg, skip_first=bad)
    with pytest.raises(InputError, match="true model shape"):
        FWI(rec, init, cfg, true=np.zeros((10, 10)))


def test_traces_on_the_source_are_left_out_of_the_misfit(small_grid, small_survey):
    """A receiver on its source records the source's near field, which depends on the modelling grid:
    data modelled on a 2x finer grid at accuracy 8 differ there far more than at any other offset,
    so the misfit leaves those traces out by default (min_offset_m None: closer than one cell)."""
    from hybridfwi.inversion.fwi import trace_mask

    s, g = small_survey, small_grid
    keep = trace_mask(s, g, FWIConfig())
    assert keep is not None and keep.shape == (3, 30)
    assert (~keep).nonzero().tolist() == [[1, 15]]  # the receiver at 300 m under the shot at 300 m; 10 m offsets stay
    assert trace_mask(s, g, FWIConfig(min_offset_m=0.0)) is None
    assert int((~trace_mask(s, g, FWIConfig(min_offset_m=25.0))).sum()) == 2 + 3 + 2  # within 25 m: 40/60, 280/300/320, 540/560
    with pytest.raises(InputError, match="min_offset_m"):
        trace_mask(s, g, FWIConfig(min_offset_m=1e4))
    with pytest.raises(InputError, match="min_offset_m"):
        FWIConfig(min_offset_m=-1.0).validate()
    # physics: the finer grid's data against the inversion grid's, in the true model
    true = make_model("flatvel-a", 0, 3, 40, 60)
    fine = forward_model(true, g, s, ForwardConfig(refine=2, accuracy=8))
    coarse = forward_model(true, g, s, ForwardConfig())
    energy = ((fine - coarse) ** 2).sum(axis=1)  # per trace (shot, receiver)
    err = np.sqrt(energy / (coarse ** 2).sum(axis=1))
    assert err[1, 15] > 2 * np.delete(err[1], 15).max()  # 22 % against at most 9 % (far offsets: dispersion)
    assert energy[1, 15] > 0.5 * energy.sum()  # one trace of 90 holds most of the mismatch
    rec = ShotRecord(fine, s)
    all_traces, _ = data_misfit(VelocityModel(true, g), rec, FWIConfig(min_offset_m=0.0, device="cpu"))
    default, _ = data_misfit(VelocityModel(true, g), rec, FWIConfig(device="cpu"))
    assert default < 0.5 * all_traces
    # the left-out trace does not shape the estimated wavelet either
    loud = fine.copy()
    loud[1, :, 15] *= 10.0
    w = estimate_wavelet_in(true, g, rec, FWIConfig(device="cpu"))
    np.testing.assert_allclose(estimate_wavelet_in(true, g, ShotRecord(loud, s), FWIConfig(device="cpu")), w, rtol=1e-4, atol=1e-6)
    kept = estimate_wavelet_in(true, g, ShotRecord(loud, s), FWIConfig(min_offset_m=0.0, device="cpu"))
    assert np.abs(kept - w).max() > 0.1 * np.abs(w).max()


def _high_fraction(a: np.ndarray, sigma: float) -> float:
    """Share of ``a``'s energy above the wavenumbers a Gaussian of ``sigma`` cells keeps."""
    return float(np.sum((a - gaussian_filter(a, sigma, mode="nearest")) ** 2) / np.sum(a ** 2))


def test_gradient_smoothing_damps_short_wavelengths_and_still_descends(small_grid, small_survey):
    rec, init, true = _small_problem(small_grid, small_survey)
    plain_cfg = FWIConfig(bands=[10.0], iterations=4, freeze_above_m=40.0)
    k = 0.15
    smooth_cfg = FWIConfig(**{**plain_cfg.to_dict(), "smooth_wavelengths": k})
    grads = {}
    for name, cfg in (("plain", plain_cfg), ("smooth", smooth_cfg)):
        f = FWI(rec, init, cfg)
        f._prepare_stage()
        f.evaluate()
        grads[name] = (f, f.p.grad.detach().clone().numpy().astype(np.float64))
    f, g_plain = grads["plain"]
    g_smooth = grads["smooth"][1]
    # exactly W G W g, with G a Gaussian of k wavelengths at the band's high cut and the mean free velocity
    w = f.weight.numpy().astype(np.float64)
    sigma = k * float(init.values[w > 0].mean()) / 10.0 / small_grid.dz
    np.testing.assert_allclose(g_smooth, w * gaussian_filter(g_plain, sigma, mode="nearest"), rtol=1e-4,
                               atol=1e-6 * np.abs(g_plain).max())
    assert sigma > 2.0
    assert np.all(g_smooth[:4] == 0)  # the frozen top stays frozen
    # it damps the short wavelengths and is still a descent direction
    assert _high_fraction(g_smooth, 2.0) < 0.5 * _high_fraction(g_plain, 2.0)
    assert float(np.sum(g_plain * g_smooth)) > 0
    # end to end: the misfit falls, the update carries less short-wavelength energy, the top is untouched
    plain = fwi(rec, init, plain_cfg, true=true, progress=False)
    smooth = fwi(rec, init, smooth_cfg, true=true, progress=False)
    assert smooth.history[-1]["misfit"] < 0.7 * smooth.history[0]["misfit"]
    d_plain, d_smooth = (r.model.values.astype(np.float64) - init.values for r in (plain, smooth))
    assert _high_fraction(d_smooth[4:], 2.0) < 0.7 * _high_fraction(d_plain[4:], 2.0)
    np.testing.assert_array_equal(smooth.model.values[:4], plain.model.values[:4])
    with pytest.raises(InputError, match="smooth_wavelengths"):
        FWIConfig(smooth_wavelengths=-0.1).validate()
