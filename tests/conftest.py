import os

import numpy as np
import pytest
import torch

from hybridfwi.core import Grid, Survey, Wavelet

torch.set_num_threads(min(2, os.cpu_count() or 1))

REAL_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "real")


@pytest.fixture
def small_survey() -> Survey:
    """40 x 60 cells at 10 m, 3 shots, 30 receivers at 10 m depth, 15 Hz, 0.4 s."""
    return Survey(
        grid=Grid(nz=40, nx=60, dz=10.0, dx=10.0),
        dt=0.001,
        nt=400,
        source_x=np.array([50.0, 300.0, 550.0]),
        source_z=np.full(3, 10.0),
        receiver_x=np.arange(30) * 20.0 + 10.0,
        receiver_z=np.full(30, 10.0),
        wavelet=Wavelet(peak_freq=15.0),
        name="small",
    )


@pytest.fixture
def small_geometry_file(tmp_path, small_survey) -> str:
    path = tmp_path / "geom.json"
    small_survey.to_json(path)
    return str(path)


def real_file(name: str) -> str:
    path = os.path.join(REAL_DATA, name)
    if not os.path.exists(path):
        pytest.skip(f"real data file {name} not present (../shared/data/real)")
    return path
