"""Field data into an inversion problem: the one reader, water picks, 3-D -> 2-D correction, problem building."""

import os

import numpy as np
import pytest

from conftest import real_file
from hybridfwi.core import ShotRecord
from hybridfwi.errors import InputError
from hybridfwi.inversion.marine import onset_lag, pick_water
from hybridfwi.inversion.problem import ProblemConfig, build_problem, nice_spacing, usable_band
from hybridfwi.io.reader import GeometryOverride, _project, read_survey
from hybridfwi.io.segy import write_shots
from hybridfwi.physics import forward_model
from hybridfwi.physics.filters import line_source_correction
from hybridfwi.synth.families import make_model

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "marine_small")


def test_read_viking_geometry_depths_and_repairs():
    sf = read_survey(real_file("viking_small.segy"))
    s = sf.survey
    assert sf.record.data.shape == (4, 600, 120) and s.dt == 0.004 and sf.record.t0 == 0.0 and s.regular
    assert list(sf.ffid) == [3, 4, 5, 6] and not sf.synthetic and sf.grid_hint is None
    assert np.allclose(s.source_x, [3237, 3262, 3287, 3312])
    assert np.allclose(s.receiver_x[0, :3], [0, 25, 50]) and np.allclose(s.receiver_x[:, -1], s.source_x - 262)  # a towed streamer
    assert np.allclose(s.offsets.max(), -262) and np.allclose(s.offsets.min(), -3237)
    assert sf.marine and s.free_surface and np.all(s.source_z == 6.0) and np.all(s.receiver_z == 10.0)  # negative elevations
    notes = " ".join(sf.notes)
    assert "1500 samples" in notes and "CoordinateUnits" in notes and "marine" in notes


def test_read_geometry_from_options():
    path = real_file("poland2d_example_ffid_231.sgy")
    sf = read_survey(path, GeometryOverride(receiver_spacing=25.0, source_x=[1000.0]))
    assert sf.record.data.shape == (1, 1501, 282)  # the 2 auxiliary traces dropped
    assert np.allclose(np.diff(sf.survey.receiver_x[0]), 25.0) and sf.survey.source_x[0] == 1000.0
    assert any("auxiliary" in n for n in sf.notes) and not sf.marine
    with pytest.raises(InputError, match="--source-x gives 2"):
        read_survey(path, GeometryOverride(receiver_spacing=25.0, source_x=[0.0, 1.0]))
    with pytest.raises(InputError, match="--receiver-spacing"):
        read_survey(path)


def test_shots_of_different_trace_counts_are_read_with_a_mask():
    path = real_file("shot-gather.sgy")
    sf = read_survey(path, GeometryOverride(receiver_spacing=10.0, source_x=[0.0, 100.0, 200.0, 300.0]))
    s = sf.survey
    assert sf.record.data.shape == (4, 25, 26) and not s.regular
    np.testing.assert_array_equal(s.receiver_mask.sum(axis=1), [10, 12, 13, 26])
    assert not sf.record.data[0, :, 10:].any() and np.abs(sf.record.data[0, :, :10]).max() > 0
    np.testing.assert_allclose(s.receiver_x[1, :12], np.arange(12) * 10.0)
    assert any("each shot keeps its own receivers" in n for n in sf.notes)


def test_project_onto_a_rotated_line():
    az = np.radians(30.0)
    along_s = np.array([100.0, 300.0])
    along_g = np.arange(0, 500, 50.0)
    x0, y0 = 500_000.0, 6_000_000.0

    def xy(a):
        return x0 + a * np.cos(az), y0 + a * np.sin(az)

    sx, sy = xy(along_s)
    gx, gy = xy(along_g)
    s, g, origin, off = _project(sx, sy, gx, gy)
    assert np.allclose(s, along_s, atol=1e-6) and np.allclose(g, along_g, atol=1e-6)
    assert off < 1e-6 and abs(origin[2] - 30.0) < 1e-6


def test_water_picks_on_the_synthetic_example():
    sf = read_survey(os.path.join(EXAMPLE, "survey.segy"))
    s = sf.survey
    assert sf.synthetic and sf.marine
    true = np.load(os.path.join(EXAMPLE, "survey.model.npy"))
    lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
    w = pick_water(sf.record, -lag)
    seabed = float(np.mean((true < 1540).sum(axis=0))) * sf.grid_hint.dz
    assert abs(w.velocity - true[0, 0]) < 0.03 * true[0, 0]
    assert abs(w.seabed_depth - seabed) < 0.10 * seabed


