import os

import numpy as np
import pytest
import segyio

from hybridfwi.core import Grid, ShotRecord, Survey, VelocityModel, Wavelet
from hybridfwi.errors import InputError
from hybridfwi.io.reader import GeometryOverride, read_survey, sidecar_path
from hybridfwi.io.segy import detect_endian, looks_like_model, read_model_segy, write_model_segy, write_shots
from hybridfwi.physics import forward_model
from hybridfwi.synth.families import make_model

from conftest import real_file


def _spread_survey(small_survey):
    """Per-shot spreads at centimetre precision, shot depths differing."""
    return small_survey.replace(receiver_x=small_survey.receiver_x + np.array([[0.0], [0.25], [3.5]]),
                                source_z=np.array([10.0, 12.5, 7.75]))


def test_shot_gathers_round_trip_exactly(tmp_path, small_grid, small_survey):
    s = _spread_survey(small_survey)
    data = forward_model(make_model("salt", 0, 0, 40, 60), small_grid, s)
    path = tmp_path / "s.segy"
    write_shots(path, ShotRecord(data, s), grid=small_grid, note="test")
    sf = read_survey(path)
    assert sf.record.data.tobytes() == data.tobytes()  # IEEE float32: bit for bit
    assert sf.synthetic and sf.grid_hint == small_grid and sf.record.t0 == 0.0
    assert sf.survey == s and sf.survey.wavelet == s.wavelet and not sf.marine
    np.testing.assert_array_equal(sf.ffid, [1, 2, 3])
    # and without the sidecar, the geometry still comes from the headers alone
    os.remove(sidecar_path(path))
    bare = read_survey(path)
    assert not bare.synthetic and bare.grid_hint is None
    assert bare.record.data.tobytes() == data.tobytes()
    np.testing.assert_array_equal(bare.survey.source_x, s.source_x)
    np.testing.assert_array_equal(bare.survey.receiver_x, s.receiver_x)
    np.testing.assert_array_equal(bare.survey.source_z, s.source_z)
    assert bare.survey.dt == s.dt and bare.survey.nt == s.nt
    assert abs(bare.survey.wavelet.peak_freq - 15.0) < 4.0  # read off the spectrum


def test_ragged_shots_round_trip(tmp_path, small_grid):
    """Shots with different receiver counts: only each shot's own traces are written, and read back padded."""
    s = Survey(dt=0.002, nt=50, source_x=[0.0, 200.0, 400.0], source_z=10.0,
               receiver_x=[[20.0, 40.0], [220.0, 240.0, 260.0, 280.0], [300.0, 320.0, 340.0]], receiver_z=[10.0],
               wavelet=Wavelet(peak_freq=10.0))
    data = np.random.default_rng(1).standard_normal(s.data_shape).astype(np.float32)
    rec = ShotRecord(data, s)
    write_shots(tmp_path / "r.segy", rec, grid=small_grid)
    with segyio.open(tmp_path / "r.segy", ignore_geometry=True) as f:
        assert f.tracecount == 9
    sf = read_survey(tmp_path / "r.segy")
    assert sf.survey == s and np.array_equal(sf.record.data, rec.data)  # padded entries are zeros (of either sign)
    live = np.broadcast_to(s.receiver_mask[:, None, :], s.data_shape)
    assert sf.record.data[live].tobytes() == data[live].tobytes()  # the recorded traces bit for bit
    np.testing.assert_array_equal(sf.survey.receiver_mask, s.receiver_mask)
    assert any("each shot keeps its own receivers" in n for n in sf.notes)


