"""MTCNN face detection (Zhang et al., "Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks", IEEE SPL 2016) in plain PyTorch.

Three networks run as a cascade:

- :class:`PNet` (fully convolutional, 12x12 receptive field, stride 2) slides over an image pyramid
  and proposes windows;
- :class:`RNet` re-scores and refines each proposal from a 24x24 crop;
- :class:`ONet` scores and refines the survivors from a 48x48 crop and places 5 landmarks.

Every network returns a face probability ``(N,)`` (P-net: ``(N, h, w)``, one per window) and box
offsets ``(N, 4)`` = ``(dx1, dy1, dx2, dy2)`` in units of the window's width/height; O-net adds
landmarks ``(N, 10)`` = 5 x-coordinates then 5 y-coordinates, as fractions of the window.
Networks take images normalised as the released weights expect: ``(255 * x - 127.5) / 128`` for
``x`` in [0, 1] (:func:`normalise`).

The cascade computes step by step what facenet-pytorch 2.6.0's ``MTCNN.detect`` computes (the
detector of Unsup3d's demo): its pyramid sizes and area resampling, window boxes, suppressions (kinds,
thresholds, and whether they run before or after each regression), clipped crops and whole-pixel
regression; measured on 43 photos, boxes agree to 5e-6 of the box side
(``results/2026-12-06-mtcnn-parity.md``).

Weights: ``mtcnn.safetensors`` beside this module, converted from the ``facenet-pytorch`` 2.6.0
wheel by :mod:`physdis_hub.align.convert` (provenance and licence in
``physdis_hub/data/assets/LICENSES.md``).

Box convention: ``(x1, y1, x2, y2)`` in pixels of the input image, continuous coordinates (pixel
column ``c`` covers ``[c, c + 1)``), so the width is ``x2 - x1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..configbase import ConfigBase

WEIGHTS = Path(__file__).parent / "mtcnn.safetensors"
"""The three networks' weights, keys ``pnet.*``, ``rnet.*``, ``onet.*``."""


