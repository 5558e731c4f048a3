"""The package's vocabulary, defined once: part names, LOOCC variants, devices,
and the two image value ranges.

Each set of names is a ``Literal`` type (for annotations and type checkers) with the tuple of its
values (for checks and ``argparse`` choices) derived from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, cast, get_args

if TYPE_CHECKING:  # annotations only: importing the vocabulary must not import torch (`physdis --help`)
    import torch

Part = Literal["geom", "alb", "light", "view"]
"""A scene part: geometry (depth), albedo, light, view."""
PARTS: tuple[Part, ...] = get_args(Part)
"""Names of the four scene parts, in the order features are concatenated."""

Variant = Literal["none", "L", "LV"]
"""A LOOCC variant, as code spells it: ``"none"`` (reconstruction only), ``"L"`` (perturb light),
``"LV"`` (light or view per batch)."""
VARIANTS: tuple[Variant, ...] = get_args(Variant)
"""Every LOOCC variant, as code spells it."""
VARIANT_LABELS: dict[Variant, str] = {"none": "no LOOCC", "L": "LOOCC-L", "LV": "LOOCC-LV"}
"""How each variant is displayed (tables, model cards, figures)."""
VARIANT_SLUGS: dict[Variant, str] = {v: label.lower().replace(" ", "-") for v, label in VARIANT_LABELS.items()}
"""Each variant in names and tags: ``no-loocc``, ``loocc-l``, ``loocc-lv`` (Hub tags, repository names)."""

Device = Literal["auto", "cpu", "cuda"]
"""Where training runs: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``."""
DEVICES: tuple[Device, ...] = get_args(Device)
"""Every training device setting."""


def check_parts(parts: str | Sequence[str], name: str = "parts") -> list[Part]:
    """``parts`` as a list of distinct part names (a single name is a one-part list).

    Raises:
        ValueError: naming ``name``, for an empty selection, an unknown or a repeated name.
    """
    if isinstance(parts, str):
        parts = [parts]
    if not isinstance(parts, Sequence):
        raise ValueError(f"{name}: expected a sequence of part names from {list(PARTS)}, got {parts!r}")
    parts = list(parts)
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        raise ValueError(f"{name}: expected a non-empty subset of {list(PARTS)}, got {parts}")
    if len(set(parts)) != len(parts):
        raise ValueError(f"{name}: repeated part names in {parts}")
    return cast("list[Part]", parts)


def to_network_range(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (the user-facing convention) -> [-1, 1] (the networks' and renderer's)."""
    return images * 2 - 1


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (the networks' and renderer's convention) -> [0, 1]."""
    return (images + 1) / 2
