"""Field data into an inversion problem: reader, water picks, 3-D -> 2-D correction, problem building."""

import os

import numpy as np
import pytest

from conftest import real_file
from hybridfwi.errors import InputError
from hybridfwi.inversion.marine import first_breaks, pick_water
from hybridfwi.inversion.problem import ProblemConfig, build_problem, nice_spacing
from hybridfwi.io.field import read_field
from hybridfwi.io.segy import read_shots
from hybridfwi.physics.filters import line_source_correction

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "marine_small")


def test_read_field_viking_geometry_depths_and_repairs():
    f = read_field(real_file("viking_small.segy"))
    assert f.data.shape == (4, 600, 120) and f.dt == 0.004 and f.t0 == 0.0
    assert list(f.ffid) == [3, 4, 5, 6]
    assert np.allclose(f.source_x, [3237, 3262, 3287, 3312])
    assert np.allclose(f.receiver_x[0, :3], [0, 25, 50]) and np.allclose(f.receiver_x[:, -1], f.source_x - 262)  # a towed streamer
    assert np.allclose(f.offsets.max(), -262) and np.allclose(f.offsets.min(), -3237)
    assert f.marine and np.all(f.source_z == 6.0) and np.all(f.receiver_z == 10.0)  # negative elevations
    notes = " ".join(f.notes)
    assert "1500 samples" in notes and "CoordinateUnits" in notes


def test_read_field_geometry_from_options_and_projection(tmp_path):
    f = read_field(real_file("poland2d_example_ffid_231.sgy"), receiver_spacing=25.0, source_x=[1000.0])
    assert f.data.shape == (1, 1501, 282)  # the 2 auxiliary traces dropped
    assert np.allclose(np.diff(f.receiver_x[0]), 25.0) and f.source_x[0] == 1000.0
    assert any("auxiliary" in n for n in f.notes)
    with pytest.raises(InputError, match="--source-x gives 2"):
        read_field(real_file("poland2d_example_ffid_231.sgy"), receiver_spacing=25.0, source_x=[0.0, 1.0])


def test_project_onto_a_rotated_line():
    from hybridfwi.io.field import _project

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
    r = read_shots(os.path.join(EXAMPLE, "survey.segy"))
    s = r.survey
    true = np.load(os.path.join(EXAMPLE, "survey.model.npy"))
    lag = float(first_breaks(s.wavelet.array(s.nt, s.dt)[None, :, None], s.dt)[0, 0])
    w = pick_water(r.data, s.dt, -lag, s.offsets, s.source_z, s.receiver_z)
    seabed = float(np.mean((true < 1540).sum(axis=0))) * s.grid.dz
    assert abs(w.velocity - true[0, 0]) < 0.03 * true[0, 0]
    assert abs(w.seabed_depth - seabed) < 0.15 * seabed


def test_water_picks_viking():
    f = read_field(real_file("viking_small.segy"))
    w = pick_water(f.data, f.dt, 0.0, f.offsets, f.source_z, f.receiver_z)
    assert 1450 < w.velocity < 1550 and 300 < w.seabed_depth < 420 and w.method.startswith("seabed-reflection")


def test_line_source_correction_turns_3d_into_2d_greens_functions():
    """Homogeneous medium: a 3-D point-source trace (delta(t - r/v) / 4 pi r, convolved with a
    wavelet) corrected to 2-D matches the 2-D line-source trace (H(t - r/v) / 2 pi sqrt(t^2 - r^2/v^2))
    in shape (correlation) and in relative amplitude across offsets, up to one constant."""
    from hybridfwi.core.wavelet import ricker

    dt, nt, v = 0.001, 2000, 2000.0
    t = dt * np.arange(nt)
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


def test_build_problem_viking_grid_bands_and_time_axis():
    f = read_field(real_file("viking_small.segy"))
    p = build_problem(f)
    s = p.record.survey
    g = s.grid
    # every source/receiver inside, lateral padding, depth half the largest offset
    assert g.x0 < 0 and g.x_max > 3312 and g.z_max >= 0.5 * 3237 - g.dz
    assert g.dx == nice_spacing(g.dx) and g.dx <= 25.0
    lo, hi = p.low_cut, max(b for b in p.bands if b is not None)
    assert 5.0 <= lo <= 9.0 and hi > lo and 1485 / hi / g.dx >= 4.5  # cells per minimum wavelength at the top band
    assert 0.5 / s.dt >= 3 * hi  # decimated but >= 3 samples per period at the top band
    assert s.free_surface and np.all(s.source_z >= g.dz)
    assert p.record.t0 < 0 and abs(p.record.t0 + p.info["wavelet_delay_shift_s"]) < 1e-9
    assert np.all(np.isfinite(p.record.data)) and np.abs(p.record.data).max() > 0
    with pytest.raises(InputError, match="coarser than the receiver spacing"):
        build_problem(f, ProblemConfig(dx=30.0))
