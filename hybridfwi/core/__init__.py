"""Typed core objects, free of I/O: Grid, Wavelet, Survey, VelocityModel, ShotRecord."""

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.core.survey import PRESETS, Survey, load_geometry
from hybridfwi.core.wavelet import Wavelet, ricker

__all__ = ["Grid", "Wavelet", "ricker", "Survey", "PRESETS", "load_geometry", "VelocityModel", "ShotRecord"]
