"""The errors of physdis-hub: one base, :class:`PhysdisError`, so callers can catch everything the
package raises on purpose; and :func:`lookup`, the one way registries answer an unknown name.

Each error also derives from the built-in exception it has always been (``RuntimeError``,
``LookupError``, ``ValueError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

V = TypeVar("V")


class PhysdisError(Exception):
    """Base of the errors physdis-hub raises on purpose; the message says why and what to do."""


class InputError(PhysdisError, ValueError):
    """An argument or input that a function or command refuses (a wrong type, shape, range or
    name, a missing file); the message names it, what was expected and what came."""


class CheckpointError(PhysdisError, RuntimeError):
    """A checkpoint (a published model or a training state) cannot be found, fetched, verified or
    loaded: missing, truncated, corrupt, pickle-only, or not matching its config."""


class ChecksumMismatchError(CheckpointError):
    """A file's sha256 differs from the one pinned or recorded for it; the file was not used."""


class ConversionError(CheckpointError):
    """Weights of another format (an official Unsup3d or PDR checkpoint, an ONNX VGG16) cannot be
    read or converted: the source is not of the expected layout, or the conversion does not
    reproduce it. The message says why (one line)."""


class ConfigFormatError(PhysdisError, ValueError):
    """A ``config.json`` of a format this physdis-hub does not read (an older development format
    or a newer release); the message says how to re-export or upgrade."""


class UnknownNameError(PhysdisError, LookupError):
    """A registry has no entry of this name (the message suggests close matches)."""


def lookup(
    table: Mapping[str, V],
    name: str,
    *,
    what: str,
    error: type[Exception] = UnknownNameError,
    hints: Iterable[str] = (),
    lead: str | None = None,
) -> V:
    """``table[name]``, or ``error`` naming close matches (difflib) and the known names.

    Args:
        table: the registry, name -> entry.
        name: the name asked for.
        what: what the names name, for the message (``"data set"``, ``"preset"``, ...).
        error: the exception class to raise.
        hints: further advice appended to the message.
        lead: the message's first clause (default: ``unknown <what> '<name>'``).

    Example:
        >>> lookup({"faces": 1, "cars": 2}, "face", what="category")
        Traceback (most recent call last):
        ...
        physdis_hub.errors.UnknownNameError: unknown category 'face'; did you mean 'faces'?; known: cars, faces
    """
    if isinstance(name, str) and name in table:
        return table[name]
    close = difflib.get_close_matches(name.lower(), list(table), n=3, cutoff=0.6) if isinstance(name, str) else []
    parts = [lead or f"unknown {what} {name!r}"]
    if close:
        parts.append(f"did you mean {' or '.join(repr(c) for c in close)}?")
    parts.append(f"known: {', '.join(sorted(table)) or 'none yet'}")
    raise error("; ".join([*parts, *hints]))
