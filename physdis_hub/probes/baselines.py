"""Baselines every probe can run beside the model; each is an extractor (images in [0, 1] -> features).

- :class:`PixelPCA`: raw pixels, optionally projected on their first ``k`` principal components
  (fitted on the images given to :meth:`PixelPCA.fit`, e.g. the training split).
- :func:`random_init_like`: the same architecture with fresh random weights (e.g. a
  :class:`~physdis_hub.probes.extractors.PartsExtractor` of an untrained model).
- :class:`ResNet18Extractor`: ResNet-18 pooled features, random init or local pretrained weights.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError
from ._checks import check_positive_int
from .extractors import check_images
from .resnet import IMAGENET_MEAN, IMAGENET_STD, ResNet18, load_resnet18_weights


class PixelPCA(nn.Module):
    """Flattened pixels, centred and projected on the top ``k`` principal directions.

    Args:
        k: number of components; ``None`` keeps all pixels (no projection, no centring).

    Call :meth:`fit` before use when ``k`` is set. ``forward``: ``(B, 3, H, W)`` -> ``(B, k)`` or
    ``(B, 3*H*W)``.
    """

    mean: torch.Tensor
    components: torch.Tensor

    def __init__(self, k: int | None = 128) -> None:
        super().__init__()
        self.k = None if k is None else check_positive_int("k", k)
        self.register_buffer("mean", torch.zeros(0))
        self.register_buffer("components", torch.zeros(0, 0))

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> PixelPCA:
        """Fit the principal directions on ``images (N, 3, H, W)``; ``k <= min(N, 3*H*W)``. Returns self."""
        x = check_images("images", images).flatten(1).double()
        if self.k is None:
            return self
        if self.k > min(x.shape):
            raise InputError(f"k: {self.k} components need at least {self.k} images and pixels, got {tuple(x.shape)}")
        self.mean = x.mean(0)
        _, _, vh = torch.linalg.svd(x - self.mean, full_matrices=False)
        self.components = vh[: self.k]
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.flatten(1)
        if self.k is None:
            return x
        if self.components.numel() == 0:
            raise RuntimeError("PixelPCA: call fit(images) before extracting features")
        if x.shape[1] != self.components.shape[1]:
            raise InputError(f"images: {x.shape[1]} pixel values, the PCA was fitted on {self.components.shape[1]}")
        return ((x.double() - self.mean) @ self.components.T).to(images.dtype)


def random_init_like(module: nn.Module, seed: int = 0) -> nn.Module:
    """A deep copy of ``module`` with every sub-module that has ``reset_parameters`` re-initialised.

    The random-init baseline: same architecture, same code path, no training. Deterministic in
    ``seed``; the global torch RNG state is left untouched.
    """
    clone = copy.deepcopy(module)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in clone.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
    return clone


class ResNet18Extractor(nn.Module):
    """Pooled ResNet-18 features of images in [0, 1] (ImageNet normalisation applied inside).

    Args:
        weights: ``None`` (random init), ``"timm"`` or a local weights file
            (see :func:`~physdis_hub.probes.resnet.load_resnet18_weights`).

    ``forward``: ``(B, 3, H, W)`` in [0, 1] -> ``(B, 512)``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        self.net = ResNet18(num_classes=0)
        if weights is not None:
            load_resnet18_weights(self.net, weights)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net((images - self.mean) / self.std)
