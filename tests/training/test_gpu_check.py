"""``scripts/gpu_check.sh --device cpu``: the GPU check's dry run works end to end on a CPU (its
numbers compare the CPU with itself, so the renderer differences must be exactly zero)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import REPO, run_module


@pytest.mark.slow  # about 80 s on a shared 2-core machine (a paper-width model's steps on a CPU)
def test_dry_run_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    done = run_module([str(REPO / "scripts" / "gpu_check.py"), "--device", "cpu"], tmp_path, env={"OUT": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "train step B4 LOOCC-LV float32" in done.stdout and "extract B8" in done.stdout
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["device"] == "cpu (dry run)"
    assert report["renderer"]["reconstruction"]["max"] == 0 and report["renderer"]["mask_pixels_that_differ"] == 0
    assert report["train_step"]["float32"]["finite"] and report["extract"]["images_per_second"] > 0
