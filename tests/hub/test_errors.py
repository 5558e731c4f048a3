"""Clear errors for every way loading can fail, and nothing partial or tampered left in the cache."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi
from safetensors.torch import load_file, save_file

from physdis_hub import load_pretrained, push_to_hub
from physdis_hub.hub import (
    CheckpointError,
    ChecksumMismatchError,
    UnknownPretrainedError,
    save_pretrained,
)
from physdis_hub.hub.checkpoint import CONFIG_NAME, WEIGHTS_NAME

from .helpers import cache_files, publish, same_weights, tiny_config, tiny_model


def _flip_one_byte(data: bytes) -> bytes:
    """Same size, still a valid safetensors file (the header is untouched): a silent corruption."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def _incomplete(home: Path) -> list[Path]:
    return [p for p in cache_files(home) if p.name.endswith(".incomplete")]


def test_unknown_name_suggests_close_matches(register, tmp_path):
    save_pretrained(tiny_model(), tmp_path / "ckpt")
    register("faces-loocc-l", "org/faces", "a" * 40, tmp_path / "ckpt")
    with pytest.raises(UnknownPretrainedError, match="did you mean 'faces-loocc-l"):
        load_pretrained("faces-locc-l")
    with pytest.raises(UnknownPretrainedError, match="use 'hf-hub:org/faces'"):
        load_pretrained("org/faces")


@pytest.mark.parametrize(
    "hub", [{}, {"not_found_as_repo": True}], indirect=True, ids=["typed-404s", "mirror-answers-repo-not-found"]
)
def test_missing_repo_revision_and_file(hub, tmp_path):
    with pytest.raises(CheckpointError, match="repository 'org/nothing' not found"):
        load_pretrained("hf-hub:org/nothing")
    push_to_hub(tiny_model(), "org/faces")
    with pytest.raises(CheckpointError, match="revision 'v9' not found in 'org/faces'"):
        load_pretrained("hf-hub:org/faces@v9")

    api = HfApi()
    api.create_repo("org/weights-only")
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="notes.json", repo_id="org/weights-only")
    with pytest.raises(CheckpointError, match=f"no {CONFIG_NAME} in org/weights-only@main"):
        load_pretrained("hf-hub:org/weights-only")
    config = json.dumps(tiny_config().to_dict()).encode()
    api.upload_file(path_or_fileobj=config, path_in_repo=CONFIG_NAME, repo_id="org/weights-only")
    with pytest.raises(CheckpointError, match=f"no {WEIGHTS_NAME}"):
        load_pretrained("hf-hub:org/weights-only")
    assert _incomplete(tmp_path / "hf-home") == []


@pytest.mark.parametrize(
    "hub", [{}, {"not_found_as_repo": True}], indirect=True, ids=["typed-404s", "mirror-answers-repo-not-found"]
)
def test_pickle_only_checkpoints_are_refused(hub, tmp_path):
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    (folder / WEIGHTS_NAME).rename(folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"only pickle weights \(pytorch_model.bin\)"):
        load_pretrained(f"local-dir:{folder}")

    api = HfApi()
    api.create_repo("org/pickled")
    api.upload_folder(folder_path=folder, repo_id="org/pickled")  # config.json, README.md, pytorch_model.bin
    with pytest.raises(CheckpointError, match="refuses pickle formats"):
        load_pretrained("hf-hub:org/pickled")
    assert not any(p.name == "pytorch_model.bin" for p in cache_files(tmp_path / "hf-home"))


def test_config_and_weights_must_match_strictly(hub, tmp_path):
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    config = tiny_config()
    config.replace(nets=dataclasses.replace(config.nets, depth_nf=32)).to_json(folder / CONFIG_NAME)
    with pytest.raises(CheckpointError, match=r"wrong shapes: depth_net\.\S+ \(file 32x128x4x4, model 32x256x4x4\)"):
        load_pretrained(f"local-dir:{folder}")

    push_to_hub(tiny_model(), "org/faces")
    HfApi().upload_file(path_or_fileobj=folder / CONFIG_NAME, path_in_repo=CONFIG_NAME, repo_id="org/faces")
    with pytest.raises(CheckpointError, match="does not match config.json"):
        load_pretrained("hf-hub:org/faces")

    folder = save_pretrained(tiny_model(), tmp_path / "ckpt", overwrite=True)
    state = load_file(folder / WEIGHTS_NAME)
    state["extra.weight"] = torch.zeros(1)
    del state["view_net.encoder.0.weight"]
    save_file(state, folder / WEIGHTS_NAME)
    with pytest.raises(
        CheckpointError, match=r"missing keys: view_net\.encoder\.0\.weight; unexpected keys: extra\.weight"
    ):
        load_pretrained(f"local-dir:{folder}")

    (folder / WEIGHTS_NAME).write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_pretrained(f"local-dir:{folder}")
    (folder / CONFIG_NAME).write_text('{"format_version": 6, "colour": "red"}')
    with pytest.raises(CheckpointError, match=r"invalid config.json: .*unknown keys \['colour'\]"):
        load_pretrained(f"local-dir:{folder}")


