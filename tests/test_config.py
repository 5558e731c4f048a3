import json
from pathlib import Path

import pytest

from physdis_hub.categories import CATEGORIES
from physdis_hub.config import (
    CONFIG_FORMAT_VERSION,
    LossConfig,
    ModelConfig,
    NetConfig,
    RenderConfig,
    SceneConfig,
)


def test_json_round_trip(tmp_path) -> None:
    cfg = ModelConfig(nets=NetConfig(depth_nf=32), scene=CATEGORIES["cars"].scene, variant="LV", category="cars")
    path = tmp_path / "config.json"
    cfg.to_json(path)
    assert ModelConfig.from_json(path) == cfg
    assert json.loads(path.read_text())["scene"]["border_depth"] == 1.08


def test_unknown_and_bad_keys_are_errors() -> None:
    data = ModelConfig().to_dict()
    data["nets"]["depth_nff"] = 3
    with pytest.raises(ValueError, match=r"config\.nets: unknown keys \['depth_nff'\]"):
        ModelConfig.from_dict(data)
    with pytest.raises(ValueError, match="variant"):
        ModelConfig(variant="X")
    with pytest.raises(ValueError, match="min_depth"):
        SceneConfig(min_depth=1.2, max_depth=1.1)


def test_loss_weights_must_be_non_negative() -> None:
    with pytest.raises(ValueError, match="lam_normal_smooth"):
        LossConfig(lam_normal_smooth=-1.0)
    assert not LossConfig().perceptual_on and LossConfig(lam_perc=1.0).perceptual_on


FORMAT_1 = Path(__file__).parent / "fixtures" / "config_format1.json"
"""config.json of the faces-loocc-lv default as published before format versions existed."""


def test_format_1_config_migrates_to_what_it_was_trained_as() -> None:
    old = json.loads(FORMAT_1.read_text())
    assert "format_version" not in old and "perceptual_weights" in old["loss"]
    cfg = ModelConfig.from_json(FORMAT_1)
    assert cfg.nets.depth_final_tanh  # format-1 depth networks ended in a Tanh
    assert cfg.nets.depth_nf == old["nets"]["depth_nf"] and cfg.loss.lam_flip == old["loss"]["lam_flip"]
    assert cfg.to_dict()["format_version"] == CONFIG_FORMAT_VERSION
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg  # the current format round-trips unchanged
    assert not ModelConfig().nets.depth_final_tanh  # Unsup3d's depth net: no output activation


def test_unknown_or_newer_format_is_refused() -> None:
    data = ModelConfig().to_dict()
    with pytest.raises(ValueError, match=r"newer physdis-hub.*pip install -U"):
        ModelConfig.from_dict({**data, "format_version": CONFIG_FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="format_version: expected a positive int"):
        ModelConfig.from_dict({**data, "format_version": "2"})


def test_head_order_and_pixel_convention_default_to_what_older_configs_meant() -> None:
    """Fields added without a format bump: a config written before them (format 2 without the
    keys, or format 1) loads as Unsup3d's head order and the integer pixel convention."""
    data = ModelConfig().to_dict()
    del data["nets"]["encoder_head"], data["render"]["pixel_convention"]
    for cfg in (ModelConfig.from_dict(data), ModelConfig.from_json(FORMAT_1)):
        assert cfg.nets.encoder_head == "conv-tanh" and cfg.render.pixel_convention == "integer"
    pdr = ModelConfig(nets=NetConfig(encoder_head="tanh-conv"), render=RenderConfig(pixel_convention="center"))
    assert ModelConfig.from_dict(pdr.to_dict()) == pdr
    expected = r"NetConfig\.encoder_head: expected one of \['conv-tanh', 'tanh-conv'\], got 'tanh'"
    with pytest.raises(ValueError, match=expected):
        NetConfig(encoder_head="tanh")


def test_part_scales_are_checked_and_format_2_files_load_uncalibrated() -> None:
    data = ModelConfig().to_dict()
    format_2 = {**{k: v for k, v in data.items() if k != "part_scales"}, "format_version": 2}
    assert ModelConfig.from_dict(format_2).part_scales is None
    cfg = ModelConfig(part_scales=(0.1, 0.5, 0.2, 0.3))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    for bad in [(0.1, 0.5, 0.2), (0.1, 0.5, 0.0, 0.3), (0.1, float("nan"), 0.2, 0.3)]:
        with pytest.raises(ValueError, match="ModelConfig.part_scales: expected None or 4 finite positive"):
            ModelConfig(part_scales=bad)


def test_format_3_files_load_without_the_light_priors() -> None:
    data = ModelConfig(part_scales=(0.1, 0.5, 0.2, 0.3)).to_dict()
    assert data["format_version"] == CONFIG_FORMAT_VERSION and data["loss"]["lam_light_albedo"] == data["loss"]["lam_light_depth"] == 0.0
    new = ("lam_light_albedo", "lam_light_depth")
    format_3 = {**data, "loss": {k: v for k, v in data["loss"].items() if k not in new}, "format_version": 3}
    assert ModelConfig.from_dict(format_3) == ModelConfig.from_dict(data)


def test_format_4_files_decode_depth_mean_centred_and_the_setting_is_checked() -> None:
    data = ModelConfig(scene=SceneConfig(center_depth=False)).to_dict()
    assert data["format_version"] == CONFIG_FORMAT_VERSION and data["scene"]["center_depth"] is False
    assert ModelConfig.from_dict(data).scene.center_depth is False
    format_4 = {**data, "scene": {k: v for k, v in data["scene"].items() if k != "center_depth"}, "format_version": 4}
    assert ModelConfig.from_dict(format_4).scene.center_depth is True  # what every older file meant
    with pytest.raises(ValueError, match="SceneConfig.center_depth: expected true or false, got 'yes'"):
        SceneConfig(center_depth="yes")  # type: ignore[arg-type]


def test_format_5_files_keep_the_border_ring_and_replicated_normals_and_the_settings_are_checked() -> None:
    data = ModelConfig(scene=SceneConfig(border_edges="left-right"), render=RenderConfig(normals="unsup3d")).to_dict()
    assert data["format_version"] == 6 and data["scene"]["border_edges"] == "left-right"
    assert ModelConfig.from_dict(data).render.normals == "unsup3d"
    format_5 = {
        **data,
        "scene": {k: v for k, v in data["scene"].items() if k != "border_edges"},
        "render": {k: v for k, v in data["render"].items() if k != "normals"},
        "format_version": 5,
    }
    old = ModelConfig.from_dict(format_5)  # what every older file was trained with
    assert (old.scene.border_edges, old.render.normals) == ("all", "replicate")
    with pytest.raises(ValueError, match=r"SceneConfig.border_edges: expected one of \['all', 'left-right'\], got 'top'"):
        SceneConfig(border_edges="top")
    with pytest.raises(ValueError, match=r"RenderConfig.normals: expected one of \['replicate', 'unsup3d'\], got 'x'"):
        RenderConfig(normals="x")
