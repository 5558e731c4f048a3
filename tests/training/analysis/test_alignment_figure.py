"""The alignment figure script (docs/inputs.md)."""

from __future__ import annotations

import pytest

from training.analysis.alignment_figure import LABEL_H, PANEL, alignment_figure, demo_photos


def test_figure_has_a_row_per_face_and_a_column_per_panel(tmp_path):
    pytest.importorskip("skimage")
    photos = demo_photos()
    fig = alignment_figure()
    thumb_w = round(PANEL * photos["both"].width / photos["both"].height)  # the widest photo
    assert fig.size == (thumb_w + 9 * PANEL, LABEL_H + 4 * PANEL)  # astronaut, camera, both faces of "both"


def test_lfw_and_samples_figures(tmp_path):
    pytest.importorskip("skimage")
    from training.analysis.alignment_figure import lfw_figure, main, samples_figure

    assert lfw_figure(count=3).size == (9 * PANEL, LABEL_H + 3 * PANEL)
    assert samples_figure(count=2).size == (9 * PANEL, LABEL_H + 2 * PANEL)
    out = tmp_path / "a.png"
    main(["-o", str(out), "--lfw", str(tmp_path / "l.png"), "--samples", str(tmp_path / "s.png")])
    assert out.is_file() and (tmp_path / "l.png").is_file() and (tmp_path / "s.png").is_file()