def test_water_picks_ignore_padded_receivers():
    """The example with some shots' channels missing (a ragged survey): the padded traces count for
    nothing, and the picks give the same water layer."""
    sf = read_survey(os.path.join(EXAMPLE, "survey.segy"))
    s = sf.survey
    lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
    full = pick_water(sf.record, -lag)
    rx, rz = s.receiver_x.copy(), s.receiver_z.copy()
    for shot, cut in ((0, slice(60, None)), (3, slice(0, 15)), (5, slice(70, None))):
        rx[shot, cut] = np.nan
        rz[shot, cut] = np.nan
    ragged = s.replace(receiver_x=rx, receiver_z=rz)
    assert not ragged.regular
    rec = ShotRecord(sf.record.data, ragged)
    w = pick_water(rec, -lag)
    assert w.picks < full.picks
    assert abs(w.velocity - full.velocity) < 0.01 * full.velocity
    assert abs(w.seabed_depth - full.seabed_depth) < 0.05 * full.seabed_depth


def test_water_picks_viking():
    sf = read_survey(real_file("viking_small.segy"))
    w = pick_water(sf.record, 0.0)
    assert 1450 < w.velocity < 1550 and 330 < w.seabed_depth < 400 and "hyperbolic stack" in w.method


def test_line_source_correction_turns_3d_into_2d_greens_functions():
    """Homogeneous medium: a 3-D point-source trace (delta(t - r/v) / 4 pi r, convolved with a
    wavelet) corrected to 2-D matches the 2-D line-source trace (H(t - r/v) / 2 pi sqrt(t^2 - r^2/v^2))
    in shape (correlation) and in relative amplitude across offsets, up to one constant."""
    from hybridfwi.core.wavelet import ricker

    dt, nt, v = 0.001, 2000, 2000.0
    w = ricker(10.0, nt, dt, 0.15)
    ratios = []
    for r in (400.0, 800.0, 1600.0):
        g3 = np.zeros(nt)
        k = r / v / dt
        i = int(np.floor(k))
        g3[i], g3[i + 1] = (1 - (k - i)) / (4 * np.pi * r * dt), (k - i) / (4 * np.pi * r * dt)
        # the 2-D Green's function averaged over each sample (its 1/sqrt singularity integrated exactly)
        edges = np.sqrt(np.clip((np.arange(nt + 1) - 0.5) * dt, r / v, None) ** 2 - (r / v) ** 2)
        g2 = np.diff(np.log(np.clip(np.arange(nt + 1) - 0.5, 0, None) * dt + edges + 1e-300)) / (2 * np.pi * dt)
        g2[: i] = 0.0
        d3 = np.convolve(g3, w)[:nt]
        d2 = np.convolve(g2, w)[:nt] * dt
        # time zero of the sqrt(t) gain is the wavelet's peak (as the shot time is for field data)
        c = line_source_correction(d3[:, None], dt, t_first=-0.15, axis=0)[:, 0]
        cc = np.dot(c, d2) / np.sqrt(np.dot(c, c) * np.dot(d2, d2))
        assert cc > 0.98, (r, cc)
        ratios.append(np.abs(d2).max() / np.abs(c).max())
    assert max(ratios) / min(ratios) < 1.05  # one constant for every offset


def test_usable_band_of_a_ricker():
    from hybridfwi.core.wavelet import ricker

    dt = 0.002
    d = ricker(10.0, 1000, dt, 0.3)[None, :, None]
    lo, peak, hi = usable_band(d, dt)
    assert 9.0 <= peak <= 11.0 and 2.0 <= lo < peak < hi < 30.0


def test_build_problem_viking_grid_bands_and_time_axis():
    sf = read_survey(real_file("viking_small.segy"))
    p = build_problem(sf)
    s, g = p.record.survey, p.grid
    assert p.field_data and not p.known_wavelet and p.default_misfit == "gc"
    # every source/receiver inside, lateral padding, depth half the largest offset
    assert g.x0 < 0 and g.x_max > 3312 and g.z_max >= 0.5 * 3237 - g.dz
    assert g.dx == nice_spacing(g.dx) and g.dx <= 25.0
    s.validate(g)
    lo, hi = p.low_cut, max(b for b in p.bands if b is not None)
    assert 5.0 <= lo <= 9.0 and hi > lo and 1485 / hi / g.dx >= 4.5  # cells per minimum wavelength at the top band
    assert 0.5 / s.dt >= 3 * hi  # decimated but >= 3 samples per period at the top band
    assert s.free_surface and np.all(s.source_z >= g.dz)
    assert p.record.t0 < 0 and abs(p.record.t0 + p.info["wavelet_delay_shift_s"]) < 1e-9
    assert np.all(np.isfinite(p.record.data)) and np.abs(p.record.data).max() > 0
    assert p.water is not None and 300 < p.water.seabed_depth < 420
    assert p.info["read"] == sf.notes and p.info["line_source_correction_applied"]
    with pytest.raises(InputError, match="coarser than the receiver spacing"):
        build_problem(sf, ProblemConfig(dx=30.0))
    with pytest.raises(InputError, match="Nyquist"):
        build_problem(sf, ProblemConfig(bands=[200.0]))


