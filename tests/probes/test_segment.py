"""Segmentation U-Net on pretrained down paths: shapes, training, freezing, scores."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.probes.baselines import random_init_like
from physdis_hub.probes.segment import (
    SegmentationUNet,
    evaluate_segmentation,
    segmentation_probe,
    train_segmentation,
)


def _toy_task(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with a bright square on a dark background; the mask marks square (1) vs rest (0)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, 64, 64, generator=g) * 0.2
    masks = torch.zeros(n, 64, 64, dtype=torch.long)
    for i, (r, c) in enumerate(torch.randint(4, 36, (n, 2), generator=g).tolist()):
        images[i, :, r : r + 24, c : c + 24] += 0.7
        masks[i, r : r + 24, c : c + 24] = 1
    return images, masks


def test_output_shape_and_stacked_skip_channels(small_model):
    enc = small_model.part_encoders()
    single = SegmentationUNet([enc["geom"]], num_classes=19, width=8)
    joint = SegmentationUNet([enc["geom"], enc["alb"]], num_classes=19, width=8)
    x = torch.rand(2, 3, 64, 64)
    assert single(x).shape == joint(x).shape == (2, 19, 64, 64)
    # joint: every skip carries both encoders' channels (16 + 16 at 32 px for nf=16)
    assert joint.blocks[3][0].in_channels == single.blocks[3][0].in_channels + 16


def test_loss_falls_and_frozen_encoder_is_unchanged(small_model):
    images, masks = _toy_task(16)
    torch.manual_seed(0)
    unet = SegmentationUNet([small_model.part_encoders()["geom"]], num_classes=2, freeze=True, width=8)
    before = {k: v.clone() for k, v in unet.encoders.state_dict().items()}
    history = train_segmentation(unet, images, masks, epochs=6, lr=3e-3, batch_size=8)
    assert history[-1] < 0.7 * history[0]
    assert all(torch.equal(before[k], v) for k, v in unet.encoders.state_dict().items())
    assert not unet.encoders.training  # frozen encoders stay in eval mode


def test_finetuned_encoder_changes_but_the_callers_model_does_not(small_model):
    down = small_model.part_encoders()["alb"]
    original = {k: v.clone() for k, v in down.state_dict().items()}
    images, masks = _toy_task(8)
    unet = SegmentationUNet([down], num_classes=2, width=8)
    train_segmentation(unet, images, masks, epochs=1, batch_size=8)
    assert not all(torch.equal(original[k], v) for k, v in unet.encoders[0].state_dict().items())
    assert all(torch.equal(original[k], v) for k, v in down.state_dict().items())


def test_probe_scores_the_toy_task_and_random_init_baseline_runs(small_model):
    train, test = _toy_task(24, seed=1), _toy_task(8, seed=2)
    encoders = [small_model.part_encoders()["geom"]]
    r = segmentation_probe(encoders, *train, *test, num_classes=2, epochs=8, lr=3e-3, batch_size=8, width=8)
    assert r.pixel_accuracy > 0.85 and r.epochs == 8 and len(r.per_class_iou) == 2
    assert 0 <= r.miou <= r.top10_miou <= 1  # with 2 classes top-10 = all
    baseline = segmentation_probe(
        [random_init_like(e) for e in encoders], *train, *test, num_classes=2, epochs=1, batch_size=8, width=8
    )
    assert 0 <= baseline.pixel_accuracy <= 1


def test_inputs_are_checked(small_model):
    unet = SegmentationUNet([small_model.part_encoders()["geom"]], num_classes=3, width=8)
    images = torch.rand(2, 3, 64, 64)
    with pytest.raises(ValueError, match="masks: expected integer class ids in \\[0, 3\\)"):
        evaluate_segmentation(unet, images, torch.full((2, 64, 64), 3))
    with pytest.raises(ValueError, match="masks: expected class maps of shape"):
        train_segmentation(unet, images, torch.zeros(2, 32, 32, dtype=torch.long))
    with pytest.raises(ValueError, match="encoders: expected a non-empty sequence"):
        SegmentationUNet([], num_classes=3)
    with pytest.raises(ValueError, match="images: contains NaN"):
        evaluate_segmentation(unet, torch.full((1, 3, 64, 64), float("nan")), torch.zeros(1, 64, 64, dtype=torch.long))
