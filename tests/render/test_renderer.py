import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from physdis_hub.config import ModelConfig, RenderConfig
from physdis_hub.render import Camera, Renderer, normals_from_depth
from physdis_hub.render.camera import transform_points
from physdis_hub.scene import Light, SceneParams, View

from ..helpers import face_like_scene
from .raycast import raycast


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(ModelConfig())


def test_identity_view_reproduces_canonical_image_and_depth(renderer: Renderer) -> None:
    scene = face_like_scene(2)
    out = renderer.render(scene)
    assert (out.depth - scene.depth).abs().max() < 1e-4
    assert out.mask.all()
    torch.testing.assert_close(out.image, out.canonical, atol=1e-4, rtol=0)


@pytest.mark.parametrize("yaw,pitch", [(20.0, 0.0), (-35.0, 10.0)])
def test_rotated_render_matches_raycast_textured_reference(renderer: Renderer, yaw: float, pitch: float) -> None:
    """Independent path: ray-cast the posed mesh, interpolate each hit's canonical 3D point from
    the triangle's canonical vertices, project it, and bilinearly sample the canonical image there."""
    scene = face_like_scene(1, yaw, pitch).map(lambda t: t.double())
    out = Renderer(ModelConfig()).double().render(scene)
    cam = renderer.camera
    pts = transform_points(cam.unproject(scene.depth), scene.view.rotation, scene.view.translation, 1.0)
    pts = pts.flatten(1, 2)[0].numpy()
    faces = renderer.faces.numpy()
    depth, face, bary = raycast(pts, faces, 64, cam.focal, cam.center, 99.0)
    hit = face >= 0
    canon = cam.unproject(scene.depth).flatten(1, 2)[0].numpy()
    hit_canon = np.einsum("hwk,hwkc->hwc", bary, canon[faces[np.maximum(face, 0)]])
    src = cam.to_grid(cam.project(torch.from_numpy(hit_canon)))[None]
    ref = F.grid_sample(out.canonical, src, align_corners=True)[0].numpy()
    mask = out.mask[0, 0].numpy() > 0
    assert (mask != hit).sum() <= 20  # silhouette pixels may differ by grazing rays
    # Compare away from the silhouette, where both are smooth functions of the same surface.
    inner = hit & mask & (np.abs(depth - out.depth[0].numpy()) < 1e-6)
    assert inner.sum() > 1500
    np.testing.assert_allclose(out.image[0].numpy()[:, inner], ref[:, inner], atol=1e-6)


def test_relighting_changes_only_shading(renderer: Renderer) -> None:
    scene = face_like_scene(1, yaw_deg=15.0)
    a = renderer.render(scene)
    dark = Light(torch.zeros(1), torch.zeros(1), scene.light.direction)
    b = renderer.render(scene, light=dark)
    assert torch.equal(a.mask, b.mask) and torch.equal(a.depth, b.depth)
    assert torch.allclose(b.image[b.mask.expand_as(b.image) > 0], torch.tensor(-1.0))


def test_relight_equals_rendering_the_relit_scene(renderer: Renderer) -> None:
    scene = face_like_scene(2, yaw_deg=20.0).map(lambda t: t.clone().requires_grad_())
    direction = F.normalize(torch.tensor([[0.3, -0.2, 1.0]] * 2), dim=1)
    light = Light(torch.tensor([0.3, 0.6]), torch.tensor([0.7, 0.4]), direction)
    albedo = scene.albedo.flip(-1)
    reference = renderer.render(dataclasses.replace(scene, albedo=albedo, light=light))
    relit = renderer.relight(renderer.render(scene), albedo, light)
    for name in ("canonical", "shading", "normal", "depth", "image", "mask", "grid"):
        assert torch.equal(getattr(relit, name), getattr(reference, name)), name
    # the reused geometry carries the same gradients into depth and view
    grads = torch.autograd.grad(relit.image.square().sum(), [scene.depth, scene.view.rotation])
    expected = torch.autograd.grad(reference.image.square().sum(), [scene.depth, scene.view.rotation])
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="albedo"):
        renderer.relight(relit, albedo[:1], light)


def test_rendering_rows_index_every_field(renderer: Renderer) -> None:
    out = renderer.render(face_like_scene(3, yaw_deg=10.0))
    second = out.rows(slice(1, 2))
    assert torch.equal(second.image, out.image[1:2]) and torch.equal(second.grid, out.grid[1:2])


