"""Decomposition figures, shared by ``physdis decompose``, the training figures and the documentation's figures.

:func:`decomposition_panels` computes, for a batch of images, one panel per :data:`FIGURE_LABELS`
entry; :func:`labelled_grid` lays panels out as labelled PNG rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw

from .animate import SceneEdit, rerender
from .errors import InputError
from .inputs import to_uint8
from .model import Decomposition, PhysDisModel
from .scene import depth_interior

FIGURE_LABELS: tuple[str, ...] = (
    "input",
    "albedo",
    "depth",
    "shading",
    "reconstruction",
    "light yaw -45",
    "light yaw +45",
    "view yaw -30",
    "view yaw +30",
)
"""Panels of a decomposition figure, in order."""
LABEL_HEIGHT = 14
"""Height of the label strip above the panels, in pixels."""


@torch.no_grad()
def decomposition_panels(
    model: PhysDisModel, images: torch.Tensor, dec: Decomposition | None = None
) -> list[torch.Tensor]:
    """The panels of ``images (B, 3, S, S)`` in [0, 1]: one ``(B, 3, S, S)`` tensor in [0, 1] on the
    CPU per :data:`FIGURE_LABELS` entry.

    Depth is normalised per image (near = bright); relightings keep the predicted intensities and
    turn the light to yaw -45/+45 degrees; views add -30/+30 degrees of yaw. ``dec`` is
    ``model.decompose(images, align=False)`` when the caller already has it.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise InputError(f"images: expected (B, 3, S, S) in [0, 1], got {tuple(images.shape)}")
    if dec is None:
        dec = model.decompose(images.to(next(model.parameters()).device), align=False, progress=False)
    scene = dec.scene
    depth = scene.depth[:, None]
    inner = depth_interior(depth).flatten(1)
    lo, hi = inner.amin(1)[:, None, None, None], inner.amax(1)[:, None, None, None]
    near = ((hi - depth) / (hi - lo).clamp(min=1e-6)).clamp(0, 1)
    shading = dec.shading / dec.shading.flatten(1).amax(1).clamp(min=1)[:, None, None, None]
    panels = [images, dec.albedo, near, shading, dec.reconstruction]
    edits = [SceneEdit(light_yaw=yaw, light_pitch=0.0) for yaw in (-45.0, 45.0)]
    edits += [SceneEdit(view_yaw=yaw) for yaw in (-30.0, 30.0)]
    panels += [rerender(model, scene, edit) for edit in edits]
    return [p.detach().cpu().float().expand(-1, 3, -1, -1).clamp(0, 1) for p in panels]


def labelled_grid(
    panels: Sequence[torch.Tensor],
    labels: Sequence[str] = FIGURE_LABELS,
    side: int = 128,
    left: Sequence[Image.Image] | None = None,
    left_label: str = "",
) -> Image.Image:
    """One row per image, one column per panel, labels on top.

    Args:
        panels: tensors ``(B, 3, S, S)`` in [0, 1], one per column.
        labels: a label per column.
        side: each panel's side in the figure (nearest-neighbour upscaling).
        left: optional ``B`` images shown left of the panels (e.g. the photograph a crop came from),
            each ``side`` pixels high.
        left_label: the label of that column.
    """
    rows = panels[0].shape[0]
    left_w = max((im.width for im in left), default=0) if left else 0
    fig = Image.new("RGB", (left_w + side * len(panels), LABEL_HEIGHT + side * rows), "white")
    draw = ImageDraw.Draw(fig)
    if left_label:
        draw.text((2, 1), left_label, fill="black")
    for j, label in enumerate(labels[: len(panels)]):
        draw.text((left_w + j * side + 2, 1), label, fill="black")
    for i in range(rows):
        top = LABEL_HEIGHT + i * side
        if left:
            fig.paste(left[i], (0, top))
        for j, panel in enumerate(panels):
            tile = Image.fromarray(to_uint8(panel[i]))
            fig.paste(tile.resize((side, side), Image.Resampling.NEAREST), (left_w + j * side, top))
    return fig
