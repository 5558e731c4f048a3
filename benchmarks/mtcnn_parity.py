"""Compare physdis_hub.align's MTCNN boxes with facenet-pytorch's ``MTCNN(select_largest=True)``,
the detector of Unsup3d's demo, photo by photo; optionally record facenet-pytorch's boxes for the
photos of ``tests/align/parity_images.py`` (the reference of ``tests/align/test_facenet_parity.py``).

facenet-pytorch is not a dependency (it pins an old torch): unpack its wheel and put it, with
stand-ins for the two torchvision functions it imports, on ``PYTHONPATH`` (see
``results/2026-12-06-mtcnn-parity.md``). Run from the repository root:

    PYTHONPATH=.:$FACENET python benchmarks/mtcnn_parity.py [--photos DIR ...] [--record FILE]

For every face found by either detector it prints the largest corner difference over the box side
(facenet's mean of width and height); a face found by one detector only counts as missing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from physdis_hub.align import align_faces, detect_faces
from tests.align.parity_images import parity_photos

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def facenet_boxes(detector, photo: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(N, 5)`` boxes and probabilities, largest box first, from facenet-pytorch."""
    boxes, probs = detector.detect(photo)
    if boxes is None:
        return np.zeros((0, 5))
    return np.concatenate([np.asarray(boxes, dtype=np.float64), np.asarray(probs, dtype=np.float64)[:, None]], 1)


def our_boxes(photo: np.ndarray) -> np.ndarray:
    """``(N, 5)`` boxes and scores, largest box first, from physdis_hub.align."""
    image = torch.from_numpy(photo.copy()).permute(2, 0, 1).float() / 255
    faces = sorted(detect_faces(image), key=lambda f: -f.area)
    return np.array([[*f.box, f.score] for f in faces], dtype=np.float64).reshape(-1, 5)


def match(reference: np.ndarray, ours: np.ndarray) -> tuple[list[float], int]:
    """Per reference box, the largest corner difference to the nearest of ours over the box side;
    and how many boxes of either side have no counterpart (nearest centre within half a side)."""
    errors, used = [], set()
    for box in reference:
        side = ((box[2] - box[0]) + (box[3] - box[1])) / 2
        if len(ours):
            centre = lambda b: (b[..., :2] + b[..., 2:4]) / 2  # noqa: E731
            j = int(np.argmin(np.abs(centre(ours) - centre(box)).max(1)))
            if j not in used and np.abs(centre(ours[j]) - centre(box)).max() < side / 2:
                used.add(j)
                errors.append(float(np.abs(ours[j, :4] - box[:4]).max() / side))
    return errors, (len(reference) - len(errors)) + (len(ours) - len(used))


def official_demo_crop(photo: np.ndarray, box: np.ndarray, size: int = 64) -> torch.Tensor | None:
    """``(3, size, size)``: the crop of Unsup3d's ``demo/demo.py`` (``detect_face`` and the resize in
    ``run``) around ``box``, written from a reading of it: pad by the half side with edge pixels,
    cut the square, scale to [0, 1], resize bilinearly (to ``2 * size`` first when large). None where
    the demo's slice would start before the padded image (a face centre left of or above the photo:
    numpy then counts from the end and the demo's crop is not the square)."""
    x1, y1, x2, y2 = box[:4]
    half = int(((y2 - y1) + (x2 - x1)) / 2 / 2 * 1.1)
    padded = np.pad(photo, ((half, half), (half, half), (0, 0)), mode="edge")
    top, left = int((y1 + y2) / 2 + half * 0.15), int((x1 + x2) / 2)
    if top < 0 or left < 0:
        return None
    crop = padded[top : top + 2 * half, left : left + 2 * half]
    image = torch.from_numpy(crop / 255.0).float().permute(2, 0, 1)[None]
    if crop.shape[0] > 4 * size and crop.shape[1] > 4 * size:
        image = torch.nn.functional.interpolate(image, (2 * size, 2 * size), mode="bilinear", align_corners=False)
    return torch.nn.functional.interpolate(image, (size, size), mode="bilinear", align_corners=False)[0]


def inside(box: np.ndarray, photo: np.ndarray) -> bool:
    return box[0] >= 0 and box[1] >= 0 and box[2] <= photo.shape[1] and box[3] <= photo.shape[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", nargs="*", default=[], help="folders of more photos (jpg/png)")
    parser.add_argument("--record", help="write facenet-pytorch's boxes of the parity photos to this JSON file")
    args = parser.parse_args()
    from facenet_pytorch import MTCNN

    detector = MTCNN(select_largest=True)
    photos = parity_photos()
    for folder in args.photos:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix.lower() in PHOTO_SUFFIXES:
                photos[f"{Path(folder).name}/{path.name}"] = np.asarray(Image.open(path).convert("RGB"))
    all_errors, inside_errors, missing, recorded, crop_errors = [], [], 0, {}, []
    for name, photo in photos.items():
        reference, ours = facenet_boxes(detector, photo), our_boxes(photo)
        aligned = align_faces(photo.copy(), faces="largest")
        official = official_demo_crop(photo, reference[0]) if len(reference) else None
        if official is not None and aligned:  # the 64x64 input the official demo would give the model
            crop_errors.append(float((aligned[0].crop - official).abs().max()))
        errors, unmatched = match(reference, ours)
        missing += unmatched
        all_errors += errors
        inside_errors += [e for e, box in zip(errors, reference) if inside(box, photo)]
        shown = " ".join(f"{e:.2e}" for e in errors)
        print(
            f"{name:40s} {photo.shape[1]}x{photo.shape[0]} facenet {len(reference)} ours {len(ours)} "
            f"unmatched {unmatched} | {shown}"
        )
        if "/" not in name:  # the photos of parity_images.py, which any checkout can rebuild
            recorded[name] = reference.round(4).tolist()
    for label, errors in (("all faces", all_errors), ("faces inside the photo", inside_errors)):
        e = np.array(errors)
        print(f"{label}: {len(e)} faces, median {np.median(e):.2e}, max {e.max():.2e} of the box side")
    print(f"photos {len(photos)}, faces found by one detector only: {missing}")
    c = np.array(crop_errors)
    print(
        f"64x64 crop of the largest face vs the official demo's: {len(c)} photos, median {np.median(c):.2e}, "
        f"max {c.max():.2e} (pixel values in [0, 1])"
    )
    if args.record:
        import facenet_pytorch

        provenance = (
            "Boxes (x1, y1, x2, y2, probability), largest first, of facenet-pytorch 2.6.0 "
            "MTCNN(select_largest=True).detect(photo) (the detector of Unsup3d's demo/demo.py) for the photos "
            "of tests/align/parity_images.py, written by benchmarks/mtcnn_parity.py --record with "
            f"facenet_pytorch 2.6.0 unpacked from its PyPI wheel ({facenet_pytorch.__name__}), on torch "
            f"{torch.__version__}; see results/2026-12-06-mtcnn-parity.md."
        )
        rows = ",\n".join(f"  {json.dumps(name)}: {json.dumps(boxes)}" for name, boxes in recorded.items())
        Path(args.record).write_text(f'{{\n "provenance": {json.dumps(provenance)},\n "boxes": {{\n{rows}\n }}\n}}\n')


if __name__ == "__main__":
    main()
