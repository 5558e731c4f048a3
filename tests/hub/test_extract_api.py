"""``PhysDisModel.extract``, the API pretrained models are used through: equal to the training pass's
features for every choice of parts, and strict about its inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from physdis_hub import PARTS, PhysDisModel

from ..helpers import small_config

SUBSETS = [c for r in range(1, len(PARTS) + 1) for c in itertools.combinations(PARTS, r)]


@pytest.fixture(scope="module")
def model() -> PhysDisModel:
    torch.manual_seed(0)
    return PhysDisModel(small_config()).eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(5, 3, 64, 64, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def forward_features(model, images) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return model(images * 2 - 1).features


def test_every_subset_and_order_of_parts_matches_the_full_forward(model, images, forward_features):
    with torch.no_grad():
        encoded = model._encode(images * 2 - 1)
    for part in PARTS:
        torch.testing.assert_close(encoded[part], forward_features[part], rtol=0, atol=0)
    for parts in [*SUBSETS, ("view", "geom"), ("alb", "light", "geom", "view")]:  # every subset, some orders
        expected = torch.cat([forward_features[p] for p in parts], dim=1)
        got = model.extract(images, parts=parts)
        assert got.shape == (5, 256 * len(parts)), parts
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6, msg=f"parts={parts}")
    as_dict = model.extract(images, parts=("light", "geom"), as_dict=True)
    assert list(as_dict) == ["light", "geom"]
    torch.testing.assert_close(as_dict["light"], forward_features["light"], rtol=0, atol=1e-6)


def test_batching_does_not_change_features(model, images):
    whole = model.extract(images, parts=PARTS)
    torch.testing.assert_close(model.extract(images, parts=PARTS, batch_size=2), whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "images",
    [
        pytest.param(torch.rand(2, 5, 64, 64), id="5-channels"),
        pytest.param(torch.rand(64, 64), id="2d-tensor"),
        pytest.param(torch.rand(1, 2, 3, 64, 64), id="5d-tensor"),
        pytest.param(np.zeros((5, 64, 64), np.float32), id="5-channels-first-array"),
        pytest.param(np.zeros((8, 8, 2), np.uint8), id="2-channel-array"),
        pytest.param(torch.rand(1, 3, 0, 8), id="zero-height"),
        pytest.param(torch.randint(0, 255, (2, 3, 64, 64), dtype=torch.int32), id="int32"),
        pytest.param(torch.ones(1, 3, 8, 8, dtype=torch.bool), id="bool"),
        pytest.param(torch.zeros(1, 3, 8, 8, dtype=torch.complex64), id="complex"),
        pytest.param(np.zeros((8, 8, 3), np.int64), id="int64-array"),
        pytest.param(torch.full((2, 3, 64, 64), float("nan")), id="nan"),
        pytest.param(torch.full((1, 3, 8, 8), float("inf")), id="inf"),
        pytest.param(np.full((8, 8, 3), -np.inf, np.float32), id="-inf-array"),
        pytest.param(torch.rand(1, 3, 8, 8) * 3, id="out-of-range"),
        pytest.param(torch.empty(0, 3, 64, 64), id="empty-batch"),
        pytest.param(np.zeros((0, 64, 64, 3), np.uint8), id="empty-array-batch"),
        pytest.param([], id="empty-list"),
        pytest.param(5, id="int"),
    ],
)
def test_bad_images_raise_value_error_naming_the_argument(model, images):
    with pytest.raises(ValueError, match="images"):
        model.extract(images)


@pytest.mark.parametrize("parts", [["shape"], [], ["geom", "geom"], ["geom", "Alb"]])
def test_bad_parts_raise_value_error_naming_the_argument(model, parts):
    with pytest.raises(ValueError, match="parts"):
        model.extract(torch.rand(1, 3, 64, 64), parts=parts)


def test_bad_batch_size_raises_value_error_naming_the_argument(model):
    with pytest.raises(ValueError, match="batch_size"):
        model.extract(torch.rand(1, 3, 64, 64), batch_size=0)


def test_a_list_of_images_of_different_sizes(model):
    images = [np.zeros((40, 50, 3), np.uint8), torch.rand(3, 70, 64)]
    assert model.extract(images, align=False).shape == (2, 512)  # no faces: centre crops


def test_parts_none_is_a_value_error(model):
    with pytest.raises(ValueError, match="parts"):
        model.extract(torch.rand(1, 3, 64, 64), parts=None)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(8, 128),
    width=st.integers(8, 128),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
    layout=st.sampled_from(["hwc-array", "bchw-tensor", "hw-array"]),
    seed=st.integers(0, 2**16),
)
def test_any_size_and_dtype_gives_finite_features(model, height, width, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.random((height, width, 3))
    array = (pixels * 255).astype(np.uint8) if dtype == np.uint8 else pixels.astype(dtype)
    images = {
        "hwc-array": array,
        "hw-array": array[..., 0],
        "bchw-tensor": torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None],
    }[layout]
    features = model.extract(images, parts=["geom", "alb"], align=False)  # noise: no faces to align
    assert features.shape == (1, 512) and features.dtype == torch.float32
    assert torch.isfinite(features).all()