def test_synthetic_survey_positions_stay_on_their_grid(tmp_path, small_survey):
    """A synthetic survey whose leftmost position is not x = 0 (here a grid starting at 1000 m): read back,
    every source and receiver must fall in the same cell of the sidecar's grid as when it was modelled."""
    grid = Grid(nz=40, nx=60, dz=10.0, dx=10.0, x0=1000.0)
    s = small_survey.replace(source_x=small_survey.source_x + 1010.0, receiver_x=small_survey.receiver_x + 1010.0)
    write_shots(tmp_path / "s.segy", ShotRecord(np.ones(s.data_shape, np.float32), s), grid=grid)
    sf = read_survey(tmp_path / "s.segy")
    np.testing.assert_array_equal(sf.survey.source_indices(sf.grid_hint), s.source_indices(grid))
    np.testing.assert_array_equal(sf.survey.receiver_indices(sf.grid_hint), s.receiver_indices(grid))


def test_header_only_geometry_is_measured_from_the_leftmost_position(tmp_path, small_survey):
    s = small_survey.replace(source_x=small_survey.source_x + 1010.0, receiver_x=small_survey.receiver_x + 1010.0)
    write_shots(tmp_path / "s.segy", ShotRecord(np.ones(s.data_shape, np.float32), s))
    os.remove(sidecar_path(tmp_path / "s.segy"))
    sf = read_survey(tmp_path / "s.segy")
    assert sf.origin[0] == pytest.approx(1010.0)
    np.testing.assert_allclose(sf.survey.source_x + sf.origin[0], s.source_x)
    np.testing.assert_allclose(sf.survey.receiver_x + sf.origin[0], s.receiver_x)
    assert any("x measured from X=1010" in n for n in sf.notes)


def test_headers_follow_the_documented_conventions(tmp_path, small_survey):
    data = np.zeros(small_survey.data_shape, np.float32)
    path = tmp_path / "s.segy"
    write_shots(path, ShotRecord(data + 1.0, small_survey, t0=0.004))
    TF = segyio.TraceField
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.tracecount == 3 * 30
        h = f.header[30 + 4]  # shot 2, receiver 5
        assert h[TF.FieldRecord] == 2 and h[TF.TraceNumber] == 5
        assert h[TF.SourceGroupScalar] == -100 and h[TF.ElevationScalar] == -100
        assert h[TF.SourceX] == 30000 and h[TF.GroupX] == 8000  # 300 m and 80 m in cm
        assert h[TF.offset] == -220
        assert h[TF.SourceDepth] == 1000 and h[TF.ReceiverGroupElevation] == -1000
        assert h[TF.TRACE_SAMPLE_INTERVAL] == 1000 and h[TF.TRACE_SAMPLE_COUNT] == 400
        assert h[TF.DelayRecordingTime] == 4
        assert f.bin[segyio.BinField.Interval] == 1000 and f.bin[segyio.BinField.Format] == 5
        assert segyio.tools.dt(f) == 1000.0
    assert read_survey(path).record.t0 == pytest.approx(0.004)


def test_model_segy_round_trip_and_depth_step_field(tmp_path):
    g = Grid(nz=35, nx=50, dz=10.0, dx=12.5, x0=100.0)
    v = VelocityModel(make_model("marine", 0, 1, 35, 50), g)
    path = tmp_path / "m.segy"
    write_model_segy(path, v)
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.bin[segyio.BinField.Interval] == 10000  # 10 m -> 10000
        assert f.tracecount == 50 and len(f.samples) == 35
        np.testing.assert_array_equal(f.trace[3], v.values[:, 3])
        assert f.header[3][segyio.TraceField.CDP_X] == int((100.0 + 3 * 12.5) * 100)
    back = read_model_segy(path)
    assert back.grid == g and back.values.tobytes() == v.values.tobytes()
    assert looks_like_model(path)


def test_endianness_is_detected_on_real_files():
    assert detect_endian(real_file("small.sgy")) == "big"
    assert detect_endian(real_file("small-lsb.sgy")) == "little"


def test_not_a_segy_file(tmp_path):
    p = tmp_path / "x.segy"
    p.write_bytes(b"hello")
    with pytest.raises(InputError, match="too short"):
        read_survey(p)
    with pytest.raises(InputError, match="no such file"):
        read_survey(tmp_path / "missing.segy")
    with pytest.raises(InputError, match="is a folder"):
        read_survey(tmp_path)


