"""A model converted from the official Unsup3d network layout (random weights), for the tests that
must work for converted models as for ours (animations, the browser demo)."""

from __future__ import annotations

from pathlib import Path

import torch

from physdis_hub.convert import convert_unsup3d

from .convert.official import official_networks


def converted_unsup3d(folder: Path, category: str = "celeba", seed: int = 3) -> str:
    """Convert official ``category`` networks with random weights into ``folder / "converted"``
    (the checkpoint holds the networks only, not the 450 MB of optimizer state) and return the
    ``local-dir:`` name that loads it."""
    nets = official_networks("unsup3d", use_conf=True, seed=seed)
    checkpoint = folder / "checkpoint030.pth"
    torch.save({key: net.state_dict() for key, net in nets.items()}, checkpoint)
    try:
        return f"local-dir:{convert_unsup3d(checkpoint, folder / 'converted', category=category)}"
    finally:
        checkpoint.unlink()
