"""Unsup3d's released models by name: download the official archive once, convert it, cache the result.

A registry entry of kind ``"official"`` (:mod:`physdis_hub.hub.registry`) names one of Unsup3d's
releases. Its first load downloads ``pretrained_<release>.zip`` (from the authors' site or
``$PHYSDIS_UNSUP3D_URL``) with a progress bar, resuming an interrupted transfer with an HTTP
``Range`` request; takes the released ``.pth`` out of it; converts it with
:func:`physdis_hub.convert.convert_checkpoint`, which reads the pickle without running code from it;
and caches the converted checkpoint. Later loads read the cache and need no network.

Cache layout, beside huggingface_hub's cache (``<cache_dir or $HF_HOME>/physdis-official/``)::

    physdis-official/
        unsup3d-celeba/            config.json, model.safetensors, README.md (renamed into place complete)
        unsup3d-celeba.json        the archive's URL and sha256, recorded at the first download
        unsup3d-celeba.lock        one process at a time fetches a model
        downloads/pretrained_celeba.zip.part   an interrupted download; the next load resumes it

Digest policy: upstream publishes no checksums. The sha256 of the first archive downloaded is
recorded and printed; a later download (``force_download=True``, or after the converted folder was
deleted) whose archive differs is refused unless its digest is passed as ``sha256=``, which is also
how a digest is pinned before the first download. Every failure leaves the cache as it was, apart
from the ``.part`` file of an interrupted transfer, which is what makes the next call resume.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..convert.categories import UNSUP3D_CATEGORIES
from ..errors import CheckpointError, ChecksumMismatchError, InputError
from ..features import write_json
from .checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, sha256_file
from .registry import UNSUP3D_URL_ENV, PretrainedEntry, unsup3d_archive_url

CACHE_FOLDER = "physdis-official"
"""Name of the folder of converted official models, beside huggingface_hub's ``hub/`` cache."""
TIMEOUT_S = 30.0
"""Seconds to wait for the server to connect or send the next block."""
_BLOCK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class OfficialOptions:
    """How :func:`official_files` may fetch (the arguments of :func:`physdis_hub.load_pretrained`)."""

    cache_dir: Path | None
    """Folder that holds ``physdis-official/`` (default: ``$HF_HOME``, where huggingface_hub keeps ``hub/``)."""
    offline: bool
    """Never touch the network (``local_files_only=True`` or ``HF_HUB_OFFLINE=1``)."""
    force_download: bool
    """Download and convert again even when the cache has the model."""
    sha256: str | None
    """The archive digest the user pins or accepts (None: the entry's, else the recorded one)."""


