"""The documentation's alignment figure (docs/inputs.md): real photographs -> detected faces -> aligned crops -> the default
model's decomposition.

Usage (the three figures of the default model in README and docs/)::

    python -m training.analysis.alignment_figure -o docs/figures/alignment_demo.png \
        --lfw docs/figures/lfw_decompositions.png --samples docs/figures/decomposition_demo.png

``--lfw``: the real LFW face crops scikit-image ships, decomposed; ``--samples``: the first two
bundled synthetic sample faces, decomposed.

One row per face: the photograph (detection box red, crop square green, the row's face drawn
thick), then the panels of ``physdis decompose`` (:data:`physdis_hub.figures.FIGURE_LABELS`) for its
aligned crop. Photographs (licences in ``physdis_hub/data/assets/LICENSES.md`` and under the figure
in docs/inputs.md): the shipped astronaut photo (NASA, public domain), scikit-image's ``camera`` (CC0,
read from scikit-image at run time, ``pip install scikit-image``) and a picture composed of the two
(both faces, ``faces="all"``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from physdis_hub import load_pretrained
from physdis_hub.align import SAMPLE_PHOTO, align_faces, crop_square
from physdis_hub.cli import DEFAULT_MODEL
from physdis_hub.figures import LABEL_HEIGHT, decomposition_panels, labelled_grid

PANEL = 96
"""Side of each panel in the figure, in pixels."""
LABEL_H = LABEL_HEIGHT


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
        draw.rectangle(
            [left * scale, top * scale, (left + side) * scale, (top + side) * scale], outline=(0, 200, 0), width=width
        )
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
    thumbs = [thumb for thumb, _ in rows]
    return labelled_grid(panels, side=PANEL, left=thumbs, left_label="photo: box (red), crop (green)")


def samples_figure(model_name: str = DEFAULT_MODEL, count: int = 2) -> Image.Image:
    """The first ``count`` bundled sample faces (``physdis demo``'s inputs) decomposed by ``model_name``."""
    from physdis_hub.cli import SAMPLES
    from physdis_hub.inputs import as_batch, collect_images

    model = load_pretrained(model_name)
    images = as_batch([str(p) for p in collect_images([SAMPLES])[:count]], model.config.image_size)
    return labelled_grid(decomposition_panels(model, images), side=PANEL)


def lfw_figure(model_name: str = DEFAULT_MODEL, count: int = 8) -> Image.Image:
    """The first ``count`` real LFW face crops that scikit-image ships (25 x 25 grey, already crops:
    resized, not aligned), decomposed by ``model_name``."""
    from .real_photos import lfw_faces

    model = load_pretrained(model_name)
    faces = lfw_faces()[:count].expand(-1, 3, -1, -1)
    crops = torch.nn.functional.interpolate(faces, size=model.config.image_size, mode="bilinear", align_corners=False)
    return labelled_grid(decomposition_panels(model, crops.clamp(0, 1)), side=PANEL)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m training.analysis.alignment_figure", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("-o", "--output", type=Path, default=Path("docs/figures/alignment_demo.png"), help="PNG file")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default: {DEFAULT_MODEL}, embedded)")
    p.add_argument("--lfw", type=Path, help="also write the LFW crops' decomposition figure to this PNG file")
    p.add_argument("--samples", type=Path, help="also write the bundled samples' decomposition figure to this PNG file")
    args = p.parse_args(argv)
    figures = [(args.output, alignment_figure(args.model))]
    if args.lfw:
        figures.append((args.lfw, lfw_figure(args.model)))
    if args.samples:
        figures.append((args.samples, samples_figure(args.model)))
    for path, fig in figures:
        path.parent.mkdir(parents=True, exist_ok=True)
        # 256-colour palette: a third of the size of the RGB PNG, no visible change at this scale
        fig.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
