"""Our MTCNN finds the boxes facenet-pytorch's MTCNN finds (the detector of Unsup3d's demo), checked
against the boxes recorded from facenet-pytorch 2.6.0 for photos any checkout can rebuild
(``facenet_boxes.json``, written by ``benchmarks/mtcnn_parity.py --record``; the measurement on more
photos is ``results/2026-12-06-mtcnn-parity.md``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from physdis_hub.align import align_faces, detect_faces

from .parity_images import parity_photos

REFERENCE = json.loads((Path(__file__).parent / "facenet_boxes.json").read_text())["boxes"]
TOLERANCE = 1e-3
"""Largest corner difference allowed, over the box side (measured: at most 5e-6; the boxes are
recorded to 4 decimals; before the detector followed facenet-pytorch step by step: median 5%)."""


def test_boxes_equal_facenet_pytorchs() -> None:
    try:
        photos = parity_photos()
    except ImportError:  # the LFW crops come from scikit-image
        photos = parity_photos(with_lfw=False)
    assert len(photos) >= 4
    for name, photo in photos.items():
        expected = np.array(REFERENCE[name]).reshape(-1, 5)
        image = torch.from_numpy(photo.copy()).permute(2, 0, 1).float() / 255
        faces = sorted(detect_faces(image), key=lambda f: -f.area)  # largest first, as select_largest
        assert len(faces) == len(expected), name
        for face, box in zip(faces, expected):
            side = ((box[2] - box[0]) + (box[3] - box[1])) / 2
            assert np.abs(np.array(face.box) - box[:4]).max() / side <= TOLERANCE, (name, face.box, box)
            assert face.score == pytest.approx(box[4], abs=1e-4)


def test_the_largest_face_is_the_largest_box_area() -> None:
    photo = parity_photos(with_lfw=False)["composite-two"]
    (largest,) = align_faces(photo, faces="largest")
    assert list(largest.face.box) == pytest.approx(REFERENCE["composite-two"][0][:4], abs=1e-2)
