import json

import pytest

from physdis_hub.config import LossConfig, ModelConfig, NetConfig, SceneConfig, cars_scene


def test_json_round_trip(tmp_path) -> None:
    cfg = ModelConfig(nets=NetConfig(depth_nf=32), scene=cars_scene(), variant="LV", category="cars")
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


def test_perceptual_without_weights_is_an_error() -> None:
    with pytest.raises(ValueError, match="perceptual_weights"):
        LossConfig(lam_perc=1.0)
    assert not LossConfig().perceptual_on
