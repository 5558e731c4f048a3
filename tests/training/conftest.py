"""Fixtures for the training tests: the ``tiny`` preset's data (rendered once) and subprocess helpers.

Every test computes on one thread, in this process and in the subprocesses it starts (see
``tests/conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from training.config import TrainConfig
from training.data import CACHE_ENV, Splits, build_splits
from training.presets import build_preset
from training.trainer import FitResult, Trainer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package", autouse=True)
def synthetic_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Rendered synthetic data goes to one temporary folder for these tests and the runs they start
    (``$PHYSDIS_CACHE``), never to the user's cache; each split is rendered once and then reused."""
    folder = tmp_path_factory.mktemp("synthetic-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="package")
def tiny_splits() -> Splits:
    """The tiny preset's synthetic splits (32 / 8 / 16 images), built once."""
    return build_splits(build_preset("tiny").data)


@pytest.fixture(scope="package")
def short_run(tiny_splits: Splits, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, Path, FitResult]:
    """The tiny preset with LOOCC-LV, 4 epochs of 4 steps: the real training loop, seconds on 2 cores.
    Tests must not write into its run directory (copy it first)."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny-lv"
    config = build_preset("tiny", "LV").replace(max_epochs=4)
    return config, run_dir, Trainer(config, run_dir, splits=tiny_splits, progress=False).fit()


def run_module(
    args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python <args>`` with the repository importable; capture output."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment (one thread: ``tests/conftest.py``) with the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env
