"""Data misfits, normalised by the observed data so that 1.0 means "as bad as predicting zeros".

Built on :mod:`deepwave.misfits` (sum reductions). Inputs are ``(shots, nt, receivers)`` tensors
(the OpenFWI layout); the time axis is moved last for deepwave.
"""

from __future__ import annotations

import torch

from hybridfwi.errors import InputError

__all__ = ["MISFITS", "misfit", "misfit_scale"]

MISFITS = ("l2", "gc", "envelope")


def _traces(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-1, -2)  # (..., receivers, nt)


def misfit_scale(name: str, observed: torch.Tensor) -> float:
    """The normaliser of misfit ``name`` for these observed data (energy, envelope energy, trace count)."""
    import deepwave.misfits as dm

    o = _traces(observed)
    if name == "l2":
        s = float(dm.l2(torch.zeros_like(o), o, reduction="sum"))
    elif name == "envelope":
        s = float(dm.envelope(torch.zeros_like(o), o, reduction="sum"))
    elif name == "gc":
        s = float(o[..., 0].numel())
    else:
        raise InputError(f"unknown misfit {name!r}; use one of {', '.join(MISFITS)}")
    return s if s > 0 else 1.0


def misfit(name: str, modelled: torch.Tensor, observed: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Misfit ``name`` summed over traces, divided by ``scale``.

    ``l2``: squared differences; ``gc``: one minus the trace-wise normalised (global) correlation;
    ``envelope``: squared differences of Hilbert envelopes.
    """
    import deepwave.misfits as dm

    m, o = _traces(modelled), _traces(observed)
    if name == "l2":
        return dm.l2(m, o, reduction="sum") / scale
    if name == "gc":
        return dm.normalised_cross_correlation(m, o, reduction="sum") / scale
    if name == "envelope":
        return dm.envelope(m, o, reduction="sum") / scale
    raise InputError(f"unknown misfit {name!r}; use one of {', '.join(MISFITS)}")
