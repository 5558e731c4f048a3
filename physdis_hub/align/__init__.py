"""Face detection and alignment: a photograph in, the crop the face models were trained on out.

The face models expect Unsup3d's input: a 64x64 crop around the face, made by the crop of Unsup3d's
demo (:mod:`physdis_hub.align.crop`) from a box found by the MTCNN face detector
(:mod:`physdis_hub.align.mtcnn`, plain PyTorch, weights shipped in the package).

Public API:

- :func:`detect_faces` ``(image) -> list[Face]``: boxes, scores, 5 landmarks; highest score first;
- :func:`align_faces` ``(image, faces="largest"|"all") -> list[AlignedFace]``: crops + faces;
- :func:`align_images` ``(images, size) -> Alignment``: a batch for a model, with which input each
  row came from; :meth:`physdis_hub.PhysDisModel.extract` / ``decompose`` call it (``align=``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InputError
from ..inputs import ImageLike, Images, as_batch, as_images, expand_folder, fit_to_size, warn_tiny
from .crop import crop_square, demo_crop
from .mtcnn import DetectorConfig, Face, detect

__all__ = [
    "FACES",
    "SAMPLE_PHOTO",
    "AlignCrops",
    "AlignedFace",
    "Alignment",
    "DetectorConfig",
    "Face",
    "align_faces",
    "align_images",
    "crop_square",
    "demo_crop",
    "detect_faces",
]

FACES = ("largest", "all")
"""Which faces :func:`align_faces` returns: the largest (by box area, as Unsup3d's demo selects with
facenet-pytorch's ``select_largest=True``) or all, largest first."""
SAMPLE_PHOTO = Path(__file__).parents[1] / "data" / "assets" / "astronaut.jpg"
"""A real photograph shipped with the package (512 x 512, one face; NASA, public domain; see
``physdis_hub/data/assets/LICENSES.md``)."""


def _one_image(image: ImageLike, name: str) -> torch.Tensor:
    images = as_images(image, name)
    if len(images) != 1:
        raise InputError(f"{name}: expected one image, got a batch of {len(images)}")
    return images[0]


def detect_faces(image: ImageLike, config: DetectorConfig | None = None) -> list[Face]:
    """Faces in one ``image`` (tensor ``(3, H, W)``, array ``(H, W[, 3])``, PIL image or file path),
    highest score first; ``[]`` when there is none. See :class:`Face` for the box convention."""
    return detect(_one_image(image, "image"), config)


@dataclass(frozen=True)
class AlignedFace:
    """A face and its crop.

    Attributes:
        crop: ``(3, size, size)`` float in [0, 1], Unsup3d's demo crop.
        face: the detection it was cut around.
    """

    crop: torch.Tensor
    face: Face


def _check_faces(faces: str) -> None:
    if faces not in FACES:
        raise InputError(f"faces: expected one of {FACES}, got {faces!r}")


def _align_one(image: torch.Tensor, faces: str, size: int, config: DetectorConfig | None) -> list[AlignedFace]:
    found = sorted(detect(image, config), key=lambda f: -f.area)
    chosen = found[:1] if faces == "largest" else found
    return [AlignedFace(demo_crop(image, f.box, size), f) for f in chosen]


def align_faces(
    image: ImageLike, faces: str = "largest", size: int = 64, config: DetectorConfig | None = None
) -> list[AlignedFace]:
    """Detect faces in one ``image`` and crop them as the face models expect.

    Args:
        image: as :func:`detect_faces`.
        faces: ``"largest"`` (at most one) or ``"all"`` (largest first).
        size: side of the crops.
        config: detector settings.

    Returns:
        ``[]`` when no face is found.
    """
    _check_faces(faces)
    return _align_one(_one_image(image, "image"), faces, size, config)


@dataclass
class Alignment:
    """A batch made from ``N`` inputs by :func:`align_images`.

    Attributes:
        images: ``(M, 3, size, size)`` float in [0, 1]: the crops (or the resized inputs that were
            not aligned), in input order, a photo's faces largest first.
        source: ``(M,)`` index of the input each row came from.
        faces: ``M`` entries: the :class:`Face` a row was cropped around, or None for an input used
            as it is.
        names: ``N`` names of the inputs (the file path for paths, else ``images[i]``).
        missing: indices of the inputs in which no face was found (skipped, with a warning).
    """

    images: torch.Tensor
    source: torch.Tensor
    faces: list[Face | None]
    names: list[str]
    missing: list[int]


def _needs_alignment(image: torch.Tensor, size: int, align: str | bool) -> bool:
    if align == "auto":
        return max(image.shape[1:]) > size
    return bool(align)


class AlignCrops:
    """Preprocessing hook of :mod:`physdis_hub.stream` that aligns as :func:`align_images` does
    with ``align="auto"``, one decoded image at a time (picklable, for DataLoader workers).

    Args:
        size: the model's input side.
        faces: ``"largest"`` or ``"all"``.
        resize: how images of ``size`` or smaller are brought to ``size`` (see ``as_batch``).
        config: detector settings.
    """

    def __init__(
        self, size: int, faces: str = "largest", resize: str = "center-crop", config: DetectorConfig | None = None
    ) -> None:
        _check_faces(faces)
        self.size, self.faces, self.resize, self.config = size, faces, resize, config
        self.numbered = faces == "all"  # rows FILE#K for every face, as align_images names them

    def __call__(self, image: torch.Tensor) -> list[torch.Tensor]:
        """``(3, H, W)`` in [0, 1] -> the ``(3, size, size)`` crops of its faces (``[]``: no face);
        an image no larger than ``size`` is taken as a crop already and only resized."""
        if not _needs_alignment(image, self.size, "auto"):
            return [as_batch(image, self.size, self.resize)[0]]
        return [a.crop for a in _align_one(image, self.faces, self.size, self.config)]


def align_images(
    images: Images,
    size: int,
    *,
    align: str | bool = "auto",
    faces: str = "largest",
    resize: str = "center-crop",
    config: DetectorConfig | None = None,
) -> Alignment:
    """Turn ``images`` (any form :func:`physdis_hub.inputs.as_batch` accepts) into a model batch,
    aligning the faces of photographs.

    Args:
        images: tensors, arrays, PIL images, file paths, or a list of them.
        size: the model's input side.
        align: ``"auto"``: align an image when its height or width exceeds ``size`` (a photograph);
            an image of ``size`` or smaller is taken as a crop already and only resized. ``True``:
            align every image; ``False``: none (they are brought to ``size`` by ``resize``).
        faces: ``"largest"`` or ``"all"`` faces of an aligned image.
        resize: how images that are not aligned are brought to ``size`` (see ``as_batch``).
        config: detector settings.

    Returns:
        An :class:`Alignment`. An input without a face is left out, named in a warning and listed
        in ``missing``; ``images`` has 0 rows when no input gave one.
    """
    if not (align == "auto" or align is True or align is False):
        raise InputError(f"align: expected 'auto', True or False, got {align!r}")
    _check_faces(faces)
    images = expand_folder(images)
    listed = images if isinstance(images, (list, tuple)) else [images]
    loaded = as_images(images)
    names = [str(x) if isinstance(x, (str, Path)) else f"images[{i}]" for i, x in enumerate(listed)]
    if len(names) != len(loaded):  # one batched tensor or array
        names = [f"images[{i}]" for i in range(len(loaded))]
    rows: list[torch.Tensor] = []
    source: list[int] = []
    found: list[Face | None] = []
    missing: list[int] = []
    crops: dict[str, Sequence[int]] = {}  # inputs taken as crops: name -> (H, W)
    for i, image in enumerate(loaded):
        if not _needs_alignment(image, size, align):
            crops[names[i]] = image.shape[-2:]
            rows.append(fit_to_size(image[None], size, resize)[0])
            source.append(i)
            found.append(None)
            continue
        aligned = _align_one(image, faces, size, config)
        if not aligned:
            missing.append(i)
            warnings.warn(f"no face found in {names[i]}; it is skipped", stacklevel=2)
        for a in aligned:
            rows.append(a.crop)
            source.append(i)
            found.append(a.face)
    warn_tiny(crops, size)
    batch = torch.stack(rows) if rows else torch.zeros(0, 3, size, size)
    return Alignment(batch, torch.tensor(source, dtype=torch.long), found, names, missing)
