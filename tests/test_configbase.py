"""One config base: every configuration dataclass round-trips through dicts and JSON, nested
configs and tuples restored from the annotations, unknown keys refused by name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from physdis_hub.align import DetectorConfig
from physdis_hub.config import CONFIG_FORMAT_VERSION, LossConfig, ModelConfig, NetConfig, RenderConfig, SceneConfig
from physdis_hub.configbase import ConfigBase
from physdis_hub.data.synthetic import LightRange, SyntheticConfig, ViewRange
from training.augment import PHOTO_LIKE, AugmentConfig
from training.config import OptimConfig, TrainConfig
from training.data import DataConfig
from training.loocc import LooccConfig
from training.presets import build_preset
from training.shape_init import ShapeInitConfig

FIXTURES = Path(__file__).parent / "fixtures"

EXAMPLES = [
    NetConfig(depth_nf=32),
    SceneConfig(amb_range=(0.1, 0.9)),
    RenderConfig(pixel_convention="center"),
    LossConfig(lam_perc=0.5),
    ModelConfig(variant="L", category="cars"),
    OptimConfig(betas=(0.5, 0.9)),
    DataConfig(options={"split_seed": 3}, max_images=(4, 2, 2)),
    LooccConfig(variant="LV"),
    PHOTO_LIKE,
    AugmentConfig(),
    SyntheticConfig.for_category("cars", seed=3),
    build_preset("tiny", "LV"),
    SyntheticConfig().light_in,
    SyntheticConfig().view_ood,
    DetectorConfig(thresholds=(0.5, 0.6, 0.7)),
    ShapeInitConfig(steps=5, semi_axes=(0.5, 0.8)),
]


@pytest.mark.parametrize("config", EXAMPLES, ids=lambda c: type(c).__name__)
def test_every_config_round_trips(config: ConfigBase, tmp_path: Path) -> None:
    data = config.to_dict()
    assert json.loads(json.dumps(data)) == data  # JSON-ready: tuples are lists
    restored = type(config).from_dict(data)
    assert restored == config
    config.to_json(tmp_path / "c.json")
    assert type(config).from_json(tmp_path / "c.json") == config


def test_tuples_and_nested_configs_come_back_typed() -> None:
    config = TrainConfig.from_dict(build_preset("tiny").to_dict())
    assert isinstance(config.model.nets, NetConfig) and isinstance(config.data, DataConfig)
    assert isinstance(config.optim.betas, tuple) and isinstance(config.model.scene.amb_range, tuple)
    synthetic = SyntheticConfig.from_dict(SyntheticConfig().to_dict())
    assert isinstance(synthetic.light_in, LightRange) and isinstance(synthetic.view_in, ViewRange)
    assert isinstance(synthetic.view_in.abs_yaw_deg, tuple)


def test_unknown_keys_are_named_where_they_are() -> None:
    data = build_preset("tiny").to_dict()
    data["loocc"]["weigth"] = 1.0
    with pytest.raises(ValueError, match=r"TrainConfig\.loocc: unknown keys \['weigth'\]"):
        TrainConfig.from_dict(data)
    with pytest.raises(ValueError, match=r"SyntheticConfig\.light_in: unknown keys \['hue'\]"):
        SyntheticConfig.from_dict({"light_in": {**SyntheticConfig().light_in.to_dict(), "hue": 1}})
    with pytest.raises(ValueError, match="OptimConfig: expected an object, got list"):
        OptimConfig.from_dict([1])


def test_a_new_config_needs_no_serialiser() -> None:
    @dataclass(frozen=True)
    class Inner(ConfigBase):
        pair: tuple[int, int] = (1, 2)

    @dataclass(frozen=True)
    class Outer(ConfigBase):
        inner: Inner = field(default_factory=Inner)
        maybe: Inner | None = None
        sizes: tuple[int, ...] = ()

    globals().update(Inner=Inner)  # get_type_hints resolves the annotations in this module
    try:
        outer = Outer(maybe=Inner((3, 4)), sizes=(1, 2, 3))
        assert Outer.from_dict(outer.to_dict()) == outer
        assert Outer.from_dict({"maybe": None}) == Outer()
    finally:
        del globals()["Inner"]


def test_model_config_stamps_its_format_version() -> None:
    data = ModelConfig().to_dict()
    assert data["format_version"] == CONFIG_FORMAT_VERSION
    assert ModelConfig.from_dict(data) == ModelConfig()
