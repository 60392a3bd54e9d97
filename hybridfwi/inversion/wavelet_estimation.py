"""Least-squares source-wavelet estimation in the frequency domain (after Pratt, 1999).

With modelled data ``d_syn = G * w`` for the current wavelet ``w``, the wavelet that best explains
the observed data in the least-squares sense is, frequency by frequency,

    w_new(f) = w(f) * sum conj(D_syn(f)) D_obs(f) / (sum |D_syn(f)|^2 + eps),

summing over every trace. (Pratt, R. G., 1999, Seismic waveform inversion in the frequency
domain, Part 1, Geophysics 64, 888-901.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_wavelet", "wavelet_sums", "wavelet_from_sums"]


def wavelet_sums(observed: np.ndarray, modelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The per-frequency sums ``sum conj(D_syn) D_obs`` and ``sum |D_syn|^2`` over every trace of
    ``(shots, nt, receivers)`` data (on the ``rfft`` frequencies of a ``2 nt`` record). Sums from
    different shot subsets add up (shots split across processes)."""
    nt = observed.shape[1]
    n = 2 * nt
    do = np.fft.rfft(np.asarray(observed, np.float64), n=n, axis=1)
    ds = np.fft.rfft(np.asarray(modelled, np.float64), n=n, axis=1)
    return np.sum(np.conj(ds) * do, axis=(0, 2)), np.sum(np.abs(ds) ** 2, axis=(0, 2))


def wavelet_from_sums(num: np.ndarray, den: np.ndarray, wavelet: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """The least-squares wavelet ``(nt,)`` from :func:`wavelet_sums` and the wavelet that modelled them."""
    nt = wavelet.size
    n = 2 * nt
    ratio = num / (den + eps * (den.max() if den.max() > 0 else 1.0))
    w = np.fft.irfft(np.fft.rfft(np.asarray(wavelet, np.float64), n=n) * ratio, n=n)[:nt]
    return w.astype(np.float32)


def estimate_wavelet(observed: np.ndarray, modelled: np.ndarray, wavelet: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """The least-squares wavelet, shape ``(nt,)``.

    Args:
        observed: ``(shots, nt, receivers)`` observed data.
        modelled: the same, modelled with ``wavelet`` in the current model.
        wavelet: ``(nt,)`` the wavelet used for ``modelled``.
        eps: water level, as a fraction of the largest ``sum |D_syn|^2``.
    """
    num, den = wavelet_sums(observed, modelled)
    return wavelet_from_sums(num, den, wavelet, eps)