def test_a_file_altered_on_the_server_is_refused_and_not_kept(hub, register, tmp_path):
    sha = publish(tiny_model(), tmp_path / "ckpt", "org/faces")
    register("faces-test", "org/faces", sha, tmp_path / "ckpt")
    tampered = _flip_one_byte(hub.files("org/faces", sha)[WEIGHTS_NAME])
    hub.tamper("org/faces", sha, WEIGHTS_NAME, tampered)

    with pytest.raises(ChecksumMismatchError, match="the registry pins") as info:
        load_pretrained("faces-test")
    assert "has been deleted from the cache" in str(info.value)
    home = tmp_path / "hf-home"
    assert all(p.read_bytes() != tampered for p in cache_files(home) if p.exists())
    assert not any(p.name == WEIGHTS_NAME for p in cache_files(home))
    assert _incomplete(home) == []
    with pytest.raises(ChecksumMismatchError):  # and it stays refused
        load_pretrained("faces-test")


def test_a_corrupted_cache_file_is_replaced_online_and_refused_offline(hub, register, offline, tmp_path):
    model = tiny_model()
    sha = publish(model, tmp_path / "ckpt", "org/faces")
    register("faces-test", "org/faces", sha, tmp_path / "ckpt")
    load_pretrained("faces-test")
    home = tmp_path / "hf-home"

    def corrupt_cached_weights() -> Path:
        (weights,) = [p for p in cache_files(home) if p.name == WEIGHTS_NAME]
        blob = Path(os.path.realpath(weights))
        blob.write_bytes(_flip_one_byte(blob.read_bytes()))
        return blob

    corrupt_cached_weights()
    with pytest.warns(UserWarning, match="the cached model.safetensors was corrupted .* downloading a fresh copy"):
        assert same_weights(load_pretrained("faces-test"), model)

    blob = corrupt_cached_weights()
    offline()
    with pytest.raises(ChecksumMismatchError, match="the cached model.safetensors .* is corrupted") as info:
        load_pretrained("faces-test")
    assert "run again with network access" in str(info.value)
    assert not blob.exists() and not any(p.name == WEIGHTS_NAME for p in cache_files(home))


def test_an_interrupted_download_leaves_nothing_partial(hub, tmp_path):
    push_to_hub(tiny_model(), "org/faces")
    hub.drop_downloads(WEIGHTS_NAME, times=10)  # more than huggingface_hub's 5 resume attempts
    with pytest.raises(CheckpointError, match="downloading model.safetensors .* failed") as info:
        load_pretrained("hf-hub:org/faces")
    assert "Nothing partial was kept" in str(info.value)
    home = tmp_path / "hf-home"
    assert _incomplete(home) == []
    assert not any(p.name == WEIGHTS_NAME for p in cache_files(home))
    hub.drop_downloads(WEIGHTS_NAME, times=0)
    assert same_weights(load_pretrained("hf-hub:org/faces"), tiny_model())


def test_offline_without_a_cached_copy(hub, offline, register, tmp_path):
    sha = publish(tiny_model(), tmp_path / "ckpt", "org/faces")
    register("faces-test", "org/faces", sha, tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match=r"not in the local cache .*local_files_only=True"):
        load_pretrained("faces-test", local_files_only=True)
    offline()
    for name in ("faces-test", "hf-hub:org/faces", f"hf-hub:org/faces@{sha}"):
        with pytest.raises(CheckpointError, match=r"not in the local cache .*HF_HUB_OFFLINE=1"):
            load_pretrained(name)


def test_argument_errors_name_the_argument(register, tmp_path):
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    register("faces-test", "org/faces", "b" * 40, folder)
    cases = [
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"name": "hf-hub:not-a-repo"}, "name"),
        ({"name": "hf-hub:org/faces@"}, "name"),
        ({"name": "local-dir:"}, "name"),
        ({"name": f"local-dir:{folder}", "device": "gpu0"}, "device"),
        ({"name": f"local-dir:{folder}", "revision": "main"}, "revision"),
        ({"name": "hf-hub:org/faces@v1", "revision": "v2"}, "revision"),
        ({"name": "faces-test", "revision": "main"}, "revision: 'faces-test' is pinned"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            load_pretrained(**kwargs)
    with pytest.raises(CheckpointError, match="no such folder"):
        load_pretrained(f"local-dir:{tmp_path / 'absent'}")
