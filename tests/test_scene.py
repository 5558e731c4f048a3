import math

import pytest
import torch

from physdis_hub.categories import CATEGORIES
from physdis_hub.config import ModelConfig, SceneConfig
from physdis_hub.errors import UnknownNameError
from physdis_hub.render import Renderer
from physdis_hub.scene import (
    LIGHT_DIRECTIONS,
    Light,
    SceneParams,
    View,
    decode_depth,
    decode_light,
    decode_view,
    encode_light,
    encode_view,
    region_luminance,
    shade,
    shading,
    vertical_contrast,
)

from .helpers import face_like_scene


def test_decode_depth_range_and_border() -> None:
    cfg = SceneConfig()
    depth = decode_depth(torch.randn(3, 1, 64, 64) * 5, cfg)
    inner = depth[:, 2:-2, 2:-2]
    assert depth.shape == (3, 64, 64)
    assert inner.min() >= cfg.min_depth and inner.max() <= cfg.max_depth
    assert (depth[:, :2] == cfg.border_depth).all() and (depth[:, :, -2:] == cfg.border_depth).all()
    # A constant network output gives the middle of the range (mean removed, tanh(0) = 0).
    flat = decode_depth(torch.full((1, 1, 64, 64), 3.0), cfg)
    torch.testing.assert_close(flat[:, 2:-2, 2:-2], torch.full((1, 60, 60), 1.0))


def test_decode_depth_centres_each_map() -> None:
    # Unsup3d's decode subtracts each map's mean raw value: a constant offset of the network's
    # output changes nothing, and the interior depends on the raw border, which is then overwritten.
    cfg = SceneConfig()
    g = torch.Generator().manual_seed(0)
    raw = torch.randn(2, 1, 64, 64, generator=g)
    depth = decode_depth(raw, cfg)
    torch.testing.assert_close(decode_depth(raw + 3.0, cfg), depth)
    assert (depth[:, :2] == cfg.border_depth).all()
    raw[..., :2, :] = 5.0
    assert not torch.allclose(decode_depth(raw, cfg)[:, 2:-2, 2:-2], depth[:, 2:-2, 2:-2])


def test_decode_depth_left_right_border_leaves_the_top_and_bottom_rows() -> None:
    # Unsup3d pads its border mask along the width only: the left and right 2 columns are set.
    raw = torch.randn(2, 1, 64, 64) * 5
    ring, columns = decode_depth(raw, SceneConfig()), decode_depth(raw, SceneConfig(border_edges="left-right"))
    assert (columns[..., :2] == 1.04).all() and (columns[..., -2:] == 1.04).all()
    decoded = 1.0 + 0.1 * (raw[:, 0] - raw.mean(dim=(1, 2, 3))[:, None, None]).tanh()
    torch.testing.assert_close(columns[..., 2:-2], decoded[..., 2:-2])  # top and bottom rows included
    torch.testing.assert_close(columns[:, 2:-2], ring[:, 2:-2])
    assert (ring[:, :2] == 1.04).all()


