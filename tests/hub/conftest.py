"""Fixtures for the Hub tests: a Hub-protocol server per test, huggingface_hub pointed at it, registry entries.

huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE once, at import, into
``huggingface_hub.constants``. In this process the fixtures therefore set the environment *and* the
constants derived from it; ``test_fresh_process_honours_environment`` checks the plain environment
route in a new interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants

from physdis_hub.hub import PretrainedEntry, register_pretrained, unregister_pretrained
from physdis_hub.hub.checkpoint import CONFIG_NAME, WEIGHTS_NAME, sha256_file

from .helpers import point_huggingface_hub_at
from .hub_server import HubServer


@pytest.fixture
def hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubServer]:
    """A fresh Hub server; huggingface_hub talks to it and caches under ``tmp_path / "hf-home"``.
    Indirect parametrization passes :class:`HubServer` keyword arguments."""
    with HubServer(**getattr(request, "param", {})) as server:
        point_huggingface_hub_at(monkeypatch, server.url, tmp_path / "hf-home")
        yield server
    huggingface_hub.close_session()  # drop keep-alive connections to the stopped server


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to switch huggingface_hub to offline mode (as HF_HUB_OFFLINE=1 does at import)."""

    def switch() -> None:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    return switch


@pytest.fixture
def register() -> Iterator[Callable[..., PretrainedEntry]]:
    """``register(name, repo_id, revision, directory)``: a temporary hub registry entry pinned to the
    sha256 of the files in ``directory`` (removed after the test)."""
    names: list[str] = []

    def _register(name: str, repo_id: str, revision: str, directory: Path, **changes: str) -> PretrainedEntry:
        fields = {
            "name": name,
            "kind": "hub",
            "repo_id": repo_id,
            "revision": revision,
            "sha256": sha256_file(directory / WEIGHTS_NAME),
            "config_sha256": sha256_file(directory / CONFIG_NAME),
            "summary": "faces, tiny test networks",
            "license": "mit",
            "paper": "https://arxiv.org/abs/2204.05281",
            "description": "test checkpoint",
        }
        entry = PretrainedEntry(**{**fields, **changes})  # type: ignore[arg-type]
        register_pretrained(entry)
        names.append(entry.name)
        return entry

    yield _register
    for name in names:
        unregister_pretrained(name)
