"""Shared fixtures: small model configurations that keep CPU tests fast."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.config import ModelConfig, NetConfig


def small_config(**changes) -> ModelConfig:  # type: ignore[no-untyped-def]
    """Narrow networks (same 256-d features for every part) for fast tests."""
    nets = NetConfig(depth_nf=16, albedo_nf=16, light_nf=32, view_nf=32, conf_nf=16, use_conf=False)
    return ModelConfig(nets=nets, **changes)


@pytest.fixture
def small_cfg() -> ModelConfig:
    return small_config()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