def test_decode_light_and_view_ranges() -> None:
    cfg = CATEGORIES["cars"].scene
    light = decode_light(torch.tensor([[-1.0, -1.0, 0.0, 0.0], [1.0, 1.0, 0.5, -0.5]]), cfg)
    torch.testing.assert_close(light.ambient, torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(light.diffuse, torch.tensor([0.5, 1.0]))
    torch.testing.assert_close(light.direction.norm(dim=1), torch.ones(2))
    view = decode_view(torch.tensor([[1.0, -1.0, 0.5, 1.0, -1.0, 1.0]]), cfg)
    torch.testing.assert_close(view.rotation, torch.tensor([[math.pi / 3, -math.pi / 3, math.pi / 6]]))
    torch.testing.assert_close(view.translation, torch.tensor([[0.1, -0.1, 0.0]]))


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_encode_inverts_decode_for_light_and_view(category: str) -> None:
    cfg = CATEGORIES[category].scene
    raw_light = torch.rand(7, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.testing.assert_close(encode_light(decode_light(raw_light, cfg), cfg), raw_light)
    raw_view = torch.rand(7, 6, generator=torch.Generator().manual_seed(1)) * 2 - 1
    if cfg.z_translation_range == 0:
        raw_view[:, 5] = 0  # a zero-width range decodes every output to 0, so 0 is its only inverse
    torch.testing.assert_close(encode_view(decode_view(raw_view, cfg), cfg), raw_view)


def test_encode_clamps_what_the_decoder_cannot_express() -> None:
    cfg = CATEGORIES["cars"].scene  # diffuse in [0.5, 1]
    steep = Light.from_angles(torch.tensor([2.0]), torch.tensor([0.2]), torch.tensor([1.2]), torch.tensor([-1.2]))
    torch.testing.assert_close(encode_light(steep, cfg), torch.tensor([[1.0, -1.0, -1.0, 1.0]]))
    far = View(torch.tensor([[math.radians(80), -math.radians(70), 0.0]]), torch.tensor([[0.5, -0.5, 0.0]]))
    torch.testing.assert_close(encode_view(far, cfg), torch.tensor([[1.0, -1.0, 0.0, 1.0, -1.0, 0.0]]))


def test_light_angles_round_trip() -> None:
    pitch, yaw = torch.tensor([0.3, -0.5]), torch.tensor([-0.2, 0.7])
    light = Light.from_angles(torch.zeros(2), torch.ones(2), pitch, yaw)
    p2, y2 = light.angles()
    torch.testing.assert_close(p2, pitch)
    torch.testing.assert_close(y2, yaw)


FIRST, SECOND, ALL = slice(8, 32), slice(32, 56), slice(None)
"""Halves of a 64-pixel side, inside the border, and the whole side."""


@pytest.mark.parametrize(
    ("name", "lit", "dark"),
    [
        ("left", (ALL, FIRST), (ALL, SECOND)),
        ("right", (ALL, SECOND), (ALL, FIRST)),
        ("top", (FIRST, ALL), (SECOND, ALL)),
        ("bottom", (SECOND, ALL), (FIRST, ALL)),
    ],
)
def test_named_light_directions_light_the_side_they_name(name: str, lit: tuple, dark: tuple) -> None:
    """A face-like relief lit from a named side is brighter on that side of the image."""
    scene = face_like_scene(1)
    light = Light(torch.tensor([0.1]), torch.tensor([0.9]), torch.tensor([[0.0, 0.0, 1.0]])).turned(name)
    shade_map = Renderer(ModelConfig()).canonical(scene.with_light(light))[1][0, 0]
    assert float(shade_map[lit].mean()) > float(shade_map[dark].mean()) + 0.2
    assert torch.equal(light.ambient, torch.tensor([0.1])) and torch.equal(light.diffuse, torch.tensor([0.9]))
    pitch, yaw = (math.degrees(float(a)) for a in light.angles())
    assert (pitch, yaw) == pytest.approx(LIGHT_DIRECTIONS[name], abs=1e-4)


def test_turned_refuses_unknown_names_and_bad_angles() -> None:
    light = Light(torch.zeros(1), torch.ones(1), torch.tensor([[0.0, 0.0, 1.0]]))
    with pytest.raises(UnknownNameError, match="unknown light direction 'lft'; did you mean 'left'"):
        light.turned("lft")
    for bad in ((90.0, 0.0), (0.0,), (float("nan"), 0.0), "30,20"):
        with pytest.raises((ValueError, UnknownNameError), match="light"):
            light.turned(bad)  # type: ignore[arg-type]
    torch.testing.assert_close(light.turned((0.0, 0.0)).direction, light.direction)


def test_lambertian_shading() -> None:
    normal = torch.zeros(1, 4, 4, 3)
    normal[..., 2] = 1  # fronto-parallel surface
    light = Light(torch.tensor([0.2]), torch.tensor([0.5]), torch.tensor([[0.0, 0.0, 1.0]]))
    torch.testing.assert_close(shading(normal, light), torch.full((1, 1, 4, 4), 0.7))
    behind = Light(torch.tensor([0.2]), torch.tensor([0.5]), torch.tensor([[0.0, 0.0, -1.0]]))
    torch.testing.assert_close(shading(normal, behind), torch.full((1, 1, 4, 4), 0.2))
    white = torch.ones(1, 3, 4, 4)
    torch.testing.assert_close(shade(white, torch.full((1, 1, 4, 4), 0.5)), torch.zeros(1, 3, 4, 4))


def test_flip_mirrors_depth_and_albedo_only() -> None:
    scene = face_like_scene(1, yaw_deg=10.0)
    scene.depth[0, 20, 10] = 1.09
    flipped = scene.flipped()
    assert flipped.depth[0, 20, 53] == pytest.approx(1.09)
    assert torch.equal(flipped.albedo, scene.albedo.flip(-1))
    assert flipped.view is scene.view and flipped.light is scene.light


def test_scene_cat_joins_batches_in_order() -> None:
    a, b = face_like_scene(2), face_like_scene(3)
    joined = SceneParams.cat([a, b])
    assert joined.batch_size == 5
    torch.testing.assert_close(joined.light.direction, torch.cat([a.light.direction, b.light.direction]))
    torch.testing.assert_close(joined.view.translation, torch.cat([a.view.translation, b.view.translation]))
    torch.testing.assert_close(joined.albedo[2:], b.albedo)
    assert SceneParams.cat([a]) is a
    with pytest.raises(ValueError, match="scenes"):
        SceneParams.cat([])


def test_vertical_contrast_is_top_minus_bottom_over_the_region() -> None:
    albedo = torch.zeros(2, 3, 8, 8)
    albedo[0, :, :4] = 0.5  # a brighter top
    albedo[1, 0, 4:] = 0.9  # a red bottom: luminance 0.3
    region = torch.zeros(2, 8, 8, dtype=torch.bool)
    region[:, 2:7, 2:6] = True
    torch.testing.assert_close(vertical_contrast(albedo, region), torch.tensor([0.5, -0.3]))
    outside = albedo.clone()
    outside[:, :, :, :2] = 7.0  # columns outside the region do not count
    torch.testing.assert_close(vertical_contrast(outside, region), vertical_contrast(albedo, region))
    region[1, 4:] = False
    with pytest.raises(ValueError, match="both the top and the bottom"):
        vertical_contrast(albedo, region)
    whole = vertical_contrast(albedo)  # no region: the whole image, top 4 rows against bottom 4
    torch.testing.assert_close(whole, torch.tensor([0.5, -0.3]))


def test_region_luminance_is_the_channel_mean_over_the_region() -> None:
    image = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    image[0, 0] = 0.9  # red: luminance 0.3
    image[1, :, :2] = 0.6  # a bright top half
    region = torch.zeros(2, 4, 4, dtype=torch.bool)
    region[0, 1:3, 1:3] = True
    region[1, 1:3] = True  # one row of the top half, one of the bottom
    out = region_luminance(image, region)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.tensor([0.3, 0.3], dtype=torch.float64))
    assert torch.isnan(region_luminance(image, torch.zeros_like(region))).all()
