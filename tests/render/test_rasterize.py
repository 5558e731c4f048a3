import math

import numpy as np
import pytest
import torch

from physdis_hub.render.camera import Camera, transform_points
from physdis_hub.render.rasterize import face_index_map, grid_faces, interpolate_depth, rasterize_depth

from .raycast import raycast


def bump(size: int, batch: int = 1, dtype=torch.float64) -> torch.Tensor:
    r = torch.linspace(-1, 1, size, dtype=dtype)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    return (1.06 - 0.12 * (1 - (xx**2 / 0.7 + yy**2)).clamp(min=0).sqrt()).expand(batch, size, size).clone()


def posed_mesh(depth: torch.Tensor, angles_deg, camera: Camera):
    rot = torch.tensor([[math.radians(a) for a in angles_deg]], dtype=depth.dtype)
    pts = transform_points(camera.unproject(depth), rot, torch.zeros_like(rot), 1.0).flatten(1, 2)
    return pts, camera.project(pts)


def test_grid_faces() -> None:
    faces = grid_faces(3, 4)
    assert faces.shape == (2 * 2 * 3, 3)
    assert faces.max() == 11 and faces.min() == 0


@pytest.mark.parametrize("angles", [(0, 5, 0), (10, -20, 3), (-25, 40, 10), (30, 60, -5)])
def test_matches_raycast_reference(angles) -> None:
    size = 16
    cam = Camera(size, 10.0)
    pts, xy = posed_mesh(bump(size), angles, cam)
    faces = grid_faces(size, size)
    ours = rasterize_depth(xy, pts[..., 2], faces, size, size, 99.0)[0].numpy()
    ref, _, _ = raycast(pts[0].numpy(), faces.numpy(), size, cam.focal, cam.center, 99.0)
    both = (ref < 99) & (ours < 99)
    assert ((ref < 99) != (ours < 99)).sum() <= 1  # a ray grazing a silhouette edge may differ
    np.testing.assert_allclose(ours[both], ref[both], atol=1e-6)


