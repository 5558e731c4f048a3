"""Checkpoint files: written atomically, verified by SHA-256 before anything is unpickled.

Layout of a ``.ckpt`` file: one ASCII header line, then a ``torch.save`` payload::

    PHYSDIS-CKPT 1 sha256=<64 hex digits> size=<payload bytes>\\n<payload>

:func:`save_checkpoint` writes to a temporary file in the target directory, flushes and fsyncs it,
then ``os.replace``-s it over the target, so a reader sees either the old or the new file, never a
partial one (a crash leaves at most a stray ``.tmp`` file, which is ignored). :func:`load_checkpoint`
checks the header, the size (truncation) and the digest (flipped bytes) and raises
:class:`CheckpointError` naming the file and the problem; a damaged checkpoint is never used. The
payload is then read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from physdis_hub.errors import CheckpointError

MAGIC = b"PHYSDIS-CKPT"
VERSION = 1
_HEADER = re.compile(rb"^PHYSDIS-CKPT (\d+) sha256=([0-9a-f]{64}) size=(\d+)$")
_MAX_HEADER = 256


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Atomically write ``state`` (tensors, numbers, strings, lists, tuples, dicts) to ``path``.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = b"%s %d sha256=%s size=%d\n" % (MAGIC, VERSION, hashlib.sha256(payload).hexdigest().encode(), len(payload))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_verified(path: str | Path) -> bytes:
    """The payload of a checkpoint file after checking header, size and SHA-256.

    Raises:
        CheckpointError: the file is missing, not a checkpoint, truncated or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    data = path.read_bytes()
    end = data.find(b"\n", 0, _MAX_HEADER)
    match = _HEADER.match(data[:end]) if end >= 0 else None
    if match is None:
        raise CheckpointError(
            f"checkpoint {path}: unreadable header (not a physdis checkpoint, or its first bytes are corrupt)"
        )
    version, digest, size = int(match[1]), match[2].decode(), int(match[3])
    if version != VERSION:
        raise CheckpointError(f"checkpoint {path}: format version {version}, this code reads version {VERSION}")
    payload = data[end + 1 :]
    if len(payload) != size:
        raise CheckpointError(
            f"checkpoint {path}: truncated or padded: header says {size} payload bytes, found {len(payload)}"
        )
    actual = hashlib.sha256(payload).hexdigest()
    if actual != digest:
        raise CheckpointError(
            f"checkpoint {path}: corrupt: SHA-256 of the payload is {actual}, the header records {digest}"
        )
    return payload


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, verifying it first.

    Raises:
        CheckpointError: see :func:`read_verified`, or a payload that passes the digest but does not load.
    """
    payload = read_verified(path)
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as err:  # digest matched, so this is a writer/reader mismatch, not corruption
        raise CheckpointError(f"checkpoint {path}: verified but could not be loaded: {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path}: expected a dict payload, got {type(state).__name__}")
    return state
