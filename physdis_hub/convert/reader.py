"""Reading official training checkpoints (pickles) without running code from them.

Unsup3d and the PDR code save ``torch.save`` dicts that hold, beside tensors and plain containers,
one training-bookkeeping object (``unsup3d.meters.MetricsTrace`` or ``pdr.meters.MetricsTrace``).
:func:`read_checkpoint` unpickles with torch's ``weights_only`` unpickler, which builds only
tensors and plain containers, plus an allow-list that maps exactly those bookkeeping names onto
:class:`TrainingRecord`, an inert class of this package. Anything else the file asks for (a
function, another class) is refused before it is looked up, so nothing from the file runs.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from ..errors import ConversionError as ConversionError  # re-exported: raised by the readers below

BOOKKEEPING_CLASSES: tuple[str, ...] = ("unsup3d.meters.MetricsTrace", "pdr.meters.MetricsTrace")
"""Fully qualified names an official checkpoint may ask for beyond tensors and containers."""


class TrainingRecord:
    """Inert stand-in for a pickled training-bookkeeping object.

    The unpickler creates it with ``object.__new__`` and fills ``__dict__`` with the pickled
    attributes (for ``MetricsTrace``: ``data``, the per-epoch metrics); it has no methods, so
    nothing of the original class runs. Conversion drops it.
    """


_ASKED = (
    re.compile(r"GLOBAL ([\w.]+)"),  # a global that is not on the allow-list
    re.compile(r"unrecognized function (\S+)"),  # a call of a function that is not on it
    re.compile(r"but got (<class '[\w.]+'>)"),  # a BUILD of a type that is not on it
)


def read_checkpoint(path: str | os.PathLike[str], allowed: Iterable[str] = BOOKKEEPING_CLASSES) -> dict[str, Any]:
    """Unpickle an official checkpoint safely (see the module docstring).

    Args:
        path: a ``torch.save`` file, zip or legacy (PyTorch < 1.6) format.
        allowed: fully qualified class names read as :class:`TrainingRecord`.

    Returns:
        The checkpoint's top-level dict, tensors on the CPU.

    Raises:
        ConversionError: no such file; the file asks for anything outside the allow-list (named in
            the message; nothing of it ran); not a torch checkpoint; not a dict at the top level.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConversionError(f"checkpoint: {path} is not a file")
    allowed = tuple(allowed)
    try:
        with torch.serialization.safe_globals([(TrainingRecord, name) for name in allowed]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = (m.group(1) for m in (p.search(str(err)) for p in _ASKED) if m)
        asked = next(found, None)
        if asked is None:
            raise ConversionError(
                f"checkpoint: {path} is not a readable torch checkpoint ({_first_line(err)})"
            ) from None
        raise ConversionError(
            f"checkpoint: {path} refused: its pickle asks for {asked}, which is not allowed (only tensors, "
            f"plain containers and {', '.join(allowed)}); nothing from the file was run"
        ) from None
    except Exception as err:  # zip, storage and pickle-stream errors of every kind
        raise ConversionError(f"checkpoint: {path} is not a readable torch checkpoint ({_first_line(err)})") from None
    if not isinstance(data, dict):
        raise ConversionError(f"checkpoint: {path} holds a {type(data).__name__}, expected a dict of state dicts")
    return data


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
