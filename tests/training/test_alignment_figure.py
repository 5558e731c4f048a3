"""The README's alignment figure script."""

from __future__ import annotations

import pytest

from training.alignment_figure import LABEL_H, PANEL, alignment_figure, demo_photos


def test_figure_has_a_row_per_face_and_a_column_per_panel(tmp_path):
    pytest.importorskip("skimage")
    photos = demo_photos()
    fig = alignment_figure()
    thumb_w = round(PANEL * photos["both"].width / photos["both"].height)  # the widest photo
    assert fig.size == (thumb_w + 9 * PANEL, LABEL_H + 4 * PANEL)  # astronaut, camera, both faces of "both"
