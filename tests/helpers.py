"""Helpers shared by tests in several folders (plain functions, imported; fixtures live in conftest.py)."""

from __future__ import annotations

import math

import torch

from physdis_hub.config import ModelConfig, NetConfig
from physdis_hub.scene import Light, SceneParams, View


def small_config(**changes) -> ModelConfig:  # type: ignore[no-untyped-def]
    """Narrow networks (same 256-d features for every part) for fast tests."""
    nets = NetConfig(depth_nf=16, albedo_nf=16, light_nf=32, view_nf=32, conf_nf=16, use_conf=False)
    return ModelConfig(nets=nets, **changes)


def face_like_scene(batch: int, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> SceneParams:
    r = torch.linspace(-1, 1, 64)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    depth = 1.06 - 0.12 * (1 - (xx**2 / 0.6 + yy**2 / 0.8)).clamp(min=0).sqrt()
    depth = depth.expand(batch, 64, 64).clone()
    depth[:, :2], depth[:, -2:], depth[:, :, :2], depth[:, :, -2:] = 1.04, 1.04, 1.04, 1.04
    albedo = torch.stack([xx * 0.8, yy * 0.8, torch.cos(3 * xx) * 0.5]).expand(batch, 3, 64, 64).clone()
    light = Light.from_angles(
        torch.full((batch,), 0.4), torch.full((batch,), 0.6), torch.full((batch,), 0.2), torch.full((batch,), -0.3)
    )
    rot = torch.tensor([[math.radians(pitch_deg), math.radians(yaw_deg), 0.0]]).expand(batch, 3).clone()
    return SceneParams(depth, albedo, light, View(rot, torch.zeros(batch, 3)))
