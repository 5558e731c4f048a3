"""A real-photo check that runs offline: instance clustering of jittered LFW face crops.

No real face data set with identity labels exists offline here. The closest measurable proxy uses
the 100 real face crops that scikit-image ships (``skimage.data.lfw_subset()``: Labeled Faces in the
Wild, 25 x 25 grayscale, no identity labels). Each photo is copied several times under nuisance
changes a representation of the person should ignore (a light-like shading ramp, gain and gamma;
a horizontal flip, small rotation, scale and shift), and the copies are clustered (Ward, one cluster
per photo). A feature that scores well here is stable under lighting and pose-like changes *of real
photographs* relative to the differences between people; it is not an identity benchmark (two
photos of one person count as two classes) and the crops are grayscale and tiny.

LFW carries no licence of its own (research benchmark of news photographs); the crops are read from
the installed scikit-image package (BSD-3-Clause) at run time and are not redistributed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from physdis_hub.probes.cluster import cluster_probe

FACES = 100
"""The first 100 images of ``lfw_subset()`` are faces (the other 100 are background crops)."""


def lfw_faces() -> torch.Tensor:
    """The 100 LFW face crops of scikit-image: ``(100, 1, 25, 25)`` float32 in [0, 1].

    Raises:
        ImportError: scikit-image is not installed (``pip install "physdis-hub[eval]"``).
    """
    try:
        from skimage.data import lfw_subset
    except ImportError as err:
        raise ImportError('the real-photo check needs scikit-image: pip install "physdis-hub[eval]"') from err
    faces = np.asarray(lfw_subset()[:FACES], dtype=np.float32)
    return torch.from_numpy(faces)[:, None]


def jittered_copies(
    photos: torch.Tensor, copies: int, *, size: int = 64, seed: int = 0
) -> tuple[torch.Tensor, np.ndarray]:
    """``copies`` randomly jittered RGB copies of each photo, and the index of the photo of each copy.

    Per copy: horizontal flip (p = 0.5), rotation U(-8, 8) deg, scale U(0.9, 1.1), shift U(-0.06,
    0.06) of the width (bilinear, border padding); then a shading ramp ``1 + a * (u . p)`` with
    strength a ~ U(0, 0.6) along a random image direction u (p in [-1, 1]^2), gain U(0.7, 1.3) and
    gamma U(0.7, 1.4), clamped to [0, 1].

    Args:
        photos: ``(N, C, H, W)`` in [0, 1], C = 1 or 3.
        copies: copies per photo (>= 2 so that each photo forms a cluster).
        size: output side.
        seed: seed of the jitter.

    Returns:
        ``(N * copies, 3, size, size)`` images (copy-major: all photos once, then again, ...) and
        ``(N * copies,)`` photo indices.
    """
    if photos.ndim != 4 or photos.shape[1] not in (1, 3):
        raise ValueError(f"photos: expected (N, 1 or 3, H, W), got {tuple(photos.shape)}")
    if copies < 2:
        raise ValueError(f"copies: expected >= 2, got {copies}")
    g = torch.Generator().manual_seed(seed)
    n = len(photos)
    rgb = photos.float().expand(-1, 3, -1, -1).repeat(copies, 1, 1, 1)
    m = len(rgb)

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(m, generator=g)

    flip = torch.where(torch.rand(m, generator=g) < 0.5, -1.0, 1.0)
    angle, scale = torch.deg2rad(u(-8, 8)), u(0.9, 1.1)
    shift = torch.stack([u(-0.12, 0.12), u(-0.12, 0.12)], 1)  # 0.06 of the width in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, [m, 3, size, size], align_corners=False)
    out = F.grid_sample(rgb, grid, mode="bilinear", padding_mode="border", align_corners=False)
    direction = u(0, 2 * math.pi)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    ramp = torch.cos(direction)[:, None, None] * xs + torch.sin(direction)[:, None, None] * ys
    shading = (1 + u(0, 0.6)[:, None, None] * ramp).clamp_min(0)[:, None]
    out = (out * shading * u(0.7, 1.3)[:, None, None, None]).clamp(0, 1) ** u(0.7, 1.4)[:, None, None, None]
    return out, np.tile(np.arange(n), copies)


RealPhotoDraw = tuple[torch.Tensor, np.ndarray]
"""One draw of jittered copies: ``(M, 3, H, W)`` images and their ``(M,)`` photo indices."""


def jittered_draws(photos: torch.Tensor, copies: int, seeds: Sequence[int], *, size: int = 64) -> list[RealPhotoDraw]:
    """One :func:`jittered_copies` draw per seed (a score averaged over draws is less tied to one jitter)."""
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    return [jittered_copies(photos, copies, size=size, seed=seed) for seed in seeds]


def real_photo_scores(
    extract: Callable[[torch.Tensor], np.ndarray], draws: Sequence[RealPhotoDraw]
) -> dict[str, float]:
    """Cluster ``extract(images)`` of each draw (Ward, one cluster per photo) against its photo indices.

    Returns the mean accuracy and NMI over the draws and the standard deviation of the accuracy
    (``real_photo_acc_sd``, 0 for one draw): differences between models below it are noise.
    """
    if not draws:
        raise ValueError("draws: expected at least one (images, photo) draw, got none")
    results = [cluster_probe(extract(images), photo) for images, photo in draws]
    acc = np.array([r.accuracy for r in results])
    return {
        "real_photo_acc": float(acc.mean()),
        "real_photo_acc_sd": float(acc.std()),
        "real_photo_nmi": float(np.mean([r.nmi for r in results])),
    }
