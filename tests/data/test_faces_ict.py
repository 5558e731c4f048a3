"""Faces with ICT Face Model shapes: recorded factors match what was drawn and rendered, and each
group of factors changes what it should."""

from __future__ import annotations

import numpy as np
import torch

from physdis_hub.data import SyntheticDataset
from physdis_hub.data.faces import NOSE_DEPTH
from physdis_hub.data.faces_ict import ALBEDO_FACTORS, EXPRESSION_CLASSES

from .conftest import tiny_config


def test_factors_have_their_named_columns_and_match_the_scene(generators) -> None:
    gen = generators["faces-ict"]
    batch = gen.render("train", range(9))  # identities 0, 1, 2, three images each
    names = gen.factor_names()
    assert set(batch.factors) == set(names) == {"light", "view", "shape", "expression", "albedo"}
    for key, value in batch.factors.items():
        assert value.dtype == torch.float32 and value.shape == (9, len(names[key])), key
    assert names["expression"] == gen.category.model.expression_names and names["albedo"] == ALBEDO_FACTORS
    light, view = batch.factors["light"], batch.factors["view"]
    assert torch.allclose(light[:, 0], batch.light.ambient) and torch.allclose(light[:, 2:], batch.light.direction)
    assert torch.allclose(view[:, :3], batch.view.rotation) and torch.allclose(
        view[:, 3:], batch.view.translation[:, :2]
    )
    params = gen.identity_params(gen.plan("train").identity[:9])
    assert np.allclose(batch.factors["shape"][:, :30].numpy(), params["shape_coefficients"], atol=1e-6)
    assert np.allclose(batch.factors["albedo"][:, ALBEDO_FACTORS.index("beard")].numpy(), params["beard"], atol=1e-6)
    shape, expression = batch.factors["shape"], batch.factors["expression"]
    assert torch.equal(shape[0], shape[2]) and not torch.equal(shape[0], shape[3])  # per identity
    assert not torch.equal(expression[0], expression[1])  # per image
    assert ((expression == 0) | ((expression > 0) & (expression <= 1))).all()


def _canonical_depth(gen, identity_coeffs: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:  # type: ignore[no-untyped-def]
    n = len(identity_coeffs)
    identity = {k: torch.as_tensor(v[[0] * n]) for k, v in gen.identity_params(np.array([0])).items()}
    identity = {k: (v.float() if v.is_floating_point() else v) for k, v in identity.items()}
    identity["shape_coefficients"] = identity_coeffs
    return gen.category.canonical(identity, {"expression_weights": expression}, gen.renderer.camera).depth


def test_shape_and_expression_coefficients_move_the_surface(generators) -> None:
    gen = generators["faces-ict"]
    model = gen.category.model
    ki, ke = len(model.identity_modes), len(model.expression_modes)
    coeffs = torch.zeros(3, ki)
    coeffs[1, 0] = 2.0  # the first identity mode
    expression = torch.zeros(3, ke)
    expression[2, model.expression_names.index("jawOpen")] = 1.0
    depth = _canonical_depth(gen, coeffs, expression)
    assert (depth[0] - depth[1]).abs().amax() > 1e-3  # identity mode
    lower, upper = (depth[0] - depth[2]).abs()[40:60], (depth[0] - depth[2]).abs()[5:20]
    assert lower.amax() > 1e-3 and upper.amax() < lower.amax() / 5  # the jaw moves, the forehead does not


def test_labels_follow_the_continuous_factors(generators) -> None:
    gen = generators["faces-ict"]
    batch = gen.render("train", range(18))
    tone = batch.factors["albedo"][:, ALBEDO_FACTORS.index("skin_tone")]
    assert torch.equal(batch.labels["skin"], (tone * 3).long().clamp(max=2))
    heaviest = batch.factors["expression"].amax(1)
    neutral = batch.labels["expression"] == EXPRESSION_CLASSES.index("neutral")
    assert torch.equal(neutral, heaviest <= 0.3)


def test_dataset_items_carry_the_factors() -> None:
    ds = SyntheticDataset(tiny_config("faces-ict"), "val", chunk_size=3)
    item = ds[4]
    assert item["factors"]["shape"].shape == (33,) and item["factors"]["albedo"].shape == (19,)
    assert set(item["labels"]) == {"identity", "skin", "hair", "facial_hair", "expression"}


def test_neutral_face_is_placed_as_documented(generators) -> None:
    gen = generators["faces-ict"]
    model = gen.category.model
    depth = _canonical_depth(
        gen, torch.zeros(1, len(model.identity_modes)), torch.zeros(1, len(model.expression_modes))
    )[0]
    row, col = divmod(int(depth.argmin()), depth.shape[1])
    assert abs(float(depth.min()) - NOSE_DEPTH) < 2e-3  # the nose tip is the nearest point, at NOSE_DEPTH
    assert col in (31, 32) and 28 <= row <= 40  # on the symmetry axis, a little below the centre
