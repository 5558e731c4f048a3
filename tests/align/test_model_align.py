"""Alignment in the model API (extract / decompose / align) and in ``physdis extract`` / ``decompose``,
on real photo files the tests write."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub import PhysDisModel, save_pretrained
from physdis_hub.align import align_faces
from physdis_hub.cli import main

from ..helpers import small_config
from .conftest import compose, textured_canvas


@pytest.fixture(scope="module")
def model() -> PhysDisModel:
    torch.manual_seed(0)
    return PhysDisModel(small_config()).eval()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, astronaut: Path) -> Path:
    """a_astronaut.jpg (one face), b_two.png (two faces), c_texture.png (none)."""
    folder = tmp_path_factory.mktemp("photos")
    shutil.copy(astronaut, folder / "a_astronaut.jpg")
    compose(folder / "b_two.png", 400, 560, [(0.45, 420, 260), (1.0, 40, 30)])
    textured_canvas(200, 300, seed=5).save(folder / "c_texture.png")
    return folder


def test_extract_aligns_photos_skips_faceless_ones_and_keeps_crops(model, photos):
    crop = torch.rand(3, 64, 64)  # already the model's size: used as it is
    inputs = [str(photos / "a_astronaut.jpg"), str(photos / "c_texture.png"), crop]
    with pytest.warns(UserWarning, match="no face found in .*c_texture.png"):
        found = model.align(inputs)
        features = model.extract(inputs)
    assert found.source.tolist() == [0, 2] and found.missing == [1]
    assert found.faces[1] is None and found.faces[0].score > 0.99
    assert features.shape == (2, 512)
    (aligned,) = align_faces(photos / "a_astronaut.jpg")
    expected = model.extract(torch.stack([aligned.crop, crop]), align=False)
    torch.testing.assert_close(features, expected, rtol=0, atol=1e-6)
    assert model.extract(inputs, align=False).shape == (3, 512)  # centre squares, nothing skipped


def test_decompose_all_faces_says_where_rows_came_from(model, photos):
    dec = model.decompose([str(photos / "b_two.png"), str(photos / "a_astronaut.jpg")], faces="all")
    assert dec.source.tolist() == [0, 0, 1]
    assert dec.albedo.shape == (3, 3, 64, 64)
    largest = model.decompose(str(photos / "b_two.png"))
    assert largest.source.tolist() == [0]
    torch.testing.assert_close(largest.albedo, dec.albedo[:1])  # largest first


def test_auto_leaves_other_categories_and_small_images_alone(photos):
    cars = PhysDisModel(small_config(category="cars")).eval()
    found = cars.align([str(photos / "c_texture.png")])
    assert found.missing == [] and found.faces == [None]
    faces = PhysDisModel(small_config()).eval()
    small = np.array(textured_canvas(48, 60, seed=1))  # not larger than 64: a crop, resized
    assert faces.align(small).faces == [None]
    with pytest.warns(UserWarning, match=r"no face found in images\[0\]"):
        assert faces.align(small, align=True).missing == [0]


def test_no_face_anywhere_and_bad_align_values_are_value_errors(model, photos):
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="images: no face found in any of the 1 inputs"):
        model.extract(str(photos / "c_texture.png"))
    with pytest.raises(ValueError, match="align: expected 'auto', True or False, got 'yes'"):
        model.extract(torch.rand(1, 3, 64, 64), align="yes")
    with pytest.raises(ValueError, match="faces: expected one of"):
        model.decompose(torch.rand(1, 3, 64, 64), faces=2)


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_pretrained(model, tmp_path_factory.mktemp("ckpt") / "small")


def test_cli_extract_names_the_rows_and_reports_faceless_files(checkpoint, photos, tmp_path, capsys):
    out = tmp_path / "f.npz"
    assert main(["extract", str(photos), "--model", f"local-dir:{checkpoint}", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"physdis: no face found in {photos / 'c_texture.png'}; skipped" in captured.err
    assert "wrote 2 x 512 features" in captured.out
    names = list(np.load(out)["names"])
    assert names == [str(photos / "a_astronaut.jpg"), str(photos / "b_two.png")]
    assert main(["extract", str(photos), "--model", f"local-dir:{checkpoint}", "--faces", "all", "-o", str(out)]) == 0
    two = str(photos / "b_two.png")
    assert list(np.load(out)["names"]) == [str(photos / "a_astronaut.jpg") + "#0", two + "#0", two + "#1"]
    assert main(["extract", str(photos), "--model", f"local-dir:{checkpoint}", "--no-align", "-o", str(out)]) == 0
    assert len(np.load(out)["names"]) == 3


def test_cli_decompose_writes_a_figure_per_face(checkpoint, photos, tmp_path, capsys):
    out = tmp_path / "figs"
    argv = ["decompose", str(photos / "b_two.png"), str(photos / "c_texture.png"), "--model", f"local-dir:{checkpoint}"]
    assert main([*argv, "--faces", "all", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b_two-face0.png", "b_two-face1.png"]
    assert "wrote 2 figures" in capsys.readouterr().out
    with Image.open(out / "b_two-face0.png") as fig:
        assert np.asarray(fig).std() > 0


def test_cli_without_any_face_exits_1(checkpoint, photos, tmp_path, capsys):
    argv = [
        "extract",
        str(photos / "c_texture.png"),
        "--model",
        f"local-dir:{checkpoint}",
        "-o",
        str(tmp_path / "f.npz"),
    ]
    assert main(argv) == 1
    assert "inputs: no face found in any of the 1 images; --no-align takes them as they are" in capsys.readouterr().err
