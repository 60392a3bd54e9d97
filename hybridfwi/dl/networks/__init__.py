"""Built-in networks. Every learnable layer is a Conv2d, Linear or BatchNorm2d, so that peft's
adapters (LoRA, DoRA, LoHa, LoKr, IA3) reach every convolution: decoders upsample and convolve
instead of using ConvTranspose2d, which LoRA does not support."""

from hybridfwi.dl.networks.compact import CompactNet
from hybridfwi.dl.networks.inversionnet import InversionNet

__all__ = ["CompactNet", "InversionNet"]
