"""Metric logging: CSV files always, TensorBoard when the ``tensorboard`` extra is installed.

Two CSV files in the run directory: ``steps.csv`` (one row per optimisation step) and
``epochs.csv`` (one row per epoch). On resume, rows written after the checkpoint (by the run that
was interrupted) are dropped, so the files read as one uninterrupted run.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

STEPS_CSV = "steps.csv"
EPOCHS_CSV = "epochs.csv"


def _tensorboard_writer(directory: Path, purge_step: int | None) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        return None
    return SummaryWriter(str(directory), purge_step=purge_step)


class MetricsLogger:
    """Writes metrics of rank 0 (other ranks pass ``enabled=False`` and nothing is written).

    Args:
        directory: the run directory.
        enabled: False on every rank but 0.
        resume_step: when resuming, the global step of the checkpoint: later step rows are dropped.
        resume_epoch: when resuming, the number of completed epochs: later epoch rows are dropped.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        enabled: bool = True,
        resume_step: int | None = None,
        resume_epoch: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.enabled = enabled
        self._columns: dict[str, list[str]] = {}
        self.tensorboard = None
        if not enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            _truncate(self.directory / STEPS_CSV, "step", resume_step)
        if resume_epoch is not None:
            _truncate(self.directory / EPOCHS_CSV, "epoch", resume_epoch)
        for name in (STEPS_CSV, EPOCHS_CSV):
            path = self.directory / name
            if path.is_file():
                with path.open(newline="") as f:
                    header = next(csv.reader(f), [])
                if header:
                    self._columns[name] = header
        self.tensorboard = _tensorboard_writer(self.directory / "tensorboard", resume_step)

    def log_step(self, step: int, epoch: int, metrics: Mapping[str, Any]) -> None:
        """One row of ``steps.csv`` (and ``train/<name>`` scalars in TensorBoard)."""
        self._row(STEPS_CSV, {"step": step, "epoch": epoch, **metrics}, step, "train")

    def log_epoch(self, epoch: int, step: int, metrics: Mapping[str, Any]) -> None:
        """One row of ``epochs.csv`` (and ``epoch/<name>`` scalars in TensorBoard)."""
        self._row(EPOCHS_CSV, {"epoch": epoch, "step": step, **metrics}, step, "epoch")

    def log_image(self, tag: str, image: np.ndarray, step: int) -> None:
        """An ``(H, W, 3)`` uint8 image to TensorBoard (figures are also written as PNG elsewhere)."""
        if self.tensorboard is not None:
            self.tensorboard.add_image(tag, image, step, dataformats="HWC")

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
            self.tensorboard = None

    def _row(self, name: str, row: dict[str, Any], step: int, prefix: str) -> None:
        if not self.enabled:
            return
        path = self.directory / name
        new_file = name not in self._columns
        columns = self._columns.setdefault(name, list(row))
        extra = [k for k in row if k not in columns]
        if extra:
            raise ValueError(f"{name}: new metric columns {extra} after the header {columns} was written")
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        if self.tensorboard is not None:
            for key, value in row.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(f"{prefix}/{key}", value, step)


def _truncate(path: Path, key: str, last: int) -> None:
    """Keep the rows of a CSV file whose ``key`` column is ``<= last`` (atomic rewrite)."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        rows = [r for r in reader if int(r[key]) <= last]
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a metrics CSV file (as strings)."""
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))
