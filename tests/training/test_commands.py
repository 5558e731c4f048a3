"""What the entry points share: the one line an interrupted run ends with, the command as typed; and
Ctrl-C left to the main process by data-loading workers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from training.commands import INTERRUPTED_STATUS, command_line, report_interrupt
from training.config import TrainConfig
from training.trainer import TrainingInterrupted, ignore_interrupts


def test_an_interrupted_run_reports_one_line_and_status_130(capsys) -> None:  # type: ignore[no-untyped-def]
    err = TrainingInterrupted("SIGTERM", Path("runs/a/last.ckpt"), epoch=3, step=70)
    assert report_interrupt(err, "runs/a") == INTERRUPTED_STATUS == 130
    assert capsys.readouterr().err == (
        "interrupted: SIGTERM: stopped at epoch 3, step 70; saved runs/a/last.ckpt (continue with --resume)\n"
    )
    assert report_interrupt(KeyboardInterrupt(), "runs/a") == 130
    assert capsys.readouterr().err == "interrupted outside a training step: nothing new saved in runs/a\n"


def test_command_line_quotes_as_a_shell_would() -> None:
    assert command_line("training.train", ["--out", "runs/a b"]) == "python -m training.train --out 'runs/a b'"


def test_command_line_without_argv_is_this_process_arguments(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.argv", ["relief_scan.py", "--split", "val x"])
    assert (
        command_line("training.analysis.relief_scan", None) == "python -m training.analysis.relief_scan --split 'val x'"
    )


def test_checkpoint_every_is_checked() -> None:
    assert TrainConfig(preset="x", checkpoint_every=0).checkpoint_every == 0
    with pytest.raises(ValueError, match=r"TrainConfig.checkpoint_every: expected an int >= 0, got -1"):
        TrainConfig(preset="x", checkpoint_every=-1)


class SignalDisposition(torch.utils.data.Dataset):
    """Items: whether the process that loads them ignores SIGINT."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> bool:
        return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_data_loader_workers_leave_ctrl_c_to_the_main_process() -> None:
    loader = torch.utils.data.DataLoader(SignalDisposition(), num_workers=1, worker_init_fn=ignore_interrupts)
    assert [bool(b) for b in loader] == [True, True]
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # the main process still hears Ctrl-C
