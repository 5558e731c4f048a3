"""Unsup3d's released models by name: download, convert and cache from a local server in the official
layout; the loaded model computes what the official networks compute; every failure leaves the cache clean.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants
from PIL import Image

from physdis_hub import PARTS, PhysDisModel, load_pretrained
from physdis_hub.cli import main
from physdis_hub.errors import CheckpointError, ChecksumMismatchError
from physdis_hub.hub import get_pretrained, list_pretrained, registry
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, sha256_file
from physdis_hub.hub.official import CACHE_FOLDER

from ..convert.official import official_forward
from ..convert.test_convert import OFFICIAL, PARITY, computed, relative_difference
from .archive_server import ArchiveServer
from .official_archives import OFFICIAL_NAMES, point_at, write_archive

IMAGES = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(5))
FORMATS = {"celeba": (True, True), "cat": (True, False), "synface": (False, False), "syncar": (False, False)}
"""Release -> (legacy torch format, full training checkpoint): both formats, and the full official
contents (Adam states, a pickled MetricsTrace) for celeba; tests/convert read full files of both formats."""


def cache_contents(home: Path) -> list[str]:
    """Files under ``home`` (relative), lock files aside: what a failure must not leave behind."""
    return sorted(
        str((Path(d) / f).relative_to(home)) for d, _, files in os.walk(home) for f in files if not f.endswith(".lock")
    )


# -- the registry -------------------------------------------------------------------------------------


def test_the_four_releases_are_registry_entries(monkeypatch, capsys) -> None:
    entries = list_pretrained("unsup3d-*")
    assert [e.name for e in entries] == sorted(OFFICIAL_NAMES.values())
    assert all(e.kind == "official" and e.license == "mit" and e.sha256 is None for e in entries)
    celeba = get_pretrained("unsup3d-celeba")
    assert celeba.release == "celeba"
    assert celeba.source == "https://www.robots.ox.ac.uk/~vgg/research/unsup3d/data/pretrained_celeba.zip"
    monkeypatch.setenv("PHYSDIS_UNSUP3D_URL", "http://mirror.example/unsup3d/")
    assert celeba.source == "http://mirror.example/unsup3d/pretrained_celeba.zip"
    assert main(["list", "unsup3d-*"]) == 0
    out = capsys.readouterr().out
    assert "unsup3d-syncar   official  http://mirror.example/unsup3d/pretrained_syncar.zip" in out
    assert "non-commercial research" in out and out.count(" mit ") == 4


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"release": "dogs"}, "unknown Unsup3d release 'dogs'"),
        ({"release": None}, "release: an official entry names its release"),
        ({"repo_id": "org/x", "revision": "0" * 40}, "repo_id, revision: must be None for an official entry"),
        ({"config_sha256": "a" * 64}, "config_sha256: must be None for an official entry"),
        ({"sha256": "xyz"}, "sha256: expected 64 lowercase hex digits"),
        ({"kind": "embedded"}, "release: an official entry names its release and only it"),
    ],
)
def test_official_entries_are_validated(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(get_pretrained("unsup3d-cat"), **changes)


def test_sha256_only_for_official_names() -> None:
    with pytest.raises(ValueError, match="sha256: only official registry entries"):
        load_pretrained("faces-loocc-lv", sha256="a" * 64)
    with pytest.raises(ValueError, match="sha256: expected the archive's sha256 as 64 hex digits"):
        load_pretrained("unsup3d-celeba", sha256="abc")


# -- the released archives: download, convert, cache, parity --------------------------------------------


@pytest.fixture(scope="module", params=list(FORMATS))
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(release, archive, the official computation on IMAGES)."""
    name = request.param
    legacy, full = FORMATS[name]
    archive, nets = write_archive(tmp_path_factory.mktemp(name), name, legacy=legacy, full=full, seed=len(name))
    reference = official_forward(nets, IMAGES * 2 - 1, OFFICIAL["unsup3d", name])
    yield name, archive, reference
    archive.unlink()  # 150-450 MB: not kept in pytest's retained temp folders


