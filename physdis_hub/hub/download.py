"""``load_pretrained``: from a model name to a ready model, fetching files with huggingface_hub.

Names follow the timm / open_clip conventions:

- ``"faces-loocc-lv"``: a registry name (:mod:`physdis_hub.hub.registry`), pinned to a commit and
  sha256-verified; embedded entries load from the package with no network; official entries
  (``"unsup3d-celeba"``, ...) download Unsup3d's archive once and convert it
  (:mod:`physdis_hub.hub.official`);
- ``"hf-hub:org/repo"`` or ``"hf-hub:org/repo@revision"``: any Hub repository holding a checkpoint;
- ``"local-dir:/path/to/folder"``: a folder written by :func:`physdis_hub.save_pretrained`; a bare
  folder path (``"/path/to/folder"``, ``"./ckpt"``, a path-like) means the same, as in Hugging Face.

Every download goes through ``huggingface_hub.hf_hub_download``, so ``HF_ENDPOINT``, ``HF_HOME`` /
``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``, proxies and the shared cache behave as usual.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import torch

from ..errors import CheckpointError, ChecksumMismatchError, InputError
from ..model import PhysDisModel
from . import official, registry
from .checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    build_model,
    is_network_error,
    missing_weights_error,
    sha256_file,
)

HF_HUB_PREFIX = "hf-hub:"
LOCAL_DIR_PREFIX = "local-dir:"


@dataclass(frozen=True)
class ModelSource:
    """A parsed model name.

    Attributes:
        kind: ``"registry"``, ``"hf-hub"`` or ``"local-dir"``.
        target: registry name, Hub repo id or folder path.
        revision: the ``@revision`` of an ``hf-hub:`` name, else None.
    """

    kind: Literal["registry", "hf-hub", "local-dir"]
    target: str
    revision: str | None = None


def parse_model_name(name: str | os.PathLike[str]) -> ModelSource:
    """Split a model name into its kind, target and revision.

    A path-like, or a string that names an existing folder or starts like a path (``/``, ``./``,
    ``../``, ``~``), means ``local-dir:``, as a bare folder does in Hugging Face's
    ``from_pretrained``; registry names never contain ``/``.

    Example:
        >>> parse_model_name("hf-hub:org/repo@v1")
        ModelSource(kind='hf-hub', target='org/repo', revision='v1')
    """
    if isinstance(name, os.PathLike):
        return ModelSource("local-dir", os.fspath(name))
    if not isinstance(name, str) or not name.strip():
        raise InputError(
            f"name: expected a registry name, 'hf-hub:org/repo[@revision]' or 'local-dir:/path', got {name!r}"
        )
    if name.startswith(HF_HUB_PREFIX):
        repo_id, at, revision = name[len(HF_HUB_PREFIX) :].partition("@")
        if not registry.REPO_ID.fullmatch(repo_id) or (at and not revision):
            raise InputError(f"name: expected 'hf-hub:org/repo' or 'hf-hub:org/repo@revision', got {name!r}")
        return ModelSource("hf-hub", repo_id, revision or None)
    if name.startswith(LOCAL_DIR_PREFIX):
        path = name[len(LOCAL_DIR_PREFIX) :]
        if not path:
            raise InputError(f"name: expected 'local-dir:/path/to/folder', got {name!r}")
        return ModelSource("local-dir", path)
    if name.startswith(("/", "./", "../", "~")) or os.path.isdir(os.path.expanduser(name)):
        return ModelSource("local-dir", name)
    return ModelSource("registry", name)


def load_pretrained(
    name: str | os.PathLike[str],
    *,
    revision: str | None = None,
    device: str | torch.device = "cpu",
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    force_download: bool = False,
    sha256: str | None = None,
) -> PhysDisModel:
    """Load a pretrained :class:`PhysDisModel` (eval mode, on ``device``).

    Args:
        name: a registry name (see :func:`list_pretrained`), ``"hf-hub:org/repo[@revision]"`` or
            ``"local-dir:/path"`` (or a path-like).
        revision: branch, tag or commit of an ``hf-hub:`` name (same as ``@revision``). Registry
            names are pinned and refuse another revision.
        device: where the model goes.
        cache_dir: Hub cache folder (default: huggingface_hub's, ``$HF_HOME/hub``).
        local_files_only: never touch the network; load from the cache or fail
            (``HF_HUB_OFFLINE=1`` does the same).
        token: Hub access token for private or gated repositories (default: ``HF_TOKEN`` or the
            login of ``hf auth login``; ``False``: send none).
        force_download: download the files again even when the cache has them.
        sha256: for an official entry (``"unsup3d-celeba"``, ...), the sha256 of its archive: pins
            it before the first download, or accepts an archive that differs from the recorded one
            (:mod:`physdis_hub.hub.official`). Other names pin their digests in the registry.

    Returns:
        The model; ``model.extract(images)`` gives ``(B, 512)`` geom+alb features at paper widths.

    Raises:
        UnknownPretrainedError: unknown registry name (with close matches).
        CheckpointError: missing repo, revision or file, pickle-only weights, sha256 mismatch
            (:class:`ChecksumMismatchError`), config/weights mismatch, offline without a cached copy.
        ValueError: malformed arguments.

    Example:
        >>> model = load_pretrained("hf-hub:org/physdis-faces@main")  # doctest: +SKIP
        >>> model.extract(torch.rand(8, 3, 64, 64), parts=["geom", "alb"]).shape  # doctest: +SKIP
        torch.Size([8, 512])
    """
    source = parse_model_name(name)
    try:
        target_device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InputError(f"device: expected a torch device such as 'cpu' or 'cuda:0', got {device!r}") from err
    _check_device_available(target_device)
    if revision is not None and (not isinstance(revision, str) or not revision):
        raise InputError(f"revision: expected a branch, tag or commit string, got {revision!r}")
    if force_download and local_files_only:
        raise InputError("force_download: cannot download again with local_files_only=True")
    hub = _HubOptions(
        Path(cache_dir) if cache_dir is not None else None,
        local_files_only,
        token,
        force_download,
        official.check_sha256(sha256),
    )
    with _checkpoint_files(source, revision, hub) as (config_path, weights_path):
        model = build_model(config_path, weights_path, source=_label(source))
    return model.to(target_device)


def _check_device_available(device: torch.device) -> None:
    """Refuse a CUDA / MPS device this machine lacks (torch would fail later with a traceback)."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device: {str(device)!r} requested, but CUDA is not available here (use 'cpu')")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(
                f"device: {str(device)!r} requested, but only {torch.cuda.device_count()} CUDA devices exist"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device: {str(device)!r} requested, but MPS is not available here (use 'cpu')")


def _label(source: ModelSource) -> str:
    if source.kind == "registry":
        return repr(source.target)
    prefix = HF_HUB_PREFIX if source.kind == "hf-hub" else LOCAL_DIR_PREFIX
    return prefix + source.target + (f"@{source.revision}" if source.revision else "")


@dataclass(frozen=True)
class _HubOptions:
    """How files are fetched from the Hub (the arguments of :func:`load_pretrained`)."""

    cache_dir: Path | None
    local_files_only: bool
    token: str | bool | None
    force_download: bool
    sha256: str | None = None
    """An official entry's archive digest to pin or accept (:mod:`physdis_hub.hub.official`)."""


@contextmanager
def _checkpoint_files(source: ModelSource, revision: str | None, options: _HubOptions) -> Iterator[tuple[Path, Path]]:
    """Yield local paths of ``(config.json, model.safetensors)``, verified where the registry pins them."""
    label = _label(source)
    official_name = source.kind == "registry" and registry.get_pretrained(source.target).kind == "official"
    if options.sha256 is not None and not official_name:
        raise InputError(f"sha256: only official registry entries (unsup3d-*) take an archive digest, not {label}")
    if source.kind == "local-dir":
        if revision is not None:
            raise InputError(f"revision: a local-dir: checkpoint has no revisions, got {revision!r}")
        yield _local_files(Path(source.target).expanduser(), label)
    elif source.kind == "hf-hub":
        if revision is not None and source.revision is not None and revision != source.revision:
            raise InputError(f"revision: {revision!r} contradicts the '@{source.revision}' in the name")
        hub = _HubFiles(source.target, revision or source.revision or "main", label, options)
        yield hub.fetch(CONFIG_NAME), hub.fetch(WEIGHTS_NAME)
    else:
        entry = registry.get_pretrained(source.target)
        if revision is not None and revision != entry.revision:
            other = (
                f"; load 'hf-hub:{entry.repo_id}@{revision}' for that (it is not sha256-verified)"
                if entry.kind == "hub"
                else ""
            )
            raise InputError(f"revision: {label} is pinned to {entry.source}, not {revision!r}{other}")
        if entry.kind == "embedded":
            with _embedded_files(entry, label) as paths:
                yield paths
        elif entry.kind == "official":
            from huggingface_hub import constants

            offline = options.local_files_only or constants.HF_HUB_OFFLINE
            yield official.official_files(
                entry, official.OfficialOptions(options.cache_dir, offline, options.force_download, options.sha256)
            )
        else:
            assert entry.repo_id is not None and entry.revision is not None  # checked by PretrainedEntry
            hub = _HubFiles(entry.repo_id, entry.revision, label, options)
            yield hub.fetch(CONFIG_NAME, entry.config_sha256), hub.fetch(WEIGHTS_NAME, entry.sha256)


def _local_files(directory: Path, label: str) -> tuple[Path, Path]:
    if not directory.is_dir():
        raise CheckpointError(f"{label}: no such folder")
    config, weights = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not weights.is_file():
        raise missing_weights_error(label, [p.name for p in directory.iterdir()])
    if not config.is_file():
        raise CheckpointError(f"{label}: no {CONFIG_NAME} beside {WEIGHTS_NAME}; the config defines the model")
    return config, weights


@contextmanager
def _embedded_files(entry: registry.PretrainedEntry, label: str) -> Iterator[tuple[Path, Path]]:
    folder = registry.EMBEDDED_WEIGHTS / entry.name
    with resources.as_file(folder / CONFIG_NAME) as config, resources.as_file(folder / WEIGHTS_NAME) as weights:
        for path, expected in ((config, entry.config_sha256), (weights, entry.sha256)):
            if not path.is_file():
                raise CheckpointError(f"{label}: the package lacks its embedded file {path}; reinstall physdis-hub")
            actual = sha256_file(path)
            if actual != expected:
                raise ChecksumMismatchError(
                    f"{label}: the embedded {path.name} has sha256 {actual}, expected {expected}: the installed "
                    "package is corrupted or was modified; reinstall physdis-hub"
                )
        yield config, weights


@dataclass
class _HubFiles:
    """Downloads the files of one Hub repository revision into the huggingface_hub cache.

    Before the first download it asks the server once (one HEAD, ``HF_HUB_ETAG_TIMEOUT`` seconds,
    no retries) whether it answers at all. When it does not, the files come from the cache only, so
    a load without network fails in seconds: ``hf_hub_download`` alone would retry the metadata call
    5 times with backoff and a 60 s timeout each (minutes) before giving up.
    """

    repo_id: str
    revision: str
    label: str
    options: _HubOptions
    _reachable: bool | None = field(default=None, init=False)

    def fetch(self, filename: str, sha256: str | None = None) -> Path:
        """Local path of ``filename``, checked against ``sha256`` when given.

        A file that differs is deleted from the cache and never used. If it was the cached copy that
        was corrupted and the network may be used, one fresh copy is downloaded (with a warning).
        """
        from huggingface_hub import try_to_load_from_cache

        cached = None
        if not self.options.force_download:
            cached = try_to_load_from_cache(
                self.repo_id, filename, cache_dir=self.options.cache_dir, revision=self.revision
            )
        path = self._download(filename)
        if sha256 is None:
            return path
        actual = sha256_file(path)
        if actual == sha256:
            return path
        removed = _discard(path)
        if isinstance(cached, str) and not self._offline():
            warnings.warn(
                f"{self.label}: the cached {filename} was corrupted (sha256 {actual}, expected {sha256}); "
                f"deleted it ({_paths(removed)}) and downloading a fresh copy",
                stacklevel=5,  # the caller of load_pretrained
            )
            cached, path = None, self._download(filename)
            actual = sha256_file(path)
            if actual == sha256:
                return path
            removed = _discard(path)
        if isinstance(cached, str):
            raise ChecksumMismatchError(
                f"{self.label}: the cached {filename} of {self.repo_id}@{self.revision} is corrupted (sha256 "
                f"{actual}, expected {sha256}). It was not used and has been deleted from the cache "
                f"({_paths(removed)}); run again with network access to download a fresh copy."
            )
        raise ChecksumMismatchError(
            f"{self.label}: {filename} downloaded from {self._where()} has sha256 {actual}, but the registry pins "
            f"{sha256}. The file was not used and has been deleted from the cache ({_paths(removed)}). The server "
            "may serve altered files or the registry entry is wrong: do not use this checkpoint until it is resolved."
        )

    def _download(self, filename: str) -> Path:
        from huggingface_hub import hf_hub_download

        try:
            return Path(
                hf_hub_download(
                    self.repo_id,
                    filename,
                    revision=self.revision,
                    cache_dir=self.options.cache_dir,
                    local_files_only=self.options.local_files_only or not self._server_answers(filename),
                    token=self.options.token,
                    force_download=self.options.force_download,
                    library_name="physdis-hub",
                )
            )
        except Exception as err:  # every failure becomes one clear CheckpointError
            raise self._download_error(filename, err) from err

    def _server_answers(self, filename: str) -> bool:
        """Whether the endpoint answers (any HTTP status) one metadata request for ``filename``."""
        from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url

        if self._reachable is None:
            if self._offline():
                self._reachable = False
                return False
            url = hf_hub_url(self.repo_id, filename, revision=self.revision, endpoint=constants.ENDPOINT)
            try:
                get_hf_file_metadata(url, token=self.options.token, timeout=constants.HF_HUB_ETAG_TIMEOUT)
                self._reachable = True
            except Exception as err:  # noqa: BLE001 - only the network layer's failures mean "no server"
                self._reachable = not is_network_error(err)
        return self._reachable

    def _offline(self) -> bool:
        from huggingface_hub import constants

        return self.options.local_files_only or constants.HF_HUB_OFFLINE

    def _where(self) -> str:
        from huggingface_hub import constants

        return f"{self.repo_id}@{self.revision} on {constants.ENDPOINT}"

    def _download_error(self, filename: str, err: Exception) -> CheckpointError:
        from huggingface_hub import constants
        from huggingface_hub.errors import (
            LocalEntryNotFoundError,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        if isinstance(err, (RepositoryNotFoundError, RevisionNotFoundError, RemoteEntryNotFoundError)):
            return self._not_found_error(filename, err)
        if isinstance(err, LocalEntryNotFoundError):
            why = (
                "local_files_only=True"
                if self.options.local_files_only
                else "offline mode (HF_HUB_OFFLINE=1)"
                if constants.HF_HUB_OFFLINE
                else f"{constants.ENDPOINT} cannot be reached"
            )
            return CheckpointError(
                f"{self.label}: {filename} of {self.repo_id}@{self.revision} is not in the local cache and "
                f"downloads are impossible ({why}). Load it once with network access, or point HF_HOME / "
                "cache_dir at a cache that has it."
            )
        return CheckpointError(
            f"{self.label}: downloading {filename} from {self._where()} failed ({type(err).__name__}: {err}). "
            "Nothing partial was kept in the cache; run again."
        )

    def _not_found_error(self, filename: str, err: Exception) -> CheckpointError:
        """Say which of repository, revision or file is missing (listing the revision's files)."""
        from huggingface_hub import constants
        from huggingface_hub.errors import (
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        missing, files = self._locate()
        if missing == "unknown":
            missing = (
                "repository"
                if isinstance(err, RepositoryNotFoundError)
                else "revision"
                if isinstance(err, RevisionNotFoundError)
                else "file"
            )
        if missing == "repository":
            return CheckpointError(
                f"{self.label}: repository {self.repo_id!r} not found on {constants.ENDPOINT} (check the id; "
                "for a private repository log in with `hf auth login` or set HF_TOKEN)"
            )
        if missing == "revision":
            return CheckpointError(f"{self.label}: revision {self.revision!r} not found in {self.repo_id!r}")
        if filename == WEIGHTS_NAME:
            return missing_weights_error(f"{self.label} ({self._where()})", files)
        return CheckpointError(f"{self.label}: no {filename} in {self._where()}; the config defines the model")

    def _locate(self) -> tuple[Literal["file", "revision", "repository", "unknown"], list[str] | None]:
        """Ask the server what exists: servers type a 404 differently (a mirror may answer RepoNotFound
        for a missing file or revision), so the file error alone is not trusted."""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import (
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        api = HfApi(token=self.options.token)
        try:
            info = api.model_info(self.repo_id, revision=self.revision)
            return "file", [s.rfilename for s in info.siblings or ()]
        except RevisionNotFoundError:
            return "revision", None
        except RepositoryNotFoundError:
            pass
        except Exception:  # noqa: BLE001 - no listing: the caller falls back on the download error
            return "unknown", None
        try:
            api.model_info(self.repo_id, revision="main")
        except Exception:  # noqa: BLE001 - whatever the reason, no such repository is reachable
            return "repository", None
        return "revision", None


def _paths(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths) or "nothing was left"


def _discard(path: Path) -> list[Path]:
    """Delete a cached file: its snapshot entry and, when that is a symlink, the blob it points to."""
    blob = Path(os.path.realpath(path))
    removed = []
    for p in dict.fromkeys([path, blob]):
        if p.is_symlink() or p.exists():
            p.unlink()
            removed.append(p)
    return removed
