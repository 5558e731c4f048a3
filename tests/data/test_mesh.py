"""Mesh rasterization helpers: depth and perspective-correct attributes; exact mirroring."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.data.mesh import mirror_left_half, rasterize_mesh
from physdis_hub.render import Camera


def test_a_tilted_plane_gets_its_depth_and_interpolated_world_coordinates() -> None:
    cam = Camera(16, 10.0)
    # a quad covering the image, tilted: z = 1 + 0.5 * x
    corners = torch.tensor([[-0.2, -0.2], [0.2, -0.2], [-0.2, 0.2], [0.2, 0.2]])
    z = 1 + 0.5 * corners[:, 0]
    verts = torch.cat([corners, z[:, None]], -1)[None]
    faces = torch.tensor([[0, 2, 1], [1, 2, 3]])
    maps = rasterize_mesh(verts, faces, verts.clone(), cam, background=2.0)
    assert maps.covered.all()
    # the ray through pixel (r, c) has direction ((c - cx) / f, (r - cy) / f, 1)
    grid = cam.pixel_grid(torch.zeros(1))
    dx = (grid[..., 0] - cam.center) / cam.focal
    depth = 1 / (1 - 0.5 * dx)  # z = 1 + 0.5 x, x = dx z
    assert torch.allclose(maps.depth[0], depth, atol=1e-5)
    assert torch.allclose(maps.attributes[0, 2], depth, atol=1e-5)
    assert torch.allclose(maps.attributes[0, 0], dx * depth, atol=1e-5)


def test_uncovered_pixels_get_the_background_and_zero_attributes() -> None:
    cam = Camera(16, 10.0)
    verts = torch.tensor([[[-0.01, -0.01, 1.0], [0.01, -0.01, 1.0], [0.0, 0.01, 1.0]]])
    maps = rasterize_mesh(verts, torch.tensor([[0, 1, 2]]), torch.ones(1, 3, 2), cam, background=1.5)
    assert not maps.covered.all() and maps.covered.any()
    assert (maps.depth[~maps.covered] == 1.5).all()
    assert (maps.attributes[0][:, ~maps.covered[0]] == 0).all()
    assert torch.allclose(maps.attributes[0][:, maps.covered[0]], torch.ones(1))


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="vertices"):
        rasterize_mesh(torch.zeros(3, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 1), Camera(8, 10), 2.0)
    with pytest.raises(ValueError, match="attributes"):
        rasterize_mesh(
            torch.ones(1, 3, 3), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 4, 1), Camera(8, 10), 2.0
        )


def test_mirror_left_half_is_exactly_symmetric() -> None:
    x = torch.randn(2, 3, 5, 8)
    y = mirror_left_half(x)
    assert torch.equal(y, y.flip(-1)) and torch.equal(y[..., :4], x[..., :4])
    with pytest.raises(ValueError, match="even width"):
        mirror_left_half(torch.zeros(4, 7))