def test_build_problem_synthetic_keeps_its_own_grid_unless_asked(tmp_path, small_grid, small_survey):
    data = forward_model(make_model("flatfault-a", 0, 2, 40, 60), small_grid, small_survey)
    write_shots(tmp_path / "s.segy", ShotRecord(data, small_survey), grid=small_grid)
    sf = read_survey(tmp_path / "s.segy")
    p = build_problem(sf)
    assert p.grid == small_grid and p.known_wavelet and not p.field_data and p.water is None and p.low_cut is None
    # the data are used as they are: same samples, same time axis, the known wavelet
    assert p.record.survey.dt == small_survey.dt and p.record.t0 == 0.0
    assert np.array_equal(p.record.data, data) and p.record.survey.wavelet == small_survey.wavelet
    assert not p.info["line_source_correction_applied"]
    # asking for a spacing builds a grid from the data instead
    q = build_problem(sf, ProblemConfig(dx=5.0, bands=[10.0, None]))
    assert q.grid.dx == 5.0 and q.grid != small_grid and q.bands == [10.0, None]
    q.record.survey.validate(q.grid)
    with pytest.raises(InputError, match="--dx must be a positive"):
        build_problem(sf, ProblemConfig(dx=-1.0))


def test_nice_spacing():
    assert nice_spacing(23.0) == 20.0 and nice_spacing(12.5) == 12.5 and nice_spacing(1000.0) == 100.0
    with pytest.raises(InputError, match="below 1 m"):
        nice_spacing(0.5)


def test_build_problem_land_data_with_geometry_from_options():
    sf = read_survey(real_file("poland2d_example_ffid_231.sgy"), GeometryOverride(receiver_spacing=25.0, source_x=[3500.0]))
    p = build_problem(sf)
    s, g = p.record.survey, p.grid
    assert p.water is None and not s.free_surface and p.field_data and p.info["line_source_correction_applied"]
    assert g.dx == nice_spacing(g.dx) and g.dx <= 25.0 and g.x0 < 0.0 and g.x_max > s.receiver_x.max()
    s.validate(g)
    lo, hi = p.low_cut, max(b for b in p.bands if b is not None)
    assert 0 < lo < hi < 0.5 / s.dt / 3 and s.dt > sf.survey.dt  # decimated, >= 3 samples per period at the top band
    assert 1500.0 / hi / g.dx >= 4.5
    with pytest.raises(InputError, match="low cut .* is not below the highest band"):
        build_problem(sf, ProblemConfig(bands=[0.5 * lo]))
    q = build_problem(sf, ProblemConfig(bands=[0.5 * lo], low_cut=0.0, tmax=1.0, depth=800.0, dx=20.0))
    assert q.low_cut is None and q.grid.dx == 20.0 and q.grid.z_max >= 800.0 and q.info["tmax_s"] <= 1.0 + 1e-9


