"""Category profiles: the paper's and Unsup3d's settings as data, read by the model, presets and converter."""

from __future__ import annotations

import dataclasses

import pytest

from physdis_hub.categories import CATEGORIES, WIDTHS, CategoryProfile, get_category
from physdis_hub.config import LossConfig, SceneConfig
from physdis_hub.convert.categories import PDR_CATEGORIES, UNSUP3D_CATEGORIES, official_border_depth
from physdis_hub.errors import UnknownNameError


def test_paper_settings() -> None:
    faces, cars, cat = CATEGORIES["faces"], CATEGORIES["cars"], CATEGORIES["cat"]
    assert faces.scene == SceneConfig() and faces.use_conf and faces.batch_size == 64
    assert (faces.loss.lam_flip, faces.loss.lam_perc, faces.loss.lam_depth_smooth) == (0.5, 1.0, 0.0)
    assert cars.scene.border_depth == 1.08 and cars.scene.diff_range == (0.5, 1.0) and not cars.use_conf
    assert (cars.loss.lam_flip, cars.loss.lam_perc, cars.loss.lam_depth_smooth) == (1.0, 0.01, 0.1)
    assert cars.batch_size == 256
    assert cat.scene == dataclasses.replace(SceneConfig(), z_translation_range=0.1) and cat.use_conf
    assert faces.align_faces and not cars.align_faces and not cat.align_faces


def test_model_config_of_a_profile() -> None:
    config = CATEGORIES["cars"].model_config("cpu", variant="L")
    assert config.category == "cars" and config.variant == "L" and config.scene == CATEGORIES["cars"].scene
    assert config.nets == dataclasses.replace(WIDTHS["cpu"], use_conf=False)
    assert CATEGORIES["faces"].model_config().nets == WIDTHS["paper"]


def test_a_new_category_is_one_entry() -> None:
    birds = CategoryProfile(
        name="birds", scene=SceneConfig(fov_deg=12.0), use_conf=False, loss=LossConfig(), batch_size=32
    )
    config = birds.model_config("cpu")
    assert config.category == "birds" and config.scene.fov_deg == 12.0 and not config.nets.use_conf
    with pytest.raises(ValueError, match="batch_size"):
        dataclasses.replace(birds, batch_size=0)


def test_get_category_names_the_known_ones() -> None:
    assert get_category("cars") is CATEGORIES["cars"]
    with pytest.raises(
        UnknownNameError, match=r"unknown category 'face'; did you mean 'faces'\?; known: cars, cat, faces"
    ):
        get_category("face")


def test_official_categories_read_the_profiles() -> None:
    for official in (*UNSUP3D_CATEGORIES.values(), *PDR_CATEGORIES.values()):
        profile = CATEGORIES[official.category]
        assert (official.use_conf, official.loss) == (profile.use_conf, profile.loss)
        # the scene is the training profile's, with the official test configs' border (value, left-right columns)
        tested = profile.scene.replace(border_depth=official_border_depth(profile.scene), border_edges="left-right")
        assert official.scene == tested
