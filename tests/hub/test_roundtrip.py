"""save -> push -> load through the Hub protocol: every way of naming a checkpoint gives the same model."""

from __future__ import annotations

import torch
from huggingface_hub import constants

from physdis_hub import load_pretrained, push_to_hub
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

from .helpers import features, publish, same_weights, tiny_model


def test_every_name_form_loads_bit_identical_features(hub, register, tmp_path):
    model = tiny_model()
    folder = tmp_path / "ckpt"
    sha = publish(model, folder, "org/faces")
    assert sha == hub.head("org/faces")
    assert {CONFIG_NAME, WEIGHTS_NAME, CARD_NAME} <= set(hub.files("org/faces", sha))
    register("faces-test", "org/faces", sha, folder)

    expected = features(model)
    names = [
        "faces-test",
        "hf-hub:org/faces",
        f"hf-hub:org/faces@{sha}",
        "hf-hub:org/faces@main",
        f"local-dir:{folder}",
    ]
    for name in names:
        loaded = load_pretrained(name)
        assert not loaded.training, name
        assert loaded.config == model.config, name
        assert torch.equal(features(loaded), expected), name
    assert torch.equal(features(load_pretrained("hf-hub:org/faces", revision=sha)), expected)
    assert torch.equal(features(load_pretrained(folder)), expected)  # a path-like is a local folder


def test_downloads_land_in_the_huggingface_cache(hub, tmp_path):
    push_to_hub(tiny_model(), "org/faces")
    load_pretrained("hf-hub:org/faces")
    snapshots = list((tmp_path / "hf-home" / "hub" / "models--org--faces" / "snapshots").iterdir())
    assert [sorted(p.name for p in s.iterdir()) for s in snapshots] == [[CONFIG_NAME, WEIGHTS_NAME]]
    custom = tmp_path / "elsewhere"
    load_pretrained("hf-hub:org/faces", cache_dir=custom)
    assert (custom / "models--org--faces").is_dir()
    assert constants.HF_HUB_CACHE == str(tmp_path / "hf-home" / "hub")


def test_a_later_push_does_not_change_what_a_pinned_revision_loads(hub, register, tmp_path):
    first, second = tiny_model(seed=0), tiny_model(seed=1)
    sha1 = publish(first, tmp_path / "first", "org/faces")
    register("faces-test", "org/faces", sha1, tmp_path / "first")
    sha2 = push_to_hub(second, "org/faces", commit_message="retrain")
    assert sha2 != sha1 and hub.head("org/faces") == sha2

    assert same_weights(load_pretrained("faces-test"), first)
    assert same_weights(load_pretrained(f"hf-hub:org/faces@{sha1}"), first)
    assert same_weights(load_pretrained("hf-hub:org/faces"), second)


def test_push_to_a_branch_leaves_main_alone(hub, tmp_path):
    main_sha = push_to_hub(tiny_model(seed=0), "org/faces")
    dev_sha = push_to_hub(tiny_model(seed=1), "org/faces", revision="dev")
    assert hub.head("org/faces") == main_sha and hub.head("org/faces", "dev") == dev_sha
    assert same_weights(load_pretrained("hf-hub:org/faces@dev"), tiny_model(seed=1))
    assert same_weights(load_pretrained("hf-hub:org/faces"), tiny_model(seed=0))


def test_single_commit_upload_path_without_hf_xet(hub, monkeypatch):
    """huggingface_hub uploads through create_commit (README validated by /api/validate-yaml) when hf_xet is off."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    sha = push_to_hub(tiny_model(), "org/faces", private=True)
    assert ("POST", "/api/validate-yaml") in hub.requests
    assert same_weights(load_pretrained(f"hf-hub:org/faces@{sha}"), tiny_model())


def test_offline_and_local_files_only_load_from_the_cache(hub, register, offline, tmp_path):
    model = tiny_model()
    sha = publish(model, tmp_path / "ckpt", "org/faces")
    register("faces-test", "org/faces", sha, tmp_path / "ckpt")
    for name in ("faces-test", "hf-hub:org/faces"):
        load_pretrained(name)  # fills the cache (the branch name 'main' is remembered in refs/)

    before = len(hub.requests)
    for name in ("faces-test", "hf-hub:org/faces", f"hf-hub:org/faces@{sha}"):
        assert same_weights(load_pretrained(name, local_files_only=True), model)
    offline()
    for name in ("faces-test", "hf-hub:org/faces", f"hf-hub:org/faces@{sha}"):
        assert same_weights(load_pretrained(name), model)
    assert len(hub.requests) == before
