"""Shared fixtures: a small real PhysDisModel and synthetic features with planted structure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physdis_hub.model import PhysDisModel

from ..helpers import small_config


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The probes train many tiny models; with other jobs on the 2 cores, torch's thread pool makes
    such steps several times slower than one thread. Restored after each test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
