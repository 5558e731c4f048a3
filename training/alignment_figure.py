"""The README's alignment figure: real photographs -> detected faces -> aligned crops -> the default
model's decomposition.

Usage::

    python -m training.alignment_figure -o docs/figures/alignment_demo.png

One row per face: the photograph (detection box red, crop square green, the row's face drawn
thick), then the panels of ``physdis decompose`` (:data:`physdis_hub.cli.FIGURE_LABELS`) for its
aligned crop. Photographs (licences in ``physdis_hub/data/assets/LICENSES.md`` and under the figure
in the README): the shipped astronaut photo (NASA, public domain), scikit-image's ``camera`` (CC0,
read from scikit-image at run time, ``pip install scikit-image``) and a picture composed of the two
(both faces, ``faces="all"``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from physdis_hub import load_pretrained
from physdis_hub.align import SAMPLE_PHOTO, align_faces, crop_square
from physdis_hub.cli import DEFAULT_MODEL, FIGURE_LABELS, decomposition_panels

PANEL = 96
"""Side of each panel in the figure, in pixels."""
LABEL_H = 14


def demo_photos() -> dict[str, Image.Image]:
    """The figure's photographs: ``astronaut``, ``camera`` and ``both`` (the two side by side on grey,
    the cameraman at 0.6x)."""
    from skimage import data

    astronaut = Image.open(SAMPLE_PHOTO).convert("RGB")
    camera = Image.fromarray(data.camera()).convert("RGB")
    both = Image.new("RGB", (820, 512), (128, 128, 128))
    both.paste(astronaut, (0, 0))
    both.paste(camera.resize((307, 307), Image.Resampling.LANCZOS), (512, 150))
    return {"astronaut": astronaut, "camera": camera, "both": both}


def _thumbnail(photo: Image.Image, boxes: list[tuple[float, ...]], current: int) -> Image.Image:
    scale = PANEL / photo.height
    thumb = photo.resize((round(photo.width * scale), PANEL), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(thumb)
    for k, box in enumerate(boxes):
        width = 2 if k == current else 1
        draw.rectangle([v * scale for v in box], outline=(255, 0, 0), width=width)
        left, top, side = crop_square(box)
        draw.rectangle([left * scale, top * scale, (left + side) * scale, (top + side) * scale], outline=(0, 200, 0), width=width)
    return thumb


def alignment_figure(model_name: str = DEFAULT_MODEL) -> Image.Image:
    """Build the figure (see the module docstring) with the model ``model_name``."""
    model = load_pretrained(model_name)
    rows: list[tuple[Image.Image, torch.Tensor]] = []
    for photo in demo_photos().values():
        aligned = align_faces(photo, faces="all", size=model.config.image_size)
        boxes = [a.face.box for a in aligned]
        rows += [(_thumbnail(photo, boxes, k), a.crop) for k, a in enumerate(aligned)]
    panels = decomposition_panels(model, torch.stack([crop for _, crop in rows]))
    thumb_w = max(t.width for t, _ in rows)
    fig = Image.new("RGB", (thumb_w + PANEL * len(panels), LABEL_H + PANEL * len(rows)), "white")
    draw = ImageDraw.Draw(fig)
    draw.text((2, 1), "photo: box (red), crop (green)", fill="black")
    for j, label in enumerate(FIGURE_LABELS):
        draw.text((thumb_w + j * PANEL + 2, 1), label, fill="black")
    for i, (thumb, _) in enumerate(rows):
        top = LABEL_H + i * PANEL
        fig.paste(thumb, (0, top))
        for j, panel in enumerate(panels):
            tile = Image.fromarray((panel[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
            fig.paste(tile.resize((PANEL, PANEL), Image.Resampling.NEAREST), (thumb_w + j * PANEL, top))
    return fig


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m training.alignment_figure", description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--output", type=Path, default=Path("docs/figures/alignment_demo.png"), help="PNG file")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default: {DEFAULT_MODEL}, embedded)")
    args = p.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # 256-colour palette: a third of the size of the RGB PNG, no visible change at this scale
    alignment_figure(args.model).quantize(256, method=Image.Quantize.MEDIANCUT).save(args.output, optimize=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
