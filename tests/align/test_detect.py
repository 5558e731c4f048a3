"""MTCNN detection on real photographs whose faces are known: the shipped astronaut photo (landmarks
marked by hand), pictures composed from it at known scales and places, LFW face crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from physdis_hub.align import DetectorConfig, align_faces, detect_faces
from physdis_hub.align.mtcnn import crop_windows, nms, pyramid_scales

from .conftest import HAND_FACE, HAND_LANDMARKS, compose, textured_canvas


def test_astronaut_face_and_landmarks_match_the_hand_marks(astronaut: Path) -> None:
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.99
    assert face.landmarks.shape == (5, 2)
    assert np.abs(face.landmarks - HAND_LANDMARKS).max() < 4  # face side ~100 px
    x1, y1, x2, y2 = face.box
    assert abs((x1 + x2) / 2 - (HAND_FACE[0] + HAND_FACE[2]) / 2) < 8
    assert abs(y2 - HAND_FACE[3]) < 8  # the box ends at the chin
    assert 0.9 < face.side / (HAND_FACE[2] - HAND_FACE[0]) < 1.3
    assert all(x1 < x < x2 and y1 < y < y2 for x, y in HAND_LANDMARKS)


def test_faces_in_a_composed_picture_are_found_where_they_were_put(tmp_path: Path) -> None:
    path = tmp_path / "two.png"
    placements = [(0.45, 420, 260), (1.0, 40, 30)]  # a small face right, a full-size one left
    expected = compose(path, 400, 560, placements)
    faces = detect_faces(path)
    assert len(faces) == 2
    order = sorted(faces, key=lambda f: f.box[0])  # left to right: the big face, then the small one
    for face, marks, (scale, _, _) in zip(order, expected[::-1], placements[::-1]):
        assert np.abs(face.landmarks - marks).max() < 4 * scale + 2
        assert face.score > 0.95
    largest = align_faces(path, faces="largest")
    assert len(largest) == 1 and largest[0].face.box == order[0].box
    every = align_faces(path, faces="all")
    assert [a.face.box for a in every] == [order[0].box, order[1].box]  # largest first
    assert all(a.crop.shape == (3, 64, 64) for a in every)


def test_large_photos_are_searched_reduced_and_mapped_back(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    (marks,) = compose(path, 900, 1500, [(2.5, 700, 200)])  # longer side 1500 > max_side 1024
    (face,) = detect_faces(path, DetectorConfig(max_side=1024))
    assert np.abs(face.landmarks - marks).max() < 10  # face side ~250 px


def test_lfw_face_crops_are_detected_and_non_faces_are_not() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    lfw = skimage_data.lfw_subset()  # 100 faces, then 100 non-face patches, 25 x 25 grayscale
    enlarge = lambda x: (
        torch.nn.functional.interpolate(  # noqa: E731
            torch.from_numpy(x).float()[None, None], scale_factor=4, mode="bilinear"
        )[0]
        .expand(3, -1, -1)
        .clamp(0, 1)
    )
    hits = sum(len(detect_faces(enlarge(lfw[i]))) > 0 for i in range(0, 100, 4))
    false = sum(len(detect_faces(enlarge(lfw[i]))) > 0 for i in range(100, 200, 4))
    assert hits >= 22 and false == 0  # measured: 96 of the 100 faces, none of the 100 non-faces


def test_texture_without_faces_gives_nothing() -> None:
    canvas = np.array(textured_canvas(300, 400, seed=3))
    assert detect_faces(canvas) == []
    assert align_faces(canvas, faces="all") == []
    assert detect_faces(np.zeros((10, 10, 3), np.uint8)) == []  # smaller than the smallest face


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 4, 4]], dtype=torch.float32)
    scores = torch.tensor([0.8, 0.9, 0.7, 0.6])
    # IoU(0, 1) = 81 / 119 = 0.68; box 3 lies inside box 0 (IoU 0.16, over the smaller area 1.0)
    # and overlaps box 1 by 9 of its 16 pixels (IoU 9 / 107, over the smaller area 0.5625)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes, scores, 0.7).tolist() == [1, 0, 2, 3]
    assert nms(boxes, scores, 0.5, mode="min").tolist() == [1, 2]
    assert nms(boxes, scores, 0.6, mode="min").tolist() == [1, 2, 3]
    assert nms(boxes[[0, 3]], scores[[0, 3]], 0.5, mode="min").tolist() == [0]


def test_pyramid_covers_faces_from_min_face_to_the_image_side() -> None:
    scales = pyramid_scales(100, 200, DetectorConfig(min_face=20, scale_step=0.5))
    assert scales == [0.6, 0.3, 0.15]  # 100 * 0.075 < 12 stops it


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_face", 5, "min_face: expected a face side >= 12"),
        ("scale_step", 1.0, "scale_step"),
        ("thresholds", (0.6, 0.7), "thresholds: expected 3"),
        ("nms", (0.5, 2, 0.7, 0.7), "nms"),
        ("max_side", 8, "max_side"),
    ],
)
def test_detector_config_names_bad_settings(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"DetectorConfig.{message}"):
        DetectorConfig(**{field: value})


def test_detect_faces_rejects_batches_and_bad_images() -> None:
    with pytest.raises(ValueError, match="image: expected one image, got a batch of 2"):
        detect_faces(torch.rand(2, 3, 64, 64))
    with pytest.raises(FileNotFoundError, match="no such image file"):
        detect_faces("missing.jpg")
    with pytest.raises(ValueError, match="faces: expected one of"):
        align_faces(torch.rand(3, 64, 64), faces="biggest")


def test_nms_in_whole_pixels_counts_the_last_row_and_column() -> None:
    # [0, 9] and [5, 14] in whole pixels: 10 x 10 each, 5 x 10 shared: over the smaller area 0.5;
    # in continuous coordinates 9 x 9 and 4 x 9 shared: 0.444.
    boxes = torch.tensor([[0, 0, 9, 9], [5, 0, 14, 9]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8])
    assert nms(boxes, scores, 0.47, mode="min", whole_pixels=True).tolist() == [0]
    assert nms(boxes, scores, 0.47, mode="min").tolist() == [0, 1]


def test_windows_reaching_outside_are_clipped_and_squeezed_not_padded() -> None:
    image = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)[0] / 400
    crops, kept = crop_windows(image, torch.tensor([[2.7, 3.2, 6.9, 7.5], [-4.0, -4.0, 4.0, 4.0], [9.5, 0, 12, 3]]), 4)
    assert kept.tolist() == [True, True, False]  # the last box has no pixel inside the image
    # Corners truncated (2, 3, 6, 7), pixels 1..5 x 2..6: columns x1 - 1 .. x2 - 1.
    expected = torch.nn.functional.interpolate(image[None, :, 2:7, 1:6], size=(4, 4), mode="area")[0]
    torch.testing.assert_close(crops[0], expected)
    # (-4, -4, 4, 4): clipped to the pixels 0..3, which fill the whole crop (no zeros).
    torch.testing.assert_close(crops[1], image[:, :4, :4])
