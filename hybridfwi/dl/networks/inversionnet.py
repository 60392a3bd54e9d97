"""InversionNet (Wu and Lin, 2019; the OpenFWI baseline, Deng et al., 2022), peft-friendly.

Encoder as in OpenFWI's InversionNet: convolutions along time with stride 2 that shrink
``(5, 1000, 70)`` seismic data to a ``(512, 1, 1)`` code; decoder to a ``(1, 70, 70)`` velocity
with a tanh output. Where OpenFWI's decoder uses ConvTranspose2d, this one upsamples and
convolves (``UpBlock``) so that LoRA reaches every layer; the layer widths follow OpenFWI's
(32-64-128-256-512), so the parameter count is of the same order (OpenFWI: 24.4 M).
"""

from __future__ import annotations


import torch
import torch.nn as nn

from hybridfwi.dl.networks.blocks import ConvBlock, UpBlock, to_output_shape
from hybridfwi.dl.registry import register_model

__all__ = ["InversionNet"]


class InversionNet(nn.Module):
    """Args: in_shape ``(shots, nt, receivers)``; out_shape ``(nz, nx)``."""

    def __init__(self, in_shape=(5, 1000, 70), out_shape=(70, 70), width: int = 32):
        super().__init__()
        s, nt, nr = in_shape
        w = width
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.encoder = nn.Sequential(
            ConvBlock(s, w, (7, 1), (2, 1), (3, 0)),
            ConvBlock(w, 2 * w, (3, 1), (2, 1), (1, 0)), ConvBlock(2 * w, 2 * w, (3, 1), 1, (1, 0)),
            ConvBlock(2 * w, 2 * w, (3, 1), (2, 1), (1, 0)), ConvBlock(2 * w, 2 * w, (3, 1), 1, (1, 0)),
            ConvBlock(2 * w, 4 * w, (3, 1), (2, 1), (1, 0)), ConvBlock(4 * w, 4 * w, (3, 1), 1, (1, 0)),
            ConvBlock(4 * w, 4 * w, 3, 2, 1), ConvBlock(4 * w, 4 * w),
            ConvBlock(4 * w, 8 * w, 3, 2, 1), ConvBlock(8 * w, 8 * w),
            ConvBlock(8 * w, 8 * w, 3, 2, 1), ConvBlock(8 * w, 8 * w),
        )
        with torch.no_grad():
            h, wd = self.encoder(torch.zeros(1, s, nt, nr)).shape[-2:]
        self.code = ConvBlock(8 * w, 16 * w, (h, wd), 1, 0)  # -> (16w, 1, 1)
        self.decoder = nn.Sequential(
            UpBlock(16 * w, 16 * w, scale=5), ConvBlock(16 * w, 16 * w),  # 5 x 5
            UpBlock(16 * w, 8 * w), ConvBlock(8 * w, 8 * w),  # 10
            UpBlock(8 * w, 4 * w), ConvBlock(4 * w, 4 * w),  # 20
            UpBlock(4 * w, 2 * w), ConvBlock(2 * w, 2 * w),  # 40
            UpBlock(2 * w, w), ConvBlock(w, w),  # 80
        )
        self.head = nn.Conv2d(w, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, shots, nt, receivers)`` normalised seismic -> ``(batch, 1, nz, nx)`` in [-1, 1]."""
        y = self.decoder(self.code(self.encoder(x)))
        return torch.tanh(self.head(to_output_shape(y, self.out_shape)))


@register_model("inversionnet")
def inversionnet(in_shape=(5, 1000, 70), out_shape=(70, 70), **kw) -> InversionNet:
    return InversionNet(in_shape=tuple(in_shape), out_shape=tuple(out_shape), **kw)