def test_render_validates_inputs(renderer: Renderer) -> None:
    scene = face_like_scene(1)
    bad = SceneParams(scene.depth[:, :32, :32], scene.albedo, scene.light, scene.view)
    with pytest.raises(ValueError, match="scene.depth"):
        renderer.render(bad)
    nan = scene.map(lambda t: t.clone())
    nan.depth[0, 10, 10] = float("nan")
    with pytest.raises(ValueError, match=r"scene\.depth: contains NaN"):
        renderer.render(nan)
    short = SceneParams(scene.depth, scene.albedo, scene.light, View(torch.zeros(2, 3), torch.zeros(2, 3)))
    with pytest.raises(ValueError, match=r"scene\.view\.rotation: expected shape \(1, 3\)"):
        renderer.render(short)


def test_background_is_masked(renderer: Renderer) -> None:
    scene = face_like_scene(1)
    scene.view.translation[:, 0] = 0.1  # shift right: the left edge uncovers background
    out = renderer.render(scene)
    assert out.mask[0, 0, :, 0].sum() == 0
    assert (out.image * (1 - out.mask)).abs().max() == 0
    assert (out.depth[0, :, 0] == renderer.far_depth).all()


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (25.0, -10.0)])
def test_center_pixel_convention_matches_raycast_through_pixel_centres(yaw: float, pitch: float) -> None:
    """NMR's convention: pixel (r, c) looks along the ray through image point (c + 0.5, r + 0.5).
    The float64 ray caster casts exactly those rays when given the principal point minus 0.5."""
    scene = face_like_scene(1, yaw, pitch).map(lambda t: t.double())
    config = ModelConfig(render=RenderConfig(pixel_convention="center"))
    renderer = Renderer(config).double()
    cam = renderer.camera
    pts = transform_points(cam.unproject(scene.depth), scene.view.rotation, scene.view.translation, 1.0)
    pts, faces = pts.flatten(1, 2)[0].numpy(), renderer.faces.numpy()
    far = renderer.far_depth
    ours = renderer.view_depth(scene.depth, scene.view)[0].numpy()
    ref, _, _ = raycast(pts, faces, 64, cam.focal, cam.center - 0.5, far)
    ref = ref.clip(config.scene.min_depth - config.scene.depth_margin, far)
    assert ((ref < far) != (ours < far)).sum() <= 4  # rays grazing a silhouette edge may differ
    both = (ref < far) & (ours < far)
    assert both.sum() > 3000
    np.testing.assert_allclose(ours[both], ref[both], atol=1e-9)
    # The integer convention rasterizes other points: the two conventions really differ.
    integer = Renderer(ModelConfig()).double().view_depth(scene.depth, scene.view)[0].numpy()
    assert np.abs(integer[both] - ours[both]).max() > 1e-4


def test_pixel_convention_is_validated() -> None:
    with pytest.raises(ValueError, match="pixel_convention.*'integer', 'center'.*'corner'"):
        RenderConfig(pixel_convention="corner")


def test_unsup3d_normals_put_the_optical_axis_on_the_outer_ring_and_divide_by_length_plus_eps() -> None:
    camera = Camera(64, 10.0)
    depth = face_like_scene(2).depth
    replicate, unsup3d = normals_from_depth(camera, depth), normals_from_depth(camera, depth, "unsup3d")
    ring = torch.ones(64, 64, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    torch.testing.assert_close(unsup3d[:, ring], torch.tensor([0.0, 0.0, 1.0]).expand(2, int(ring.sum()), 3))
    torch.testing.assert_close(replicate[:, 0, 5], replicate[:, 1, 5])  # the other convention copies
    # Inside, the same directions; lengths |n| / (|n| + 1e-7) < 1 for the short raw cross products.
    inner_u, inner_r = unsup3d[:, 1:-1, 1:-1], replicate[:, 1:-1, 1:-1]
    lengths = inner_u.norm(dim=-1)
    torch.testing.assert_close(inner_u / lengths[..., None], inner_r)
    assert 0.99 < lengths.min() and lengths.max() < 1 - 1e-5
    with pytest.raises(ValueError, match="convention: expected one of \\['replicate', 'unsup3d'\\], got 'zero'"):
        normals_from_depth(camera, depth, "zero")
