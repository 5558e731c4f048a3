"""The package's vocabulary, defined once: part names, LOOCC variants, devices,
and the two image value ranges.

Each set of names is a ``Literal`` type (for annotations and type checkers) with the tuple of its
values (for checks and ``argparse`` choices) derived from it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from .errors import InputError

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

BATCH_SIZE = 64
"""Default images per forward pass of inference everywhere (``extract``, ``decompose``, the
``physdis`` commands, streamed extraction, the probes' extractors): small enough for a CPU."""

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
        raise InputError(f"{name}: expected a sequence of part names from {list(PARTS)}, got {parts!r}")
    parts = list(parts)
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        raise InputError(f"{name}: expected a non-empty subset of {list(PARTS)}, got {parts}")
    if len(set(parts)) != len(parts):
        raise InputError(f"{name}: repeated part names in {parts}")
    return cast("list[Part]", parts)


def parse_parts(text: str | Sequence[str], name: str = "--parts") -> list[Part]:
    """Part names written on a command line, checked by :func:`check_parts`.

    One syntax is documented (``geom,alb``); space-separated words (``--parts geom alb``) and a mix
    are accepted too, so ``["geom", "alb"]``, ``["geom,alb"]`` and ``"geom, alb"`` all give
    ``["geom", "alb"]``.

    Raises:
        ValueError: naming ``name``, for an empty selection, an unknown or a repeated name.
    """
    words = [text] if isinstance(text, str) else list(text)
    return check_parts([p.strip() for word in words for p in word.split(",") if p.strip()], name)


def add_parts_argument(parser: argparse.ArgumentParser, what: str, default: Sequence[Part] | None = None) -> None:
    """Add ``--parts`` to a command: ``--parts geom,alb`` (documented), ``--parts geom alb`` accepted
    (:func:`parse_parts`); the value is a list of part names, or ``default``."""

    class _Parts(argparse.Action):
        def __call__(
            self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
        ) -> None:
            try:
                setattr(namespace, self.dest, parse_parts(values))
            except ValueError as err:
                parser.error(str(err))

    shown = f" (default: {','.join(default)})" if default else ""
    parser.add_argument(
        "--parts",
        nargs="+",
        action=_Parts,
        default=list(default) if default else None,
        metavar="PART[,PART...]",
        help=f"{what}: comma-separated names of {','.join(PARTS)}{shown}",
    )


def to_network_range(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (the user-facing convention) -> [-1, 1] (the networks' and renderer's)."""
    return images * 2 - 1


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (the networks' and renderer's convention) -> [0, 1]."""
    return (images + 1) / 2
