import json
import os

import numpy as np
import pytest
import torch

from hybridfwi.core import (Geometry, Grid, ShotRecord, Survey, VelocityModel, WaterLayer, Wavelet, as_velocity_array,
                            load_geometry, regrid, regrid_points, ricker)
from hybridfwi.errors import InputError


def test_openfwi_preset_matches_openfwi():
    geom = load_geometry("openfwi")
    assert isinstance(geom, Geometry)
    g, s = geom.grid, geom.survey
    assert g.shape == (70, 70) and g.dx == 10.0 and g.dz == 10.0
    assert s.dt == 0.001 and s.nt == 1000 and s.wavelet.peak_freq == 15.0 and not s.free_surface
    src = s.source_indices(g)
    assert src.shape == (5, 1, 2)
    np.testing.assert_array_equal(src[:, 0, 1], [0, 17, 34, 52, 69])
    np.testing.assert_array_equal(src[:, 0, 0], [1] * 5)
    rec = s.receiver_indices(g)
    assert rec.shape == (5, 70, 2)
    np.testing.assert_array_equal(rec[2, :, 1], np.arange(70))
    assert s.data_shape == (5, 1000, 70) and s.regular


def test_survey_holds_no_grid_and_indexes_any_grid(small_survey):
    """The same acquisition on two grids: the same metres, other cells."""
    coarse = Grid(nz=40, nx=60, dz=10.0, dx=10.0)
    fine = coarse.refined(2)
    shifted = Grid(nz=40, nx=70, dz=10.0, dx=10.0, x0=-100.0)
    for g in (coarse, fine, shifted):
        src = small_survey.source_indices(g)
        rec = small_survey.receiver_indices(g)
        np.testing.assert_allclose(g.x0 + src[:, 0, 1] * g.dx, small_survey.source_x)
        np.testing.assert_allclose(g.z0 + src[:, 0, 0] * g.dz, small_survey.source_z)
        np.testing.assert_allclose(g.x0 + rec[..., 1] * g.dx, small_survey.receiver_x)
        assert small_survey.snap_error(g) == 0.0
    assert not hasattr(small_survey, "grid")


def test_geometry_json_round_trip(tmp_path, small_grid, small_survey):
    moving = small_survey.replace(receiver_x=small_survey.receiver_x + np.array([[0.0], [5.0], [-5.0]]) + 5.0)
    geom = Geometry(Grid(nz=40, nx=62, dz=10.0, dx=10.0, x0=-20.0), moving)
    path = tmp_path / "g.json"
    path.write_text(geom.to_json())
    back = Geometry.from_json(path)
    assert back == geom and back.grid.x0 == -20.0
    np.testing.assert_array_equal(back.survey.receiver_x[1], moving.receiver_x[1])
    assert load_geometry(str(path)) == geom


