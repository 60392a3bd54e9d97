"""Zero-phase Butterworth filtering along time, identical for numpy and (differentiable) torch data.

The filter is designed with :func:`scipy.signal.butter` and applied as the squared magnitude of its
response in the frequency domain, which is what forward-backward filtering (``filtfilt``) does,
on a record zero-padded to twice its length so that nothing wraps around. Because the same
response multiplies observed and modelled data, a band is applied identically to both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hybridfwi.errors import InputError

__all__ = ["Band", "band_response", "apply_band", "line_source_correction", "decimate", "amplitude_spectrum"]


@dataclass(frozen=True)
class Band:
    """A frequency band, Hz: ``low`` = None for a low-pass, ``high`` = None for the full band."""

    high: float | None
    low: float | None = None
    order: int = 4

    def label(self) -> str:
        if self.high is None and self.low is None:
            return "full band"
        if self.low is None:
            return f"<= {self.high:g} Hz"
        if self.high is None:
            return f">= {self.low:g} Hz"
        return f"{self.low:g}-{self.high:g} Hz"

    def check(self, dt: float) -> None:
        nyq = 0.5 / dt
        for name, f in (("high", self.high), ("low", self.low)):
            if f is not None and not 0 < f < nyq:
                raise InputError(f"band {self.label()}: {name} cut {f:g} Hz must lie between 0 and the data's Nyquist {nyq:g} Hz")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise InputError(f"band {self.label()}: the low cut must be below the high cut")


def band_response(band: Band, nt: int, dt: float) -> np.ndarray | None:
    """Zero-phase response ``|H(f)|^2`` on the ``rfft`` frequencies of a ``2 nt`` record, or None (full band)."""
    from scipy.signal import butter, sosfreqz

    if band.high is None and band.low is None:
        return None
    band.check(dt)
    nyq = 0.5 / dt
    if band.low is None:
        sos = butter(band.order, band.high / nyq, btype="lowpass", output="sos")
    elif band.high is None:
        sos = butter(band.order, band.low / nyq, btype="highpass", output="sos")
    else:
        sos = butter(band.order, [band.low / nyq, band.high / nyq], btype="bandpass", output="sos")
    n = 2 * nt
    freqs = np.fft.rfftfreq(n, dt)
    _, h = sosfreqz(sos, worN=freqs, fs=1.0 / dt)
    return (np.abs(h) ** 2).astype(np.float64)


def apply_band(data, response: np.ndarray | None, axis: int = -2):
    """Filter ``data`` (numpy or torch, time along ``axis``) with a response from :func:`band_response`."""
    if response is None:
        return data
    if isinstance(data, torch.Tensor):
        x = data.movedim(axis, -1)
        nt = x.shape[-1]
        r = torch.as_tensor(response, dtype=x.dtype, device=x.device)
        y = torch.fft.irfft(torch.fft.rfft(x, n=2 * nt) * r, n=2 * nt)[..., :nt]
        return y.movedim(-1, axis)
    x = np.moveaxis(np.asarray(data), axis, -1)
    nt = x.shape[-1]
    y = np.fft.irfft(np.fft.rfft(x, n=2 * nt) * response, n=2 * nt)[..., :nt]
    return np.moveaxis(y, -1, axis).astype(np.asarray(data).dtype, copy=False)


def amplitude_spectrum(data: np.ndarray, dt: float, axis: int = -2) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and the mean amplitude spectrum over every trace of ``data`` (time along ``axis``)."""
    x = np.moveaxis(np.asarray(data, dtype=np.float64), axis, -1)
    nt = x.shape[-1]
    spec = np.abs(np.fft.rfft(x, axis=-1)).reshape(-1, nt // 2 + 1).mean(axis=0)
    return np.fft.rfftfreq(nt, dt), spec


def line_source_correction(data: np.ndarray, dt: float, t_first: float = 0.0, f_floor: float = 1.0, axis: int = -2) -> np.ndarray:
    """Approximate 3-D point-source data as 2-D line-source data (the usual far-field correction).

    A 2-D Green's function equals the 3-D one times ``sqrt(r)`` and the half-integrator
    ``(i omega)^(-1/2)`` (a -45 degree phase shift and a ``1/sqrt(f)`` amplitude). With ``r`` taken as
    proportional to travel time, the correction multiplies each trace by ``sqrt(t)`` and filters it
    by ``(i 2 pi f)^(-1/2)``, the frequency floored at ``f_floor`` Hz so that the filter stays
    bounded. The overall scale is arbitrary (a source wavelet estimated afterwards absorbs it).

    Args:
        data: traces with time along ``axis``.
        dt: sample interval, s.
        t_first: time after the shot of the first sample, s (samples before the shot get weight 0).
    """
    x = np.moveaxis(np.asarray(data, dtype=np.float64), axis, -1)
    nt = x.shape[-1]
    n = 2 * nt
    f = np.maximum(np.fft.rfftfreq(n, dt), f_floor)
    filt = (1j * 2 * np.pi * f) ** -0.5
    y = np.fft.irfft(np.fft.rfft(x, n=n) * filt, n=n)[..., :nt]
    t = np.clip(t_first + dt * np.arange(nt), 0.0, None)
    y = y * np.sqrt(t)
    return np.moveaxis(y, -1, axis).astype(np.float32)


def decimate(data: np.ndarray, dt: float, factor: int, axis: int = -2) -> np.ndarray:
    """Keep every ``factor``-th sample after a zero-phase anti-alias low-pass at 80% of the new Nyquist."""
    if factor == 1:
        return np.asarray(data, dtype=np.float32)
    nt = np.asarray(data).shape[axis]
    resp = band_response(Band(high=0.8 * 0.5 / (dt * factor), order=8), nt, dt)
    y = apply_band(np.asarray(data, dtype=np.float64), resp, axis=axis)
    return np.ascontiguousarray(np.take(y, np.arange(0, nt, factor), axis=axis), dtype=np.float32)
