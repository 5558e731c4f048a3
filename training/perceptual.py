"""The VGG16 weights of the perceptual loss that ship with the repository.

:data:`BUNDLED_VGG16` is the original ImageNet VGG16 (Simonyan & Zisserman 2014, Oxford VGG, CC BY
4.0) cut at relu3_3: the seven convolutions the loss uses, float32, 6.9 MB, with torchvision key
names and the metadata ``input = "caffe-bgr-255"`` that tells
:class:`physdis_hub.losses.VGG16Features` to feed it BGR 0-255 images minus the BGR pixel mean.
It was made by ``python -m training.release.vgg_convert`` (the exact command, the source's sha256 and the
attribution are in ``training/assets/VGG16_LICENSE.md``). Shipping it lets the paper's presets train
with the perceptual term on a machine that cannot download ImageNet weights.

Example:
    >>> from physdis_hub.config import LossConfig, ModelConfig
    >>> from physdis_hub.losses import ReconstructionLoss
    >>> loss = ReconstructionLoss(ModelConfig(loss=LossConfig(lam_perc=1.0)), str(BUNDLED_VGG16))
"""

from __future__ import annotations

from pathlib import Path

BUNDLED_VGG16 = Path(__file__).resolve().parent / "assets" / "vgg16_relu3_3.safetensors"
"""VGG16 relu3_3 weights (ImageNet, CC BY 4.0), usable as ``perceptual_weights``."""
