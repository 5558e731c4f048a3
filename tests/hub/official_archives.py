"""Unsup3d's release archives rebuilt for the tests: ``pretrained_<release>.zip`` holding
``pretrained_<release>/checkpoint0XX.pth`` (the released layout), written from the official network
definitions of tests/convert/official.py with random weights.

A ``full`` archive holds what Unsup3d's trainer saves (the networks, Adam states after a step, the
epoch and a pickled ``MetricsTrace``: ~450 MB, ~12 s to write); otherwise only the networks and the
epoch (~150 MB, a fraction of a second), which is all the conversion reads.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from physdis_hub.convert import UNSUP3D_CATEGORIES
from physdis_hub.hub.registry import UNSUP3D_URL_ENV

from ..convert.official import official_networks, write_official_checkpoint

OFFICIAL_NAMES = {release: f"unsup3d-{release}" for release in UNSUP3D_CATEGORIES}
"""Release -> registry name."""


def write_archive(
    folder: Path, release: str, *, legacy: bool, full: bool, seed: int = 0
) -> tuple[Path, dict[str, nn.Module]]:
    """Write ``folder / pretrained_<release>.zip``; returns it and the official networks it holds."""
    category = UNSUP3D_CATEGORIES[release]
    nets = official_networks("unsup3d", category.use_conf, seed=seed)
    member = category.released
    checkpoint = folder / Path(member).name
    epoch = int(checkpoint.stem.removeprefix("checkpoint"))
    if full:
        write_official_checkpoint(checkpoint, "unsup3d", nets, epoch=epoch, legacy=legacy)
    else:
        entry = {name: net.state_dict() for name, net in nets.items()}
        torch.save({**entry, "epoch": epoch}, checkpoint, _use_new_zipfile_serialization=not legacy)
    archive = folder / f"pretrained_{release}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.write(checkpoint, member)
    checkpoint.unlink()
    return archive, nets


def point_at(monkeypatch: pytest.MonkeyPatch, base_url: str, home: Path) -> None:
    """Official archives from ``base_url``; ``HF_HOME`` (and the cache under it) at ``home``."""
    from huggingface_hub import constants

    monkeypatch.setenv(UNSUP3D_URL_ENV, base_url)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
