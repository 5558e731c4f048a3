"""Helpers of the Hub tests: a tiny model, publishing it, features to compare, cache inspection."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from physdis_hub import PARTS, ModelConfig, NetConfig, PhysDisModel
from physdis_hub.hub import push_directory, save_pretrained

IMAGES = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def tiny_config(**changes: object) -> ModelConfig:
    """The narrowest valid networks (1.6M parameters): Hub tests move weights, they do not need width."""
    nets = NetConfig(depth_nf=16, albedo_nf=16, light_nf=8, view_nf=8, zdim=32, use_conf=False)
    return ModelConfig(nets=nets, **changes)  # type: ignore[arg-type]


def tiny_model(seed: int = 0, **changes: object) -> PhysDisModel:
    torch.manual_seed(seed)
    return PhysDisModel(tiny_config(**changes)).eval()


def features(model: PhysDisModel) -> torch.Tensor:
    """All four parts' features of :data:`IMAGES`."""
    return model.extract(IMAGES, parts=PARTS)


def same_weights(a: PhysDisModel, b: PhysDisModel) -> bool:
    """Identical configs and bit-identical parameters (cheaper than comparing features)."""
    sa, sb = a.state_dict(), b.state_dict()
    return a.config == b.config and sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def publish(model: PhysDisModel, folder: Path, repo_id: str, **push_kwargs: object) -> str:
    """save_pretrained into ``folder`` then push_directory; returns the commit sha."""
    save_pretrained(model, folder)
    return push_directory(folder, repo_id, **push_kwargs)  # type: ignore[arg-type]


def cache_files(home: Path) -> list[Path]:
    """Every file or link under the Hub cache (for 'nothing partial or tampered is left' checks)."""
    root = home / "hub"
    return sorted(Path(dirpath) / f for dirpath, _, files in os.walk(root) for f in files) if root.exists() else []
