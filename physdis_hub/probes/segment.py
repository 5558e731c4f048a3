"""Segmentation probe (paper Sec. 4.7): a U-Net whose encoder is a pretrained part down path.

The encoder is one or more Unsup3d down paths (geometry, albedo, or both). With several, their
activations are concatenated along channels at every skip (32, 16, 8 and 4 px) and at the 1x1
bottleneck. The decoder is randomly initialised. Frozen encoders keep their weights and stay in eval
mode; otherwise they are fine-tuned with the decoder. The supervised baseline is the same U-Net with a
random encoder (:func:`~physdis_hub.probes.baselines.random_init_like`).

Scores (:func:`~physdis_hub.probes.metrics.segmentation_scores`): mIoU over the classes present in
the targets or predictions, top-10 mIoU (mean of the 10 best class IoUs) and pixel accuracy.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..vocab import to_network_range
from ._checks import check_positive_int
from ._train import fit
from .extractors import check_images, down_path_stages
from .metrics import confusion_matrix, per_class_iou, segmentation_scores
from .report import ProbeResult

CELEBAMASK_CLASSES = 19
"""CelebAMask-HQ: background + 18 face parts."""


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SegmentationUNet(nn.Module):
    """U-Net with Unsup3d down paths as its encoder.

    Args:
        encoders: one or more down paths (:class:`~physdis_hub.nets.DownPath`, input ``(B, 3, 64, 64)`` in [-1, 1]), e.g.
            ``[model.part_encoders()["geom"], model.part_encoders()["alb"]]``. They are deep-copied, so
            training never changes the caller's model.
        num_classes: output classes (CelebAMask-HQ: 19).
        freeze: keep the encoders' weights fixed (and their normalisation layers in eval mode).
        width: decoder width; the decoder has ``8w, 4w, 2w, w, w`` channels at 4, 8, 16, 32, 64 px.

    ``forward``: images ``(B, 3, 64, 64)`` in [0, 1] -> logits ``(B, num_classes, 64, 64)``.
    """

    def __init__(
        self,
        encoders: Sequence[nn.Module],
        num_classes: int = CELEBAMASK_CLASSES,
        *,
        freeze: bool = False,
        width: int = 64,
    ) -> None:
        super().__init__()
        if isinstance(encoders, nn.Module) or len(encoders) == 0:
            raise InputError("encoders: expected a non-empty sequence of down paths")
        num_classes = check_positive_int("num_classes", num_classes, minimum=2)
        width = check_positive_int("width", width)
        self.encoders = nn.ModuleList(copy.deepcopy(e) for e in encoders)
        self.freeze = freeze
        self.num_classes = num_classes
        if freeze:
            self.encoders.requires_grad_(False)
        with torch.no_grad():
            probe = [down_path_stages(e.eval(), torch.zeros(1, 3, 64, 64)) for e in self.encoders]
        sizes = [tuple(s.shape[-1] for s in stages) for stages in probe]
        if any(sz != (32, 16, 8, 4, 1) for sz in sizes):
            raise InputError(f"encoders: expected stages at 32, 16, 8, 4 and 1 px, got {sizes}")
        chans = [sum(stages[i].shape[1] for stages in probe) for i in range(5)]  # 32, 16, 8, 4, 1 px
        d = [8 * width, 4 * width, 2 * width, width, width]  # 4, 8, 16, 32, 64 px
        self.up_from_bottleneck = nn.ConvTranspose2d(chans[4], d[0], 4)  # 1 -> 4
        self.blocks = nn.ModuleList(_conv_block(d[i] + chans[3 - i], d[i]) for i in range(4))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(d[i], d[i + 1], 4, 2, 1) for i in range(4))
        self.final = nn.Sequential(_conv_block(d[4], d[4]), nn.Conv2d(d[4], num_classes, 1))
        self.train()

    def train(self, mode: bool = True) -> SegmentationUNet:
        super().train(mode)
        if self.freeze:
            self.encoders.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = to_network_range(images)
        per_encoder = [down_path_stages(e, x) for e in self.encoders]
        stages = [torch.cat(level, dim=1) for level in zip(*per_encoder)]  # 32, 16, 8, 4, 1 px
        h = self.up_from_bottleneck(stages[4])
        for i in range(4):
            h = self.ups[i](self.blocks[i](torch.cat([h, stages[3 - i]], dim=1)))
        return self.final(h)


def _check_masks(name: str, masks: torch.Tensor, images: torch.Tensor, num_classes: int) -> torch.Tensor:
    if not isinstance(masks, torch.Tensor) or masks.shape != (images.shape[0], *images.shape[2:]):
        shape = tuple(masks.shape) if isinstance(masks, torch.Tensor) else type(masks).__name__
        raise InputError(f"{name}: expected class maps of shape {(images.shape[0], *images.shape[2:])}, got {shape}")
    if masks.is_floating_point() or masks.min() < 0 or masks.max() >= num_classes:
        raise InputError(f"{name}: expected integer class ids in [0, {num_classes})")
    return masks.long()


def train_segmentation(
    unet: SegmentationUNet,
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> list[float]:
    """Train ``unet`` in place with Adam and per-pixel cross-entropy.

    Args:
        unet: the model.
        images: ``(N, 3, 64, 64)`` in [0, 1].
        masks: ``(N, 64, 64)`` integer class ids.
        epochs, lr, batch_size, seed: training settings (paper: 20 epochs).

    Returns:
        Mean training loss of each epoch.
    """
    images = check_images("images", images)
    num_classes = unet.num_classes
    masks = _check_masks("masks", masks, images, num_classes)
    return fit(unet, images, masks, nn.CrossEntropyLoss(), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)


@dataclass
class SegmentationResult(ProbeResult):
    """Segmentation scores on a test set.

    Attributes:
        miou: mean IoU over the classes present in targets or predictions.
        top10_miou: mean of the 10 largest class IoUs.
        pixel_accuracy: fraction of correctly labelled pixels.
        per_class_iou: ``num_classes`` IoUs (``None`` in JSON for absent classes).
        frozen: whether the encoder was frozen.
        epochs: training epochs (0 when only evaluated).
        final_loss: mean training loss of the last epoch (NaN when only evaluated).
    """

    miou: float
    top10_miou: float
    pixel_accuracy: float
    per_class_iou: list[float] = field(default_factory=list)
    frozen: bool = False
    epochs: int = 0
    final_loss: float = float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "mIoU": self.miou,
            "top-10 mIoU": self.top10_miou,
            "pixel acc": self.pixel_accuracy,
            "frozen": self.frozen,
            "epochs": self.epochs,
        }


@torch.no_grad()
def evaluate_segmentation(
    unet: SegmentationUNet, images: torch.Tensor, masks: torch.Tensor, *, batch_size: int = 256
) -> SegmentationResult:
    """Score ``unet`` on ``images (N, 3, 64, 64)`` in [0, 1] against ``masks (N, 64, 64)``."""
    images = check_images("images", images)
    num_classes = unet.num_classes
    masks = _check_masks("masks", masks, images, num_classes)
    unet.eval()
    device = next(unet.parameters()).device
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)
    for x, m in zip(images.split(batch_size), masks.split(batch_size)):
        predicted = unet(x.to(device)).argmax(1).cpu()
        conf += confusion_matrix(m.numpy(), predicted.numpy(), num_classes)
    miou, top10, pixel_acc = segmentation_scores(conf, top_k=10)
    return SegmentationResult(miou, top10, pixel_acc, per_class_iou(conf).tolist(), frozen=unet.freeze)


def segmentation_probe(
    encoders: Sequence[nn.Module],
    train_images: torch.Tensor,
    train_masks: torch.Tensor,
    test_images: torch.Tensor,
    test_masks: torch.Tensor,
    *,
    num_classes: int = CELEBAMASK_CLASSES,
    freeze: bool = False,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 64,
    width: int = 64,
    seed: int = 0,
) -> SegmentationResult:
    """Build a :class:`SegmentationUNet` on ``encoders``, train it and score it on the test set.

    Args:
        encoders: down paths (see :class:`SegmentationUNet`).
        train_images, test_images: ``(N, 3, 64, 64)`` in [0, 1].
        train_masks, test_masks: ``(N, 64, 64)`` class ids in ``[0, num_classes)``.
        num_classes, freeze, width: see :class:`SegmentationUNet`.
        epochs, lr, batch_size, seed: see :func:`train_segmentation`.
    """
    torch.manual_seed(seed)
    unet = SegmentationUNet(encoders, num_classes, freeze=freeze, width=width)
    history = train_segmentation(
        unet, train_images, train_masks, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed
    )
    result = evaluate_segmentation(unet, test_images, test_masks, batch_size=batch_size)
    result.epochs, result.final_loss = epochs, history[-1]
    return result
