"""The registry: entry validation, listing, registration, embedded checkpoints, the built-in entries."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from physdis_hub import (
    PretrainedEntry,
    list_pretrained,
    load_pretrained,
    register_pretrained,
)
from physdis_hub.hub import (
    ChecksumMismatchError,
    get_pretrained,
    parse_model_name,
    registry,
    save_pretrained,
)
from physdis_hub.hub.checkpoint import WEIGHTS_NAME
from physdis_hub.hub.download import ModelSource

from .helpers import features, tiny_model

ENTRY = PretrainedEntry(
    name="faces-demo",
    kind="hub",
    repo_id="org/faces",
    revision="0123456789abcdef0123456789abcdef01234567",
    sha256="a" * 64,
    config_sha256="b" * 64,
    summary="faces, LOOCC LV, 4 x 256-d",
    license="mit",
    paper="https://arxiv.org/abs/2204.05281",
    description="demo",
)


@pytest.mark.parametrize(
    "changes, argument",
    [
        ({"name": "Faces Demo"}, "name"),
        ({"revision": "main"}, "revision: a hub entry is pinned to a 40-hex commit"),
        ({"revision": "0123456"}, "revision"),
        ({"repo_id": "faces"}, "repo_id"),
        ({"sha256": "A" * 64}, "sha256"),
        ({"config_sha256": "ab"}, "config_sha256"),
        ({"kind": "embedded"}, "repo_id, revision: must be None"),
        ({"kind": "zip"}, "kind"),
    ],
)
def test_entries_are_validated(changes, argument):
    with pytest.raises(ValueError, match=argument):
        dataclasses.replace(ENTRY, **changes)


def test_registry_starts_with_builtins_and_lists_registered_entries(register, tmp_path):
    assert list_pretrained() == list(registry._BUILTIN)
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    a = register("faces-a", "org/faces", "c" * 40, folder)
    b = register("cars-b", "org/cars", "d" * 40, folder)
    names = [e.name for e in list_pretrained()]
    assert names == sorted(names) and {"faces-a", "cars-b"} <= set(names)
    assert list_pretrained("faces-a*") == [a] and list_pretrained("CARS-*") == [b]
    assert [e.name for e in list_pretrained("faces-*")] == ["faces-a", "faces-loocc-lv"]
    assert get_pretrained("faces-a") is a and a.source == f"org/faces@{'c' * 40}"
    with pytest.raises(ValueError, match="filter"):
        list_pretrained(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        register_pretrained(a)
    register_pretrained(dataclasses.replace(a, description="new"), overwrite=True)
    assert get_pretrained("faces-a").description == "new"
    with pytest.raises(TypeError, match="entry: expected a PretrainedEntry"):
        register_pretrained({"name": "x"})  # type: ignore[arg-type]


def test_parse_model_name():
    assert parse_model_name("faces-lv") == ModelSource("registry", "faces-lv")
    assert parse_model_name("hf-hub:org/repo") == ModelSource("hf-hub", "org/repo")
    assert parse_model_name("hf-hub:org/repo@refs/pr/1") == ModelSource("hf-hub", "org/repo", "refs/pr/1")
    assert parse_model_name("local-dir:/a/b") == ModelSource("local-dir", "/a/b")


def test_embedded_entries_load_from_the_package_without_network(register, monkeypatch, tmp_path):
    """No hub fixture: huggingface_hub points at huggingface.co, which is unreachable here."""
    model = tiny_model()
    monkeypatch.setattr(registry, "EMBEDDED_WEIGHTS", tmp_path / "weights")
    folder = save_pretrained(model, tmp_path / "weights" / "faces-embedded")
    register("faces-embedded", None, None, folder, kind="embedded")
    loaded = load_pretrained("faces-embedded")
    assert torch.equal(features(loaded), features(model))
    assert get_pretrained("faces-embedded").source == "embedded"

    (folder / WEIGHTS_NAME).write_bytes((folder / WEIGHTS_NAME).read_bytes() + b" ")
    with pytest.raises(ChecksumMismatchError, match="reinstall physdis-hub"):
        load_pretrained("faces-embedded")
    with pytest.raises(ValueError, match="revision: 'faces-embedded' is pinned to embedded"):
        load_pretrained("faces-embedded", revision="main")


@pytest.mark.parametrize("entry", [e for e in registry._BUILTIN if e.kind == "embedded"], ids=lambda e: e.name)
def test_builtin_embedded_entries_load(entry):
    """Every embedded checkpoint that ships with the package loads (sha256-verified) and extracts."""
    model = load_pretrained(entry.name)
    assert features(model).isfinite().all()
