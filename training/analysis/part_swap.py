"""Which predicted part forces a model's light and view errors? Depth and albedo swapped with the truth.

A faces model can re-render its input well and still under-estimate the light tilt and the yaw
(``results/2026-12-03-relief-scale.md``: slopes about 0.7 against the truth). Either the light and view networks fall
short of what the predicted shape allows, or the predicted depth or albedo only fit the image with a
smaller tilt and turn. This module tells them apart on a synthetic split: for each pairing of depth
(the model's or the truth's) with albedo (the model's or the truth's), light and view are refit to the
input image by gradient descent (:func:`training.analysis.relief_scan.refit_light_view`), once from the model's
predicted light and view and once from the true ones, and each image keeps the start that fits it
better. The table gives the remaining reconstruction error and the slopes of the refit light tilt
and view angles against the truth (:func:`training.analysis.shape_eval.parameter_agreement`), with the
model's own predictions as the first row::

    python -m training.analysis.part_swap faces-loocc-lv --config RUN/train_config.json \\
        --report results/2026-12-03-relief-scale.md --block part-swap

Read it so: the pairing with the true depth and true albedo is the floor (slopes near 1, error from
the image augmentations alone); a part whose swap to the truth brings the slopes back to 1 is the one
that forces them down.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from physdis_hub.model import PhysDisModel
from physdis_hub.render import Renderer
from physdis_hub.scene import SceneParams
from physdis_hub.vocab import to_network_range

from ..commands import command_line
from ..config import TrainConfig
from .relief_scan import REFIT_COLUMNS, photometric_error, refit_light_view, spread
from .shape_eval import parameter_agreement, predict_scenes
from .shape_table import load_model
from .suite import add_report_arguments, load_split, markdown_table, publish, require_block

COLUMNS = (("l1", "L1"), *REFIT_COLUMNS)
"""The table's columns: reconstruction error ([0, 1] units) and agreement with the truth."""

PAIRINGS = (("model", "model"), ("model", "true"), ("true", "model"), ("true", "true"))
"""(depth, albedo) sources of the refit rows, in table order."""


def pick_better(
    a: SceneParams, error_a: torch.Tensor, b: SceneParams, error_b: torch.Tensor
) -> tuple[SceneParams, torch.Tensor]:
    """Per image, whichever of two fits (batch ``B`` each) has the lower ``(B,)`` error (``a`` on
    ties), and that error."""
    index = torch.arange(error_a.shape[0]) + error_a.shape[0] * (error_b < error_a).long()
    return SceneParams.cat([a, b]).map(lambda t: t[index]), torch.minimum(error_a, error_b)


def part_swap(
    model: PhysDisModel, images: torch.Tensor, true: SceneParams, steps: int = 150, lr: float = 3e-3
) -> dict[str, dict[str, float]]:
    """The rows of the module docstring's table.

    Args:
        model: the model under test (its renderer config is used, on the CPU).
        images: ``(B, 3, S, S)`` in [0, 1], the inputs and the refit targets.
        true: their ground-truth scenes (batch ``B``).
        steps, lr: of :func:`training.analysis.relief_scan.refit_light_view`.

    Returns:
        ``{row name: {column: value}}`` (columns of :data:`COLUMNS`).
    """
    if images.shape[0] != true.depth.shape[0]:
        raise ValueError(f"images: expected {true.depth.shape[0]} images, one per true scene, got {images.shape[0]}")
    renderer = Renderer(model.config)
    target = to_network_range(images)
    cover = torch.ones_like(target[:, :1])  # the canonical grid, background included, fills the frame
    pred = predict_scenes(model, images)
    parts = {"model": pred, "true": true}

    def row(scene: SceneParams, error: torch.Tensor) -> dict[str, float]:
        agreement = parameter_agreement(scene, true)
        return {"l1": float(error.mean()), **{key: agreement[key] for key, _ in REFIT_COLUMNS}}

    with torch.no_grad():
        out = renderer.render(pred)
        rows = {"model as predicted": row(pred, photometric_error(out.image, out.mask, target, cover))}
    for depth_from, albedo_from in PAIRINGS:
        depth, albedo = parts[depth_from].depth, parts[albedo_from].albedo
        fits = [
            refit_light_view(renderer, SceneParams(depth, albedo, start.light, start.view), target, cover, steps, lr)
            for start in (pred, true)
        ]
        rows[f"{depth_from} depth, {albedo_from} albedo, refit"] = row(*pick_better(*fits[0], *fits[1]))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.analysis.part_swap", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a run's best.ckpt or a checkpoint name (local-dir:, registry, hf-hub:)")
    parser.add_argument("--config", required=True, type=Path, help="train_config.json whose synthetic split is used")
    parser.add_argument("--split", default="test", help="the split (default: test)")
    parser.add_argument("--images", type=int, default=100, help="N images evenly spaced over the split (default: 100)")
    parser.add_argument("--steps", type=int, default=150, help="Adam steps of each refit (default: 150)")
    add_report_arguments(parser, "part-swap", "part-swap")
    args = parser.parse_args(argv)
    if args.images < 1 or args.steps < 0:
        parser.error(f"--images / --steps: expected >= 1 / >= 0, got {args.images} / {args.steps}")
    require_block(parser, args.report, args.block)  # before the work, not after
    model, source = load_model(args.model)
    config = TrainConfig.from_dict(json.loads(args.config.read_text()))
    data = load_split(config, args.split)
    picked = spread(data.images.shape[0], args.images)
    rows = part_swap(model, data.images[picked], data.scene.map(lambda t: t[picked]), args.steps)
    command = command_line("training.analysis.part_swap", argv)
    header = (
        f"Model {source}; split `{args.split}` of preset `{config.preset}`, {len(picked)} images evenly spaced "
        f"over it; light and view refit to each input by {args.steps} Adam steps from the model's and from the "
        f"true light and view, the better fit kept per image. Generated by `{command}`."
    )
    publish(header, markdown_table(rows, COLUMNS), args.report, args.block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
