"""The vocabulary: names defined once and used everywhere, the part check, the image ranges."""

from __future__ import annotations

import dataclasses
from typing import get_args

import pytest
import torch

import physdis_hub
from physdis_hub.config import LossConfig, ModelConfig, RenderConfig
from physdis_hub.nets import DownPath
from physdis_hub.vocab import (
    DEVICES,
    PARTS,
    VARIANT_LABELS,
    VARIANT_SLUGS,
    VARIANTS,
    Part,
    check_parts,
    parse_parts,
    to_network_range,
    to_unit_range,
)
from training.config import TrainConfig
from training.loocc import LooccConfig


def test_names_come_from_the_literal_types() -> None:
    assert PARTS == get_args(Part) == ("geom", "alb", "light", "view")
    assert VARIANTS == ("none", "L", "LV") and list(VARIANT_LABELS) == list(VARIANTS)
    assert VARIANT_LABELS == {"none": "no LOOCC", "L": "LOOCC-L", "LV": "LOOCC-LV"}
    assert VARIANT_SLUGS == {"none": "no-loocc", "L": "loocc-l", "LV": "loocc-lv"}
    assert DEVICES == ("auto", "cpu", "cuda")
    assert physdis_hub.PARTS is PARTS and physdis_hub.config.PARTS is PARTS


def test_configs_check_against_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="variant.*'LV'"):
        ModelConfig(variant="V")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variant"):
        LooccConfig(variant="V")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pixel_convention.*'center'"):
        RenderConfig(pixel_convention="corner")
    with pytest.raises(ValueError, match="device.*'cuda'"):
        TrainConfig(preset="x", device="tpu")  # type: ignore[arg-type]


def test_the_run_states_its_variant_once() -> None:
    config = TrainConfig(preset="x", loocc=LooccConfig(variant="LV"), model=ModelConfig(loss=LossConfig()))
    assert config.model.variant == "LV" == config.variant
    assert config.with_variant("L").model.variant == "L"
    assert dataclasses.replace(config, loocc=LooccConfig()).model.variant == "none"


def test_check_parts() -> None:
    assert check_parts("geom") == ["geom"]
    assert check_parts(("alb", "view")) == ["alb", "view"]
    for bad, message in (
        ([], "non-empty"),
        (["shape"], "non-empty subset"),
        (["geom", "geom"], "repeated"),
        (3, "sequence"),
    ):
        with pytest.raises(ValueError, match=message):
            check_parts(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^cluster_parts:"):
        check_parts(["x"], "cluster_parts")


def test_parse_parts_reads_commas_and_spaces() -> None:
    for text in ("geom,alb", ["geom,alb"], ["geom", "alb"], "geom, alb", ["geom,", "alb"]):
        assert parse_parts(text) == ["geom", "alb"]
    with pytest.raises(ValueError, match="^--parts: repeated"):
        parse_parts(["geom,alb", "geom"])
    with pytest.raises(ValueError, match="^--parts: expected a non-empty subset"):
        parse_parts(",")


def test_image_ranges_are_inverse() -> None:
    unit = torch.rand(2, 3, 4, 4)
    net = to_network_range(unit)
    assert net.min() >= -1 and net.max() <= 1
    torch.testing.assert_close(to_unit_range(net), unit)
    assert torch.equal(to_network_range(torch.tensor([0.0, 0.5, 1.0])), torch.tensor([-1.0, 0.0, 1.0]))


def test_down_paths_give_their_stages() -> None:
    model = physdis_hub.PhysDisModel.for_category("cars", widths="cpu")
    for part, down in model.part_encoders().items():
        assert isinstance(down, DownPath), part
        stages = down.stages(torch.zeros(1, 3, 64, 64))
        assert [s.shape[-1] for s in stages] == [32, 16, 8, 4, 1]
        torch.testing.assert_close(stages[-1].flatten(1), model._encode(torch.zeros(1, 3, 64, 64), [part])[part])
