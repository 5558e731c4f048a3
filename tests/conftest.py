"""Shared fixtures: small model configurations that keep CPU tests fast."""

from __future__ import annotations

import pytest
import torch

from physdis_hub.config import ModelConfig

from .helpers import small_config


@pytest.fixture
def small_cfg() -> ModelConfig:
    return small_config()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
