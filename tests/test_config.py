import json
from pathlib import Path

import pytest

from physdis_hub.categories import CATEGORIES
from physdis_hub.config import (
    CONFIG_FORMAT_VERSION,
    IMAGE_SIZE,
    REEXPORT_HINT,
    LossConfig,
    ModelConfig,
    NetConfig,
    RenderConfig,
    SceneConfig,
)
from physdis_hub.errors import ConfigFormatError


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
"""config.json of an early faces default, written before format versions existed (format 1)."""

REMOVED_SETTINGS = {
    "nets": "depth_final_tanh",
    "scene": "center_depth",
    "render": "backend",
    "loss": "lam_light_albedo",
}
"""A setting of each section that format 6 dropped (experiments that were not adopted)."""


def test_one_published_format_round_trips() -> None:
    cfg = ModelConfig(part_scales=(0.1, 0.5, 0.2, 0.3), render=RenderConfig(pixel_convention="center"))
    data = cfg.to_dict()
    assert data["format_version"] == CONFIG_FORMAT_VERSION == 6
    assert ModelConfig.from_dict(data) == cfg
    assert "image_size" not in data and cfg.image_size == IMAGE_SIZE == 64  # one legal value: not a setting
    for section, name in REMOVED_SETTINGS.items():
        assert name not in data[section]
        with pytest.raises(ValueError, match=rf"config\.{section}: unknown keys \['{name}'\]"):
            ModelConfig.from_dict({**data, section: {**data[section], name: 0}})


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_older_formats_are_refused_with_how_to_re_export(version: int) -> None:
    data = {**ModelConfig().to_dict(), "format_version": version}
    with pytest.raises(ConfigFormatError, match=rf"^config\.format_version: {version} is an unpublished") as err:
        ModelConfig.from_dict(data)
    assert "\n" not in str(err.value) and REEXPORT_HINT in str(err.value)
    assert "python -m training.export RUN_DIR" in REEXPORT_HINT and "physdis convert" in REEXPORT_HINT


def test_a_file_without_format_version_is_format_1_and_refused() -> None:
    assert "format_version" not in json.loads(FORMAT_1.read_text())
    with pytest.raises(ConfigFormatError, match="format_version: 1 is an unpublished"):
        ModelConfig.from_json(FORMAT_1)


def test_unknown_or_newer_format_is_refused() -> None:
    data = ModelConfig().to_dict()
    with pytest.raises(ConfigFormatError, match=r"newer physdis-hub.*pip install -U"):
        ModelConfig.from_dict({**data, "format_version": CONFIG_FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="format_version: expected a positive int"):
        ModelConfig.from_dict({**data, "format_version": "2"})


def test_head_order_and_pixel_convention() -> None:
    assert ModelConfig().nets.encoder_head == "conv-tanh" and ModelConfig().render.pixel_convention == "integer"
    pdr = ModelConfig(nets=NetConfig(encoder_head="tanh-conv"), render=RenderConfig(pixel_convention="center"))
    assert ModelConfig.from_dict(pdr.to_dict()) == pdr
    expected = r"NetConfig\.encoder_head: expected one of \['conv-tanh', 'tanh-conv'\], got 'tanh'"
    with pytest.raises(ValueError, match=expected):
        NetConfig(encoder_head="tanh")


def test_part_scales_are_checked() -> None:
    assert ModelConfig().part_scales is None
    cfg = ModelConfig(part_scales=(0.1, 0.5, 0.2, 0.3))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    for bad in [(0.1, 0.5, 0.2), (0.1, 0.5, 0.0, 0.3), (0.1, float("nan"), 0.2, 0.3)]:
        with pytest.raises(ValueError, match="ModelConfig.part_scales: expected None or 4 finite positive"):
            ModelConfig(part_scales=bad)


def test_border_edges_and_normals_round_trip_and_are_checked() -> None:
    # Converted official models set the Unsup3d conventions; this package's own models keep the defaults.
    assert (SceneConfig().border_edges, RenderConfig().normals) == ("all", "replicate")
    cfg = ModelConfig(scene=SceneConfig(border_edges="left-right"), render=RenderConfig(normals="unsup3d"))
    data = cfg.to_dict()
    assert data["scene"]["border_edges"] == "left-right" and data["render"]["normals"] == "unsup3d"
    assert ModelConfig.from_dict(data) == cfg
    with pytest.raises(
        ValueError, match=r"SceneConfig.border_edges: expected one of \['all', 'left-right'\], got 'top'"
    ):
        SceneConfig(border_edges="top")
    with pytest.raises(ValueError, match=r"RenderConfig.normals: expected one of \['replicate', 'unsup3d'\], got 'x'"):
        RenderConfig(normals="x")