def test_water_picks_a_shallow_soft_seabed_under_a_streamer():
    """The failure the 1.5-period gap had, on a validation-seed basin-marine model (seabed at 225 m
    over 1,680 m/s sediments) under the dev suite's 6 Hz towed streamer (near offset 100 m): the seabed
    reflection trails the direct wave by little more than a period at the near offsets, so the old gap
    skipped it and took a deeper reflector near 600 m. Now the seabed is found, and what FWI freezes
    (the pick less a quarter wavelength) is water only; a seabed the user gives is frozen as given."""
    from hybridfwi.bench.suites import _geometry
    from hybridfwi.core.model import WaterLayer
    from hybridfwi.hybrid.start import seabed_from_model
    from hybridfwi.inversion.problem import Problem
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.single import add_noise

    geom = _geometry({"geometry": "streamer-4km"})
    g, s = geom.grid, geom.survey
    v = make_model("basin-marine", 10_700, 2, g.nz, g.nx)
    true = seabed_from_model(v, g.z, float(np.median(v[0])))
    assert true == 225.0 and 1650.0 < float(np.median(v[10])) < 1750.0  # a soft seabed
    d = add_noise(forward_model(v, g, s, ForwardConfig(accuracy=8, max_vel=float(np.ceil(v.max())))), 30.0, seed=2) * s.receiver_mask[:, None, :]
    rec = ShotRecord(d.astype(np.float32), s)
    lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
    w = pick_water(rec, -lag)
    old = pick_water(rec, -lag, gap_periods=1.5)
    assert old.seabed_depth > true + 300.0, old
    assert abs(w.seabed_depth - true) < 100.0, w
    p = Problem(record=rec, grid=g, bands=[4.0], low_cut=None, water=w, known_wavelet=True, field_data=False)
    assert p.frozen_above_m == pytest.approx(w.seabed_depth - 0.25 * w.velocity / 6.0) and p.frozen_above_m <= true
    given = WaterLayer(velocity=1500.0, seabed_depth=210.0, method="given")
    assert Problem(record=rec, grid=g, bands=[4.0], low_cut=None, water=given, known_wavelet=True, field_data=False).frozen_above_m == 210.0


def test_water_picks_reject_a_reflector_under_a_seabed_too_soft_to_reflect():
    """Mud under the water (water + 30 m/s at the seabed, rising 1 m/s per m; a validation-seed basin
    below it) gives no seabed reflection: the first strong event is a reflector about a kilometre
    deeper, under sediments. Its moveout is faster than water's, so the picker returns None instead of
    a water layer a kilometre too deep; without the check that deep reflector is taken as the seabed."""
    from hybridfwi.bench.suites import _geometry
    from hybridfwi.inversion.marine import WATER_RANGE, _moveout_velocity, onsets
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.single import add_noise

    geom = _geometry({"geometry": "streamer-4km"})
    g, s = geom.grid, geom.survey
    v = make_model("basin-marine", 10_710, 2, g.nz, g.nx)
    vw = float(np.median(v[0]))
    water = np.abs(v - vw) < 1e-3
    true = float(np.median(g.z[water.argmin(axis=0)]))
    mud = vw + 30.0 + 1.0 * np.clip(g.z[:, None] - g.z[water.argmin(axis=0)][None, :], 0.0, None)
    v = np.where(water, v, np.minimum(v, mud)).astype(np.float32)
    d = add_noise(forward_model(v, g, s, ForwardConfig(accuracy=8, max_vel=float(np.ceil(v.max())))), 30.0, seed=2) * s.receiver_mask[:, None, :]
    rec = ShotRecord(d.astype(np.float32), s)
    lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
    deep = pick_water(rec, -lag, check_moveout=False)
    assert deep is not None and deep.seabed_depth > true + 500.0, (true, deep)
    # the deep event stacks best well above water velocity, and clearly better there
    m = s.receiver_mask
    xo, zs, zr = np.abs(s.offsets)[m], (s.source_z[:, None] * np.ones(m.shape))[m], s.receiver_z[m]
    vel, ratio = _moveout_velocity(onsets(d, axis=1)[m], xo, (zs - zr, zs + zr), -lag, s.dt, -lag + s.dt * (s.nt - 1),
                                   deep.t0, deep.seabed_depth, 6.0, 1.0 / 6.0, deep.velocity)
    assert vel > WATER_RANGE[1] + 50.0 and ratio >= 1.1, (vel, ratio)
    assert pick_water(rec, -lag) is None


def test_water_picks_a_shallow_seabed_under_a_large_near_offset():
    """The dev suite's sparse-shot streamer (near offset 262 m, 10 Hz) over a 135 m seabed (validation
    seed): the seabed reflection runs within a period of the direct wave at every offset, so only its
    multiples pass the picker's usual rules, and the first, near twice the depth, was taken. Depths no
    trace passes for are stacked with half the gap and offsets up to three depths: the seabed is found."""
    from hybridfwi.bench.suites import _geometry
    from hybridfwi.hybrid.start import seabed_from_model
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.single import add_noise

    geom = _geometry({"geometry": "streamer-sparse-3.7km"})
    g, s = geom.grid, geom.survey
    v = make_model("basin-marine", 10_700, 7, g.nz, g.nx)
    true = seabed_from_model(v, g.z, float(np.median(v[0])))
    assert 100.0 <= true <= 150.0 and float(np.abs(s.offsets)[s.receiver_mask].min()) > 250.0
    d = forward_model(v, g, s, ForwardConfig(accuracy=8, max_vel=max(4500.0, float(np.ceil(v.max())))))
    d = add_noise(d, 30.0, seed=7) * s.receiver_mask[:, None, :]
    rec = ShotRecord(d.astype(np.float32), s)
    lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
    old = pick_water(rec, -lag, reach_shallow=False)
    assert old is not None and old.seabed_depth > 1.8 * true, (true, old)
    w = pick_water(rec, -lag)
    assert w is not None and abs(w.seabed_depth - true) < 0.5 * true, (true, w)


