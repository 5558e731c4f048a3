"""Helpers of the Hub tests: a tiny model, publishing it, features to compare, cache inspection,
huggingface_hub pointed at a test server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants

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


def point_huggingface_hub_at(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    """Set HF_ENDPOINT / HF_HOME and the huggingface_hub constants computed from them at import."""
    env = {"HF_ENDPOINT": url, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(key, raising=False)
    derived = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_URL_HOSTS": constants.HF_URL_HOSTS | {"127.0.0.1"},
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    for key, value in derived.items():
        monkeypatch.setattr(constants, key, value)
