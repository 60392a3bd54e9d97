"""Every real file in ../shared/data/real reads correctly or stops with a one-line message (exit 2)."""

import numpy as np
import pytest
from click.testing import CliRunner

from hybridfwi.cli.main import cli
from hybridfwi.core import ShotRecord
from hybridfwi.errors import InputError
from hybridfwi.io.scan import scan
from hybridfwi.io.segy import write_shots

from conftest import one_line_error, real_file


def test_viking_graben_marine_shots():
    s = scan(real_file("viking_small.segy"))
    assert s.layout == "shot gathers" and s.kind == "segy" and s.endian == "big" and s.sample_format == "IBM float"
    assert s.shots == {3: 120, 4: 120, 5: 120, 6: 120}
    assert s.ns == 600 and s.dt == pytest.approx(0.004) and s.t0 == 0.0
    assert s.source_x == (3237.0, 3312.0) and s.group_x == (0.0, 3050.0)
    assert s.offset == (-3237.0, -262.0) and s.spread == "end-on (trailing)"
    assert any("1500 samples" in r and "used 600" in r for r in s.repairs)
    assert any("CoordinateUnits" in r for r in s.repairs)
    assert not s.problems


def test_land_vibroseis_without_geometry():
    s = scan(real_file("poland2d_example_ffid_231.sgy"))
    assert s.shots == {231: 282} and s.dropped == {"auxiliary (non-seismic)": 2}
    assert s.ns == 1501 and s.dt == pytest.approx(0.002)
    assert not s.has_geometry
    assert any("--receiver-spacing" in p for p in s.problems)


def test_cdp_gather_is_named_as_such():
    s = scan(real_file("cdp700.su"))
    assert s.kind == "su" and s.layout == "CDP gather" and s.n_traces == 24 and s.ns == 1100 and s.dt == pytest.approx(0.002)
    assert s.source_x[0] == pytest.approx(371548.0)
    assert any("CDP-sorted" in p for p in s.problems)


def test_shot_gather_with_unequal_trace_counts():
    s = scan(real_file("shot-gather.sgy"))
    assert s.layout == "shot gathers" and len(s.shots) == 4 and len(set(s.shots.values())) > 1
    assert sum(s.shots.values()) == 61


@pytest.mark.parametrize("big, little", [("small.sgy", "small-lsb.sgy"), ("f3.sgy", "f3-lsb.sgy"), ("small.su", "small-lsb.su")])
def test_byte_order_is_detected_and_both_read_the_same(big, little):
    a, b = scan(real_file(big)), scan(real_file(little))
    assert a.endian == "big" and b.endian == "little"
    assert (a.n_traces, a.ns, a.dt, a.t0, a.shots, a.layout) == (b.n_traces, b.ns, b.dt, b.t0, b.shots, b.layout)


def test_post_stack_volume_is_refused_for_inversion():
    s = scan(real_file("f3.sgy"))
    assert s.layout == "post-stack volume" and s.sample_format == "int16" and s.t0 == pytest.approx(0.004)
    assert s.n_traces == 414 and s.ns == 75
    assert any("post-stack" in p for p in s.problems)


def test_delay_with_time_scalar():
    s = scan(real_file("delay-scalar.sgy"))
    assert s.t0 == pytest.approx(1.0) and s.dt == pytest.approx(0.004) and s.ns == 251


def test_nan_samples_and_negative_start_time_are_reported():
    s = scan(real_file("malformed_nan_f11.segy"))
    assert s.t0 == pytest.approx(-0.183)
    assert s.dropped == {"NaN/infinite": 41} and s.layout == "no usable traces"
    assert len(s.bad_traces) == 1 and "trace 1 (FieldRecord 0, TraceNumber 1" in s.bad_traces[0]
    assert any("negative start time" in p for p in s.problems)
    assert any("NaN" in p for p in s.problems)


def test_truncated_file_gives_one_line_and_exit_2():
    path = real_file("truncated_File010690.sgy")
    with pytest.raises(InputError, match="truncated"):
        scan(path)
    r = CliRunner().invoke(cli, ["info", path])
    assert r.exit_code == 2 and "truncated_File010690.sgy" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_info_on_our_own_survey(tmp_path, small_survey):
    data = np.random.default_rng(0).standard_normal(small_survey.data_shape).astype(np.float32)
    write_shots(tmp_path / "s.segy", ShotRecord(data, small_survey))
    s = scan(str(tmp_path / "s.segy"))
    assert s.layout == "shot gathers" and s.shots == {1: 30, 2: 30, 3: 30} and s.spread == "split"
    assert s.source_x == (50.0, 550.0) and s.group_x == (0.0, 580.0) and s.sample_format == "IEEE float"
    assert not s.repairs and not s.problems and not s.bad_traces and not s.varying_dt
    r = CliRunner().invoke(cli, ["info", str(tmp_path / "s.segy")])
    assert r.exit_code == 0 and "shots: 3" in r.output


def test_info_on_a_missing_file_or_a_folder(tmp_path):
    one_line_error(CliRunner().invoke(cli, ["info", "/nonexistent/x.segy"]), "no such file")
    one_line_error(CliRunner().invoke(cli, ["info", str(tmp_path)]), "is a folder")


def test_varying_sample_interval_is_a_problem_and_refused_on_read(tmp_path, small_survey):
    import segyio

    from hybridfwi.io.reader import read_survey

    data = np.random.default_rng(0).standard_normal(small_survey.data_shape).astype(np.float32)
    path = tmp_path / "s.segy"
    write_shots(path, ShotRecord(data, small_survey))
    with segyio.open(path, "r+", ignore_geometry=True) as f:
        f.header[40] = {segyio.TraceField.TRACE_SAMPLE_INTERVAL: 2000}
    s = scan(str(path))
    assert s.varying_dt == "1, 2 ms" and any("varies" in p for p in s.problems)
    with pytest.raises(InputError, match="sample interval changes between traces"):
        read_survey(path)


def test_nan_traces_are_refused_on_read_naming_the_first(tmp_path, small_survey):
    from hybridfwi.io.reader import read_survey

    with pytest.raises(InputError, match="negative start time"):
        read_survey(real_file("malformed_nan_f11.segy"))
    data = np.random.default_rng(0).standard_normal(small_survey.data_shape).astype(np.float32)
    data[1, 100:103, 6] = np.nan
    write_shots(tmp_path / "s.segy", ShotRecord(data, small_survey))
    s = scan(str(tmp_path / "s.segy"))
    assert s.dropped == {"NaN/infinite": 1} and s.layout == "shot gathers"
    with pytest.raises(InputError, match=r"trace 37 \(FieldRecord 2, TraceNumber 7: 3 such sample"):
        read_survey(tmp_path / "s.segy")