def test_water_picks_no_water_on_rock_under_a_free_surface():
    """A land model (validation seed; 2129 m/s at the top, no water) under the streamer's free surface reads
    as marine. Its first reflector stacks like a seabed, and without the test of the first arrivals a
    1500 m/s water layer is returned over rock; the direct wave there travels faster than water, so the
    picker returns None."""
    from hybridfwi.bench.suites import _geometry
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.single import add_noise

    geom = _geometry({"geometry": "streamer-4km"})
    g, s = geom.grid, geom.survey
    v = make_model("basin-land", 10_730, 4, g.nz, g.nx)
    assert float(np.median(v[0])) > 2000.0 and s.free_surface
    d = forward_model(v, g, s, ForwardConfig(accuracy=8, max_vel=max(4500.0, float(np.ceil(v.max())))))
    d = add_noise(d, 30.0, seed=4) * s.receiver_mask[:, None, :]
    rec = ShotRecord(d.astype(np.float32), s)
    lag = onset_lag(s.wavelet.array(s.nt, s.dt), s.dt)
    assert pick_water(rec, -lag, check_top=False) is not None
    assert pick_water(rec, -lag) is None


def test_broadband_data_get_a_stage_at_their_spectral_peak(tmp_path):
    """OpenFWI's geometry (15 Hz Ricker): the low ladder (1.5x and 2.5x the 2 Hz usable edge) stops at
    5 Hz, a third of the data's peak, so a stage at the peak is added, then one at 2x the peak; the
    shipped example (8 Hz, ladder to 6.2 Hz against a 9 Hz peak) keeps its two stages."""
    from hybridfwi.core.survey import load_geometry

    geo = load_geometry("openfwi")
    g, s = geo.grid, geo.survey
    data = forward_model(make_model("flatvel-a", 0, 0, g.nz, g.nx), g, s)
    write_shots(tmp_path / "o.segy", ShotRecord(data, s), grid=g)
    sf = read_survey(tmp_path / "o.segy")
    p = build_problem(sf)
    peak = p.info["spectrum_hz"]["peak"]
    assert 11.0 <= peak <= 16.0
    top = p.info["spectrum_hz"]["usable_high"]
    assert p.bands[:2] == [3.0, 5.0] and p.bands[2] == pytest.approx(peak, abs=0.1) and len(p.bands) == 4
    # ... and one above it, at 2x the peak (within the usable band)
    assert p.bands[3] == pytest.approx(min(2.0 * peak, 0.9 * top), abs=0.1) and peak < p.bands[3] < top
    assert "peak_stage" in p.info and "top_stage" in p.info
    assert build_problem(sf, ProblemConfig(top_stage=None)).bands == p.bands[:3]
    assert build_problem(sf, ProblemConfig(top_stage=1.3)).bands[3] == pytest.approx(1.3 * peak, abs=0.1)
    # it never makes the grid finer: where the grid chosen for the other stages (here for a 500 m/s
    # medium) does not resolve 1.2x the last stage, there is none
    slow = build_problem(sf, ProblemConfig(vmin_guess=500.0, padding=100.0))
    assert slow.grid == build_problem(sf, ProblemConfig(vmin_guess=500.0, padding=100.0, top_stage=None)).grid
    assert slow.grid.dx < 10.0 and len(slow.bands) == 3 and "top_stage" not in slow.info
    assert build_problem(sf, ProblemConfig(peak_stage=None)).bands == [3.0, 5.0]  # the top stage follows the peak stage only
    ex = build_problem(read_survey(os.path.join(EXAMPLE, "survey.segy")))
    assert len(ex.bands) == 2 and ex.bands[-1] < 7.0 and "peak_stage" not in ex.info and "top_stage" not in ex.info
    with pytest.raises(InputError, match="peak_stage"):
        ProblemConfig(peak_stage=0.5).validate()
    for bad in (1.0, 0.5, float("nan"), True):
        with pytest.raises(InputError, match="top_stage"):
            ProblemConfig(top_stage=bad).validate()
