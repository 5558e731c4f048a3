"""An independent float64 reference: per-pixel ray casting against every triangle (numpy)."""

from __future__ import annotations

import numpy as np


def raycast(points: np.ndarray, faces: np.ndarray, size: int, focal: float, center: float, far: float):
    """Ray-cast a camera-space mesh.

    Args:
        points: (V, 3) camera-space vertices.
        faces: (F, 3).

    Returns:
        depth (size, size) with ``far`` where no hit, face index (size, size) (-1), barycentrics (size, size, 3).
    """
    a, b, c = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    e1, e2 = b - a, c - a
    depth = np.full((size, size), far)
    face = np.full((size, size), -1)
    bary = np.zeros((size, size, 3))
    for r in range(size):
        for col in range(size):
            d = np.array([(col - center) / focal, (r - center) / focal, 1.0])
            h = np.cross(d, e2)
            det = np.einsum("ij,ij->i", e1, h)
            ok = np.abs(det) > 1e-14
            inv = np.where(ok, 1 / np.where(ok, det, 1), 0)
            s = -a
            u = np.einsum("ij,ij->i", s, h) * inv
            q = np.cross(s, e1)
            v = (q @ d) * inv
            t = np.einsum("ij,ij->i", e2, q) * inv
            hit = ok & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9) & (t > 0)
            if hit.any():
                k = np.flatnonzero(hit)[np.argmin(t[hit])]
                depth[r, col], face[r, col] = t[k], k
                bary[r, col] = (1 - u[k] - v[k], u[k], v[k])
    return depth, face, bary
