"""Source wavelets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridfwi.core._util import require_fields
from hybridfwi.errors import InputError

__all__ = ["Wavelet", "ricker"]


def ricker(peak_freq: float, nt: int, dt: float, delay: float) -> np.ndarray:
    """Ricker wavelet ``(1 - 2 a) exp(-a)``, ``a = (pi f (t - delay))^2``.

    Args:
        peak_freq: peak frequency, Hz.
        nt: number of samples.
        dt: sample interval, s.
        delay: time of the wavelet's peak, s.

    Returns:
        float64 array of shape ``(nt,)`` with unit peak amplitude at ``t = delay``.
    """
    t = np.arange(nt) * dt - delay
    a = (np.pi * peak_freq * t) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


@dataclass(frozen=True)
class Wavelet:
    """A source wavelet: a Ricker of a given peak frequency, or explicit samples.

    Attributes:
        peak_freq: dominant (peak) frequency, Hz. For explicit samples it is still needed: it
            sets the absorbing boundary's tuning and the dispersion check.
        delay: time of the Ricker's peak, s; ``None`` means ``1.5 / peak_freq``.
        samples: explicit samples at the survey's ``dt`` (shorter ones are zero-padded,
            longer ones cut to ``nt``); ``None`` for a Ricker.
    """

    peak_freq: float
    delay: float | None = None
    samples: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.peak_freq) or self.peak_freq <= 0:
            raise InputError(f"wavelet peak_freq must be a positive frequency in Hz, got {self.peak_freq!r}")
        object.__setattr__(self, "peak_freq", float(self.peak_freq))
        if self.delay is not None:
            if not np.isfinite(self.delay) or self.delay < 0:
                raise InputError(f"wavelet delay must be >= 0 s, got {self.delay!r}")
            object.__setattr__(self, "delay", float(self.delay))
        if self.samples is not None:
            s = np.asarray(self.samples, dtype=np.float64).ravel()
            if s.size == 0 or not np.all(np.isfinite(s)):
                raise InputError("wavelet samples must be a non-empty list of finite numbers")
            object.__setattr__(self, "samples", tuple(float(v) for v in s))

    @property
    def kind(self) -> str:
        return "ricker" if self.samples is None else "array"

    @property
    def peak_time(self) -> float:
        """Time of the wavelet's peak, s (for explicit samples: of its largest absolute sample)."""
        if self.samples is None:
            return self.delay if self.delay is not None else 1.5 / self.peak_freq
        raise InputError("peak_time needs dt for an explicit wavelet; use array(nt, dt)")

    def array(self, nt: int, dt: float) -> np.ndarray:
        """Samples of the wavelet, float32, shape ``(nt,)``, at interval ``dt`` seconds."""
        if self.samples is None:
            return ricker(self.peak_freq, nt, dt, self.peak_time).astype(np.float32)
        out = np.zeros(nt, dtype=np.float32)
        s = np.asarray(self.samples, dtype=np.float32)[:nt]
        out[: s.size] = s
        return out

    def to_dict(self) -> dict:
        d: dict = {"type": self.kind, "peak_freq": self.peak_freq}
        if self.delay is not None:
            d["delay"] = self.delay
        if self.samples is not None:
            d["samples"] = list(self.samples)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Wavelet":
        require_fields(d, ("peak_freq",), "wavelet")
        kind = d.get("type", "ricker")
        if kind not in ("ricker", "array"):
            raise InputError(f"wavelet type must be 'ricker' or 'array', got {kind!r}")
        if kind == "array" and "samples" not in d:
            raise InputError("wavelet: type 'array' needs a 'samples' list")
        return cls(peak_freq=d["peak_freq"], delay=d.get("delay"), samples=d.get("samples") if kind == "array" else None)
