import math

import pytest
import torch

from physdis_hub.categories import CATEGORIES
from physdis_hub.config import SceneConfig
from physdis_hub.scene import (
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



def test_decode_depth_left_right_border_leaves_the_top_and_bottom_rows() -> None:
    # Unsup3d pads its border mask along the width only: the left and right 2 columns are set.
    raw = torch.randn(2, 1, 64, 64) * 5
    ring, columns = decode_depth(raw, SceneConfig()), decode_depth(raw, SceneConfig(border_edges="left-right"))
    assert (columns[..., :2] == 1.04).all() and (columns[..., -2:] == 1.04).all()
    decoded = 1.0 + 0.1 * (raw[:, 0] - raw.mean(dim=(1, 2, 3))[:, None, None]).tanh()
    torch.testing.assert_close(columns[..., 2:-2], decoded[..., 2:-2])  # top and bottom rows included
    torch.testing.assert_close(columns[:, 2:-2], ring[:, 2:-2])
    assert (ring[:, :2] == 1.04).all()


def test_decode_depth_without_centring_keeps_the_offset() -> None:
    # Unsup3d's centring pins the map's mean raw value, so the interior's depth depends on the
    # border's raw output (which the border depth then overwrites); without it, it does not.
    cfg = SceneConfig(center_depth=False)
    raw = torch.full((1, 1, 64, 64), -0.5)
    deep = decode_depth(raw, cfg)
    torch.testing.assert_close(deep[:, 2:-2, 2:-2], torch.full((1, 60, 60), 1.0 + 0.1 * math.tanh(-0.5)))
    assert (deep[:, :2] == cfg.border_depth).all()
    raw[..., :2, :] = 5.0  # only the overwritten border changes
    torch.testing.assert_close(decode_depth(raw, cfg), deep)
    centred = SceneConfig()
    assert not torch.allclose(decode_depth(raw, centred), decode_depth(torch.full_like(raw, -0.5), centred))


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
