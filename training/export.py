"""Export of a finished run: evaluate the best epoch, save it with its model card, optionally push it.

The exported folder is what :func:`physdis_hub.hub.save_pretrained` writes (``config.json``,
``model.safetensors``, ``README.md`` with the measured numbers and the command that produced them);
``eval.json`` in the run directory keeps the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from .evaluate import evaluate
from .trainer import load_best_model

EXPORT_DIR = "model"
"""Sub-folder of the run directory that receives the exported checkpoint."""
EVAL_FILE = "eval.json"
"""Evaluation results of the best epoch, in the run directory."""


@dataclass
class ExportResult:
    """What :func:`export_run` produced.

    Attributes:
        directory: the exported checkpoint folder.
        metrics: the evaluation results written into its card.
        best_epoch: the epoch that was exported.
        commit: the Hub commit sha when pushed, else None.
    """

    directory: Path
    metrics: dict[str, float]
    best_epoch: int
    commit: str | None = None


def export_run(
    run_dir: str | Path,
    test_set: Dataset,
    *,
    command: str,
    push_to: str | None = None,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> ExportResult:
    """Evaluate the best epoch of ``run_dir`` on ``test_set``, save it to ``run_dir/model`` and
    optionally push that folder to the Hub repository ``push_to`` (``"org/name"``).

    Args:
        run_dir: a run directory holding ``best.ckpt``.
        test_set: the held-out split.
        command: the command line that produced the run (recorded in the model card).
        push_to: Hub repository id, or None.
        batch_size: evaluation batch size.
        device: where the evaluation runs (the export itself is written from the CPU).
    """
    from physdis_hub.hub import push_directory, save_pretrained

    run_dir = Path(run_dir)
    model, info = load_best_model(run_dir, map_location=device)
    metrics = {"best_epoch": float(info["epoch"]), "val_loss": float(info["val_loss"]),
               **evaluate(model, test_set, batch_size=batch_size)}  # fmt: skip
    (run_dir / EVAL_FILE).write_text(json.dumps({"metrics": metrics, "command": command}, indent=2) + "\n")
    directory = save_pretrained(
        model.cpu(), run_dir / EXPORT_DIR, eval_results={"metrics": metrics, "command": command}, repo_id=push_to,
        overwrite=True,
    )  # fmt: skip
    commit = push_directory(directory, push_to, commit_message=f"physdis-hub training run: {command}") if push_to else None
    return ExportResult(directory, metrics, int(info["epoch"]), commit)