def test_rough_surface_at_a_steep_yaw_matches_raycast_reference() -> None:
    # an untrained network's noisy depth seen 45 degrees off: long slivers across many rows, the
    # case the scanline spans are for
    size = 16
    cam = Camera(size, 10.0)
    depth = bump(size) + 0.05 * torch.rand(
        1, size, size, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    pts, xy = posed_mesh(depth, (10, 45, 0), cam)
    faces = grid_faces(size, size)
    ours = rasterize_depth(xy, pts[..., 2], faces, size, size, 99.0)[0].numpy()
    ref, _, _ = raycast(pts[0].numpy(), faces.numpy(), size, cam.focal, cam.center, 99.0)
    both = (ref < 99) & (ours < 99)
    assert ((ref < 99) != (ours < 99)).sum() <= 2  # rays grazing silhouette edges may differ
    np.testing.assert_allclose(ours[both], ref[both], atol=1e-6)


def brute_force_face_map(xy: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, size: int, band: float):
    """Per pixel and triangle, the barycentric inside test; triangles of constant ``depth (F,)``.

    Returns ``(expected, decided)``: the nearest triangle whose barycentrics all exceed ``band``
    (-1 if none), and whether no triangle within ``band`` of its edges is as near (undecided
    pixels depend on rounding at an edge).
    """
    r = torch.arange(size, dtype=torch.float64)
    p = torch.stack(torch.meshgrid(r, r, indexing="xy"), -1).reshape(-1, 1, 2)  # (pixels, 1, 2), (x, y)
    a, b, c = (xy[faces[:, k]].double() for k in range(3))  # (F, 2)
    area = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    w1 = ((p - a)[..., 0] * (c - a)[:, 1] - (p - a)[..., 1] * (c - a)[:, 0]) / area
    w2 = ((b - a)[:, 0] * (p - a)[..., 1] - (b - a)[:, 1] * (p - a)[..., 0]) / area
    low = torch.minimum(torch.minimum(w1, w2), 1 - w1 - w2)  # (pixels, F)
    far = torch.full_like(low, math.inf)
    inside = torch.where(low > band, depth.double(), far).min(1)
    edge = torch.where(low.abs() <= band, depth.double(), far).min(1).values
    expected = torch.where(inside.values < math.inf, inside.indices, -1)
    return expected.reshape(size, size), (edge > inside.values).reshape(size, size) | (edge == math.inf).reshape(
        size, size
    )


def test_face_map_matches_brute_force_on_random_triangles() -> None:
    # slivers, huge and axis-aligned triangles (flat barycentric slopes), partly off screen
    g = torch.Generator().manual_seed(3)
    size, n = 24, 60
    corners = torch.rand(n, 3, 2, generator=g) * 34 - 5
    corners[:10, :, 1] = corners[:10, :1, 1] + torch.rand(10, 3, generator=g) * 0.8  # thin horizontal slivers
    corners[10:20, 1, 0] = corners[10:20, 0, 0]  # an axis-aligned edge
    corners[10:20, 2, 1] = corners[10:20, 0, 1]  # and a second one
    depth = torch.randperm(n, generator=g).float() + 2.0  # distinct constant depths
    xy = corners.reshape(1, -1, 2)
    z = depth.repeat_interleave(3)[None]
    faces = torch.arange(3 * n).reshape(n, 3)
    ours = face_index_map(xy, z, faces, size, size)[0]
    expected, decided = brute_force_face_map(xy[0], depth, faces, size, band=1e-4)
    assert decided.float().mean() > 0.95
    assert (ours >= 0).sum() > 100
    assert torch.equal(ours[decided], expected[decided])


def test_float32_agrees_with_float64() -> None:
    size = 32
    cam = Camera(size, 10.0)
    pts, xy = posed_mesh(bump(size), (15, 30, 5), cam)
    faces = grid_faces(size, size)
    d64 = rasterize_depth(xy, pts[..., 2], faces, size, size, 99.0)
    d32 = rasterize_depth(xy.float(), pts[..., 2].float(), faces, size, size, 99.0)
    covered = (d64 < 99) & (d32 < 99)
    assert covered.float().mean() > 0.5
    torch.testing.assert_close(d32[covered].double(), d64[covered], atol=3e-6, rtol=0)


def test_identity_view_reproduces_depth() -> None:
    size = 64
    cam = Camera(size, 10.0)
    depth = bump(size, 2, torch.float32) + 0.01 * torch.rand(2, size, size)
    pts = cam.unproject(depth).flatten(1, 2)
    out = rasterize_depth(cam.project(pts), pts[..., 2], grid_faces(size, size), size, size, 99.0)
    assert (out - depth).abs().max() < 1e-4


def test_both_windings_and_degenerate_and_empty() -> None:
    cam_xy = torch.tensor([[[1.0, 1.0], [6.0, 1.0], [1.0, 6.0], [3.0, 3.0]]])
    z = torch.tensor([[2.0, 2.0, 2.0, 2.0]])
    ccw = torch.tensor([[0, 1, 2]])
    cw = torch.tensor([[0, 2, 1]])
    degenerate = torch.tensor([[0, 3, 3]])
    a = face_index_map(cam_xy, z, ccw, 8, 8)
    b = face_index_map(cam_xy, z, cw, 8, 8)
    assert torch.equal(a >= 0, b >= 0) and (a >= 0).sum() == 21  # lattice points in the triangle
    assert (face_index_map(cam_xy, z, degenerate, 8, 8) < 0).all()
    behind = face_index_map(cam_xy, -z, ccw, 8, 8)
    assert (behind < 0).all()
    depth = interpolate_depth(cam_xy, z, ccw, a, background=5.0)
    assert torch.equal(depth[a < 0], torch.full_like(depth[a < 0], 5.0))
    torch.testing.assert_close(depth[a >= 0], torch.full_like(depth[a >= 0], 2.0))


def test_nearest_triangle_wins() -> None:
    xy = torch.tensor([[[0.0, 0.0], [7.0, 0.0], [0.0, 7.0]] * 2])
    z = torch.tensor([[3.0, 3.0, 3.0, 2.0, 2.0, 2.0]])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    fmap = face_index_map(xy, z, faces, 8, 8)
    assert set(fmap[fmap >= 0].tolist()) == {1}


def test_gradcheck_wrt_depth_and_view() -> None:
    size = 6
    cam = Camera(size, 10.0)
    faces = grid_faces(size, size)
    depth = (bump(size) + 0.01 * torch.rand(1, size, size, dtype=torch.float64)).requires_grad_(True)
    rot = torch.tensor([[0.05, 0.12, 0.02]], dtype=torch.float64, requires_grad=True)
    trans = torch.zeros(1, 3, dtype=torch.float64)

    def render(d: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        pts = transform_points(cam.unproject(d), r, trans, 1.0).flatten(1, 2)
        return rasterize_depth(cam.project(pts), pts[..., 2], faces, size, size, 2.0)

    assert (render(depth, rot) < 2.0).float().mean() > 0.5
    assert torch.autograd.gradcheck(render, (depth, rot), eps=1e-6, atol=1e-5)


def test_empty_pixels_have_finite_gradients() -> None:
    xy = torch.tensor([[[1.0, 1.0], [3.0, 1.0], [1.0, 3.0]]], requires_grad=True)
    z = torch.tensor([[2.0, 2.5, 3.0]], requires_grad=True)
    depth = rasterize_depth(xy, z, torch.tensor([[0, 1, 2]]), 8, 8, 10.0)
    depth.sum().backward()
    assert torch.isfinite(xy.grad).all() and torch.isfinite(z.grad).all()
