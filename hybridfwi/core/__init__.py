"""Typed core objects, free of I/O: Grid, Wavelet, Survey (acquisition), Geometry (grid + survey),
VelocityModel, ShotRecord, WaterLayer, and the one model-grid resampling (regrid)."""

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord, VelocityModel, WaterLayer, as_velocity_array
from hybridfwi.core.regrid import regrid, regrid_points
from hybridfwi.core.survey import PRESETS, Geometry, Survey, load_geometry
from hybridfwi.core.wavelet import Wavelet, ricker

__all__ = ["Grid", "Wavelet", "ricker", "Survey", "Geometry", "PRESETS", "load_geometry", "VelocityModel", "ShotRecord",
           "WaterLayer", "as_velocity_array", "regrid", "regrid_points"]
