"""A depth rasterizer for triangle meshes in plain PyTorch (CPU and CUDA, no extension).

Two passes, so the discrete part never needs gradients:

1. :func:`face_index_map` (no grad) finds, for every pixel, the nearest triangle covering it. Each
   triangle enumerates the pixels of its bounding box; triangles are bucketed by box size so a few
   huge triangles do not make every triangle enumerate a huge window. Depth and face id are packed
   into one int64 key (positive float32 bits are ordered like the floats) and one
   ``scatter_reduce(amin)`` gives the z-buffer.
2. :func:`interpolate_depth` (differentiable) gathers the winning triangle's projected vertices,
   recomputes barycentrics at the pixel and interpolates 1/z (perspective-correct depth).

Pixels are sampled at integer image coordinates (see :mod:`physdis_hub.render.camera`).
"""

from __future__ import annotations

import torch

_INSIDE_EPS = 1e-5  # barycentric tolerance: pixels on shared edges belong to both triangles
_MIN_AREA = 1e-10  # twice the area (pixels^2) under which a triangle is degenerate
_CHUNK = 1 << 22  # candidate (triangle, pixel) pairs per scatter, bounds peak memory
_EMPTY = torch.iinfo(torch.int64).max
_FAR_BITS = 0x7FFFFFFF  # complement base of 1/z float bits; 1/z = 0 (nothing) maps to it


