"""The Hub idiom on the model: from_pretrained / save_pretrained / push_to_hub, token and
force_download, and untrained models of a category."""

from __future__ import annotations

import pytest
import torch

from physdis_hub import CATEGORIES, PhysDisModel, UnknownNameError
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

from .helpers import features, same_weights, tiny_model


def test_save_and_from_pretrained_round_trip(tmp_path):
    model = tiny_model()
    folder = model.save_pretrained(tmp_path / "ckpt")
    assert {p.name for p in folder.iterdir()} == {CONFIG_NAME, WEIGHTS_NAME, CARD_NAME}
    loaded = PhysDisModel.from_pretrained(folder)
    assert same_weights(loaded, model) and not loaded.training


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
