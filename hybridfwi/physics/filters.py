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

__all__ = ["Band", "band_response", "apply_band", "line_source_correction", "resample_time", "amplitude_spectrum", "shaping_filter"]


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
    """Filter ``data`` (numpy or torch, time along ``axis``) with a response on the ``rfft`` frequencies
    of a ``2 nt`` record (from :func:`band_response`, or complex, e.g. :func:`shaping_filter`)."""
    if response is None:
        return data
    if isinstance(data, torch.Tensor):
        x = data.movedim(axis, -1)
        nt = x.shape[-1]
        cdt = torch.complex128 if x.dtype == torch.float64 else torch.complex64
        r = torch.as_tensor(response, device=x.device)
        r = r.to(cdt) if torch.is_complex(r) else r.to(x.dtype)
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


def resample_time(data, dt: float, dt_out: float, nt_out: int, t_start: float = 0.0, axis: int = -2):
    """The one time-axis resampling of the package: samples at ``t_start + k dt_out``, ``k < nt_out``.

    Times are measured from ``data``'s first sample. Values between input samples are linear
    interpolations; times outside the record are zero. When ``dt_out`` is coarser than ``dt`` the
    record is first low-passed (zero-phase, at 80% of the new Nyquist frequency) so nothing aliases.

    Args:
        data: numpy array, time along ``axis``, sampled at ``dt`` seconds.
        dt, dt_out: input and output sample intervals, s.
        nt_out: output sample count.
        t_start: time (s, from the first input sample) of the first output sample; negative values
            put zeros in front.
        axis: the time axis.

    Returns:
        float32 array with ``nt_out`` samples along ``axis``.
    """
    x = np.moveaxis(np.asarray(data, dtype=np.float64), axis, -1)
    nt = x.shape[-1]
    if dt_out > dt * (1 + 1e-9):
        x = apply_band(x, band_response(Band(high=0.8 * 0.5 / dt_out, order=8), nt, dt), axis=-1)
    pos = (t_start + dt_out * np.arange(nt_out)) / dt
    exact = np.allclose(pos, np.rint(pos), atol=1e-6)
    inside = (pos >= -1e-6) & (pos <= nt - 1 + 1e-6)
    pos = np.clip(pos, 0.0, nt - 1)
    if exact:
        y = np.take(x, np.rint(pos).astype(np.int64), axis=-1)
    else:
        i0 = np.minimum(np.floor(pos).astype(np.int64), max(nt - 2, 0))
        w = pos - i0
        i1 = np.minimum(i0 + 1, nt - 1)
        y = np.take(x, i0, axis=-1) * (1 - w) + np.take(x, i1, axis=-1) * w
    y = np.where(inside, y, 0.0)
    return np.ascontiguousarray(np.moveaxis(y, -1, axis), dtype=np.float32)


def shaping_filter(wavelet: np.ndarray, target: np.ndarray, dt: float, water: float = 1e-2) -> np.ndarray:
    """Frequency response (on the ``rfft`` frequencies of a ``2 nt`` record) that turns ``wavelet`` into
    ``target`` (both ``(nt,)`` at ``dt``): ``T conj(W) / (|W|^2 + water max|W|^2)``.

    Multiply a record's spectrum by it (with :func:`apply_band`) to see the data as if the source
    had been ``target``; the water level keeps it bounded where ``wavelet`` has no energy.
    """
    nt = len(wavelet)
    n = 2 * nt
    w = np.fft.rfft(np.asarray(wavelet, np.float64), n=n)
    t = np.fft.rfft(np.asarray(target, np.float64), n=n)
    p = np.abs(w) ** 2
    return t * np.conj(w) / (p + water * p.max())