def grid_faces(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Triangles of the grid mesh of an ``height x width`` vertex grid: two per quad.

    Returns:
        ``(2 * (height - 1) * (width - 1), 3)`` vertex indices (row-major vertex order).
    """
    idx = torch.arange(height * width, device=device).view(height, width)
    tl, tr, bl, br = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    upper = torch.stack([tl, bl, tr], dim=-1).reshape(-1, 3)
    lower = torch.stack([tr, bl, br], dim=-1).reshape(-1, 3)
    return torch.cat([upper, lower])


def _barycentric(tri: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Screen-space barycentrics of points ``p (..., 2)`` in triangles ``tri (..., 3, 2)``.

    Computed in coordinates local to vertex 0 (absolute coordinates leave float32 holes along
    shared edges). Returns ``(weights (..., 3), twice_signed_area (...))``; weights are only
    meaningful where the area is non-zero.
    """
    e1 = tri[..., 1, :] - tri[..., 0, :]
    e2 = tri[..., 2, :] - tri[..., 0, :]
    d = p - tri[..., 0, :]
    area = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
    safe = torch.where(area.abs() > _MIN_AREA, area, torch.ones_like(area))
    w1 = (d[..., 0] * e2[..., 1] - d[..., 1] * e2[..., 0]) / safe
    w2 = (e1[..., 0] * d[..., 1] - e1[..., 1] * d[..., 0]) / safe
    return torch.stack([1 - w1 - w2, w1, w2], dim=-1), area


@torch.no_grad()
def face_index_map(
    xy: torch.Tensor, z: torch.Tensor, faces: torch.Tensor, height: int, width: int, near: float = 1e-3
) -> torch.Tensor:
    """Index of the nearest triangle covering each pixel (a z-buffer of face ids).

    Args:
        xy: ``(B, V, 2)`` projected vertices in image coordinates.
        z: ``(B, V)`` vertex depths (camera z).
        faces: ``(F, 3)`` vertex indices, shared by the batch; either winding.
        height, width: output size.
        near: triangles with a vertex at ``z <= near`` are skipped.

    Returns:
        ``(B, height, width)`` int64 face ids, ``-1`` where no triangle covers the pixel.
    """
    batch, nfaces = xy.shape[0], faces.shape[0]
    xyz = torch.cat([xy, z.unsqueeze(-1)], dim=-1).float()
    tri = xyz.index_select(1, faces.reshape(-1)).reshape(batch * nfaces, 3, 3)  # (x, y, z) per corner
    lo = torch.minimum(torch.minimum(tri[:, 0, :2], tri[:, 1, :2]), tri[:, 2, :2])
    hi = torch.maximum(torch.maximum(tri[:, 0, :2], tri[:, 1, :2]), tri[:, 2, :2])
    lo = torch.ceil(lo - _INSIDE_EPS).clamp(min=0)
    extent = torch.minimum(torch.floor(hi + _INSIDE_EPS), hi.new_tensor([width - 1, height - 1])) - lo + 1
    zmin = torch.minimum(torch.minimum(tri[:, 0, 2], tri[:, 1, 2]), tri[:, 2, 2])
    ok = (extent[:, 0] > 0) & (extent[:, 1] > 0) & (zmin > near)  # NaN compares False

    # Bucket triangles by the power-of-two window (w, h) that holds their box; sorting once makes
    # every bucket a contiguous slice.
    log_ext = torch.ceil(torch.log2(extent.clamp(min=1))).to(torch.int32)
    bucket = torch.where(ok, log_ext[:, 0] * 16 + log_ext[:, 1], -1)
    bucket, order = torch.sort(bucket)
    keys, counts = torch.unique_consecutive(bucket, return_counts=True)
    skip = int(counts[0]) if keys[0] < 0 else 0
    order = order[skip:]
    tri, lo = tri.index_select(0, order), lo.index_select(0, order)
    # The z-buffer has a margin of one full window so window lanes never need bounds checks.
    pad_h, pad_w = 2 * height, 2 * width
    zbuf = torch.full((batch * pad_h * pad_w,), _EMPTY, dtype=torch.int64, device=xy.device)
    offset = 0
    for key, count in zip(keys.tolist(), counts.tolist()):
        if key < 0:
            continue
        win_w, win_h = 1 << (key // 16), 1 << (key % 16)
        per_chunk = max(1, _CHUNK // (win_w * win_h))
        for first in range(offset, offset + count, per_chunk):
            last = min(first + per_chunk, offset + count)
            _scatter_window(
                zbuf, tri[first:last], lo[first:last], order[first:last], win_w, win_h, nfaces, pad_h, pad_w
            )
        offset += count

    zbuf = zbuf.view(batch, pad_h, pad_w)[:, :height, :width]
    empty = (zbuf >> 32) >= _FAR_BITS
    return torch.where(empty, -1, zbuf & 0xFFFFFFFF)


def _scatter_window(
    zbuf: torch.Tensor,
    tri: torch.Tensor,
    lo: torch.Tensor,
    inst: torch.Tensor,
    win_w: int,
    win_h: int,
    nfaces: int,
    pad_h: int,
    pad_w: int,
) -> None:
    """Test the ``win_w x win_h`` window at ``lo (n, 2)`` of triangles ``tri (n, 3, 3)`` (instance
    ids ``inst``) and min-scatter (depth, face) keys into the padded ``zbuf``.

    Barycentrics and 1/z are affine in the pixel position, so each is a per-triangle affine function
    of the window offset, evaluated with two fused multiply-adds. Lanes outside the triangle get
    the far key, which is cheaper than gathering the inside lanes.
    """
    e1 = tri[:, 1, :2] - tri[:, 0, :2]
    e2 = tri[:, 2, :2] - tri[:, 0, :2]
    d = lo - tri[:, 0, :2]  # window origin, local to vertex 0
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ia = torch.where(area.abs() > _MIN_AREA, 1.0 / area, torch.zeros_like(area))
    # w1 = (dx * e2y - dy * e2x) / area, w2 = (e1x * dy - e1y * dx) / area, dx/dy at origin + offset.
    w1_x, w1_y = e2[:, 1] * ia, -e2[:, 0] * ia
    w2_x, w2_y = -e1[:, 1] * ia, e1[:, 0] * ia
    iz = 1.0 / tri[:, :, 2]
    dz1, dz2 = iz[:, 1] - iz[:, 0], iz[:, 2] - iz[:, 0]
    coef = torch.stack(
        [
            torch.stack([d[:, 0] * w1_x + d[:, 1] * w1_y, w1_x, w1_y], 1),  # w1
            torch.stack([d[:, 0] * w2_x + d[:, 1] * w2_y, w2_x, w2_y], 1),  # w2
        ],
        1,
    )  # (n, 2, 3): value at origin, d/dx, d/dy
    w0c = torch.stack(
        [1 - coef[:, 0, 0] - coef[:, 1, 0], -coef[:, 0, 1] - coef[:, 1, 1], -coef[:, 0, 2] - coef[:, 1, 2]], 1
    )
    zc = torch.stack(
        [
            iz[:, 0] + coef[:, 0, 0] * dz1 + coef[:, 1, 0] * dz2,
            *(coef[:, 0, k] * dz1 + coef[:, 1, k] * dz2 for k in (1, 2)),
        ],
        1,
    )
    ox = torch.arange(win_w, device=tri.device, dtype=tri.dtype).repeat(win_h)
    oy = torch.arange(win_h, device=tri.device, dtype=tri.dtype).repeat_interleave(win_w)

    def affine(c: torch.Tensor) -> torch.Tensor:  # c: (n, 3) -> (n, win_w * win_h)
        return torch.addcmul(c[:, 0:1], c[:, 1:2], ox).addcmul_(c[:, 2:3], oy)

    low = torch.minimum(torch.minimum(affine(coef[:, 0]), affine(coef[:, 1])), affine(w0c))
    inv_depth = affine(zc).masked_fill_((low < -_INSIDE_EPS) | (ia == 0)[:, None], 0.0)
    # 1/z bits order like 1/z (positive float32); nearer = larger, so store their complement.
    key = (_FAR_BITS - inv_depth.view(torch.int32).long()) << 32
    bidx = torch.div(inst, nfaces, rounding_mode="floor")
    key += (inst - bidx * nfaces)[:, None]
    base = (bidx * pad_h + lo[:, 1].long()) * pad_w + lo[:, 0].long()
    pixel = base[:, None] + (oy.long() * pad_w + ox.long())
    zbuf.scatter_reduce_(0, pixel.reshape(-1), key.reshape(-1), reduce="amin")


def interpolate_depth(
    xy: torch.Tensor, z: torch.Tensor, faces: torch.Tensor, face_map: torch.Tensor, background: float
) -> torch.Tensor:
    """Differentiable perspective-correct depth of the triangles chosen by :func:`face_index_map`.

    Args:
        xy: ``(B, V, 2)`` projected vertices.
        z: ``(B, V)`` vertex depths.
        faces: ``(F, 3)``.
        face_map: ``(B, H, W)`` face ids, ``-1`` for empty pixels.
        background: depth given to empty pixels (no gradient).

    Returns:
        ``(B, H, W)`` depth, differentiable w.r.t. ``xy`` and ``z``.
    """
    batch, height, width = face_map.shape
    nverts = xy.shape[1]
    covered = face_map >= 0
    vidx = faces[face_map.clamp(min=0)]  # (B, H, W, 3)
    vidx = vidx + torch.arange(batch, device=xy.device).view(-1, 1, 1, 1) * nverts
    tri = xy.reshape(-1, 2)[vidx]  # (B, H, W, 3, 2)
    tz = z.reshape(-1)[vidx]  # (B, H, W, 3)
    r = torch.arange(height, dtype=xy.dtype, device=xy.device)
    c = torch.arange(width, dtype=xy.dtype, device=xy.device)
    gy, gx = torch.meshgrid(r, c, indexing="ij")
    p = torch.stack([gx, gy], dim=-1).expand(batch, height, width, 2)
    # In empty lanes use a harmless unit triangle so no NaN reaches the gradients.
    unit = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=xy.dtype, device=xy.device)
    tri = torch.where(covered[..., None, None], tri, unit + p[..., None, :])
    tz = torch.where(covered[..., None], tz, torch.ones_like(tz))
    w, _ = _barycentric(tri, p)
    depth = 1.0 / (w / tz).sum(dim=-1)
    return torch.where(covered, depth, torch.full_like(depth, background))


def rasterize_depth(
    xy: torch.Tensor, z: torch.Tensor, faces: torch.Tensor, height: int, width: int, background: float
) -> torch.Tensor:
    """Render the depth of a mesh: :func:`face_index_map` then :func:`interpolate_depth`.

    Args:
        xy: ``(B, V, 2)`` projected vertices in image coordinates.
        z: ``(B, V)`` vertex depths.
        faces: ``(F, 3)`` triangles (either winding).
        height, width: output size.
        background: depth of empty pixels.

    Returns:
        ``(B, height, width)`` depth, differentiable w.r.t. ``xy`` and ``z`` where covered.
    """
    face_map = face_index_map(xy.detach(), z.detach(), faces, height, width)
    return interpolate_depth(xy, z, faces, face_map, background)
