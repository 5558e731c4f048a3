"""The Hub idiom on the model: from_pretrained / save_pretrained / push_to_hub, token and
force_download, and untrained models of a category."""

from __future__ import annotations

import pytest
import torch

from physdis_hub import CATEGORIES, PhysDisModel, UnknownNameError
from physdis_hub.errors import CheckpointError
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME
from physdis_hub.hub.download import ModelSource, parse_model_name

from .helpers import features, same_weights, tiny_model


def test_save_and_from_pretrained_round_trip(tmp_path):
    model = tiny_model()
    folder = model.save_pretrained(tmp_path / "ckpt")
    assert {p.name for p in folder.iterdir()} == {CONFIG_NAME, WEIGHTS_NAME, CARD_NAME}
    loaded = PhysDisModel.from_pretrained(folder)
    assert same_weights(loaded, model) and not loaded.training


def test_from_pretrained_takes_a_bare_folder_path_as_hugging_face_does(tmp_path, monkeypatch):
    model = tiny_model()
    model.save_pretrained(tmp_path / "ckpt")
    assert same_weights(PhysDisModel.from_pretrained(str(tmp_path / "ckpt")), model)
    monkeypatch.chdir(tmp_path)
    for name in ("ckpt", "./ckpt"):  # an existing folder; a relative path
        assert same_weights(PhysDisModel.from_pretrained(name), model)
    assert parse_model_name("faces-loocc-lv") == ModelSource("registry", "faces-loocc-lv")
    with pytest.raises(CheckpointError, match="missing"):  # a path that is not there: a local error, not a registry one
        PhysDisModel.from_pretrained(str(tmp_path / "missing"))


def test_push_to_hub_then_from_pretrained_with_token(hub, tmp_path):
    model = tiny_model()
    sha = model.push_to_hub("org/faces")
    assert sha == hub.head("org/faces")
    before = len(hub.authorizations)
    loaded = PhysDisModel.from_pretrained("hf-hub:org/faces", token="hf_secret", cache_dir=tmp_path / "cache")
    assert torch.equal(features(loaded), features(model))
    sent = hub.authorizations[before:]
    assert sent and all(auth == "Bearer hf_secret" for auth in sent)


def test_force_download_fetches_the_files_again(hub, tmp_path):
    tiny_model().push_to_hub("org/faces")
    PhysDisModel.from_pretrained("hf-hub:org/faces")
    gets = lambda: [path for method, path in hub.requests if method == "GET" and WEIGHTS_NAME in path]  # noqa: E731
    first = len(gets())
    PhysDisModel.from_pretrained("hf-hub:org/faces")
    assert len(gets()) == first  # served from the cache
    PhysDisModel.from_pretrained("hf-hub:org/faces", force_download=True)
    assert len(gets()) == first + 1


def test_force_download_contradicts_local_files_only():
    with pytest.raises(ValueError, match="force_download"):
        PhysDisModel.from_pretrained("faces-loocc-lv", force_download=True, local_files_only=True)


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_for_category_takes_the_profile(name):
    profile = CATEGORIES[name]
    model = PhysDisModel.for_category(name, widths="cpu", variant="LV")
    assert model.config.category == name and model.config.variant == "LV"
    assert model.config.scene == profile.scene and model.config.loss == profile.loss
    assert (model.conf_net is not None) == profile.use_conf
    assert model.config.nets.zdim == 128


def test_for_category_paper_widths_and_errors():
    assert PhysDisModel.for_category("cars").config.nets.zdim == 256
    with pytest.raises(ValueError, match="widths"):
        PhysDisModel.for_category("cars", widths="huge")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match="unknown category 'dogs'"):
        PhysDisModel.for_category("dogs")
