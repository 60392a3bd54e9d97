"""Building blocks shared by the networks."""

from __future__ import annotations

import torch.nn as nn

__all__ = ["ConvBlock", "UpBlock"]


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