def test_download_convert_cache_and_load_offline(release, monkeypatch, tmp_path, capsys) -> None:
    name, archive, reference = release
    home, model_name = tmp_path / "hf-home", OFFICIAL_NAMES[name]
    with ArchiveServer() as server:
        server.files[archive.name] = archive
        point_at(monkeypatch, server.url, home)
        model = load_pretrained(model_name)
    digest = sha256_file(archive)
    assert f"sha256 {digest}" in capsys.readouterr().err
    cached = home / CACHE_FOLDER / model_name
    assert sorted(p.name for p in cached.iterdir()) == [CARD_NAME, CONFIG_NAME, WEIGHTS_NAME]
    assert json.loads((home / CACHE_FOLDER / f"{model_name}.json").read_text())["sha256"] == digest
    assert cache_contents(home) == sorted(
        str(p.relative_to(home)) for p in [*cached.iterdir(), cached.with_suffix(".json")]
    )
    card = (cached / CARD_NAME).read_text()
    assert f"{server.url}/pretrained_{name}.zip" in card and digest in card and "MIT licence" in card
    assert ('parts=["geom", "alb"]' in card and "CelebA's agreement" in card) == (name == "celeba")

    # canonical depth, albedo, light, view, normals, shading, canonical image and the four features
    ours = computed(model, IMAGES)
    assert ours.keys() == reference.keys()
    differences = {key: relative_difference(value, reference[key]) for key, value in ours.items()}
    assert max(differences.values()) <= PARITY, differences
    # The server is gone: the cache alone serves later loads, by either entry point.
    for again in (PhysDisModel.from_pretrained(model_name), load_pretrained(model_name, local_files_only=True)):
        assert torch.equal(again.extract(IMAGES, parts=PARTS), computed_features(ours))
    assert [r[0] for r in server.requests] == ["GET"]


def computed_features(computed: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([computed[p] for p in PARTS], 1)


# -- failures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """Two different celeba archives (networks only, zip format): the served one and a changed one."""
    folder = tmp_path_factory.mktemp("small")
    first = write_archive(folder, "celeba", legacy=False, full=False, seed=1)[0].rename(folder / "first.zip")
    changed = write_archive(folder, "celeba", legacy=False, full=False, seed=2)[0].rename(folder / "changed.zip")
    yield first, changed
    first.unlink()
    changed.unlink()


@pytest.fixture
def served(monkeypatch, tmp_path) -> Iterator[tuple[ArchiveServer, Path]]:
    """A server (no files yet) and the HF_HOME the cache goes to."""
    with ArchiveServer() as server:
        point_at(monkeypatch, server.url, tmp_path / "hf-home")
        yield server, tmp_path / "hf-home"


def test_not_found_unreachable_and_offline_leave_nothing(served, monkeypatch) -> None:
    server, home = served
    with pytest.raises(CheckpointError, match=r"pretrained_celeba.zip answered HTTP 404 .*PHYSDIS_UNSUP3D_URL"):
        load_pretrained("unsup3d-celeba")
    with pytest.raises(CheckpointError, match=r"not in the cache .*, but downloads are impossible"):
        load_pretrained("unsup3d-celeba", local_files_only=True)
    with monkeypatch.context() as offline:
        offline.setattr(constants, "HF_HUB_OFFLINE", True)
        with pytest.raises(
            CheckpointError, match=r"downloads are impossible \(local_files_only=True or HF_HUB_OFFLINE=1\)"
        ):
            load_pretrained("unsup3d-celeba")
    server.stop()
    with pytest.raises(CheckpointError, match=r"cannot reach http://127.0.0.1:\d+/pretrained_celeba.zip"):
        load_pretrained("unsup3d-celeba")
    assert cache_contents(home) == []


def test_corrupt_archive_and_archive_without_the_checkpoint(served, tmp_path) -> None:
    server, home = served
    server.files["pretrained_celeba.zip"] = corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=r"is not a valid zip file .* deleted, run again"):
        load_pretrained("unsup3d-celeba")
    assert cache_contents(home) == []
    server.files["pretrained_celeba.zip"] = other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("pretrained_celeba/checkpoint020.pth", b"not this one")
    with pytest.raises(
        CheckpointError,
        match=r"holds no pretrained_celeba/checkpoint030.pth \(it has pretrained_celeba/checkpoint020.pth\)",
    ):
        load_pretrained("unsup3d-celeba")
    assert cache_contents(home) == []


