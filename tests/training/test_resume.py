"""A run killed with SIGKILL after a mid-epoch checkpoint, or stopped mid-epoch with SIGINT (Ctrl-C), then
resumed, ends bit-identical to an uninterrupted run; a damaged checkpoint stops the resume with a clear error."""

from __future__ import annotations

import dataclasses
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
STEPS_PER_EPOCH = 4  # the tiny preset: 32 training images, batch 8
TRAIN = [
    "-m",
    "training.train",
    "--preset",
    "tiny",
    "--variant",
    "LV",
    "--epochs",
    str(EPOCHS),
    "--no-export",
    "--no-progress",
]


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


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run the interrupted ones are compared with."""
    cwd = tmp_path_factory.mktemp("full")
    full = run_module([*TRAIN, "--out", "full"], cwd)
    assert full.returncode == 0, full.stderr
    return cwd / "full"


def start_run(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *TRAIN, "--out", out.name, *extra],
        cwd=out.parent,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_steps(proc: subprocess.Popen, out: Path, steps: int) -> None:
    """Wait until the run has logged ``steps`` optimisation steps (rows of ``steps.csv``)."""
    log = out / "steps.csv"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if log.exists() and log.read_text().count("\n") - 1 >= steps:
            return
        time.sleep(0.01)
    raise AssertionError(f"the run ended or stalled before step {steps}: {proc.stderr.read() if proc.stderr else ''}")


def assert_same_run(full: Path, resumed: Path) -> None:
    """Final state, best model and logs of two runs are identical (bit for bit where they are tensors)."""
    a, b = load_checkpoint(full / LAST_CHECKPOINT), load_checkpoint(resumed / LAST_CHECKPOINT)
    assert a["epoch"] == b["epoch"] == EPOCHS
    for key in ("model", "optimizer", "rng", "loocc_generator", "augment_generators", "early_stopping", "step"):
        assert_same_tensors(a[key], b[key], key)
    assert_same_tensors(
        load_checkpoint(full / "best.ckpt")["model"], load_checkpoint(resumed / "best.ckpt")["model"], "best"
    )
    # the logs read as one run: rows the stopped process wrote after its checkpoint were dropped
    assert read_csv(full / "steps.csv") == read_csv(resumed / "steps.csv")
    timeless = [{k: v for k, v in row.items() if k != "seconds"} for row in read_csv(full / "epochs.csv")]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in read_csv(resumed / "epochs.csv")] == timeless


@pytest.mark.slow  # two more runs of the tiny preset (about a minute on a shared 2-core machine)
def test_sigkill_after_a_mid_epoch_checkpoint_then_resume_equals_uninterrupted(full_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = start_run(out, "--checkpoint-every", "2")
    wait_for_steps(proc, out, STEPS_PER_EPOCH + 3)  # epoch 2 is under way; its step 2 has been saved
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = load_checkpoint(out / LAST_CHECKPOINT)
    assert state["step"] % 2 == 0 and state["step"] >= STEPS_PER_EPOCH + 2

    resumed = run_module([*TRAIN, "--out", "killed", "--checkpoint-every", "2", "--resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"(step {state['step']})" in resumed.stderr
    assert_same_run(full_run, out)


def test_sigint_mid_epoch_saves_exits_130_and_resume_equals_uninterrupted(full_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped"
    proc = start_run(out)  # default checkpoint_every (100): only the signal saves within an epoch
    wait_for_steps(proc, out, STEPS_PER_EPOCH + 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    state = load_checkpoint(out / LAST_CHECKPOINT)
    batches = state["epoch_progress"]["batches"]
    assert state["epoch"] == 1 and 1 <= batches < STEPS_PER_EPOCH, (state["epoch"], batches)  # saved mid-epoch
    assert "Traceback" not in err
    assert err.rstrip().splitlines()[-1] == (
        f"interrupted: SIGINT: stopped at epoch 2, step {state['step']}; saved stopped/last.ckpt (continue with --resume)"
    )

    resumed = run_module([*TRAIN, "--out", "stopped", "--resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming epoch 2 after its batch {batches} (step {state['step']})" in resumed.stderr
    assert_same_run(full_run, out)


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
    status = main(
        ["--preset", "tiny", "--variant", "LV", "--epochs", "4", "--no-progress", "--out", str(run_dir), "--resume"]
    )
    assert status == 2
    expected = "truncated" if damage == "truncate" else "corrupt: SHA-256"
    assert f"error: checkpoint {path}: {expected}" in capsys.readouterr().err
    assert path.read_bytes() == bytes(data)  # left as found, for inspection


def test_resume_with_more_epochs_extends_the_run_and_other_changes_are_refused(
    short_run, tmp_path: Path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
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
    tiny = presets_module.PRESETS["tiny"]
    reworded = dataclasses.replace(tiny, config=tiny.config.replace(notes="worded differently"))
    monkeypatch.setitem(presets_module.PRESETS, "tiny", reworded)
    assert main([*common, "--epochs", "7"]) == 0
    assert load_checkpoint(run_dir / LAST_CHECKPOINT)["epoch"] == 7


def test_a_signal_during_validation_stops_after_the_epoch_is_saved(tiny_splits, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from training.presets import build_preset
    from training.trainer import Trainer, TrainingInterrupted

    validate = Trainer._validate

    def validate_then_signal(self: Trainer) -> float:  # a real SIGTERM, delivered while the epoch ends
        value = validate(self)
        signal.raise_signal(signal.SIGTERM)
        return value

    monkeypatch.setattr(Trainer, "_validate", validate_then_signal)
    before = signal.getsignal(signal.SIGTERM)
    trainer = Trainer(
        build_preset("tiny", "LV").replace(max_epochs=3), tmp_path / "run", splits=tiny_splits, progress=False
    )
    with pytest.raises(TrainingInterrupted, match=r"SIGTERM: stopped at epoch 1, step 4; saved .*last.ckpt"):
        trainer.fit()
    assert signal.getsignal(signal.SIGTERM) is before  # the handlers are given back
    state = load_checkpoint(tmp_path / "run" / LAST_CHECKPOINT)
    assert state["epoch"] == 1 and state["step"] == STEPS_PER_EPOCH and state["epoch_progress"]["batches"] == 0
