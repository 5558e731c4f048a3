"""Helpers of the analysis tests."""

from __future__ import annotations

import json
from pathlib import Path

from training.config import TrainConfig


def report_inputs(tmp_path: Path, config: TrainConfig, block: str) -> tuple[Path, Path]:
    """``(train_config.json, report)`` in ``tmp_path``: ``config`` as a run writes it, and a dated
    report holding the block ``block`` with the text ``old`` (what an entry point's ``--report`` replaces)."""
    cfg = tmp_path / "train_config.json"
    cfg.write_text(json.dumps(config.to_dict()))
    report = tmp_path / "2026-01-01-report.md"
    report.write_text(f"<!-- results:{block}:start -->\nold\n<!-- results:{block}:end -->\n")
    return cfg, report