@dataclass(frozen=True)
class OfficialCache:
    """Paths of one official model in the cache."""

    root: Path
    """The ``physdis-official`` folder."""
    name: str
    """Registry name (``"unsup3d-celeba"``)."""

    @property
    def model(self) -> Path:
        """Converted checkpoint folder (``config.json``, ``model.safetensors``, ``README.md``)."""
        return self.root / self.name

    @property
    def record(self) -> Path:
        """JSON record of the archive: ``{"url", "sha256"}`` of the download it was converted from."""
        return self.root / f"{self.name}.json"

    @property
    def lock(self) -> Path:
        return self.root / f"{self.name}.lock"

    def part(self, url: str) -> Path:
        """Where the download of ``url`` accumulates until it is complete."""
        return self.root / "downloads" / (url.rsplit("/", 1)[-1] + ".part")

    def recorded(self) -> str | None:
        """The recorded archive sha256, or None before the first download."""
        try:
            value = json.loads(self.record.read_text())["sha256"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CheckpointError(
                f"{self.record}: unreadable digest record ({err}); delete it to record the next download's digest"
            ) from err
        if not isinstance(value, str) or not _SHA256.fullmatch(value):
            raise CheckpointError(f"{self.record}: expected a sha256 of 64 hex digits, got {value!r}; delete the file")
        return value

    def cached(self) -> tuple[Path, Path] | None:
        """``(config.json, model.safetensors)`` of the converted model, or None when not cached."""
        config, weights = self.model / CONFIG_NAME, self.model / WEIGHTS_NAME
        return (config, weights) if config.is_file() and weights.is_file() else None


def cache_root(cache_dir: str | os.PathLike[str] | None) -> Path:
    """The ``physdis-official`` folder: inside ``cache_dir`` if given, else in ``$HF_HOME``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser() / CACHE_FOLDER
    from huggingface_hub import constants

    return Path(constants.HF_HOME).expanduser() / CACHE_FOLDER


def check_sha256(sha256: str | None) -> str | None:
    """``sha256`` lower-cased, or None; an :class:`InputError` unless it is 64 hex digits."""
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        raise InputError(f"sha256: expected the archive's sha256 as 64 hex digits, got {sha256!r}")
    return sha256.lower()


def official_files(entry: PretrainedEntry, options: OfficialOptions) -> tuple[Path, Path]:
    """Local ``(config.json, model.safetensors)`` of an official entry, fetched and converted if needed.

    Args:
        entry: a registry entry of kind ``"official"``.
        options: cache folder, offline mode, forced download and the digest to accept.

    Returns:
        Paths inside the cache (see the module docstring).

    Raises:
        CheckpointError: not cached and offline or unreachable; HTTP errors (404: the message names
            ``$PHYSDIS_UNSUP3D_URL``); an interrupted transfer (resumable); a corrupt archive; no
            released ``.pth`` inside; a checkpoint the converter refuses.
        ChecksumMismatchError: the archive's sha256 differs from the pinned or recorded one, or the
            cached model came from another archive than the pinned one.
    """
    from filelock import FileLock

    if entry.kind != "official" or entry.release is None:
        raise InputError(f"entry: expected an official registry entry, got kind {entry.kind!r}")
    label, url = repr(entry.name), unsup3d_archive_url(entry.release)
    pinned = check_sha256(options.sha256) or entry.sha256
    cache = OfficialCache(cache_root(options.cache_dir), entry.name)
    files = _from_cache(cache, label, pinned, options)
    if files is not None:
        return files
    cache.root.mkdir(parents=True, exist_ok=True)
    with FileLock(cache.lock):
        files = _from_cache(cache, label, pinned, options)  # another process may have fetched it meanwhile
        if files is not None:
            return files
        recorded = cache.recorded()
        archive = _download(url, cache.part(url), label)
        try:
            digest = sha256_file(archive)
            _check_digest(label, url, digest, pinned, recorded, cache)
            with tempfile.TemporaryDirectory(dir=cache.root, prefix=f".{entry.name}-") as tmp:
                _convert(archive, entry.release, Path(tmp), label, url, digest)
                _replace_folder(Path(tmp) / "model", cache.model, Path(tmp) / "old")
                write_json(cache.record, {"url": url, "sha256": digest})
        finally:
            archive.unlink(missing_ok=True)
    if digest != recorded:
        print(
            f"physdis: {label}: downloaded {url}, sha256 {digest}; recorded in {cache.record}: a later download "
            "must have this digest (pass sha256= to accept another)",
            file=sys.stderr,
        )
    return cache.cached()  # type: ignore[return-value]  # just renamed into place


def _from_cache(
    cache: OfficialCache, label: str, pinned: str | None, options: OfficialOptions
) -> tuple[Path, Path] | None:
    """The cached files when they may be used; None when they must be fetched (an error when offline)."""
    files = cache.cached()
    if files is not None and not options.force_download:
        recorded = cache.recorded()
        if pinned is not None and recorded is not None and pinned != recorded:
            raise ChecksumMismatchError(
                f"{label}: the cached model was converted from an archive with sha256 {recorded}, not the "
                f"{pinned} you pinned; pass force_download=True (--force-download) to download and verify it again"
            )
        return files
    if options.offline:
        why = (
            "force_download=True asks for a fresh download"
            if files is not None
            else f"not in the cache ({cache.model})"
        )
        raise CheckpointError(
            f"{label}: {why}, but downloads are impossible (local_files_only=True or HF_HUB_OFFLINE=1). Load it "
            "once with network access, or point HF_HOME / cache_dir at a cache that has it."
        )
    return None


def _check_digest(
    label: str, url: str, digest: str, pinned: str | None, recorded: str | None, cache: OfficialCache
) -> None:
    expected, whose = (pinned, "you pinned") if pinned is not None else (recorded, f"was recorded in {cache.record}")
    if expected is None or digest == expected:
        return
    raise ChecksumMismatchError(
        f"{label}: {url} served an archive with sha256 {digest}, but {expected} {whose}; it was not used and "
        f"has been deleted. If the authors changed the archive on purpose, accept it with sha256='{digest}' "
        "(--sha256 on the command line)."
    )


def _download(url: str, part: Path, label: str) -> Path:
    """Download ``url`` into ``part`` (resuming what it holds) and return it renamed ``*.zip``."""
    part.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.is_file() else 0
    response = _open(url, start, label)
    if response.status == 206 and not response.headers.get("Content-Range", "").startswith(f"bytes {start}-"):
        response.close()  # a partial answer that does not continue the kept bytes: start again
        response = _open(url, 0, label)
    if response.status != 206:
        start = 0  # the server sent the whole file (no Range support, or nothing to resume)
    length = response.headers.get("Content-Length")
    total = start + int(length) if length is not None and length.isdigit() else None
    from tqdm.auto import tqdm

    got = start
    with response, open(part, "ab" if start else "wb") as out:
        bar = tqdm(
            total=total,
            initial=start,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=part.name.removesuffix(".part"),
            disable=None,
            leave=False,
        )
        try:
            got = _copy(response, out, bar, got)
        except OSError as err:  # a reset connection, a timeout, a short read
            raise _interrupted(label, url, part, got, total, f"{type(err).__name__}: {err}") from None
        finally:
            bar.close()
    if total is not None and got != total:
        raise _interrupted(label, url, part, got, total, "the connection closed early")
    if got == 0:
        part.unlink()
        raise CheckpointError(f"{label}: {url} answered with an empty file; nothing was kept")
    archive = part.with_suffix("")
    os.replace(part, archive)
    return archive


def _copy(response: BinaryIO, out: BinaryIO, bar: object, got: int) -> int:
    """Copy the body in 1 MiB blocks (flushed, so an interruption keeps every byte received)."""
    while block := response.read(_BLOCK):
        out.write(block)
        out.flush()
        got += len(block)
        bar.update(len(block))  # type: ignore[attr-defined]
    return got


def _open(url: str, start: int, label: str):  # noqa: ANN202 - an http.client.HTTPResponse
    headers = {"User-Agent": "physdis-hub", **({"Range": f"bytes={start}-"} if start else {})}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and start:  # the kept part is not a prefix of what the server has: start again
            return _open(url, 0, label)
        hint = (
            f"; the authors may have moved it: point ${UNSUP3D_URL_ENV} at a mirror that holds {url.rsplit('/', 1)[-1]}"
            if err.code == 404
            else ""
        )
        raise CheckpointError(
            f"{label}: {url} answered HTTP {err.code} ({err.reason}){hint}; nothing was kept"
        ) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise CheckpointError(
            f"{label}: cannot reach {url} ({reason}); nothing was kept. Run once with network access, set "
            f"${UNSUP3D_URL_ENV} to a reachable mirror, or point HF_HOME / cache_dir at a cache that has the model."
        ) from None


def _interrupted(label: str, url: str, part: Path, got: int, total: int | None, why: str) -> CheckpointError:
    size = f"{got:,} of {total:,}" if total is not None else f"{got:,}"
    return CheckpointError(
        f"{label}: the download of {url} stopped after {size} bytes ({why}); they are kept in {part} and "
        "the next load resumes from there"
    )


def _convert(archive: Path, release: str, tmp: Path, label: str, url: str, digest: str) -> None:
    """Take the released ``.pth`` out of ``archive`` and convert it into ``tmp / "model"``."""
    from ..convert.unsup3d import UNSUP3D, convert_checkpoint

    category = UNSUP3D_CATEGORIES[release]
    member = category.released
    checkpoint = tmp / Path(member).name
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            if member not in names:
                found = sorted(n for n in names if n.endswith(".pth")) or ["no .pth file at all"]
                raise CheckpointError(
                    f"{label}: {url} holds no {member} (it has {', '.join(found[:5])}); it was deleted. "
                    f"${UNSUP3D_URL_ENV} may point at the wrong files."
                )
            with zf.open(member) as src, open(checkpoint, "wb") as dst:
                shutil.copyfileobj(src, dst, _BLOCK)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as err:
        raise CheckpointError(
            f"{label}: the archive downloaded from {url} (sha256 {digest}) is not a valid zip file ({err}); "
            "it was deleted, run again to download it afresh"
        ) from None
    convert_checkpoint(checkpoint, tmp / "model", layout=UNSUP3D, category=category)
    checkpoint.unlink()
    with open(tmp / "model" / CARD_NAME, "a") as card:
        card.write("\n\n" + official_card(release, url, digest))


def official_card(release: str, url: str, digest: str) -> str:
    """The model card's Markdown on an official model's download, licences and verification."""
    category = UNSUP3D_CATEGORIES[release]
    lines = [
        "### Download, digest and licences",
        "",
        f"- Downloaded from {url} by `load_pretrained('unsup3d-{release}')`; archive sha256 `{digest}`.",
        "- Upstream publishes no checksums: physdis-hub recorded this digest at the first download and refuses a "
        "later download whose archive differs, unless that digest is passed as `sha256=` (`--sha256`), which also "
        "pins one in advance.",
        "- Unsup3d's code and released weights: MIT licence (https://github.com/elliottwu/unsup3d).",
        f"- Training images ({category.training_data}): {DATA_TERMS[release]}",
        "",
        "### What was verified, and how",
        "",
        "The download, conversion and cache were tested against a local server serving archives in this layout "
        "(`pretrained_<name>/checkpointNNN.pth`, both torch file formats), built from Unsup3d's network definitions "
        "rebuilt layer by layer with random weights: the loaded model's geom / alb / light / view features, albedo, "
        "light and view equal the official networks' computation within 1e-4 relative "
        "(tests/hub/test_official.py), and a converted model's canonical depth (border on the left and right "
        "columns), normals ((0, 0, 1) outer ring), shading and canonical image equal Unsup3d's forward pass as "
        "written from its code (tests/convert/test_convert.py, docs/official-parity.md). The pickle is read with torch's weights-only unpickler and an allow-list; "
        "nothing from the file runs. The released weights themselves were not reachable where this was built.",
    ]
    if release == "celeba":
        lines += [
            "",
            "### The paper's representation",
            "",
            '`model.extract(images, parts=["geom", "alb"])` is the PDR paper\'s geometry + albedo feature without '
            "LOOCC, computed by networks trained on CelebA (512-d: two 256-d bottlenecks). "
            "`python -m training.train --init unsup3d-celeba --variant L|LV --data celeba` trains the LOOCC models from it.",
        ]
    return "\n".join(lines) + "\n"


DATA_TERMS: dict[str, str] = {
    "celeba": "CelebA's agreement allows non-commercial research purposes only "
    "(https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html).",
    "cat": "the Cat Head Dataset's and Oxford-IIIT Pet's own terms apply.",
    "synface": "renderings of the Basel Face Model; its licence (non-commercial research, registration) applies.",
    "syncar": "renderings of ShapeNet models; ShapeNet's terms of use (research and education) apply.",
}
"""Release -> the terms of the images it was trained on (the weights themselves are MIT)."""


def _replace_folder(new: Path, target: Path, trash: Path) -> None:
    """Rename ``new`` to ``target``; an existing ``target`` is first moved to ``trash`` (deleted with it)."""
    if target.exists():
        os.replace(target, trash)
    os.replace(new, target)
