"""Physics full-waveform inversion: configuration, parameterisation, regularisation, conditioning,
wavelet estimation, the engine (fwi.py) and the one problem builder for synthetic and field data
(problem.py); :mod:`hybridfwi.workflow` writes the run folders of ``hybridfwi fwi``."""

from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.fwi import FWI, FWIResult, fwi

__all__ = ["FWIConfig", "FWI", "FWIResult", "fwi"]
