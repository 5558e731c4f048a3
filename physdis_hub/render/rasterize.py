"""A depth rasterizer for triangle meshes in plain PyTorch (CPU and CUDA, no extension).

Two passes, so the discrete part never needs gradients:

1. :func:`face_index_map` (no grad) finds, for every pixel, the nearest triangle covering it. Each
   triangle's box is cut into rows, and each row into the span of columns where the triangle can
   cover a pixel (scanlines); spans are bucketed by power-of-two width, and each pixel of a span
   gets the exact barycentric inside test. Depth and face id are packed into one int64 key
   (positive float32 bits are ordered like the floats) and one ``scatter_reduce(amin)`` gives the
   z-buffer. Spans rather than whole boxes matter for the thin slivers of rough or steeply turned
   surfaces (LOOCC's view re-render of an early model): on such a batch the boxes held 18 times
   more pixels than the spans.
2. :func:`interpolate_depth` (differentiable) gathers the winning triangle's projected vertices,
   recomputes barycentrics at the pixel and interpolates 1/z (perspective-correct depth).

Pixels are sampled at integer image coordinates (see :mod:`physdis_hub.render.camera`).
"""

from __future__ import annotations

import math

import torch

_INSIDE_EPS = 1e-5  # barycentric tolerance: pixels on shared edges belong to both triangles
_MIN_AREA = 1e-10  # twice the area (pixels^2) under which a triangle is degenerate
_CHUNK = 1 << 22  # candidate (triangle, pixel) pairs per scatter, bounds peak memory
_SPAN_MARGIN = 1e-2  # pixels a row span is widened by, so that float rounding of its ends loses no pixel
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
    e1, e2 = tri[:, 1, :2] - tri[:, 0, :2], tri[:, 2, :2] - tri[:, 0, :2]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    # NaN compares False; degenerate triangles (zero area) cover no pixel and are dropped here
    ok = (extent[:, 0] > 0) & (extent[:, 1] > 0) & (zmin > near) & (area.abs() > _MIN_AREA)
    inst = ok.nonzero().squeeze(1)  # b * nfaces + face
    lo, rows = lo.index_select(0, inst), extent[:, 1].index_select(0, inst).long()
    # Per triangle, as a list of (n,) vectors (lists, not stacked: every operation below runs on
    # contiguous vectors, and no large copy joins them): value at the box origin, d/dx and d/dy of
    # w0, w1, w2 and 1/z, then the box's width and the face id.
    per_tri = _pixel_affines(tri.index_select(0, inst), lo, area.index_select(0, inst))
    per_tri += [extent[:, 0].index_select(0, inst), (inst % nfaces).float()]
    pixel0 = (inst // nfaces * height + lo[:, 1].long()) * (2 * width) + lo[:, 0].long()  # box origin

    # Scanlines: one (triangle, row) pair per row of each box, and the columns of that row where
    # all three barycentrics can pass the inside test (a slightly widened span).
    owner = torch.repeat_interleave(torch.arange(inst.shape[0], device=xy.device), rows)
    per_pair = [v.index_select(0, owner) for v in per_tri]
    row = torch.arange(owner.shape[0], device=xy.device) - (torch.cumsum(rows, 0) - rows).index_select(0, owner)
    frow = row.float()
    at_row = [torch.addcmul(per_pair[3 * k], per_pair[3 * k + 2], frow) for k in range(4)]  # at column 0
    slope = [per_pair[3 * k + 1] for k in range(4)]
    first, count = _row_spans(at_row[:3], slope[:3], per_pair[12])
    ffirst = first.float()
    spans = [*(torch.addcmul(a, d, ffirst) for a, d in zip(at_row, slope)), *slope, per_pair[13]]
    spans.append(pixel0.index_select(0, owner) + row * (2 * width) + first)

    # Bucket the spans by the power-of-two window that holds them (empty ones first, dropped);
    # sorting once makes every bucket a contiguous slice. The z-buffer rows have a margin of one
    # full window, so lanes never need bounds checks (lanes past a span fail the inside test or
    # land in the margin).
    bucket = torch.where(count > 0, torch.ceil(torch.log2(count.clamp(min=1).float())), -1).to(torch.int32)
    bucket, order = torch.sort(bucket)
    log_w, sizes = torch.unique_consecutive(bucket, return_counts=True)
    skip = int(sizes[0]) if sizes.numel() and log_w[0] < 0 else 0
    order = order[skip:]
    spans = [v.index_select(0, order) for v in spans]
    zbuf = torch.full((batch * height * 2 * width,), _EMPTY, dtype=torch.int64, device=xy.device)
    offset = 0
    for log, size in zip(log_w.tolist(), sizes.tolist()):
        if log < 0:
            continue
        win = 1 << log
        per_chunk = max(1, _CHUNK // win)
        for i in range(offset, offset + size, per_chunk):
            j = min(i + per_chunk, offset + size)
            _scatter_spans(zbuf, [v[i:j] for v in spans], win)
        offset += size

    zbuf = zbuf.view(batch, height, 2 * width)[:, :, :width]
    empty = (zbuf >> 32) >= _FAR_BITS
    return torch.where(empty, -1, zbuf & 0xFFFFFFFF)


def _pixel_affines(tri: torch.Tensor, lo: torch.Tensor, area: torch.Tensor) -> list[torch.Tensor]:
    """Barycentrics ``w0, w1, w2`` and ``1/z`` of triangles ``tri (n, 3, 3)`` as affine functions of
    the pixel offset from ``lo (n, 2)``: twelve ``(n,)`` vectors, (value at ``lo``, d/dx, d/dy) of
    each in turn.

    Barycentrics and 1/z are affine in the screen position (1/z is what interpolates linearly
    under perspective). Computed local to vertex 0 (absolute coordinates leave float32 holes along
    shared edges); ``area`` (``(n,)``, twice the signed area) must be non-degenerate.
    """
    (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = tri.permute(1, 2, 0)
    e1x, e1y, e2x, e2y = x1 - x0, y1 - y0, x2 - x0, y2 - y0
    dx, dy = lo[:, 0] - x0, lo[:, 1] - y0  # the box origin, local to vertex 0
    ia = 1.0 / area
    # w1 = (dx * e2y - dy * e2x) / area, w2 = (e1x * dy - e1y * dx) / area
    w1 = [(dx * e2y - dy * e2x) * ia, e2y * ia, -e2x * ia]
    w2 = [(e1x * dy - e1y * dx) * ia, -e1y * ia, e1x * ia]
    w0 = [1 - w1[0] - w2[0], -w1[1] - w2[1], -w1[2] - w2[2]]
    iz0 = 1.0 / z0
    dz1, dz2 = 1.0 / z1 - iz0, 1.0 / z2 - iz0
    inv_z = [iz0 + w1[0] * dz1 + w2[0] * dz2, w1[1] * dz1 + w2[1] * dz2, w1[2] * dz1 + w2[2] * dz2]
    return [*w0, *w1, *w2, *inv_z]


def _row_spans(
    at_row: list[torch.Tensor], slope: list[torch.Tensor], columns: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns of a row where three affine functions ``at_row[k] + slope[k] * x`` are all >= -eps.

    Args:
        at_row: three ``(P,)`` values at column 0 of the row; slope: three ``(P,)`` per column.
        columns: ``(P,)`` the row's width (columns ``0 .. columns - 1``), float.

    Returns:
        ``(first, count)``: ``(P,)`` int64, the span widened by :data:`_SPAN_MARGIN` on each side
        (the exact inside test runs per pixel) and clipped to the row; ``count`` may be <= 0.
    """
    lower = torch.zeros_like(columns)
    upper = columns - 1
    for value, step in zip(at_row, slope):
        # the column where the function crosses -eps; a flat one counts as rising by a hair, which
        # gives a bound of -huge where it passes everywhere and +huge where it passes nowhere
        rising = step >= 0
        bound = (-_INSIDE_EPS - value) / torch.where(step == 0, 1e-30, step)
        lower = torch.maximum(lower, torch.where(rising, bound, -math.inf))
        upper = torch.minimum(upper, torch.where(rising, math.inf, bound))
    first = torch.ceil(lower - _SPAN_MARGIN)
    return first.long(), (torch.floor(upper + _SPAN_MARGIN) - first + 1).long()


def _scatter_spans(zbuf: torch.Tensor, spans: list[torch.Tensor], win: int) -> None:
    """Test ``win`` pixels from each span's start and min-scatter their (depth, face) keys into ``zbuf``.

    Args:
        spans: ten ``(m,)`` vectors: ``w0, w1, w2, 1/z`` at the span's first pixel, their change
            per pixel to the right, the face id, and the flat z-buffer index of the first pixel.

    A lane's key is its 1/z bits' complement above the face id (1/z bits order like 1/z for
    positive float32; nearer = larger 1/z = smaller key); lanes outside the triangle get the far
    key, which is cheaper than gathering the inside lanes.
    """
    ox = torch.arange(win, device=zbuf.device, dtype=spans[0].dtype)

    def affine(k: int) -> torch.Tensor:  # (m, win)
        return torch.addcmul(spans[k][:, None], spans[k + 4][:, None], ox)

    low = torch.minimum(torch.minimum(affine(0), affine(1)), affine(2))
    inv_depth = affine(3).masked_fill_(low < -_INSIDE_EPS, 0.0)
    key = ((_FAR_BITS - inv_depth.view(torch.int32).long()) << 32) + spans[8][:, None].long()
    pixel = spans[9][:, None] + ox.long()
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
