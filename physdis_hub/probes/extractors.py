"""Feature extractors the probes train on or through.

An *extractor* is an ``nn.Module`` mapping images ``(B, 3, 64, 64)`` in [0, 1] to features ``(B, D)``.
:class:`PartsExtractor` wraps a physdis model's down paths (differentiable, so it can be fine-tuned,
unlike ``PhysDisModel.extract`` which runs under ``inference_mode``); the baselines in
:mod:`physdis_hub.probes.baselines` follow the same contract.

:func:`down_path_stages` splits an Unsup3d down path into its resolution stages (32, 16, 8, 4 px and
the 1x1 bottleneck), which the U-Net skips and Grad-CAM use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..nets import DownPath
from ..vocab import BATCH_SIZE, to_network_range
from ._checks import check_positive_int


class PartEncoders(Protocol):
    """What the probes need from a model: ``PhysDisModel`` satisfies it."""

    def part_encoders(self) -> dict[str, nn.Module]:
        """Part name -> down path taking ``(B, 3, 64, 64)`` in [-1, 1] to ``(B, D, 1, 1)``."""
        ...


def check_images(name: str, images: torch.Tensor) -> torch.Tensor:
    """Validate a batch of images ``(B, 3, H, W)``, finite, non-empty; returns it as float32."""
    if not isinstance(images, torch.Tensor):
        raise InputError(f"{name}: expected a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise InputError(f"{name}: expected a non-empty (B, 3, H, W) tensor, got {tuple(images.shape)}")
    if not torch.isfinite(images).all():
        raise InputError(f"{name}: contains NaN or inf")
    return images.float()


class PartsExtractor(nn.Module):
    """Concatenated bottleneck features of some parts' down paths.

    Args:
        encoders: part name -> down path (input in [-1, 1], output ``(B, D_part, 1, 1)``).
        parts: which parts, in concatenation order (default: all of ``encoders``).

    Input ``(B, 3, 64, 64)`` in [0, 1]; output ``(B, sum D_part)``.
    """

    def __init__(self, encoders: Mapping[str, nn.Module], parts: Sequence[str] | None = None) -> None:
        super().__init__()
        parts = list(encoders) if parts is None else ([parts] if isinstance(parts, str) else list(parts))
        missing = [p for p in parts if p not in encoders]
        if not parts or missing:
            raise InputError(f"parts: {missing or parts} not among the encoders {list(encoders)}")
        self.parts = parts
        self.encoders = nn.ModuleDict({p: encoders[p] for p in parts})

    @classmethod
    def from_model(cls, model: PartEncoders, parts: Sequence[str] = ("geom", "alb")) -> PartsExtractor:
        """Share (not copy) the down paths of ``model``; fine-tuning the extractor changes the model."""
        return cls(model.part_encoders(), parts)

    def forward_parts(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, 3, 64, 64)`` in [0, 1] -> part name -> ``(B, D_part)``."""
        x = to_network_range(images)
        return {p: self.encoders[p](x).flatten(1) for p in self.parts}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 64, 64)`` in [0, 1] -> ``(B, sum D_part)``."""
        return torch.cat(list(self.forward_parts(images).values()), dim=1)


@torch.no_grad()
def extract_features(extractor: nn.Module, images: torch.Tensor, *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Run ``extractor`` in eval mode over ``images (N, 3, H, W)`` in [0, 1]; returns ``(N, D)`` float32.

    The extractor's train/eval mode is restored afterwards.
    """
    images = check_images("images", images)
    batch_size = check_positive_int("batch_size", batch_size)
    was_training = extractor.training
    extractor.eval()
    device = next(extractor.parameters(), torch.empty(0)).device
    try:
        out = [extractor(chunk.to(device)).flatten(1).cpu() for chunk in images.split(batch_size)]
    finally:
        extractor.train(was_training)
    return torch.cat(out).numpy()


def down_path_stages(down: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The activation at every resolution of an Unsup3d down path: :meth:`DownPath.stages`.

    Args:
        down: a part's down path (:class:`~physdis_hub.nets.DownPath`, from ``model.part_encoders()``).
        x: ``(B, 3, 64, 64)`` in the down path's convention ([-1, 1]).
    """
    if not isinstance(down, DownPath):
        raise InputError(f"down: expected the DownPath of a part, got {type(down).__name__}")
    return down.stages(x)
