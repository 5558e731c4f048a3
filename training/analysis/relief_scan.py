"""Can the image tell how deep a face is? The photometric fit along the bas-relief family.

Every trained faces model has a canonical relief 1.15-1.25x the truth's, with light tilt and yaw
slopes below 1 (``results/2026-12-03-relief-scale.md``). Shading sees the relief only through its product with the light
tilt, and a small turn of the head only through its product with the yaw, so a deeper face lit and
turned less can re-render nearly the same image (the bas-relief ambiguity). This module measures how
nearly, on ground truth: each true scene of a synthetic split has its canonical relief scaled by a
factor (:func:`scale_relief`; 1: the truth), its light and view are refit to the true rendering by
gradient descent with the true albedo held fixed (:func:`refit_light_view`), and the remaining
reconstruction error is reported with the slopes of the refit light tilt and yaw against the truth.

A curve whose error barely rises away from factor 1 means the photometric objective cannot pin the
relief scale; the light and yaw slopes then follow whatever scale the networks settle on::

    python -m training.analysis.relief_scan --config RUN/train_config.json \\
        --factors 0.8 0.9 1 1.1 1.2 1.3 --report results/2026-12-03-relief-scale.md --block relief-scan
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from physdis_hub.render import Renderer
from physdis_hub.scene import Light, SceneParams, View

from ..commands import command_line
from ..config import TrainConfig
from .shape_eval import parameter_agreement
from .suite import SHAPE_COLUMNS, add_report_arguments, load_split, markdown_table, publish, require_block

REFIT_KEYS = (
    "light_x_slope",
    "light_y_slope",
    "view_yaw_slope",
    "view_pitch_slope",
    "yaw_shift_corr",
    "light_x_shading_slope",
    "light_z_shading_ratio",
)
REFIT_COLUMNS = tuple(column for column in SHAPE_COLUMNS if column[0] in REFIT_KEYS)
"""Columns of a refit's agreement with the truth (its slopes, whether a wrong yaw is made up by a
sideways shift, and how the light's strength is split): keys of
:func:`training.analysis.shape_eval.parameter_agreement`, headed as in :data:`training.analysis.suite.SHAPE_COLUMNS`."""

COLUMNS = (("l1_fixed", "L1, true light and view"), ("l1_refit", "L1, light and view refit"), *REFIT_COLUMNS)
"""The table's columns: reconstruction errors ([0, 1] units) and the refit parameters' agreement with the truth."""


def scale_relief(depth: torch.Tensor, factor: float) -> torch.Tensor:
    """Scale each canonical depth's relief about its background plane (its largest depth).

    Args:
        depth: ``(B, S, S)`` canonical depths whose background is their maximum.
        factor: relief multiplier, > 0 (1: unchanged).

    Returns:
        ``(B, S, S)``: ``back - factor * (back - depth)``; the background and the silhouette stay.
    """
    if not factor > 0:
        raise ValueError(f"factor: expected a positive relief multiplier, got {factor}")
    if depth.ndim != 3:
        raise ValueError(f"depth: expected (B, S, S), got shape {tuple(depth.shape)}")
    back = depth.amax((1, 2), keepdim=True)
    return back - factor * (back - depth)


def photometric_error(
    rendered: torch.Tensor, rendered_mask: torch.Tensor, target: torch.Tensor, target_mask: torch.Tensor
) -> torch.Tensor:
    """``(B,)`` mean absolute difference in [0, 1] units over the pixels either image covers.

    Args:
        rendered, target: ``(B, 3, S, S)`` in [-1, 1], zero off their masks (as :class:`Rendering.image`).
        rendered_mask, target_mask: ``(B, 1, S, S)`` object masks.
    """
    union = torch.maximum(rendered_mask, target_mask)
    diff = (rendered - target).abs().mean(1, keepdim=True) / 2  # [-1, 1] -> [0, 1] units
    return (diff * union).sum((1, 2, 3)) / union.sum((1, 2, 3)).clamp_min(1)


def refit_light_view(
    renderer: Renderer,
    scene: SceneParams,
    target: torch.Tensor,
    target_mask: torch.Tensor,
    steps: int = 200,
    lr: float = 3e-3,
) -> tuple[SceneParams, torch.Tensor]:
    """Refit light and view of ``scene`` to ``target``; depth and albedo stay.

    The light is refit as ambient, diffuse and tilt ``(l_x / l_z, l_y / l_z)``, the view as its
    rotation and translation: every parameter that can compensate a change of relief. Adam with a
    cosine-decayed learning rate, from ``scene``'s own values; each image keeps the parameters of its
    lowest error over the steps, so the refit is never worse than the start.

    Args:
        renderer: the renderer the target was made with.
        scene: the starting scene (batch ``B``).
        target, target_mask: ``(B, 3, S, S)`` image and ``(B, 1, S, S)`` mask to match.
        steps: Adam steps.
        lr: Adam's initial learning rate.

    Returns:
        The refit scene and its ``(B,)`` :func:`photometric_error`.
    """
    if steps < 0:
        raise ValueError(f"steps: expected a non-negative number of Adam steps, got {steps}")
    scene = scene.detach()
    params = [scene.light.ambient, scene.light.diffuse, scene.light.tilt(), scene.view.rotation, scene.view.translation]
    params = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))

    def current() -> SceneParams:
        ambient, diffuse, tilt, rotation, translation = params
        light = Light.from_tilt(ambient, diffuse, tilt)
        return SceneParams(scene.depth, scene.albedo, light, View(rotation, translation))

    best = [p.detach().clone() for p in params]
    best_error = torch.full_like(scene.light.ambient, float("inf"))
    for step in range(steps + 1):
        out = renderer.render(current())
        error = photometric_error(out.image, out.mask, target, target_mask)
        better = error.detach() < best_error
        best_error = torch.where(better, error.detach(), best_error)
        for b, p in zip(best, params):
            b[better] = p.detach()[better]
        if step == steps:
            break
        optimizer.zero_grad()
        error.sum().backward()  # a sum: each image's parameters get their own image's gradient
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        for b, p in zip(best, params):
            p.copy_(b)
        return current().detach(), best_error


def spread(total: int, n: int) -> torch.Tensor:
    """Indices of ``min(n, total)`` items evenly spaced over ``total`` (a split's identities come in
    blocks, so this spreads the sample over them)."""
    return torch.linspace(0, total - 1, min(n, total)).round().long()


@torch.no_grad()
def relief_scan(
    renderer: Renderer, true: SceneParams, factors: Sequence[float], steps: int = 200, lr: float = 3e-3
) -> dict[str, dict[str, float]]:
    """The rows of the module docstring's table, one per relief factor.

    Args:
        renderer: the renderer of the model config the scenes belong to.
        true: ground-truth scenes (batch ``B``); their renderings are the targets.
        factors: relief multipliers to try.
        steps, lr: of :func:`refit_light_view`.

    Returns:
        ``{"relief x<factor>": {column: value}}`` (columns of :data:`COLUMNS`).
    """
    target = renderer.render(true)
    rows: dict[str, dict[str, float]] = {}
    for factor in factors:
        start = SceneParams(scale_relief(true.depth, factor), true.albedo, true.light, true.view)
        fixed = renderer.render(start)
        with torch.enable_grad():
            fitted, error = refit_light_view(renderer, start, target.image, target.mask, steps, lr)
        row = {
            "l1_fixed": float(photometric_error(fixed.image, fixed.mask, target.image, target.mask).mean()),
            "l1_refit": float(error.mean()),
        }
        agreement = parameter_agreement(fitted, true)
        row.update({key: agreement[key] for key, _ in REFIT_COLUMNS})
        rows[f"relief x{factor:g}"] = row
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.analysis.relief_scan", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--config", required=True, type=Path, help="train_config.json whose synthetic split is used")
    parser.add_argument("--split", default="test", help="the split (default: test)")
    parser.add_argument(
        "--factors", nargs="+", type=float, default=[0.8, 0.9, 1.0, 1.1, 1.2, 1.3], help="relief multipliers"
    )
    parser.add_argument("--images", type=int, default=120, help="N images evenly spaced over the split (default: 120)")
    parser.add_argument("--steps", type=int, default=200, help="Adam steps of the refit (default: 200)")
    add_report_arguments(parser, "relief-scan", "relief-scan")
    args = parser.parse_args(argv)
    if bad := [f for f in args.factors if not f > 0]:
        parser.error(f"--factors: expected positive relief multipliers, got {bad}")
    if args.images < 1 or args.steps < 0:
        parser.error(f"--images / --steps: expected >= 1 / >= 0, got {args.images} / {args.steps}")
    require_block(parser, args.report, args.block)  # before the work, not after
    config = TrainConfig.from_dict(json.loads(args.config.read_text()))
    data = load_split(config, args.split)
    picked = spread(data.images.shape[0], args.images)
    true = data.scene.map(lambda t: t[picked])
    rows = relief_scan(Renderer(config.model), true, args.factors, args.steps)
    command = command_line("training.analysis.relief_scan", argv)
    header = (
        f"Ground truth of split `{args.split}` of preset `{config.preset}`, {len(picked)} images evenly spaced over it; the true "
        f"albedo fixed, light and view refit by {args.steps} Adam steps. Generated by `{command}`."
    )
    publish(header, markdown_table(rows, COLUMNS), args.report, args.block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