def test_geometry_override_is_checked(tmp_path, small_survey):
    write_shots(tmp_path / "s.segy", ShotRecord(np.ones(small_survey.data_shape, np.float32), small_survey))
    with pytest.raises(InputError, match="together"):
        read_survey(tmp_path / "s.segy", GeometryOverride(receiver_spacing=10.0))
    with pytest.raises(InputError, match="--receiver-spacing must be a positive"):
        read_survey(tmp_path / "s.segy", GeometryOverride(receiver_spacing=-1.0, source_x=[0.0, 1.0, 2.0]))
    # given positions replace the headers'
    sf = read_survey(tmp_path / "s.segy", GeometryOverride(receiver_spacing=5.0, source_x=[0.0, 100.0, 200.0]))
    np.testing.assert_allclose(sf.survey.receiver_x[1], np.arange(30) * 5.0)
    np.testing.assert_allclose(sf.survey.source_x, [0.0, 100.0, 200.0])


def test_damaged_sidecar_is_named(tmp_path, small_survey):
    write_shots(tmp_path / "s.segy", ShotRecord(np.ones(small_survey.data_shape, np.float32), small_survey))
    with open(sidecar_path(tmp_path / "s.segy"), "w") as fh:
        fh.write("{broken")
    with pytest.raises(InputError, match="s.json: unreadable geometry sidecar"):
        read_survey(tmp_path / "s.segy")


def test_sample_interval_limits(tmp_path, small_survey):
    s = small_survey.replace(dt=0.0000005)  # 0.5 us: not storable
    with pytest.raises(InputError, match="microseconds"):
        write_shots(tmp_path / "s.segy", ShotRecord(np.zeros(s.data_shape, np.float32), s))
    assert not (tmp_path / "s.segy").exists()
    s = small_survey.replace(dt=0.0010005)  # not a whole number of microseconds
    with pytest.raises(InputError, match="whole number of microseconds"):
        write_shots(tmp_path / "s.segy", ShotRecord(np.zeros(s.data_shape, np.float32), s))
    assert not (tmp_path / "s.segy").exists()


def test_model_files_of_any_numeric_layout_and_refusals(tmp_path, small_grid):
    from hybridfwi.io.arrays import load_model_file, load_npy

    v = make_model("curvevel-a", 0, 0, 40, 60)
    np.save(tmp_path / "f.npy", np.asfortranarray(v.astype(">f8")))  # Fortran order, big-endian doubles
    np.save(tmp_path / "i.npy", np.rint(v).astype(np.int16)[None])  # integers with a leading axis
    got = load_model_file(str(tmp_path / "f.npy"), small_grid)
    assert got.dtype == np.float32 and got.flags.c_contiguous and np.array_equal(got, v)
    assert np.array_equal(load_model_file(str(tmp_path / "i.npy"), small_grid), np.rint(v))
    write_model_segy(tmp_path / "m.segy", VelocityModel(v, small_grid))
    assert np.array_equal(load_model_file(str(tmp_path / "m.segy"), small_grid), v)
    with pytest.raises(InputError, match=r"has shape \(40, 60\), but the grid is \(20, 60\)"):
        load_model_file(str(tmp_path / "f.npy"), Grid(nz=20, nx=60, dz=10.0, dx=10.0))
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "t.npy").write_text("1500 1600\n")
    (tmp_path / "cut.npy").write_bytes((tmp_path / "f.npy").read_bytes()[:500])
    for name, words in (("o.npy", "Python objects"), ("t.npy", "not a NumPy array file"), ("cut.npy", "damaged or truncated"),
                        ("missing.npy", "does not exist")):
        with pytest.raises(InputError, match=words):
            load_npy(str(tmp_path / name), "model")
    with pytest.raises(InputError, match=".npy or a depth-sampled"):
        load_model_file(str(tmp_path / "m.txt"))
    np.save(tmp_path / "neg.npy", -v)
    with pytest.raises(InputError, match="<= 0 m/s"):
        load_model_file(str(tmp_path / "neg.npy"))
