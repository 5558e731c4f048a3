"""A run killed with SIGKILL after its first checkpoint, then resumed, ends bit-identical to an
uninterrupted run; a damaged checkpoint stops the resume with a clear error."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from physdis_hub.config import CONFIG_FORMAT_VERSION
from training import presets as presets_module
from training.checkpoint import load_checkpoint, save_checkpoint
from training.logs import read_csv
from training.train import main
from training.trainer import LAST_CHECKPOINT

from .conftest import run_module, subprocess_env

EPOCHS = 3
TRAIN = ["-m", "training.train", "--preset", "tiny", "--variant", "LV", "--epochs", str(EPOCHS), "--no-export",
         "--no-progress"]


def assert_same_tensors(a: object, b: object, where: str) -> None:
    """``torch.equal`` on every tensor of two nested structures, equality on everything else."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_same_tensors(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    full = run_module([*TRAIN, "--out", "full"], tmp_path)
    assert full.returncode == 0, full.stderr

    proc = subprocess.Popen([sys.executable, *TRAIN, "--out", "killed"], cwd=tmp_path, env=subprocess_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = tmp_path / "killed" / LAST_CHECKPOINT
    deadline = time.monotonic() + 300
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(last)["epoch"]
    assert 1 <= killed_at < EPOCHS

    resumed = run_module([*TRAIN, "--out", "killed", "--resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {killed_at}" in resumed.stderr

    a = load_checkpoint(tmp_path / "full" / LAST_CHECKPOINT)
    b = load_checkpoint(last)
    assert a["epoch"] == b["epoch"] == EPOCHS
    for key in ("model", "optimizer", "rng", "loocc_generator", "early_stopping", "step"):
        assert_same_tensors(a[key], b[key], key)
    assert_same_tensors(load_checkpoint(tmp_path / "full" / "best.ckpt")["model"],
                        load_checkpoint(tmp_path / "killed" / "best.ckpt")["model"], "best")
    # the logs read as one run: rows the killed process wrote after its checkpoint were dropped
    assert read_csv(tmp_path / "full" / "steps.csv") == read_csv(tmp_path / "killed" / "steps.csv")
    assert [r["epoch"] for r in read_csv(tmp_path / "killed" / "epochs.csv")] == ["1", "2", "3"]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_checkpoint_is_reported_on_resume(short_run, tmp_path: Path, damage: str, capsys) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "run"
    shutil.copytree(short_run[1], run_dir)
    path = run_dir / LAST_CHECKPOINT
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 100]
    else:
        data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    status = main(["--preset", "tiny", "--variant", "LV", "--epochs", "4", "--no-progress", "--out", str(run_dir),
                   "--resume"])
    assert status == 2
    expected = "truncated" if damage == "truncate" else "corrupt: SHA-256"
    assert f"error: checkpoint {path}: {expected}" in capsys.readouterr().err
    assert path.read_bytes() == bytes(data)  # left as found, for inspection


def test_resume_with_more_epochs_extends_the_run_and_other_changes_are_refused(short_run, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "run"
    shutil.copytree(short_run[1], run_dir)
    common = ["--preset", "tiny", "--variant", "LV", "--no-progress", "--no-export", "--out", str(run_dir), "--resume"]
    before = (run_dir / LAST_CHECKPOINT).read_bytes()
    assert main([*common, "--epochs", "5", "--lr", "0.123"]) == 2
    err = capsys.readouterr().err
    assert "optim.lr" in err and "max_epochs" not in err
    assert (run_dir / LAST_CHECKPOINT).read_bytes() == before  # a refused resume changes nothing

    assert main([*common, "--epochs", "5"]) == 0
    assert "resuming after epoch 4" in capsys.readouterr().err
    assert load_checkpoint(run_dir / LAST_CHECKPOINT)["epoch"] == 5
    assert [r["epoch"] for r in read_csv(run_dir / "epochs.csv")] == ["1", "2", "3", "4", "5"]

    # a checkpoint of an older config format is refused in one line and left as it was
    state = load_checkpoint(run_dir / LAST_CHECKPOINT)
    state["config"]["model"]["format_version"] = 5
    save_checkpoint(state, run_dir / LAST_CHECKPOINT)
    old = (run_dir / LAST_CHECKPOINT).read_bytes()
    assert main([*common, "--epochs", "6"]) == 2
    assert "config.format_version: 5 is an unpublished development format" in capsys.readouterr().err
    assert (run_dir / LAST_CHECKPOINT).read_bytes() == old
    state["config"]["model"]["format_version"] = CONFIG_FORMAT_VERSION
    save_checkpoint(state, run_dir / LAST_CHECKPOINT)

    # the preset's free-text notes may change between versions (they name the epoch budget): not a refusal
    monkeypatch.setattr(presets_module, "_notes", lambda *parts: "worded differently")
    assert main([*common, "--epochs", "7"]) == 0
    assert load_checkpoint(run_dir / LAST_CHECKPOINT)["epoch"] == 7
