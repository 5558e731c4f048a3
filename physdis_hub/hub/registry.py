"""The registry of named pretrained checkpoints.

Each :class:`PretrainedEntry` pins exactly what a name loads: a Hub repository at a 40-hex commit
with the sha256 of its files, or files embedded in the package (``physdis_hub/hub/weights/<name>/``,
loaded with no network). The registry names only checkpoints that really load: it starts with the
embedded default ``faces-loocc-lv`` (:data:`_BUILTIN`). :func:`register_pretrained` adds entries at
run time (your own checkpoints, tests).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from ..errors import UnknownNameError, lookup

EMBEDDED_WEIGHTS = resources.files(__package__) / "weights"
"""Folder of the embedded checkpoints: one ``<name>/`` sub-folder with config.json + model.safetensors."""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
"""A Hub repository id, ``org/name`` (every check of one uses this pattern)."""
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class UnknownPretrainedError(UnknownNameError):
    """No registered checkpoint has this name (the message suggests close matches)."""


@dataclass(frozen=True)
class PretrainedEntry:
    """A named, pinned checkpoint.

    Attributes:
        name: registry name, lowercase (e.g. ``"faces-loocc-lv"``).
        kind: ``"hub"`` (downloaded from ``repo_id`` at ``revision``) or ``"embedded"`` (files in
            ``physdis_hub/hub/weights/<name>/``; ``repo_id`` and ``revision`` are None).
        repo_id: Hub repository ``"org/name"``.
        revision: the 40-hex commit the name is pinned to (a branch could move).
        sha256: sha256 of ``model.safetensors``, checked before the file is used.
        config_sha256: sha256 of ``config.json`` (it defines the model, so it is pinned too).
        summary: one-line summary of the config (category, LOOCC variant, parts).
        license: licence of the weights (Hub licence id).
        paper: paper the model follows (URL).
        description: what the checkpoint is and how it was trained.

    Example:
        >>> entry = PretrainedEntry(
        ...     name="faces-demo", kind="hub", repo_id="org/physdis-faces", revision="0" * 40,
        ...     sha256="1" * 64, config_sha256="2" * 64, summary="faces, LOOCC LV, 4 x 256-d",
        ...     license="mit", paper="https://arxiv.org/abs/2204.05281", description="demo")
    """

    name: str
    kind: Literal["hub", "embedded"]
    repo_id: str | None
    revision: str | None
    sha256: str
    config_sha256: str
    summary: str
    license: str
    paper: str
    description: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"name: expected lowercase letters, digits, '.', '_' or '-', got {self.name!r}")
        if self.kind == "hub":
            if not isinstance(self.repo_id, str) or not REPO_ID.fullmatch(self.repo_id):
                raise ValueError(f"repo_id: expected 'org/name' for a hub entry, got {self.repo_id!r}")
            if not isinstance(self.revision, str) or not _COMMIT.fullmatch(self.revision):
                raise ValueError(
                    f"revision: a hub entry is pinned to a 40-hex commit sha (a branch can move), got {self.revision!r}"
                )
        elif self.kind == "embedded":
            if self.repo_id is not None or self.revision is not None:
                raise ValueError(
                    "repo_id, revision: must be None for an embedded entry (its files ship in the package)"
                )
        else:
            raise ValueError(f"kind: expected 'hub' or 'embedded', got {self.kind!r}")
        for field in ("sha256", "config_sha256"):
            value = getattr(self, field)
            if not isinstance(value, str) or not _SHA256.fullmatch(value):
                raise ValueError(f"{field}: expected 64 lowercase hex digits, got {value!r}")

    @property
    def source(self) -> str:
        """Where the files come from: ``"org/name@<commit>"`` or ``"embedded"``."""
        return f"{self.repo_id}@{self.revision}" if self.kind == "hub" else "embedded"


_BUILTIN: tuple[PretrainedEntry, ...] = (
    PretrainedEntry(
        name="faces-loocc-lv",
        kind="embedded",
        repo_id=None,
        revision=None,
        sha256="97b4c791b9f50bc664d51664f1c31c6149c08cb772f77453d55f7d79e20ee84b",
        config_sha256="3a5f5690bbe7e42fb789350556be4b3738e27df5b52fc593c3b62b1b1befa28b",
        summary="faces, LOOCC-LV, CPU scale (nf 16), 4 x 128-d features, float16",
        license="mit",
        paper="https://arxiv.org/abs/2204.05281",
        description=(
            "Small default checkpoint embedded in the package: `python -m training.train --preset "
            "faces-synthetic-cpu --variant LV --epochs 20` on physdis-hub's synthetic faces (8,000 images of 400 "
            "identities, strong oblique light, textured backdrops, photometric augmentation; normal-smoothness depth "
            "prior, convex start, LOOCC cycle term; 5,000 steps, best epoch 20, about 3 hours on 2 shared CPU cores), "
            "LOOCC light-or-view, calibrated part scales. Its depth beats a constant depth (MAD 18 vs 43 deg, SIDE "
            "0.68x on the synthetic test set); on the real-photo proxy its geom + alb features beat an untrained "
            "network (0.472 vs 0.392, model card), though real faces still decompose into a template-like head."
        ),
    ),
)
"""Checkpoints that ship with physdis-hub: the embedded CPU-scale default (files in weights/<name>/)."""

_REGISTRY: dict[str, PretrainedEntry] = {entry.name: entry for entry in _BUILTIN}


def register_pretrained(entry: PretrainedEntry, *, overwrite: bool = False) -> None:
    """Add ``entry`` to the registry so that ``load_pretrained(entry.name)`` loads it.

    Raises:
        TypeError: ``entry`` is not a :class:`PretrainedEntry`.
        ValueError: its name is taken and not ``overwrite``.
    """
    if not isinstance(entry, PretrainedEntry):
        raise TypeError(f"entry: expected a PretrainedEntry, got {type(entry).__name__}")
    if entry.name in _REGISTRY and not overwrite:
        raise ValueError(f"entry: the name {entry.name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[entry.name] = entry


def unregister_pretrained(name: str) -> PretrainedEntry:
    """Remove ``name`` from the registry and return its entry."""
    entry = get_pretrained(name)
    del _REGISTRY[name]
    return entry


def list_pretrained(filter: str | None = None) -> list[PretrainedEntry]:
    """Registered checkpoints sorted by name, optionally only names matching the glob ``filter``.

    Example:
        >>> [entry.name for entry in list_pretrained("faces-*")]
        ['faces-loocc-lv']
    """
    if filter is not None and not isinstance(filter, str):
        raise ValueError(f"filter: expected a glob pattern string such as 'faces-*', got {type(filter).__name__}")
    return [
        _REGISTRY[name] for name in sorted(_REGISTRY) if filter is None or fnmatch.fnmatchcase(name, filter.lower())
    ]


def get_pretrained(name: str) -> PretrainedEntry:
    """The entry registered as ``name``.

    Raises:
        UnknownPretrainedError: with close-match suggestions and the other ways to name a checkpoint.
    """
    hints = [f"to load a Hub repository, use 'hf-hub:{name}'"] if REPO_ID.fullmatch(name) else []
    hints.append("see physdis_hub.list_pretrained(); other checkpoints load as 'hf-hub:org/repo[@revision]' "
                 "or 'local-dir:/path/to/folder'")
    return lookup(_REGISTRY, name, what="pretrained model", error=UnknownPretrainedError, hints=hints,
                  lead=f"no pretrained model named {name!r}")
