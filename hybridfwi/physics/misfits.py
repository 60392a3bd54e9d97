"""Data misfits, normalised by the observed data so that 1.0 means "as bad as predicting zeros".

Built on :mod:`deepwave.misfits` (per-trace values, summed). Inputs are ``(shots, nt, receivers)``
tensors (the OpenFWI layout); the time axis is moved last for deepwave. An optional receiver
mask ``(shots, receivers)`` leaves out the padded entries of a survey whose shots have different
receiver counts.
"""

from __future__ import annotations

import torch

from hybridfwi.errors import InputError

__all__ = ["MISFITS", "misfit", "misfit_scale"]

MISFITS = ("l2", "gc", "envelope")


def _traces(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-1, -2)  # (..., receivers, nt)


def _per_trace(name: str, m: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
    import deepwave.misfits as dm

    if name == "l2":
        return dm.l2(m, o, reduction="none")
    if name == "gc":
        return dm.normalised_cross_correlation(m, o, reduction="none")
    if name == "envelope":
        return dm.envelope(m, o, reduction="none")
    raise InputError(f"unknown misfit {name!r}; use one of {', '.join(MISFITS)}")


def _reduce(per_trace: torch.Tensor, mask: torch.Tensor | None, per_shot: bool = False) -> torch.Tensor:
    if per_trace.ndim > 2:  # l2/envelope keep the time axis with reduction="none"
        per_trace = per_trace.sum(-1)
    if mask is not None:
        per_trace = per_trace * mask.to(per_trace.dtype)
    return per_trace.sum(-1) if per_shot else per_trace.sum()


def misfit_scale(name: str, observed: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """The normaliser of misfit ``name`` for these observed data (energy, envelope energy, trace count)."""
    o = _traces(observed)
    if name == "gc":
        s = float(o[..., 0].numel() if mask is None else mask.sum())
    elif name in ("l2", "envelope"):
        s = float(_reduce(_per_trace(name, torch.zeros_like(o), o), mask))
    else:
        raise InputError(f"unknown misfit {name!r}; use one of {', '.join(MISFITS)}")
    return s if s > 0 else 1.0


def misfit(name: str, modelled: torch.Tensor, observed: torch.Tensor, scale: float = 1.0,
           mask: torch.Tensor | None = None, per_shot: bool = False) -> torch.Tensor:
    """Misfit ``name`` summed over (unmasked) traces, divided by ``scale``.

    ``l2``: squared differences; ``gc``: one minus the trace-wise normalised (global) correlation;
    ``envelope``: squared differences of Hilbert envelopes. ``mask``: ``(shots, receivers)`` bool or
    0/1, broadcastable to the traces; masked traces count for nothing. With ``per_shot`` the result
    is each shot's share ``(shots,)`` (same ``scale``: the shares sum to the total).
    """
    return _reduce(_per_trace(name, _traces(modelled), _traces(observed)), mask, per_shot) / scale
