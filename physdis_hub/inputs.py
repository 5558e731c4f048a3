"""Turning what users pass (tensors, arrays, PIL images, file paths) into model input batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    import PIL.Image

ImageLike = Union[torch.Tensor, np.ndarray, "PIL.Image.Image", str, Path]
Images = Union[ImageLike, Sequence[ImageLike]]


def as_batch(images: Images, size: int, resize: str = "center-crop", name: str = "images") -> torch.Tensor:
    """Convert ``images`` to a float batch ``(B, 3, size, size)`` in [0, 1].

    Accepted forms:

    - torch tensors ``(3, H, W)``, ``(1, H, W)``, ``(B, 3, H, W)`` or ``(B, 1, H, W)``: float in [0, 1]
      or uint8 in [0, 255];
    - numpy arrays ``(H, W)``, ``(H, W, 3)``, ``(B, H, W, 3)`` (channels last, as PIL/imageio give
      them), float in [0, 1] or uint8;
    - ``PIL.Image.Image``, or a file path (``str`` / ``Path``) to an image file;
    - a list/tuple of any of these (each may have its own size).

    Grayscale is replicated to RGB. Other sizes are brought to ``size`` by ``resize``:
    ``"center-crop"`` (largest centred square, then bilinear with antialiasing) or ``"stretch"``.

    Raises:
        ValueError: naming ``name`` for empty input, wrong shapes or dtypes, values out of range, NaN/inf.
        FileNotFoundError: for a missing file path.
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError(f"{name}: got an empty list; expected at least one image")
        parts = [_to_chw(img, f"{name}[{i}]") for i, img in enumerate(images)]
        return torch.stack([_fit(p[None], size, resize)[0] for p in parts])
    batch = _to_bchw(images, name)
    return _fit(batch, size, resize)



def as_images(images: Images, name: str = "images") -> list[torch.Tensor]:
    """``images`` (any form :func:`as_batch` accepts) as a list of ``(3, H, W)`` float tensors in
    [0, 1], each at its own size (nothing cropped or resized); one per image, in order.

    Raises:
        ValueError, FileNotFoundError: as :func:`as_batch`.
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError(f"{name}: got an empty list; expected at least one image")
        return [_to_chw(img, f"{name}[{i}]") for i, img in enumerate(images)]
    return list(_to_bchw(images, name))

def _to_bchw(images: Any, name: str) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        arr = images
        if arr.ndim == 4:  # (B, H, W, C)
            return torch.cat([_to_chw(a, f"{name}[{i}]")[None] for i, a in enumerate(arr)]) if len(arr) else _empty(name)
        return _to_chw(arr, name)[None]
    if isinstance(images, torch.Tensor):
        if images.ndim == 4:
            if images.shape[0] == 0:
                _empty(name)
            return _check_range(_replicate_gray(images, name), name)
        return _to_chw(images, name)[None]
    return _to_chw(images, name)[None]


def _empty(name: str) -> torch.Tensor:
    raise ValueError(f"{name}: got an empty batch; expected at least one image")


def _to_chw(img: Any, name: str) -> torch.Tensor:
    """One image -> ``(3, H, W)`` float in [0, 1]."""
    if isinstance(img, (str, Path)):
        img = _open(Path(img), name)
    if type(img).__module__.startswith("PIL."):
        img = np.array(img.convert("RGB"))
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            img = img[:, :, None]
        if img.ndim != 3 or img.shape[2] not in (1, 3):
            raise ValueError(f"{name}: expected a numpy array (H, W), (H, W, 1) or (H, W, 3), got shape {img.shape}")
        if not (img.dtype == np.uint8 or np.issubdtype(img.dtype, np.floating)):
            raise ValueError(f"{name}: expected uint8 or float array, got dtype {img.dtype}")
        img = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
    if not isinstance(img, torch.Tensor):
        raise ValueError(
            f"{name}: expected a tensor, numpy array, PIL image or file path, got {type(img).__name__}"
        )
    if img.ndim != 3:
        raise ValueError(f"{name}: expected a (3, H, W) or (1, H, W) tensor, got shape {tuple(img.shape)}")
    return _check_range(_replicate_gray(img[None], name), name)[0]


def _open(path: Path, name: str) -> Any:
    from PIL import Image

    if not path.is_file():
        raise FileNotFoundError(f"{name}: no such image file: {path}")
    with Image.open(path) as im:
        return im.convert("RGB")


def _replicate_gray(batch: torch.Tensor, name: str) -> torch.Tensor:
    if batch.shape[1] == 1:
        batch = batch.expand(-1, 3, -1, -1)
    if batch.shape[1] != 3:
        raise ValueError(f"{name}: expected 1 or 3 channels (B, C, H, W), got shape {tuple(batch.shape)}")
    if min(batch.shape[-2:]) == 0:
        raise ValueError(f"{name}: image has zero height or width: shape {tuple(batch.shape)}")
    return batch


def _check_range(batch: torch.Tensor, name: str) -> torch.Tensor:
    if batch.dtype == torch.uint8:
        return batch.float() / 255
    if not batch.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor in [0, 1] or uint8, got dtype {batch.dtype}")
    batch = batch.float()
    if not torch.isfinite(batch).all():
        raise ValueError(f"{name}: contains NaN or inf")
    lo, hi = batch.min().item(), batch.max().item()
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"{name}: float images must be in [0, 1], got values in [{lo:.3g}, {hi:.3g}]")
    return batch.clamp(0, 1)


def _fit(batch: torch.Tensor, size: int, resize: str) -> torch.Tensor:
    """``(B, 3, H, W)`` -> ``(B, 3, size, size)``."""
    h, w = batch.shape[-2:]
    if (h, w) == (size, size):
        return batch
    if resize == "center-crop" and h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        batch = batch[..., top : top + side, left : left + side]
    out = F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out.clamp(0, 1)