def test_ragged_receivers_pad_with_nan(small_grid):
    """Shots with different receiver counts: NaN-padded arrays, a mask, per-shot lists in JSON."""
    s = _ragged_survey()
    assert s.receiver_x.shape == (2, 5) and s.data_shape == (2, 100, 5) and not s.regular
    np.testing.assert_array_equal(s.receiver_mask, [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert np.isnan(s.receiver_x[0, 3:]).all() and np.isnan(s.receiver_z[0, 3:]).all() and np.isnan(s.offsets[0, 3:]).all()
    assert s.extent() == (0.0, 300.0)
    idx = s.receiver_indices(small_grid)
    np.testing.assert_array_equal(idx[0, :3, 1], [0, 2, 4])
    np.testing.assert_array_equal(idx[0, 3:], 0)
    d = s.to_dict()
    assert d["receiver_x"] == [[0.0, 20.0, 40.0], [200.0, 220.0, 240.0, 260.0, 280.0]]
    assert d["receiver_z"] == [[10.0] * 3, [10.0] * 5]
    # the data of a padded receiver are zero, whatever was given
    rec = ShotRecord(np.ones(s.data_shape, np.float32), s)
    assert rec.data[0, :, 3:].max() == 0 and rec.data[0, :, :3].min() == 1
    # one shot of it is a regular survey again
    one = rec.select([0])
    assert one.survey.regular and one.data.shape == (1, 100, 3) and one.data.min() == 1
    with pytest.raises(InputError, match="shot 0 has no receivers"):
        Survey(dt=0.001, nt=10, source_x=[0.0, 1.0], source_z=0.0, receiver_x=[[np.nan], [1.0]], receiver_z=[[np.nan], [0.0]],
               wavelet=Wavelet(peak_freq=10.0))


def _ragged_survey() -> Survey:
    return Survey(dt=0.001, nt=100, source_x=[100.0, 300.0], source_z=10.0,
                  receiver_x=[[0.0, 20.0, 40.0], [200.0, 220.0, 240.0, 260.0, 280.0]], receiver_z=[10.0],
                  wavelet=Wavelet(peak_freq=15.0))


def test_ragged_geometry_json_round_trip(tmp_path, small_grid):
    s = _ragged_survey()
    path = tmp_path / "g.json"
    path.write_text(Geometry(small_grid, s).to_json())
    assert Geometry.from_json(path).survey == s


def test_replace_with_per_shot_receiver_lists(small_survey):
    rx = [np.arange(0.0, 200.0, 20.0), np.arange(200.0, 300.0, 20.0), np.arange(400.0, 580.0, 20.0)]
    s = small_survey.replace(receiver_x=rx, receiver_z=[10.0])
    assert s == Survey(dt=0.001, nt=400, source_x=small_survey.source_x, source_z=10.0, receiver_x=rx, receiver_z=[10.0],
                       wavelet=small_survey.wavelet)


def test_replace_and_select_copy(small_survey):
    other = small_survey.replace(wavelet=Wavelet(peak_freq=8.0), nt=200)
    assert other.wavelet.peak_freq == 8.0 and other.nt == 200 and small_survey.nt == 400
    other.source_x[0] = 0.0
    assert small_survey.source_x[0] == 50.0  # a copy, not a view
    sel = small_survey.select([2, 0])
    np.testing.assert_array_equal(sel.source_x, [550.0, 50.0])
    assert sel.n_receivers == 30 and sel.dt == small_survey.dt
    with pytest.raises(InputError, match="nt"):
        small_survey.replace(nt=1)


def test_geometry_missing_field_names_it(tmp_path, small_geometry):
    for field in ("nt", "grid", "receiver_x"):
        d = small_geometry.to_dict()
        del d[field]
        path = tmp_path / "g.json"
        path.write_text(json.dumps(d))
        with pytest.raises(InputError, match=f"'{field}'"):
            Geometry.from_json(path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        Geometry.from_json(tmp_path / "bad.json")
    with pytest.raises(InputError, match="does not exist"):
        load_geometry(str(tmp_path / "missing.json"))


def test_receivers_outside_model_are_refused(small_grid, small_survey):
    small_survey.receiver_x[0, -1] = 10_000.0
    with pytest.raises(InputError, match="outside the model"):
        small_survey.validate(small_grid)
    with pytest.raises(InputError, match="outside the model"):
        Geometry(small_grid, small_survey).validate()
    # the same acquisition fits a wider grid
    small_survey.validate(Grid(nz=40, nx=1001, dz=10.0, dx=10.0))


def test_two_receivers_in_one_cell_are_refused(small_survey):
    with pytest.raises(InputError, match="same grid cell"):
        small_survey.validate(Grid(nz=10, nx=20, dz=40.0, dx=40.0))


def test_off_grid_positions_snap_to_nearest_cell(small_grid, small_survey):
    small_survey.source_x[0] = 53.0
    assert small_survey.source_indices(small_grid)[0, 0, 1] == 5
    assert small_survey.snap_error(small_grid) == pytest.approx(3.0)
    assert small_survey.snap_error(small_grid.refined(2)) == pytest.approx(2.0)  # nearest cell is at 55 m


def test_bad_survey_values():
    w = Wavelet(peak_freq=10.0)
    with pytest.raises(InputError, match="dt"):
        Survey(dt=0.0, nt=10, source_x=[0.0], source_z=[0.0], receiver_x=[1.0], receiver_z=[0.0], wavelet=w)
    with pytest.raises(InputError, match=">= 0"):
        Survey(dt=0.001, nt=10, source_x=[0.0], source_z=[-1.0], receiver_x=[1.0], receiver_z=[0.0], wavelet=w)
    with pytest.raises(InputError, match="one per shot"):
        Survey(dt=0.001, nt=10, source_x=[0.0, 5.0], source_z=[0.0], receiver_x=[[1.0], [2.0], [3.0]], receiver_z=[0.0], wavelet=w)


def test_ricker_peak_and_zero_crossings():
    w = ricker(10.0, 1000, 0.0005, 0.15)
    assert np.argmax(w) == 300 and w[300] == pytest.approx(1.0)
    # (1 - 2a) = 0 at pi f (t - delay) = sqrt(1/2): the zero crossings
    t_zero = np.sqrt(0.5) / (np.pi * 10.0)
    t = np.arange(1000) * 0.0005
    exact = np.interp(0.15 + t_zero, t, w)
    assert abs(exact) < 1e-2
    assert w[300 + int(t_zero / 0.0005)] > 0 > w[300 + int(t_zero / 0.0005) + 1]


def test_bad_grid_and_wavelet_values():
    with pytest.raises(InputError):
        Grid(nz=1, nx=10, dz=1.0, dx=1.0)
    with pytest.raises(InputError):
        Grid(nz=10, nx=10, dz=0.0, dx=1.0)
    with pytest.raises(InputError):
        Wavelet(peak_freq=-5.0)
    with pytest.raises(InputError, match="unknown geometry"):
        load_geometry("nope")


def test_refined_grid_keeps_extent():
    g = Grid(nz=70, nx=50, dz=10.0, dx=5.0, x0=100.0).refined(2)
    assert g.shape == (139, 99) and g.z_max == 690.0 and g.x_max == 345.0 and g.x0 == 100.0


def test_velocity_model_and_record_check_their_shapes(small_grid, small_survey):
    with pytest.raises(InputError, match="does not match grid"):
        VelocityModel(np.full((41, 60), 2000.0), small_grid)
    with pytest.raises(InputError, match="does not match the survey"):
        ShotRecord(np.zeros((3, 400, 29), np.float32), small_survey)
    v = VelocityModel(np.full((40, 60), 2000, dtype=">i4"), small_grid)  # big-endian integers are fine
    assert v.values.dtype == np.float32 and v.values.flags.c_contiguous and v.vmin == v.vmax == 2000.0
    for bad, words in ((np.array([[True, False]]), "dtype bool"), (np.array([[1500.0, np.nan]]), "NaN"),
                       (np.array([[1500.0, 0.0]]), "<= 0"), (np.array([[1 + 1j]]), "complex")):
        with pytest.raises(InputError, match=words):
            as_velocity_array(bad)


def test_water_layer_imposes_the_water_above_the_seabed():
    z = np.arange(10) * 10.0
    v = np.full((10, 4), 3000.0, np.float32)
    out = WaterLayer(velocity=1490.0, seabed_depth=35.0).impose(v, z)
    assert np.all(out[:4] == 1490.0) and np.all(out[4:] == 3000.0)
    assert np.all(v == 3000.0)  # the input is not modified
    assert np.array_equal(WaterLayer(velocity=1490.0, seabed_depth=None).impose(v, z), v)


def test_regrid_is_exact_for_bilinear_functions_and_clamps_outside():
    src = Grid(nz=21, nx=31, dz=10.0, dx=5.0, x0=100.0)
    f = 2000.0 + 3.0 * src.z[:, None] + 0.5 * src.x[None, :]
    dst = Grid(nz=33, nx=17, dz=6.0, dx=7.5, z0=3.0, x0=110.0)
    out = regrid(f, src, dst)
    assert out.dtype == np.float32 and out.shape == dst.shape
    np.testing.assert_allclose(out, 2000.0 + 3.0 * dst.z[:, None] + 0.5 * dst.x[None, :], rtol=1e-6)
    # beyond the source grid: the edge values
    far = regrid_points(f, src, np.array([-50.0, 1000.0]), np.array([0.0, 1000.0]))
    np.testing.assert_allclose(far, [[f[0, 0], f[0, -1]], [f[-1, 0], f[-1, -1]]], rtol=1e-6)
    # equal grids: an identical copy
    same = regrid(f, src, src)
    assert np.array_equal(same, f.astype(np.float32)) and same is not f


def test_regrid_of_a_tensor_keeps_the_gradient():
    src = Grid(nz=5, nx=6, dz=10.0, dx=10.0)
    dst = Grid(nz=9, nx=4, dz=5.0, dx=13.0, x0=2.0)
    v = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.rand(9, 4, dtype=torch.float64)
    (regrid(v, src, dst) * w).sum().backward()
    # linear in v: the gradient is the transpose of the interpolation applied to w
    basis = np.eye(30).reshape(30, 5, 6)
    numeric = np.array([(regrid(b, src, dst).astype(np.float64) * w.numpy()).sum() for b in basis]).reshape(5, 6)
    np.testing.assert_allclose(v.grad.numpy(), numeric, rtol=1e-5, atol=1e-6)


def test_shipped_example_geometry_is_valid():
    geom = load_geometry(os.path.join(os.path.dirname(__file__), "..", "examples", "geometry_marine.json"))
    geom.validate()
    assert geom.survey.free_surface and geom.survey.n_shots == 8 and geom.grid.shape == (100, 200)
