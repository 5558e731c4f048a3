"""No network: an ``hf-hub:`` load fails in seconds (no retries with backoff), a cached copy still
loads, and ``physdis push`` ends in one line."""

from __future__ import annotations

import socket
import time

import huggingface_hub
import pytest

from physdis_hub import load_pretrained
from physdis_hub.cli import main
from physdis_hub.hub import CheckpointError, save_pretrained

from .conftest import point_huggingface_hub_at
from .helpers import publish, same_weights, tiny_model


def _closed_port_url() -> str:
    """An endpoint on 127.0.0.1 whose port nobody listens on: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def no_server(monkeypatch, tmp_path):
    point_huggingface_hub_at(monkeypatch, _closed_port_url(), tmp_path / "hf-home")
    yield
    huggingface_hub.close_session()


def test_hf_hub_load_without_network_fails_in_seconds(no_server):
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=r"not in the local cache .* cannot be reached"):
        load_pretrained("hf-hub:org/faces")
    # huggingface_hub alone retries the metadata call 5 times, sleeping 1+2+4+8+8 s in between
    assert time.monotonic() - start < 8


def test_a_cached_copy_loads_when_the_server_is_gone(hub, monkeypatch, tmp_path):
    model = tiny_model()
    publish(model, tmp_path / "ckpt", "org/faces")
    load_pretrained("hf-hub:org/faces")  # fills the cache under tmp_path / "hf-home"
    hub.stop()
    point_huggingface_hub_at(monkeypatch, _closed_port_url(), tmp_path / "hf-home")
    huggingface_hub.close_session()
    start = time.monotonic()
    assert same_weights(load_pretrained("hf-hub:org/faces"), model)
    assert time.monotonic() - start < 8


def test_push_without_network_is_one_line(no_server, tmp_path, capsys):
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    assert main(["push", str(folder), "org/faces", "--token", "hf_test"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("physdis: error: push to org/faces: http://127.0.0.1:")
    assert "cannot be reached" in err
