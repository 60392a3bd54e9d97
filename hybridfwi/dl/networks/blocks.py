"""Building blocks shared by the networks."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["ConvBlock", "UpBlock", "to_output_shape"]


class ConvBlock(nn.Sequential):
    """Conv2d -> BatchNorm2d -> LeakyReLU(0.2)."""

    def __init__(self, cin: int, cout: int, kernel=3, stride=1, padding=1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2, inplace=True),
        )


class UpBlock(nn.Sequential):
    """Nearest-neighbour x2 upsampling -> ConvBlock (a ConvTranspose2d that peft's LoRA can adapt)."""

    def __init__(self, cin: int, cout: int, scale: int = 2):
        super().__init__(nn.Upsample(scale_factor=scale, mode="nearest"), ConvBlock(cin, cout))


def to_output_shape(y: torch.Tensor, out_shape: tuple[int, int]) -> torch.Tensor:
    """Centre-crop a decoder's square canvas to ``(nz, nx)`` (as OpenFWI crops 80 -> 70), or
    resample it bilinearly when the output is larger than the canvas."""
    nz, nx = out_shape
    h, w = y.shape[-2:]
    if nz <= h and nx <= w:
        top, left = (h - nz) // 2, (w - nx) // 2
        return y[..., top:top + nz, left:left + nx]
    return F.interpolate(y, size=(nz, nx), mode="bilinear", align_corners=False)
