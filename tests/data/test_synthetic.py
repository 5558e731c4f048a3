"""The synthetic generator: determinism, ground truth consistent with the image, distinct
identities, symmetric canonical objects, and OOD splits outside the training ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from physdis_hub.data import (
    SPLITS,
    LightRange,
    SyntheticConfig,
    SyntheticGenerator,
    ViewRange,
)
from physdis_hub.data.synthetic import scene_from_ground_truth

from .conftest import tiny_config

CATEGORIES = ("faces", "faces-ict", "cars")


@pytest.mark.parametrize("category", CATEGORIES)
def test_same_seed_same_samples_other_seed_other_samples(category: str) -> None:
    a = SyntheticGenerator(tiny_config(category)).render("train", range(4))
    b = SyntheticGenerator(tiny_config(category)).render("train", range(4))
    c = SyntheticGenerator(tiny_config(category, seed=1)).render("train", range(4))
    assert torch.equal(a.image, b.image) and torch.equal(a.depth, b.depth) and torch.equal(a.albedo, b.albedo)
    assert torch.equal(a.light.direction, b.light.direction) and torch.equal(a.view.rotation, b.view.rotation)
    assert not torch.allclose(a.image, c.image)


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_sample_does_not_depend_on_its_batch(generators, category: str) -> None:
    gen = generators[category]
    whole = gen.render("val", range(6))
    part = gen.render("val", [4, 1])
    assert torch.allclose(part.image, whole.image[[4, 1]], atol=1e-5)
    assert torch.allclose(part.depth, whole.depth[[4, 1]], atol=1e-6)


@pytest.mark.parametrize("category", CATEGORIES)
def test_rerendering_the_ground_truth_reproduces_the_image(generators, category: str) -> None:
    gen = generators[category]
    batch = gen.render("test-ood", range(12))
    again = gen.renderer.render(batch.scene())
    mask = batch.mask.expand_as(batch.image)
    assert mask.float().mean() > 0.6
    err = ((again.image + 1) / 2 - batch.image).abs()[mask]
    assert err.max() < 1e-5
    assert torch.equal(again.mask > 0.5, batch.mask)
    # through the flat ground-truth dict too (what a DataLoader collates)
    scene = scene_from_ground_truth(batch.ground_truth())
    assert torch.equal(gen.renderer.render(scene).image, again.image)


@pytest.mark.parametrize("category", CATEGORIES)
def test_backdrop_is_the_lit_background_colour(generators, category: str) -> None:
    gen = generators[category]
    batch = gen.render("test-ood-view", range(12))  # large yaw: the borders uncover the backdrop
    plan = gen.plan("test-ood-view")
    off = ~batch.mask[:, 0]
    assert off.any()
    light = batch.light
    plane = light.ambient + light.diffuse * light.direction[:, 2]
    expected = torch.from_numpy(plan.background[:12]).float() * plane[:, None]
    for i in range(12):
        if off[i].any():
            assert torch.allclose(
                batch.image[i][:, off[i]], expected[i][:, None].expand(3, int(off[i].sum())), atol=1e-6
            )
    assert batch.image.min() >= 0 and batch.image.max() <= 1


@pytest.mark.parametrize("category", CATEGORIES)
def test_canonical_objects_are_symmetric_and_in_the_depth_range(generators, category: str) -> None:
    gen = generators[category]
    batch = gen.render("train", range(18))
    scene = gen.category.scene
    assert torch.equal(batch.depth, batch.depth.flip(-1))
    assert torch.equal(batch.albedo, batch.albedo.flip(-1))
    assert torch.equal(batch.object_mask, batch.object_mask.flip(-1))
    assert batch.depth.min() >= scene.min_depth and batch.depth.max() <= scene.border_depth + 1e-6
    border = torch.ones(64, 64, dtype=torch.bool)
    border[2:-2, 2:-2] = False
    assert (batch.depth[:, border] == scene.border_depth).all()
    assert (batch.depth[batch.object_mask] < scene.border_depth).all()
    coverage = batch.object_mask.float().mean((1, 2))
    assert (coverage > 0.2).all() and (coverage < 0.8).all()
    assert batch.albedo.min() >= -1 and batch.albedo.max() <= 1


@pytest.mark.parametrize("category", CATEGORIES)
def test_identities_are_distinct_and_labels_follow_them(generators, category: str) -> None:
    gen = generators[category]
    n = gen.config.split_size("train")
    batch = gen.render("train", range(n))
    ids = batch.labels["identity"]
    assert ids.tolist() == np.repeat(np.arange(6), 3).tolist()
    firsts = [int((ids == i).nonzero()[0]) for i in range(6)]
    depth, albedo = batch.depth[firsts], batch.albedo[firsts]
    for i in range(6):
        for j in range(i + 1, 6):
            assert (depth[i] - depth[j]).abs().mean() > 1e-4, (i, j)
            assert (albedo[i] - albedo[j]).abs().mean() > 1e-3, (i, j)
    for spec in gen.category.attributes:
        labels = batch.labels[spec.name]
        assert labels.min() >= 0 and labels.max() < len(spec.classes)
        if spec.level == "identity":
            assert all(len(set(labels[ids == i].tolist())) == 1 for i in range(6))


def test_cars_images_of_one_identity_share_the_canonical_object(generators) -> None:
    batch = generators["cars"].render("train", range(3))  # identity 0, three lights and views
    assert torch.equal(batch.depth[0], batch.depth[1]) and torch.equal(batch.depth[0], batch.depth[2])
    on = batch.object_mask[0]
    assert torch.equal(batch.albedo[0][:, on], batch.albedo[2][:, on])
    assert not torch.allclose(batch.image[0], batch.image[1])


def test_face_expressions_change_the_geometry(generators) -> None:
    gen = generators["faces"]
    identity = {k: torch.as_tensor(v[[0, 0, 0]]) for k, v in gen.identity_params(np.array([0])).items()}
    identity = {k: (v.float() if v.is_floating_point() else v) for k, v in identity.items()}
    image = {"expression": torch.tensor([0, 1, 2]), "strength": torch.ones(3)}
    canon = gen.category.canonical(identity, image, gen.renderer.camera)
    mouth = canon.depth[:, 44:56, 20:44]
    assert (mouth[0] - mouth[1]).abs().max() > 1e-3 and (mouth[0] - mouth[2]).abs().max() > 1e-3


def _polar_deg(direction: torch.Tensor) -> torch.Tensor:
    return torch.rad2deg(torch.acos(direction[:, 2].clamp(-1, 1)))


@pytest.mark.parametrize("category", CATEGORIES)
def test_ood_splits_are_outside_the_training_ranges(category: str) -> None:
    cfg = tiny_config(category, test_identities=100, train_identities=100, images_per_identity=5)
    gen = SyntheticGenerator(cfg)
    stats = {}
    for split in SPLITS:
        plan = gen.plan(split)
        direction = torch.from_numpy(plan.direction)
        assert torch.allclose(direction.norm(dim=1), torch.ones(len(direction), dtype=torch.float64))
        stats[split] = (_polar_deg(direction), torch.from_numpy(plan.rotation[:, 1]).rad2deg().abs())
        # the rendered samples carry exactly these numbers
        batch = gen.render(split, [0, len(direction) - 1])
        assert torch.allclose(batch.light.direction.double(), direction[[0, -1]], atol=1e-7)
        assert torch.allclose(batch.view.rotation.double(), torch.from_numpy(plan.rotation[[0, -1]]), atol=1e-7)
    train_polar, train_yaw = stats["train"]
    (in_lo, in_hi), (ood_lo, ood_hi) = cfg.light_in.polar_deg, cfg.light_ood.polar_deg
    assert in_hi < ood_lo and ood_hi <= 45  # the model's light decoder reaches 45 degrees at every azimuth
    assert train_polar.min() >= in_lo - 1e-6 and train_polar.max() <= in_hi + 1e-6 and train_yaw.max() <= 25 + 1e-6
    for split in ("val", "test"):
        assert stats[split][0].max() <= in_hi + 1e-6 and stats[split][1].max() <= 25 + 1e-6
    for split in ("test-ood-light", "test-ood"):
        polar = stats[split][0]
        assert polar.min() >= ood_lo - 1e-6 and polar.max() <= ood_hi + 1e-6 and polar.min() > train_polar.max()
    for split in ("test-ood-view", "test-ood"):
        yaw = stats[split][1]
        assert yaw.min() >= 30 - 1e-6 and yaw.max() <= 45 + 1e-6 and yaw.min() > train_yaw.max()
    assert stats["test-ood-light"][1].max() <= 25 + 1e-6  # OOD light only
    assert stats["test-ood-view"][0].max() <= in_hi + 1e-6  # OOD view only
    # the ranges are covered: both signs of yaw, light from every side
    rot = gen.plan("test-ood").rotation[:, 1]
    assert (rot > 0).any() and (rot < 0).any()
    azimuth = np.arctan2(gen.plan("test-ood").direction[:, 1], gen.plan("test-ood").direction[:, 0])
    assert np.histogram(azimuth, bins=4, range=(-math.pi, math.pi))[0].min() > 0


def test_test_splits_share_identities_disjoint_from_training(generators) -> None:
    gen = generators["faces"]
    ids = {s: set(gen.plan(s).identity.tolist()) for s in SPLITS}
    assert ids["test"] == ids["test-ood"] == ids["test-ood-light"] == ids["test-ood-view"]
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["val"] and not ids["val"] & ids["test"]
    # test identities do not depend on the size of the training block
    other = SyntheticGenerator(tiny_config("faces", train_identities=9))
    a, b = gen.render("test", range(3)), other.render("test", range(3))
    assert torch.equal(a.depth, b.depth) and torch.equal(a.albedo, b.albedo)


def test_light_directions_stay_representable_by_the_model(generators) -> None:
    # decode_light: direction = normalize(lx, ly, 1) with |lx|, |ly| <= 1
    d = torch.from_numpy(generators["faces"].plan("test-ood").direction)
    assert (d[:, :2].abs() / d[:, 2:] <= 1 + 1e-6).all()


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"category": "dogs"}, "category"),
        ({"train_identities": 0}, "train_identities"),
        ({"light_ood": LightRange((0.4, 0.6), (0.3, 0.4), (20.0, 45.0))}, "light_ood"),
        ({"light_in": LightRange((0.4, 0.7), (0.3, 0.4), (0.0, 30.0))}, "<= 1"),
        ({"view_ood": ViewRange((20.0, 45.0), (-10.0, 10.0), (0.0, 0.0), 0.01)}, "view_ood"),
        ({"view_in": ViewRange((0.0, 70.0), (-10.0, 10.0), (0.0, 0.0), 0.01)}, "rotation range"),
        ({"background": (0.5, 1.5)}, "background"),
    ],
)
def test_config_errors_name_the_field(changes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SyntheticConfig(**changes)


def test_bad_split_and_indices_are_named(generators) -> None:
    gen = generators["faces"]
    with pytest.raises(ValueError, match="split"):
        gen.render("training", [0])
    with pytest.raises(IndexError, match="'val' has 6 samples"):
        gen.render("val", [6])


def test_batches_stream_a_whole_split_in_order(generators) -> None:
    gen = generators["cars"]
    batches = list(gen.batches("val", batch_size=4))
    assert [len(b.image) for b in batches] == [4, 2]
    assert torch.equal(torch.cat([b.labels["identity"] for b in batches]), torch.from_numpy(gen.plan("val").identity))


def test_config_fingerprint_and_dict() -> None:
    a, b = SyntheticConfig(), SyntheticConfig(seed=1)
    assert a.fingerprint() != b.fingerprint() and a.fingerprint() == SyntheticConfig().fingerprint()
    assert a.to_dict()["view_ood"]["abs_yaw_deg"] == [30.0, 45.0]
    assert SyntheticConfig.cars().light_in.diffuse[0] >= 0.5  # inside the cars configuration's diffuse range
    assert math.isclose(SyntheticConfig.cars().light_in.polar_deg[1], 30.0)


def test_textured_backdrops_stay_consistent_with_the_ground_truth() -> None:
    flat = SyntheticGenerator(tiny_config("faces"))
    textured = SyntheticGenerator(tiny_config("faces", background_texture=0.8))
    a, b = flat.render("train", range(4)), textured.render("train", range(4))
    obj = a.object_mask[:, None]
    assert torch.equal(a.albedo * obj, b.albedo * obj)  # the face itself is unchanged
    assert (b.albedo - a.albedo).abs().amax() > 0.1  # the backdrop is not
    again = textured.renderer.render(scene_from_ground_truth(b.ground_truth()))
    m = b.mask
    assert torch.allclose((again.image + 1) / 2 * m, b.image * m, atol=1e-5)
    with pytest.raises(ValueError, match="background_texture"):
        tiny_config("faces", background_texture=1.5)
