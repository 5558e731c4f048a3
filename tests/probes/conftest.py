"""Shared fixtures: a small real PhysDisModel and synthetic features with planted structure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physdis_hub.model import PhysDisModel

from ..helpers import small_config


@pytest.fixture(scope="session")
def small_model() -> PhysDisModel:
    """A randomly initialised PhysDisModel with narrow geometry/albedo nets (fast on CPU)."""
    torch.manual_seed(0)
    return PhysDisModel(small_config()).eval()


def _blobs(n_per_class: int, n_classes: int, dim: int, *, spread: float = 4.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    centres = rng.normal(scale=spread, size=(n_classes, dim))
    return centres[labels] + rng.normal(size=(len(labels), dim)), labels


@pytest.fixture
def blobs():
    """``blobs(n_per_class, n_classes, dim, spread=4, seed=0)`` -> Gaussian clusters: features
    ``(n_per_class * n_classes, dim)`` and labels ``(N,)``."""
    return _blobs
