"""Turning what users pass (tensors, arrays, PIL images, file paths, folders) into model input batches.

Image files are decoded by :func:`read_image`: transparent pixels are composited onto
:data:`ALPHA_BACKGROUND` (white), 16-bit files are scaled to [0, 1] by 65535, and a file that cannot
be decoded is a ``ValueError`` that names it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, Union

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InputError

if TYPE_CHECKING:
    import PIL.Image

ImageLike = Union[torch.Tensor, np.ndarray, "PIL.Image.Image", str, Path]
Images = Union[ImageLike, Sequence[ImageLike]]
ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
"""File suffixes taken as images when a folder is expanded."""
CHANNELS = (1, 3, 4)
"""Channel counts an image may have: grey, RGB, RGBA."""
ALPHA_BACKGROUND = 1.0
"""Grey level in [0, 1] (1.0: white) that transparent pixels are composited onto; the colour stored
under a transparent pixel is never used."""


def collect_images(inputs: Sequence[str | Path], name: str = "inputs") -> list[Path]:
    """Image files named by ``inputs``: files as given, folders expanded (sorted, not recursive), and
    ``.txt`` file lists read (one path per line, relative to the list's folder; blank lines and lines
    starting with ``#`` are skipped).

    Raises:
        ValueError: naming ``name`` for a missing path, a folder without images or an empty list.
    """
    images: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(f"{name}: no images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
            images += found
        elif path.is_file() and path.suffix.lower() == ".txt":
            lines = [line.strip() for line in path.read_text().splitlines()]
            listed = [path.parent / line for line in lines if line and not line.startswith("#")]
            if not listed:
                raise InputError(f"{name}: the file list {path} names no images (one path per line expected)")
            images += listed
        elif path.is_file():
            images.append(path)
        elif not path.exists():
            raise InputError(f"{name}: no such file or folder: {item}")
        else:
            raise InputError(f"{name}: {item} is neither an image file, a .txt file list nor a folder")
    return images


def read_image(path: str | Path, name: str | None = None) -> np.ndarray:
    """Decode an image file to ``(H, W, 3)`` float32 in [0, 1].

    Grayscale is replicated, alpha is composited onto :data:`ALPHA_BACKGROUND`, 16-bit samples are
    divided by 65535 (8-bit by 255).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable image (named in the message, prefixed by ``name``).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    label = f"{name}: " if name else ""
    if not path.is_file():
        raise FileNotFoundError(f"{label}no such image file: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            return _to_float_rgb(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InputError(f"{label}cannot decode image file {path} ({type(err).__name__}: {err})") from err


def _to_float_rgb(im: Any) -> np.ndarray:
    """PIL image -> ``(H, W, 3)`` float32 in [0, 1], alpha composited onto the background."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit grayscale (PNG, TIFF)
        arr = np.asarray(im, dtype=np.float64)
        scale = 65535.0 if im.mode != "I" or arr.max(initial=0) > 255 else 255.0
        grey = (np.clip(arr, 0, scale) / scale).astype(np.float32)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if im.mode == "F":
        raise InputError("32-bit float images (mode F) have no defined range; convert to 8 or 16 bit")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info)
    if not has_alpha:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    return _composite_alpha(np.asarray(im.convert("RGBA"), dtype=np.float32) / 255)


def _composite_alpha(rgba: ArrayT) -> ArrayT:
    """``(..., 4)`` float in [0, 1] (numpy or torch) -> ``(..., 3)``: colour over
    :data:`ALPHA_BACKGROUND` by alpha."""
    alpha = rgba[..., 3:]
    return rgba[..., :3] * alpha + ALPHA_BACKGROUND * (1 - alpha)


def as_batch(images: Images, size: int, resize: str = "center-crop", name: str = "images") -> torch.Tensor:
    """Convert ``images`` to a float batch ``(B, 3, size, size)`` in [0, 1].

    Accepted forms:

    - torch tensors ``(C, H, W)`` or ``(B, C, H, W)`` with C = 1, 3 or 4 (RGBA: alpha composited onto
      :data:`ALPHA_BACKGROUND`, as for files): float in [0, 1] or uint8 in [0, 255];
    - numpy arrays ``(H, W)``, ``(H, W, C)`` or ``(B, H, W, C)`` (channels last, as PIL/imageio give
      them), or ``(C, H, W)`` / ``(B, C, H, W)`` (channels first, as torch), with C = 1, 3 or 4
      (RGBA: alpha composited onto :data:`ALPHA_BACKGROUND`, as for files); float in [0, 1] or uint8.
      An array whose last axis is 1, 3 or 4 is read as channels last;
    - ``PIL.Image.Image``, or a file path (``str`` / ``Path``) to an image file (read by
      :func:`read_image`: alpha onto white, 16-bit scaled);
    - a folder path (its images, sorted, as :func:`collect_images` expands it) or a ``.txt`` file list;
    - a list/tuple of any of these (each may have its own size); folders and file lists in it are
      expanded in place, so rows (and error names ``images[i]``) count the expanded images.

    Grayscale is replicated to RGB. Other sizes are brought to ``size`` by ``resize``:
    ``"center-crop"`` (largest centred square, then bilinear with antialiasing) or ``"stretch"``.
    Tiny images (shorter side under ``size / 2``: upsampled more than 2x) are named in one warning
    (:func:`warn_tiny`).

    Raises:
        ValueError: naming ``name`` for empty input, wrong shapes or dtypes, values out of range, NaN/inf.
        FileNotFoundError: for a missing file path.
    """
    images = expand_folder(images, name)
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise InputError(f"{name}: got an empty list; expected at least one image")
        parts = [_to_chw(img, f"{name}[{i}]") for i, img in enumerate(images)]
        warn_tiny({f"{name}[{i}]": p.shape[-2:] for i, p in enumerate(parts)}, size)
        return torch.stack([fit_to_size(p[None], size, resize)[0] for p in parts])
    batch = _to_bchw(images, name)
    warn_tiny({name: batch.shape[-2:]}, size)
    return fit_to_size(batch, size, resize)


def _is_file_collection(item: Any) -> TypeGuard[str | Path]:
    """A folder path or a ``.txt`` file list (what :func:`collect_images` expands)."""
    return isinstance(item, (str, Path)) and (Path(item).is_dir() or Path(item).suffix.lower() == ".txt")


def expand_folder(images: Images, name: str = "images") -> Images:
    """A folder path or ``.txt`` file list as the list of image paths it names
    (:func:`collect_images`); in a list, each such entry is expanded in place; any other input
    unchanged."""
    if _is_file_collection(images):
        return [str(p) for p in collect_images([images], name)]
    if isinstance(images, (list, tuple)) and any(_is_file_collection(item) for item in images):
        expanded: list[ImageLike] = []
        for i, item in enumerate(images):
            if _is_file_collection(item):
                expanded += [str(p) for p in collect_images([item], f"{name}[{i}]")]
            else:
                expanded.append(item)
        return expanded
    return images


def as_images(images: Images, name: str = "images") -> list[torch.Tensor]:
    """``images`` (any form :func:`as_batch` accepts) as a list of ``(3, H, W)`` float tensors in
    [0, 1], each at its own size (nothing cropped or resized); one per image, in order.

    Raises:
        ValueError, FileNotFoundError: as :func:`as_batch`.
    """
    images = expand_folder(images, name)
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise InputError(f"{name}: got an empty list; expected at least one image")
        return [_to_chw(img, f"{name}[{i}]") for i, img in enumerate(images)]
    return list(_to_bchw(images, name))


def _to_bchw(images: Any, name: str) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        arr = images
        if arr.ndim == 4:  # (B, H, W, C)
            return (
                torch.cat([_to_chw(a, f"{name}[{i}]")[None] for i, a in enumerate(arr)]) if len(arr) else _empty(name)
            )
        return _to_chw(arr, name)[None]
    if isinstance(images, torch.Tensor):
        if images.ndim == 4:
            if images.shape[0] == 0:
                _empty(name)
            return _to_rgb(images, name)
        return _to_chw(images, name)[None]
    return _to_chw(images, name)[None]


def _empty(name: str) -> torch.Tensor:
    raise InputError(f"{name}: got an empty batch; expected at least one image")


def _to_chw(img: Any, name: str) -> torch.Tensor:
    """One image -> ``(3, H, W)`` float in [0, 1]."""
    if isinstance(img, (str, Path)):
        img = read_image(img, name)
    if type(img).__module__.startswith("PIL."):
        img = _to_float_rgb(img)
    if isinstance(img, np.ndarray):
        img = _array_to_chw(img, name)
    if not isinstance(img, torch.Tensor):
        raise InputError(f"{name}: expected a tensor, numpy array, PIL image or file path, got {type(img).__name__}")
    if img.ndim != 3:
        raise InputError(f"{name}: expected a (C, H, W) tensor with C = 1, 3 or 4, got shape {tuple(img.shape)}")
    return _to_rgb(img[None], name)[0]


def _array_to_chw(arr: np.ndarray, name: str) -> torch.Tensor:
    """One numpy image (see :func:`as_batch`) -> ``(C, H, W)`` tensor, C = 1, 3 or 4, dtype kept
    (uint8 or float)."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim == 3 and arr.shape[2] not in CHANNELS and arr.shape[0] in CHANNELS:
        arr = arr.transpose(1, 2, 0)  # channels first, as torch
    if arr.ndim != 3 or arr.shape[2] not in CHANNELS:
        raise InputError(
            f"{name}: expected a numpy array (H, W), (H, W, C) or (C, H, W) with C = 1, 3 or 4, got shape {arr.shape}"
        )
    if not (arr.dtype == np.uint8 or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{name}: expected uint8 or float array, got dtype {arr.dtype}")
    # a copy: read-only arrays (np.asarray of a PIL image, scikit-image data) make torch warn
    return torch.from_numpy(np.array(arr, copy=True)).permute(2, 0, 1)


def _to_rgb(batch: torch.Tensor, name: str) -> torch.Tensor:
    """``(B, C, H, W)`` uint8 or float, C = 1, 3 or 4 -> ``(B, 3, H, W)`` float in [0, 1]: gray
    replicated, RGBA composited onto :data:`ALPHA_BACKGROUND` (as image files are)."""
    if batch.shape[1] not in CHANNELS:
        raise InputError(f"{name}: expected 1, 3 or 4 channels (B, C, H, W), got shape {tuple(batch.shape)}")
    if min(batch.shape[-2:]) == 0:
        raise InputError(f"{name}: image has zero height or width: shape {tuple(batch.shape)}")
    batch = _check_range(batch, name)
    if batch.shape[1] == 4:
        return _composite_alpha(batch.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    return batch.expand(-1, 3, -1, -1)


def _check_range(batch: torch.Tensor, name: str) -> torch.Tensor:
    if batch.dtype == torch.uint8:
        return batch.float() / 255
    if not batch.is_floating_point():
        raise InputError(f"{name}: expected a float tensor in [0, 1] or uint8, got dtype {batch.dtype}")
    batch = batch.float()
    if not torch.isfinite(batch).all():
        raise InputError(f"{name}: contains NaN or inf")
    lo, hi = batch.min().item(), batch.max().item()
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise InputError(f"{name}: float images must be in [0, 1], got values in [{lo:.3g}, {hi:.3g}]")
    return batch.clamp(0, 1)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images ``(..., 3, H, W)`` in [0, 1] (any device, any float dtype) as ``(..., H, W, 3)`` uint8
    pixels on the CPU: clamped to [0, 1], times 255, rounded (what an image file stores)."""
    pixels = images.detach().float().cpu().clamp(0, 1).movedim(-3, -1).numpy() * 255
    return pixels.round().astype(np.uint8)


def warn_tiny(sides: dict[str, Sequence[int]], size: int) -> None:
    """One warning naming the images (``{name: (H, W)}``) whose shorter side is under ``size / 2``,
    i.e. that are upsampled more than 2x to the model's input; none when there are none."""
    tiny = {name: (int(h), int(w)) for name, (h, w) in sides.items() if min(h, w) < size / 2}
    if not tiny:
        return
    factor = max(size / min(hw) for hw in tiny.values())
    if len(tiny) == 1:
        [(name, (h, w))] = tiny.items()
        what = f"{name}: the image is {w}x{h} px, under half the model's {size}x{size} input; it is upsampled"
        tail = "so its features describe a blurred image"
    else:
        names = list(tiny)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        what = f"{len(tiny)} images ({shown}) are under half the model's {size}x{size} input; they are upsampled up to"
        tail = "so their features describe blurred images"
    warnings.warn(f"{what} {factor:.1f}x, {tail}", stacklevel=4)


def fit_to_size(batch: torch.Tensor, size: int, resize: str) -> torch.Tensor:
    """``(B, 3, H, W)`` -> ``(B, 3, size, size)`` (see :func:`as_batch`; :func:`warn_tiny` says when
    that upsamples more than 2x)."""
    h, w = batch.shape[-2:]
    if (h, w) == (size, size):
        return batch
    if resize == "center-crop" and h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        batch = batch[..., top : top + side, left : left + side]
    out = F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out.clamp(0, 1)
