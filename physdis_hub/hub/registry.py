"""The registry of named pretrained checkpoints.

Each :class:`PretrainedEntry` pins exactly what a name loads: a Hub repository at a 40-hex commit
with the sha256 of its files, files embedded in the package (``physdis_hub/hub/weights/<name>/``,
loaded with no network), or one of Unsup3d's released archives (kind ``"official"``: downloaded once
from the authors' site, converted without running its pickle and cached; :mod:`physdis_hub.hub.official`).
The registry names only checkpoints that really load: the embedded default ``faces-loocc-lv`` and
Unsup3d's four released models ``unsup3d-{celeba,cat,synface,syncar}`` (:data:`_BUILTIN`).
:func:`register_pretrained` adds entries at run time (your own checkpoints, tests).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from ..convert.categories import UNSUP3D_CATEGORIES, UNSUP3D_DATA_URL
from ..errors import InputError, UnknownNameError, lookup

EMBEDDED_WEIGHTS = resources.files(__package__) / "weights"
"""Folder of the embedded checkpoints: one ``<name>/`` sub-folder with config.json + model.safetensors."""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
"""A Hub repository id, ``org/name`` (every check of one uses this pattern)."""
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
KINDS = ("hub", "embedded", "official")
"""Where an entry's files come from (:attr:`PretrainedEntry.kind`)."""
UNSUP3D_URL_ENV = "PHYSDIS_UNSUP3D_URL"
"""Environment variable that replaces the base URL of Unsup3d's archives (a mirror; tests), the way
``HF_ENDPOINT`` replaces the Hub's."""


def unsup3d_archive_url(release: str) -> str:
    """URL of Unsup3d's released archive ``pretrained_<release>.zip`` (base: ``$PHYSDIS_UNSUP3D_URL``,
    else the authors' site, as in Unsup3d's ``pretrained/download_pretrained_<release>.sh``).

    Example:
        >>> unsup3d_archive_url("celeba")  # doctest: +SKIP
        'https://www.robots.ox.ac.uk/~vgg/research/unsup3d/data/pretrained_celeba.zip'
    """
    base = os.environ.get(UNSUP3D_URL_ENV) or UNSUP3D_DATA_URL
    return f"{base.rstrip('/')}/pretrained_{release}.zip"


class UnknownPretrainedError(UnknownNameError):
    """No registered checkpoint has this name (the message suggests close matches)."""


@dataclass(frozen=True)
class PretrainedEntry:
    """A named, pinned checkpoint.

    Attributes:
        name: registry name, lowercase (e.g. ``"faces-loocc-lv"``).
        kind: ``"hub"`` (downloaded from ``repo_id`` at ``revision``), ``"embedded"`` (files in
            ``physdis_hub/hub/weights/<name>/``) or ``"official"`` (Unsup3d's archive of ``release``,
            converted on first use); ``repo_id`` and ``revision`` are None unless ``"hub"``.
        repo_id: Hub repository ``"org/name"``.
        revision: the 40-hex commit the name is pinned to (a branch could move).
        sha256: sha256 of ``model.safetensors``, checked before the file is used; for an official
            entry the sha256 of the downloaded archive, or None: upstream publishes none, so the
            digest of the first download is recorded and later downloads must match it.
        config_sha256: sha256 of ``config.json`` (it defines the model, so it is pinned too); None
            for an official entry (its config is written by the converter).
        summary: one-line summary of the config (category, LOOCC variant, parts).
        license: licence of the weights (Hub licence id).
        paper: paper the model follows (URL).
        description: what the checkpoint is and how it was trained.
        release: an official entry's key in :data:`physdis_hub.convert.UNSUP3D_CATEGORIES`
            (``"celeba"``, ...): which archive, which ``.pth`` inside and which training settings.

    Example:
        >>> entry = PretrainedEntry(
        ...     name="faces-demo", kind="hub", repo_id="org/physdis-faces", revision="0" * 40,
        ...     sha256="1" * 64, config_sha256="2" * 64, summary="faces, LOOCC LV, 4 x 256-d",
        ...     license="mit", paper="https://arxiv.org/abs/2204.05281", description="demo")
    """

    name: str
    kind: Literal["hub", "embedded", "official"]
    repo_id: str | None
    revision: str | None
    sha256: str | None
    config_sha256: str | None
    summary: str
    license: str
    paper: str
    description: str
    release: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InputError(f"name: expected lowercase letters, digits, '.', '_' or '-', got {self.name!r}")
        if self.kind == "hub":
            if not isinstance(self.repo_id, str) or not REPO_ID.fullmatch(self.repo_id):
                raise InputError(f"repo_id: expected 'org/name' for a hub entry, got {self.repo_id!r}")
            if not isinstance(self.revision, str) or not _COMMIT.fullmatch(self.revision):
                raise InputError(
                    f"revision: a hub entry is pinned to a 40-hex commit sha (a branch can move), got {self.revision!r}"
                )
        elif self.kind in ("embedded", "official"):
            if self.repo_id is not None or self.revision is not None:
                raise InputError(
                    f"repo_id, revision: must be None for an {self.kind} entry (only hub entries have them)"
                )
        else:
            raise InputError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if (self.kind == "official") != (self.release is not None):
            raise InputError(
                f"release: an official entry names its release and only it, got {self.release!r} "
                f"for a {self.kind} entry"
            )
        if self.kind == "official":
            lookup(UNSUP3D_CATEGORIES, self.release, what="Unsup3d release", error=ValueError)  # type: ignore[arg-type]
            if self.config_sha256 is not None:
                raise InputError("config_sha256: must be None for an official entry (the converter writes its config)")
        for field in ("sha256", "config_sha256"):
            value = getattr(self, field)
            if value is None and self.kind == "official":
                continue
            if not isinstance(value, str) or not _SHA256.fullmatch(value):
                raise InputError(f"{field}: expected 64 lowercase hex digits, got {value!r}")

    @property
    def source(self) -> str:
        """Where the files come from: ``"org/name@<commit>"``, ``"embedded"`` or the archive URL."""
        if self.kind == "official":
            return unsup3d_archive_url(self.release)  # type: ignore[arg-type]
        return f"{self.repo_id}@{self.revision}" if self.kind == "hub" else "embedded"


