"""Physics full-waveform inversion: configuration, parameterisation, regularisation, conditioning,
wavelet estimation and the engine (fwi.py); run.py is the library side of ``hybridfwi fwi``."""

from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.fwi import FWI, FWIResult, fwi

__all__ = ["FWIConfig", "FWI", "FWIResult", "fwi"]
