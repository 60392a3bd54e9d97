"""CompactNet: the shipped default, an InversionNet-like encoder-decoder sized for CPU training.

The time axis is decimated early (average pooling by ``time_pool`` before any convolution: the
15 Hz data are oversampled at 1 ms), the encoder keeps the receiver axis until late, a fully
connected bottleneck maps the code to a coarse ``(C, 5, 5)`` image, and an upsample+conv decoder
draws the ``(1, nz, nx)`` velocity with a tanh output. About 1.0 M parameters at the defaults.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from hybridfwi.dl.networks.blocks import ConvBlock, UpBlock, to_output_shape
from hybridfwi.dl.registry import register_model

__all__ = ["CompactNet"]


class CompactNet(nn.Module):
    """Args: in_shape ``(shots, nt, receivers)``; out_shape ``(nz, nx)``; width (channels)."""

    def __init__(self, in_shape=(5, 1000, 70), out_shape=(70, 70), width: int = 16, time_pool: int = 8):
        super().__init__()
        s, nt, nr = in_shape
        w = width
        self.in_shape, self.out_shape, self.time_pool = tuple(in_shape), tuple(out_shape), int(time_pool)
        self.encoder = nn.Sequential(
            ConvBlock(s, w, (7, 1), (2, 1), (3, 0)),
            ConvBlock(w, 2 * w, (5, 3), (2, 1), (2, 1)),
            ConvBlock(2 * w, 2 * w, (3, 3), (2, 1), 1),
            ConvBlock(2 * w, 4 * w, (3, 3), (2, 2), 1),
            ConvBlock(4 * w, 4 * w, (3, 3), (2, 2), 1),
            ConvBlock(4 * w, 8 * w, (3, 3), (2, 2), 1),
            nn.AdaptiveAvgPool2d((2, 2)),
        )
        self.fc = nn.Linear(8 * w * 4, 4 * w * 25)
        self.decoder = nn.Sequential(
            ConvBlock(4 * w, 4 * w),  # 5 x 5
            UpBlock(4 * w, 4 * w), ConvBlock(4 * w, 4 * w),  # 10
            UpBlock(4 * w, 2 * w), ConvBlock(2 * w, 2 * w),  # 20
            UpBlock(2 * w, 2 * w), ConvBlock(2 * w, 2 * w),  # 40
            UpBlock(2 * w, w), ConvBlock(w, w),  # 80
        )
        self.head = nn.Conv2d(w, 1, 3, padding=1)
        self._w = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, shots, nt, receivers)`` normalised seismic -> ``(batch, 1, nz, nx)`` in [-1, 1]."""
        if self.time_pool > 1:
            x = F.avg_pool2d(x, (self.time_pool, 1))
        code = self.encoder(x).flatten(1)
        y = F.leaky_relu(self.fc(code), 0.2).view(-1, 4 * self._w, 5, 5)
        y = self.decoder(y)
        return torch.tanh(self.head(to_output_shape(y, self.out_shape)))


@register_model("compact")
def compact(in_shape=(5, 1000, 70), out_shape=(70, 70), **kw) -> CompactNet:
    return CompactNet(in_shape=tuple(in_shape), out_shape=tuple(out_shape), **kw)
