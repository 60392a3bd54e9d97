import os

import numpy as np
import pytest
import segyio

from hybridfwi.core import Grid, ShotRecord, VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.io.segy import detect_endian, looks_like_model, read_model_segy, read_shots, sidecar_path, write_model_segy, write_shots
from hybridfwi.physics import forward_model
from hybridfwi.synth.families import make_model

from conftest import real_file


def test_shot_gathers_round_trip_exactly(tmp_path, small_survey):
    small_survey.receiver_x = small_survey.receiver_x + np.array([[0.0], [0.25], [-3.5]])  # per-shot spreads, cm precision
    small_survey.source_z = np.array([10.0, 12.5, 7.75])
    data = forward_model(make_model("salt", 0, 0, 40, 60), small_survey)
    path = tmp_path / "s.segy"
    write_shots(path, ShotRecord(data, small_survey), note="test")
    back = read_shots(path)
    assert back.data.tobytes() == data.tobytes()  # IEEE float32: bit for bit
    assert back.survey == small_survey
    # and without the sidecar, the geometry still comes from the headers alone
    os.remove(sidecar_path(path))
    bare = read_shots(path)
    np.testing.assert_array_equal(bare.survey.source_x, small_survey.source_x)
    np.testing.assert_array_equal(bare.survey.receiver_x, small_survey.receiver_x)
    np.testing.assert_array_equal(bare.survey.source_z, small_survey.source_z)
    assert bare.survey.dt == small_survey.dt and bare.survey.nt == small_survey.nt
    assert abs(bare.survey.wavelet.peak_freq - 15.0) < 4.0  # read off the spectrum


def test_headers_follow_the_documented_conventions(tmp_path, small_survey):
    data = np.zeros(small_survey.data_shape, np.float32)
    path = tmp_path / "s.segy"
    write_shots(path, ShotRecord(data, small_survey))
    TF = segyio.TraceField
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.tracecount == 3 * 30
        h = f.header[30 + 4]  # shot 2, receiver 5
        assert h[TF.FieldRecord] == 2 and h[TF.TraceNumber] == 5
        assert h[TF.SourceGroupScalar] == -100 and h[TF.ElevationScalar] == -100
        assert h[TF.SourceX] == 30000 and h[TF.GroupX] == 9000  # 300 m and 90 m in cm
        assert h[TF.offset] == -210
        assert h[TF.SourceDepth] == 1000 and h[TF.ReceiverGroupElevation] == -1000
        assert h[TF.TRACE_SAMPLE_INTERVAL] == 1000 and h[TF.TRACE_SAMPLE_COUNT] == 400
        assert f.bin[segyio.BinField.Interval] == 1000 and f.bin[segyio.BinField.Format] == 5
        assert segyio.tools.dt(f) == 1000.0


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
        read_shots(p)
    with pytest.raises(InputError, match="no such file"):
        read_shots(tmp_path / "missing.segy")


def test_sample_interval_limits(tmp_path, small_survey):
    small_survey.dt = 0.0000005  # 0.5 us: not storable
    with pytest.raises(InputError, match="microseconds"):
        write_shots(tmp_path / "s.segy", ShotRecord(np.zeros(small_survey.data_shape, np.float32), small_survey))
    assert not (tmp_path / "s.segy").exists()
