"""hybridfwi: deep-learning initial models refined by physics full-waveform inversion.

The library is organised by responsibility, one package per outside library:

- :mod:`hybridfwi.core`    typed objects (Grid, Wavelet, Survey, VelocityModel, ShotRecord)
- :mod:`hybridfwi.synth`   seeded velocity-model families and synthetic datasets
- :mod:`hybridfwi.physics` wave propagation (the only importer of deepwave)
- :mod:`hybridfwi.io`      SEG-Y / SU and array files (the only importer of segyio)
- :mod:`hybridfwi.viz`     figures (the only importer of matplotlib)
- :mod:`hybridfwi.cli`     the ``hybridfwi`` command (the only importer of click)

All quantities are SI: metres, seconds, metres per second, hertz.
"""

from hybridfwi.errors import HybridFWIError, InputError

__version__ = "0.1.0"

__all__ = ["HybridFWIError", "InputError", "__version__"]
