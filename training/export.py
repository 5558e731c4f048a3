"""Export of a finished run: calibrate and evaluate the best epoch, save it with its model card,
optionally push it.

The exported folder is what :func:`physdis_hub.hub.save_pretrained` writes (``config.json``,
``model.safetensors``, ``README.md`` with the measured numbers and the command that produced them);
``eval.json`` in the run directory keeps the same numbers.

``python -m training.train`` exports at the end of a run. ``python -m training.export RUN`` exports
the best epoch a run has reached so far, e.g. of a run that was stopped, or of a copy of its
``best.ckpt`` taken mid-run; the splits are rebuilt from the configuration in the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from physdis_hub._threads import limit_threads

from .commands import USER_ERRORS, command_line
from .data import Splits, build_splits, image_of, size
from .evaluate import evaluate
from .trainer import BEST_CHECKPOINT, load_best_model

EXPORT_DIR = "model"
"""Sub-folder of the run directory that receives the exported checkpoint."""
EVAL_FILE = "eval.json"
"""Evaluation results of the best epoch, in the run directory."""
CALIBRATION_IMAGES = 512
"""Validation images the part scales are measured on (the spread of a feature settles well before)."""


@dataclass
class ExportResult:
    """What :func:`export_run` produced.

    Attributes:
        directory: the exported checkpoint folder.
        metrics: the evaluation results written into its card.
        best_epoch: the epoch that was exported.
        repo_id: the Hub repository it was pushed to, else None.
        commit: the Hub commit sha when pushed, else None.
    """

    directory: Path
    metrics: dict[str, float]
    best_epoch: int
    repo_id: str | None = None
    commit: str | None = None

    def report(self) -> str:
        """What was exported (and pushed), for the console: one line, two when pushed."""
        lines = [f"best epoch {self.best_epoch} (val {self.metrics['val_loss']:.5f}) exported to {self.directory}"]
        if self.commit:
            lines.append(f"pushed to {self.repo_id} at {self.commit}")
        return "\n".join(lines)


def export_run(
    run_dir: str | Path,
    splits: Splits | None = None,
    *,
    command: str,
    push_to: str | None = None,
    batch_size: int | None = None,
    device: str | torch.device = "cpu",
) -> ExportResult:
    """Calibrate the best epoch of ``run_dir`` on the validation split (the part scales of
    :meth:`physdis_hub.PhysDisModel.calibrate`), evaluate it on the test split, save it to
    ``run_dir/model`` and optionally push that folder to the Hub repository ``push_to`` (``"org/name"``).

    Args:
        run_dir: a run directory holding ``best.ckpt``.
        splits: the run's data splits; None rebuilds them from the configuration in the checkpoint.
        command: the command line that produced the run (recorded in the model card).
        push_to: Hub repository id, or None.
        batch_size: evaluation batch size; None takes the run's ``eval_batch_size``.
        device: where the evaluation runs (the export itself is written from the CPU).
    """
    from physdis_hub.hub import push_directory, save_pretrained

    run_dir = Path(run_dir)
    model, info = load_best_model(run_dir, map_location=device)
    config = info["config"]
    splits = splits or build_splits(config.data)
    batch_size = batch_size or config.eval_batch_size
    model.calibrate(calibration_images(splits.val), batch_size=batch_size, align=False)
    metrics = {
        "best_epoch": float(info["epoch"]),
        "val_loss": float(info["val_loss"]),
        **evaluate(model, splits.test, batch_size=batch_size),
    }
    (run_dir / EVAL_FILE).write_text(json.dumps({"metrics": metrics, "command": command}, indent=2) + "\n")
    directory = save_pretrained(
        model.cpu(),
        run_dir / EXPORT_DIR,
        eval_results={"metrics": metrics, "command": command},
        repo_id=push_to,
        overwrite=True,
    )
    commit = (
        push_directory(directory, push_to, commit_message=f"physdis-hub training run: {command}") if push_to else None
    )
    return ExportResult(directory, metrics, int(info["epoch"]), push_to if commit else None, commit)


def calibration_images(dataset: Dataset, limit: int = CALIBRATION_IMAGES) -> torch.Tensor:
    """The first ``limit`` images of ``dataset`` as one ``(N, 3, S, S)`` batch in [0, 1]."""
    return torch.stack([image_of(dataset[i]) for i in range(min(size(dataset), limit))])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m training.export RUN``; returns the exit status (2 for a missing or damaged checkpoint)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m training.export",
        description="Evaluate the best epoch of a training run so far and export it to RUN/model.",
    )
    parser.add_argument("run", type=Path, help=f"run directory holding {BEST_CHECKPOINT}")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="also push the exported model to this Hub repository")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    try:
        exported = export_run(args.run, command=command_line("training.export", argv), push_to=args.push_to_hub)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(exported.report(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
