"""Shared fixtures: small model configurations that keep CPU tests fast; one CPU thread for the
whole suite.

pytest loads this file before it collects anything (``tests`` is a test path), so the cap below
covers every test and doctest of the run and the processes they start (``OMP_NUM_THREADS``). On
a machine whose cores are shared, OpenMP threads that spin while waiting for a core make a
2-thread run many times slower than a 1-thread one (measured: 8 s against 70-130 s for the same
training run), and one thread keeps the bit-exact comparisons independent of the core count.
"""

from __future__ import annotations

import os

import pytest
import torch

from physdis_hub.config import ModelConfig

from .helpers import small_config

TEST_THREADS = 1
"""CPU threads of the test process and of the processes it starts."""

os.environ["OMP_NUM_THREADS"] = str(TEST_THREADS)
torch.set_num_threads(TEST_THREADS)


@pytest.fixture
def small_cfg() -> ModelConfig:
    return small_config()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
