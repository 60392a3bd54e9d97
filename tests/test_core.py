import json

import numpy as np
import pytest

from hybridfwi.core import Grid, Survey, Wavelet, load_geometry, ricker
from hybridfwi.errors import InputError


def test_openfwi_preset_matches_openfwi():
    s = load_geometry("openfwi")
    assert s.grid.shape == (70, 70) and s.grid.dx == 10.0 and s.grid.dz == 10.0
    assert s.dt == 0.001 and s.nt == 1000 and s.wavelet.peak_freq == 15.0
    src = s.source_indices()
    assert src.shape == (5, 1, 2)
    np.testing.assert_array_equal(src[:, 0, 1], [0, 17, 34, 52, 69])
    np.testing.assert_array_equal(src[:, 0, 0], [1] * 5)
    rec = s.receiver_indices()
    assert rec.shape == (5, 70, 2)
    np.testing.assert_array_equal(rec[2, :, 1], np.arange(70))
    assert s.data_shape == (5, 1000, 70)


def test_survey_json_round_trip(tmp_path, small_survey):
    small_survey.receiver_x = small_survey.receiver_x + np.array([[0.0], [5.0], [-5.0]])  # moving spread
    path = tmp_path / "g.json"
    small_survey.to_json(path)
    back = Survey.from_json(path)
    assert back == small_survey
    np.testing.assert_array_equal(back.receiver_x[1], small_survey.receiver_x[1])


def test_geometry_missing_field_names_it(tmp_path, small_survey):
    d = small_survey.to_dict()
    del d["nt"]
    path = tmp_path / "g.json"
    path.write_text(json.dumps(d))
    with pytest.raises(InputError, match="'nt'"):
        Survey.from_json(path)


def test_receivers_outside_model_are_refused(small_survey):
    small_survey.receiver_x[0, -1] = 10_000.0
    with pytest.raises(InputError, match="outside the model"):
        small_survey.validate()


def test_off_grid_positions_snap_to_nearest_cell(small_survey):
    small_survey.source_x[0] = 53.0
    assert small_survey.source_indices()[0, 0, 1] == 5
    assert small_survey.snap_error() == pytest.approx(3.0)


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
    g = Grid(nz=70, nx=50, dz=10.0, dx=5.0).refined(2)
    assert g.shape == (139, 99) and g.z_max == 690.0 and g.x_max == 245.0


def test_shipped_example_geometry_is_valid():
    import os

    s = load_geometry(os.path.join(os.path.dirname(__file__), "..", "examples", "geometry_marine.json"))
    s.validate()
    assert s.free_surface and s.n_shots == 8 and s.grid.shape == (100, 200)
