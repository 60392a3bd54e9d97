import os

# deepwave's CPU propagator runs on OpenMP threads; when another process keeps a core busy, a
# second thread spin-waits at every time step and modelling slows down by orders of magnitude.
# One thread per test process (and per subprocess the tests start) keeps timings predictable;
# HYBRIDFWI_TEST_THREADS raises it.
_THREADS = os.environ.get("HYBRIDFWI_TEST_THREADS", "1")
os.environ["OMP_NUM_THREADS"] = _THREADS

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from hybridfwi.core import Geometry, Grid, Survey, Wavelet  # noqa: E402

torch.set_num_threads(int(_THREADS))

REAL_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "real")


@pytest.fixture
def small_grid() -> Grid:
    """40 x 60 cells at 10 m (x 0..590 m, z 0..390 m)."""
    return Grid(nz=40, nx=60, dz=10.0, dx=10.0)


@pytest.fixture
def small_survey() -> Survey:
    """3 shots at 50, 300, 550 m, 30 receivers every 20 m from 0 m, all 10 m deep; 15 Hz, 1 ms, 0.4 s."""
    return Survey(
        dt=0.001,
        nt=400,
        source_x=np.array([50.0, 300.0, 550.0]),
        source_z=np.full(3, 10.0),
        receiver_x=np.arange(30) * 20.0,
        receiver_z=np.full(30, 10.0),
        wavelet=Wavelet(peak_freq=15.0),
        name="small",
    )


@pytest.fixture
def small_geometry(small_grid, small_survey) -> Geometry:
    return Geometry(small_grid, small_survey)


@pytest.fixture
def small_geometry_file(tmp_path, small_geometry) -> str:
    path = tmp_path / "geom.json"
    path.write_text(small_geometry.to_json())
    return str(path)


def real_file(name: str) -> str:
    path = os.path.join(REAL_DATA, name)
    if not os.path.exists(path):
        pytest.skip(f"real data file {name} not present (../shared/data/real)")
    return path


def one_line_error(result, *words) -> None:
    """A CLI result that is bad input: exit code 2, a single line ``Error: ...``, no traceback, naming ``words``."""
    out = result.output.strip()
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in out, out
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("Error: "), out
    for w in words:
        assert w in out, (w, out)