def normalise(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` in [0, 1] -> the networks' input range, ``(255 x - 127.5) / 128``."""
    return (images * 255 - 127.5) / 128


def check_image(image: torch.Tensor) -> None:
    """Raise a ValueError naming ``image`` unless it is one ``(3, H, W)`` tensor."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image: expected a (3, H, W) float tensor in [0, 1], got {got}")


def _conv(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k), nn.PReLU(c_out)]


def _pool(k: int) -> nn.Module:
    return nn.MaxPool2d(k, 2, ceil_mode=True)


class PNet(nn.Module):
    """Proposal network: ``(B, 3, H, W)`` (H, W >= 12) -> probability ``(B, h, w)`` and offsets
    ``(B, 4, h, w)`` with ``h = ceil((H - 2) / 2) - 4``: one 12x12 window every 2 pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv(3, 10, 3), _pool(2), *_conv(10, 16, 3), *_conv(16, 32, 3))
        self.score = nn.Conv2d(32, 2, 1)
        self.offset = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.score(h).softmax(1)[:, 1], self.offset(h)


class RNet(nn.Module):
    """Refinement network: ``(N, 3, 24, 24)`` -> probability ``(N,)``, offsets ``(N, 4)``."""

    size = 24

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(3, 28, 3),
            _pool(3),
            *_conv(28, 48, 3),
            _pool(3),
            *_conv(48, 64, 2),
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, 128),
            nn.PReLU(128),
        )
        self.score = nn.Linear(128, 2)
        self.offset = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.score(h).softmax(1)[:, 1], self.offset(h)


class ONet(nn.Module):
    """Output network: ``(N, 3, 48, 48)`` -> probability ``(N,)``, offsets ``(N, 4)``, landmarks ``(N, 10)``."""

    size = 48

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(3, 32, 3),
            _pool(3),
            *_conv(32, 64, 3),
            _pool(3),
            *_conv(64, 64, 3),
            _pool(2),
            *_conv(64, 128, 2),
            nn.Flatten(),
            nn.Linear(128 * 3 * 3, 256),
            nn.PReLU(256),
        )
        self.score = nn.Linear(256, 2)
        self.offset = nn.Linear(256, 4)
        self.landmarks = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.score(h).softmax(1)[:, 1], self.offset(h), self.landmarks(h)


class MTCNN(nn.Module):
    """The three networks together; :func:`load_mtcnn` gives them with the shipped weights."""

    def __init__(self) -> None:
        super().__init__()
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()


@lru_cache(maxsize=1)
def load_mtcnn() -> MTCNN:
    """The networks with the shipped weights, in eval mode on the CPU (loaded once per process)."""
    from safetensors.torch import load_file

    net = MTCNN()
    net.load_state_dict(load_file(WEIGHTS))
    return net.eval().requires_grad_(False)


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        box: ``(x1, y1, x2, y2)`` in pixels of the image (continuous coordinates, width ``x2 - x1``).
        score: O-net's face probability in [0, 1].
        landmarks: ``(5, 2)`` ``(x, y)``: left eye, right eye, nose, left and right mouth corner,
            left/right as seen in the image.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def side(self) -> float:
        """Mean of the box's width and height, in pixels."""
        return ((self.box[2] - self.box[0]) + (self.box[3] - self.box[1])) / 2

    @property
    def area(self) -> float:
        """Width times height of the box: what facenet-pytorch's ``select_largest`` ranks faces by."""
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


@dataclass(frozen=True)
class DetectorConfig(ConfigBase):
    """Settings of :func:`detect`. The defaults are facenet-pytorch's ``MTCNN()``, which Unsup3d's
    demo uses.

    Attributes:
        min_face: smallest face side searched for, in pixels (>= 12); the pyramid's first scale is
            ``12 / min_face``.
        scale_step: ratio of successive pyramid scales, in (0, 1).
        thresholds: face-probability thresholds of P-, R- and O-net (P-net keeps windows scoring at
            least its threshold, R- and O-net those scoring more).
        nms: overlap thresholds of the non-maximum suppressions: within a pyramid level, across
            levels, after R-net (these three: intersection over union), after O-net (intersection
            over the smaller box, in whole-pixel areas ``(x2 - x1 + 1) * (y2 - y1 + 1)``).
        max_side: None (default, as the official detector): search the image as it is. An int:
            images whose longer side exceeds it are searched at that size (boxes and landmarks are
            mapped back to the full image), which bounds the time on very large photographs but
            gives other boxes than the official detector; ``min_face`` then applies to the
            reduced image.
    """

    min_face: float = 20.0
    scale_step: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    nms: tuple[float, float, float, float] = (0.5, 0.7, 0.7, 0.7)
    max_side: int | None = None

    def __post_init__(self) -> None:
        if self.max_side is not None and not (isinstance(self.max_side, int) and self.max_side >= 12):
            raise ValueError(f"DetectorConfig.max_side: expected None or an int >= 12 (pixels), got {self.max_side!r}")
        if not self.min_face >= 12:
            raise ValueError(f"DetectorConfig.min_face: expected a face side >= 12 pixels, got {self.min_face}")
        if not 0 < self.scale_step < 1:
            raise ValueError(f"DetectorConfig.scale_step: expected a ratio in (0, 1), got {self.scale_step}")
        for field, values, n in (("thresholds", self.thresholds, 3), ("nms", self.nms, 4)):
            if len(values) != n or not all(0 <= v <= 1 for v in values):
                raise ValueError(f"DetectorConfig.{field}: expected {n} numbers in [0, 1], got {values}")


def pyramid_scales(height: int, width: int, config: DetectorConfig) -> list[float]:
    """Scales at which P-net's 12-pixel window covers faces of side ``min_face``, ``min_face /
    scale_step``, ... while the scaled shorter side is at least 12 (both the scale and the scaled
    side are multiplied by ``scale_step`` step by step, as the official code does)."""
    scale, shorter, scales = 12 / config.min_face, min(height, width) * 12 / config.min_face, []
    while shorter >= 12:
        scales.append(scale)
        scale *= config.scale_step
        shorter *= config.scale_step
    return scales


def level_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """Size of the pyramid level at ``scale``: ``(int(height * scale + 1), int(width * scale + 1))``."""
    return int(height * scale + 1), int(width * scale + 1)


def nms(
    boxes: torch.Tensor, scores: torch.Tensor, threshold: float, mode: str = "union", whole_pixels: bool = False
) -> torch.Tensor:
    """Greedy non-maximum suppression.

    Args:
        boxes: ``(N, 4)`` ``(x1, y1, x2, y2)``.
        scores: ``(N,)``.
        threshold: a box is dropped when its overlap with a kept, higher-scored box exceeds this.
        mode: ``"union"`` (intersection over union) or ``"min"`` (intersection over the smaller area).
        whole_pixels: measure widths as ``x2 - x1 + 1`` (boxes of inclusive pixel indices, as
            MTCNN's last suppression does) instead of ``x2 - x1``.

    Returns:
        Indices of the kept boxes ``(K,)``, highest score first.
    """
    if mode not in ("union", "min"):
        raise ValueError(f"mode: expected 'union' or 'min', got {mode!r}")
    order = scores.argsort(descending=True, stable=True)
    b = boxes[order].double().numpy()
    one = 1.0 if whole_pixels else 0.0
    area = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    wh = np.minimum(b[:, None, 2:], b[None, :, 2:]) - np.maximum(b[:, None, :2], b[None, :, :2]) + one
    wh = np.clip(wh, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    denom = area[:, None] + area[None, :] - inter if mode == "union" else np.minimum(area[:, None], area[None, :])
    overlap = inter / np.maximum(denom, 1e-12)
    suppressed = np.zeros(len(b), dtype=bool)
    keep = []
    for i in range(len(b)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= overlap[i] > threshold
    return order[torch.as_tensor(keep, dtype=torch.long)]


def regress(boxes: torch.Tensor, offsets: torch.Tensor, whole_pixels: bool) -> torch.Tensor:
    """Move the corners of ``boxes (N, 4)`` by ``offsets (N, 4)`` in units of the box's width and
    height, measured as ``x2 - x1`` or, with ``whole_pixels``, ``x2 - x1 + 1`` (R- and O-net's
    regression; P-net's uses the plain width)."""
    size = (boxes[:, 2:] - boxes[:, :2] + (1.0 if whole_pixels else 0.0)).repeat(1, 2)
    return boxes + offsets * size


def square(boxes: torch.Tensor) -> torch.Tensor:
    """The squares of side ``max(width, height)`` centred on ``boxes (N, 4)``."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).amax(1, keepdim=True) / 2
    return torch.cat([centre - half, centre + half], 1)


def crop_windows(image: torch.Tensor, boxes: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops of ``image (3, H, W)`` at ``boxes (N, 4)``, each resized to ``(3, size, size)`` by area
    averaging, as the official detector cuts them: corners truncated toward zero, the box clipped
    to the image (the left/top corner to at least pixel 1), and the pixels ``x1 - 1 .. x2 - 1``,
    ``y1 - 1 .. y2 - 1`` taken, so a box reaching outside the image gives the squeezed crop of the
    part inside, not a padded one.

    Returns:
        ``(crops (M, 3, size, size), kept (N,) bool)``: boxes that leave no pixel inside are dropped.
    """
    _, h, w = image.shape
    corners = boxes.trunc().long()
    x1, y1 = corners[:, 0].clamp(min=1), corners[:, 1].clamp(min=1)
    x2, y2 = corners[:, 2].clamp(max=w), corners[:, 3].clamp(max=h)
    kept = (x2 > x1 - 1) & (y2 > y1 - 1)
    crops = [
        F.interpolate(image[None, :, b - 1 : d, a - 1 : c], size=(size, size), mode="area")[0]
        for a, b, c, d in zip(x1[kept].tolist(), y1[kept].tolist(), x2[kept].tolist(), y2[kept].tolist())
    ]
    return (torch.stack(crops) if crops else image.new_zeros(0, 3, size, size)), kept


def _stage_propose(net: MTCNN, image: torch.Tensor, config: DetectorConfig) -> torch.Tensor:
    """P-net over the pyramid: ``(N, 5)`` squared candidate boxes and scores.

    Window ``(row, col)`` of the level at ``scale`` is the box ``floor((2 col + 1) / scale)``,
    ``floor((2 row + 1) / scale)`` to ``floor((2 col + 12) / scale)``, ``floor((2 row + 12) / scale)``
    of the image; the suppressions run on these boxes, P-net's regression after them.
    """
    _, h, w = image.shape
    found = []
    for scale in pyramid_scales(h, w, config):
        level = F.interpolate(image[None], size=level_size(h, w, scale), mode="area")
        prob, offsets = net.pnet(normalise(level))
        ys, xs = torch.nonzero(prob[0] >= config.thresholds[0], as_tuple=True)
        index = torch.stack([xs, ys], 1).to(image.dtype)
        boxes = torch.cat([((2 * index + 1) / scale).floor(), ((2 * index + 12) / scale).floor()], 1)
        cand = torch.cat([boxes, prob[0, ys, xs, None], offsets[0, :, ys, xs].T], 1)
        found.append(cand[nms(cand[:, :4], cand[:, 4], config.nms[0])])
    cand = torch.cat(found) if found else torch.zeros(0, 9)
    cand = cand[nms(cand[:, :4], cand[:, 4], config.nms[1])]
    return torch.cat([square(regress(cand[:, :4], cand[:, 5:], whole_pixels=False)), cand[:, 4:5]], 1)


def detect(image: torch.Tensor, config: DetectorConfig | None = None) -> list[Face]:
    """Faces in one image, highest score first, computed step by step as facenet-pytorch 2.6.0's
    ``MTCNN.detect`` (which Unsup3d's demo uses) computes them.

    Args:
        image: ``(3, H, W)`` float in [0, 1].
        config: :class:`DetectorConfig` (default: facenet-pytorch's settings).

    Returns:
        A list of :class:`Face` (empty when none is found or the image is smaller than ``min_face``).
    """
    config = config or DetectorConfig()
    check_image(image)
    net = load_mtcnn()
    image = image.detach().float().cpu()
    shrink = max(image.shape[1:]) / config.max_side if config.max_side is not None else 1.0
    if shrink > 1:
        h, w = round(image.shape[1] / shrink), round(image.shape[2] / shrink)
        scale = np.array([image.shape[2] / w, image.shape[1] / h])
        small = detect(F.interpolate(image[None], size=(h, w), mode="area")[0], config)
        return [
            Face(tuple((np.array(f.box) * np.tile(scale, 2)).tolist()), f.score, f.landmarks * scale) for f in small
        ]
    with torch.inference_mode():
        cand = _stage_propose(net, image, config)
        crops, kept = crop_windows(image, cand[:, :4], RNet.size)
        cand = cand[kept]
        if len(cand):
            prob, offsets = net.rnet(normalise(crops))
            ok = prob > config.thresholds[1]
            boxes, prob, offsets = cand[ok, :4], prob[ok], offsets[ok]
            keep = nms(boxes, prob, config.nms[2])
            cand = square(regress(boxes[keep], offsets[keep], whole_pixels=True))
        crops, kept = crop_windows(image, cand[:, :4], ONet.size)
        windows = cand[kept, :4]
        if not len(windows):
            return []
        prob, offsets, marks = net.onet(normalise(crops))
        ok = prob > config.thresholds[2]
        windows, prob, offsets, marks = windows[ok], prob[ok], offsets[ok], marks[ok]
        size = windows[:, 2:] - windows[:, :2] + 1
        points = torch.stack([marks[:, :5], marks[:, 5:]], 2) * size[:, None] + windows[:, None, :2] - 1
        boxes = regress(windows, offsets, whole_pixels=True)
        keep = nms(boxes, prob, config.nms[3], mode="min", whole_pixels=True)
    faces = []
    for i in keep.tolist():
        x1, y1, x2, y2 = boxes[i].tolist()
        faces.append(Face((x1, y1, x2, y2), float(prob[i]), points[i].numpy().astype(np.float64)))
    return faces
