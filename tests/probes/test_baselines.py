"""Baselines: pixel PCA, random-init copies, the timm-compatible ResNet-18."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from sklearn.decomposition import PCA

from physdis_hub.probes.baselines import PixelPCA, ResNet18Extractor, random_init_like
from physdis_hub.probes.extractors import (
    PartsExtractor,
    down_path_stages,
    extract_features,
)
from physdis_hub.probes.resnet import ResNet18, load_resnet18_weights


def test_pixel_pca_matches_sklearn_up_to_sign():
    images = torch.rand(40, 3, 8, 8)
    ours = extract_features(PixelPCA(5).fit(images), images)
    ref = PCA(5, svd_solver="full").fit_transform(images.flatten(1).double().numpy())
    assert np.allclose(np.abs(ours), np.abs(ref), atol=1e-4)


def test_pixel_pca_errors_and_raw_pixels():
    images = torch.rand(4, 3, 8, 8)
    assert PixelPCA(None).fit(images)(images).shape == (4, 192)
    with pytest.raises(ValueError, match="k: 10 components need at least 10 images"):
        PixelPCA(10).fit(images)
    with pytest.raises(RuntimeError, match="call fit"):
        PixelPCA(2)(images)


def test_random_init_is_a_seeded_fresh_copy(small_model):
    extractor = PartsExtractor.from_model(small_model, ("geom", "light"))
    images = torch.rand(4, 3, 64, 64)
    a, b = random_init_like(extractor, seed=1), random_init_like(extractor, seed=1)
    assert torch.equal(a.encoders["geom"][0].weight, b.encoders["geom"][0].weight)
    assert not torch.equal(a.encoders["geom"][0].weight, extractor.encoders["geom"][0].weight)
    assert extract_features(a, images).shape == extract_features(extractor, images).shape == (4, 256 + 256)


def test_parts_extractor_matches_model_extract(small_model):
    images = torch.rand(5, 3, 64, 64)
    extractor = PartsExtractor.from_model(small_model, ("alb", "geom"))
    expected = small_model.extract(images, parts=("alb", "geom"))
    assert np.allclose(extract_features(extractor, images, batch_size=2), expected.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="parts: \\['shape'\\] not among"):
        PartsExtractor.from_model(small_model, ("shape",))


def test_down_path_stages_resolutions(small_model):
    stages = down_path_stages(small_model.part_encoders()["view"], torch.zeros(1, 3, 64, 64))
    assert [tuple(s.shape[1:]) for s in stages] == [(32, 32, 32), (64, 16, 16), (128, 8, 8), (256, 4, 4), (256, 1, 1)]


def test_resnet18_has_timm_names_and_size():
    model = ResNet18()
    keys = model.state_dict().keys()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    assert len(keys) == 122
    for key in (
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer3.0.downsample.1.weight",
        "layer4.1.bn2.num_batches_tracked",
        "fc.weight",
        "fc.bias",
    ):
        assert key in keys


def test_resnet18_weights_round_trip_and_head_is_dropped(tmp_path):
    torch.manual_seed(0)
    source = ResNet18().eval()
    save_file(source.state_dict(), str(tmp_path / "r18.safetensors"))
    torch.save(source.state_dict(), tmp_path / "r18.pth")
    images = torch.rand(2, 3, 64, 64)
    for name in ("r18.safetensors", "r18.pth"):
        extractor = ResNet18Extractor(tmp_path / name).eval()
        expected = source.forward_features((images - extractor.mean) / extractor.std).mean((2, 3))
        assert torch.allclose(extractor(images), expected, atol=1e-5)
    with pytest.raises(ValueError, match="weights: keys do not match"):
        load_resnet18_weights(ResNet18(), _bad(tmp_path))
    with pytest.raises(ValueError, match="weights: .* is not a file"):
        load_resnet18_weights(ResNet18(), tmp_path / "absent.pth")


def _bad(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    return path
