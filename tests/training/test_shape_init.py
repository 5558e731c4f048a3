"""The convex start: the template is convex and expressible, the weight schedule, the objective's term."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.categories import CATEGORIES
from physdis_hub.model import PhysDisModel
from physdis_hub.scene import DEPTH_BORDER
from training.data import collate_images
from training.objective import TrainingObjective
from training.presets import build_preset
from training.shape_init import ShapeInitConfig, ellipsoid_depth, template_l1


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_template_is_a_convex_bump_inside_the_decoder_range(category: str) -> None:
    scene = CATEGORIES[category].scene
    config = ShapeInitConfig(steps=10)
    t = ellipsoid_depth(64, scene, config)
    assert t.shape == (64, 64)
    assert scene.min_depth <= float(t.min()) and float(t.max()) <= scene.max_depth
    # the apex (nearest to the camera) is the centre, the corners are at the border depth
    centre = float(t[31:33, 31:33].mean())
    assert centre == pytest.approx(scene.border_depth - 0.6 * (scene.max_depth - scene.min_depth), abs=2e-3)
    assert float(t[0, 0]) == pytest.approx(scene.border_depth)
    # convex: depth grows monotonically from the centre along both axes
    row, col = t[32, 32:], t[32:, 32]
    assert bool((row[1:] >= row[:-1] - 1e-7).all()) and bool((col[1:] >= col[:-1] - 1e-7).all())
    assert float(t[32, 32 + 20]) > float(t[32 + 20, 32])  # narrower than tall: semi-axes (0.75, 0.9)


def test_weight_schedule_falls_linearly_to_zero() -> None:
    config = ShapeInitConfig(steps=4, weight=8.0)
    assert [config.weight_at(s) for s in range(1, 7)] == [8.0, 6.0, 4.0, 2.0, 0.0, 0.0]
    assert ShapeInitConfig().weight_at(1) == 0.0 and not ShapeInitConfig().enabled
    with pytest.raises(ValueError, match="step"):
        config.weight_at(0)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"steps": -1}, "steps"),
        ({"steps": 1.5}, "steps"),
        ({"weight": -1.0}, "weight"),
        ({"semi_axes": (0.0, 1.0)}, "semi_axes"),
        ({"bulge": 1.5}, "bulge"),
    ],
)
def test_config_checks_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"ShapeInitConfig\.{field}"):
        ShapeInitConfig(**changes)


def test_template_l1_ignores_the_fixed_border() -> None:
    template = torch.full((8, 8), 1.0)
    depth = torch.full((2, 8, 8), 1.0)
    depth[:, :DEPTH_BORDER] = 5.0  # the decoder fixes the border; the pull must not see it
    assert float(template_l1(depth, template)) == 0.0
    depth[:, 4, 4] = 1.5
    assert float(template_l1(depth, template)) == pytest.approx(0.5 / (2 * 4 * 4) * 2)


def test_objective_pulls_the_depth_towards_the_template(tiny_splits) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    config = build_preset("tiny")
    model = PhysDisModel(config.model)
    shape_init = ShapeInitConfig(steps=50, weight=10.0)
    objective = TrainingObjective(model, config.loocc, shape_init=shape_init)
    x = collate_images([tiny_splits.train[i] for i in range(4)]) * 2 - 1
    without = TrainingObjective(model, config.loocc)(x)
    assert "shape_init" not in without
    with pytest.raises(ValueError, match="shape_init_weight"):
        TrainingObjective(model, config.loocc)(x, None, 1.0)
    terms = objective(x, None, shape_init.weight_at(1))
    expected = terms["recon"] + 10.0 * terms["shape_init"]
    assert float(terms["total"].detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    # a few steps on the pull alone move the canonical depth towards the convex template
    optimizer = torch.optim.Adam(model.depth_net.parameters(), lr=1e-3)
    first = float(terms["shape_init"])
    for _ in range(20):
        optimizer.zero_grad()
        objective(x, None, 1.0)["shape_init"].backward()
        optimizer.step()
    assert float(objective(x, None, 0.0)["shape_init"]) < 0.7 * first