_EMBEDDED: tuple[PretrainedEntry, ...] = (
    PretrainedEntry(
        name="faces-loocc-lv",
        kind="embedded",
        repo_id=None,
        revision=None,
        sha256="97b4c791b9f50bc664d51664f1c31c6149c08cb772f77453d55f7d79e20ee84b",
        config_sha256="2100bd7aad701cab3509bf007ee7f51b9ec5b2ffa65ae9830823cf0c5f2b728c",
        summary="faces, LOOCC-LV + cycle term, CPU scale (nf 16), 4 x 128-d features, float16",
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
"""The checkpoints embedded in the package (files in weights/<name>/)."""

OFFICIAL_SUMMARY: dict[str, str] = {
    "celeba": "real face photos (CelebA; its images: non-commercial research), Unsup3d, no LOOCC, 4 x 256-d features",
    "cat": "cat faces (Cat Head + Oxford-IIIT Pet), Unsup3d, no LOOCC, 4 x 256-d features",
    "synface": "synthetic faces (Basel Face Model), Unsup3d, no LOOCC, 4 x 256-d features",
    "syncar": "synthetic cars (ShapeNet), Unsup3d, no LOOCC, 4 x 256-d features",
}
"""Release -> one-line summary of Unsup3d's released model (``physdis list``)."""


def _official(release: str) -> PretrainedEntry:
    category = UNSUP3D_CATEGORIES[release]
    return PretrainedEntry(
        name=f"unsup3d-{release}",
        kind="official",
        repo_id=None,
        revision=None,
        sha256=None,
        config_sha256=None,
        summary=OFFICIAL_SUMMARY[release],
        license="mit",
        paper="https://arxiv.org/abs/1911.11130",
        description=(
            f"Unsup3d's released {category.training_data} model (Wu, Rupprecht, Vedaldi, CVPR 2020; code and "
            f"weights MIT), `{category.released}` of its archive, downloaded on first use and converted without "
            "running its pickle. Its geom + alb features are the PDR paper's representation without LOOCC."
        ),
        release=release,
    )


_BUILTIN = tuple(sorted([*_EMBEDDED, *(_official(r) for r in UNSUP3D_CATEGORIES)], key=lambda e: e.name))
"""The registry's built-in entries, by name: the embedded checkpoints and Unsup3d's four released
models (kind ``"official"``, downloaded on first use)."""

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
        raise InputError(f"entry: the name {entry.name!r} is already registered; pass overwrite=True to replace it")
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
        raise InputError(f"filter: expected a glob pattern string such as 'faces-*', got {type(filter).__name__}")
    return [
        _REGISTRY[name] for name in sorted(_REGISTRY) if filter is None or fnmatch.fnmatchcase(name, filter.lower())
    ]


def get_pretrained(name: str) -> PretrainedEntry:
    """The entry registered as ``name``.

    Raises:
        UnknownPretrainedError: with close-match suggestions and the other ways to name a checkpoint.
    """
    hints = [f"to load a Hub repository, use 'hf-hub:{name}'"] if REPO_ID.fullmatch(name) else []
    hints.append(
        "see physdis_hub.list_pretrained(); other checkpoints load as 'hf-hub:org/repo[@revision]' "
        "or 'local-dir:/path/to/folder'"
    )
    return lookup(
        _REGISTRY,
        name,
        what="pretrained model",
        error=UnknownPretrainedError,
        hints=hints,
        lead=f"no pretrained model named {name!r}",
    )