def test_an_interrupted_download_resumes(served, small) -> None:
    server, home = served
    archive, _ = small
    server.files["pretrained_celeba.zip"] = archive
    size = archive.stat().st_size
    server.cut("pretrained_celeba.zip", after=3 << 20)
    with pytest.raises(CheckpointError, match=rf"stopped after 3,145,728 of {size:,} bytes .* next load resumes"):
        load_pretrained("unsup3d-celeba")
    part = f"{CACHE_FOLDER}/downloads/pretrained_celeba.zip.part"
    assert cache_contents(home) == [part]  # the bytes received, and nothing else
    model = load_pretrained("unsup3d-celeba")
    assert server.requests[-1] == ("GET", "pretrained_celeba.zip", f"bytes={3 << 20}-")
    record = json.loads((home / CACHE_FOLDER / "unsup3d-celeba.json").read_text())
    assert record["sha256"] == sha256_file(archive) and not (home / part).exists()
    assert model.extract(IMAGES).isfinite().all()


def test_a_changed_archive_is_refused_unless_its_digest_is_given(served, small, capsys) -> None:
    server, home = served
    first, changed = small
    server.files["pretrained_celeba.zip"] = first
    before = load_pretrained("unsup3d-celeba").extract(IMAGES, parts=PARTS)
    kept = {p: (home / p).read_bytes() for p in cache_contents(home)}
    server.files["pretrained_celeba.zip"] = changed
    new, old = sha256_file(changed), sha256_file(first)
    refused = rf"served an archive with sha256 {new}, but {old} was recorded in .* accept it with sha256='{new}'"
    with pytest.raises(ChecksumMismatchError, match=refused):
        load_pretrained("unsup3d-celeba", force_download=True)
    assert {p: (home / p).read_bytes() for p in cache_contents(home)} == kept  # the cache is as it was
    assert torch.equal(load_pretrained("unsup3d-celeba").extract(IMAGES, parts=PARTS), before)
    # the cached model came from the first archive: pinning the new digest asks for a fresh download
    with pytest.raises(ChecksumMismatchError, match="pass force_download=True"):
        load_pretrained("unsup3d-celeba", sha256=new)
    capsys.readouterr()
    after = load_pretrained("unsup3d-celeba", sha256=new.upper(), force_download=True)
    assert f"sha256 {new}" in capsys.readouterr().err
    assert json.loads((home / CACHE_FOLDER / "unsup3d-celeba.json").read_text())["sha256"] == new
    assert not torch.equal(after.extract(IMAGES, parts=PARTS), before)
    assert sorted(cache_contents(home)) == sorted(kept)  # replaced in place, no leftovers


def test_a_digest_pinned_in_advance(served, small, monkeypatch) -> None:
    server, home = served
    first, _ = small
    server.files["pretrained_celeba.zip"] = first
    with pytest.raises(ChecksumMismatchError, match=rf"sha256 {sha256_file(first)}, but {'0' * 64} you pinned"):
        load_pretrained("unsup3d-celeba", sha256="0" * 64)
    assert cache_contents(home) == []
    entry = dataclasses.replace(get_pretrained("unsup3d-celeba"), name="celeba-pinned", sha256=sha256_file(first))
    monkeypatch.setitem(registry._REGISTRY, entry.name, entry)
    elsewhere = home.parent / "elsewhere"
    assert load_pretrained("celeba-pinned", cache_dir=elsewhere).extract(IMAGES).isfinite().all()
    assert (elsewhere / CACHE_FOLDER / "celeba-pinned" / WEIGHTS_NAME).is_file() and cache_contents(home) == []


def test_command_line_downloads_once_then_works_offline(served, small, tmp_path, capsys) -> None:
    server, home = served
    server.files["pretrained_celeba.zip"] = small[0]
    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photo)
    out = tmp_path / "features.npz"
    assert main(["extract", str(photo), "--model", "unsup3d-celeba", "--no-align", "-o", str(out)]) == 0
    assert np.load(out)["features"].shape == (1, 512)
    server.stop()
    figures = tmp_path / "figures"
    argv = [
        "decompose",
        str(photo),
        "--model",
        "unsup3d-celeba",
        "--no-align",
        "--local-files-only",
        "--mesh",
        "-o",
        str(figures),
    ]
    assert main(argv) == 0
    assert all((figures / f"face.{suffix}").is_file() for suffix in ("png", "obj", "glb"))
    capsys.readouterr()
    assert main(["extract", str(photo), "--model", "unsup3d-celeba", "--sha256", "1" * 64, "-o", str(out)]) == 1
    assert "pass force_download=True" in capsys.readouterr().err
