"""Messy real files: alpha, 16-bit, tiny and corrupt images, folders in the Python API, failed runs
that leave no output, and devices that do not exist."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub import PhysDisModel, save_pretrained
from physdis_hub.cli import main
from physdis_hub.features import read_features
from physdis_hub.inputs import ALPHA_BACKGROUND, as_batch, read_image

from .conftest import small_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhysDisModel, Path]:
    torch.manual_seed(0)
    model = PhysDisModel(small_config()).eval()
    return model, save_pretrained(model, tmp_path_factory.mktemp("ckpt") / "small")


def _png(path: Path, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def test_transparent_pixels_become_the_background_not_their_hidden_colour(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255  # hidden red everywhere
    rgba[:4, :, 3] = 0  # top half fully transparent
    rgba[4:, :, 3] = 128  # bottom half half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert ALPHA_BACKGROUND == 1.0
    np.testing.assert_allclose(img[:4], 1.0)
    a = 128 / 255
    np.testing.assert_allclose(img[4:, :, 0], a + (1 - a), atol=1e-6)
    np.testing.assert_allclose(img[4:, :, 1:], 1 - a, atol=1e-6)
    # a palette image with a transparent index, and PIL images passed directly, follow the same rule
    pal = Image.fromarray(np.array([[0, 1]], np.uint8), "P")
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    np.testing.assert_allclose(read_image(tmp_path / "p.png")[0], [[1, 1, 1], [0, 0, 1]])
    batch = as_batch(Image.fromarray(rgba, "RGBA"), 8)
    np.testing.assert_allclose(batch[0, :, :4].numpy(), 1.0)


def test_sixteen_bit_pngs_are_scaled_not_clipped(tmp_path):
    grey = np.full((8, 8), 32768, np.uint16)
    grey[0, 0] = 65535
    Image.fromarray(grey).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode.startswith("I")  # really a 16-bit file
    img = read_image(tmp_path / "g16.png")
    np.testing.assert_allclose(img[1, 1], 32768 / 65535, rtol=1e-6)
    np.testing.assert_allclose(img[0, 0], 1.0)


def test_tiny_images_warn_and_model_sized_ones_do_not(tmp_path):
    _png(tmp_path / "tiny.png", size=20)
    with pytest.warns(UserWarning, match=r"tiny\.png.*20x20 px, under half the model's 64x64 input; it is upsampled 3\.2x"):
        as_batch(str(tmp_path / "tiny.png"), 64, name=str(tmp_path / "tiny.png"))
    for side in (32, 50, 64):  # at most 2x upsampling: no warning
        _png(tmp_path / f"ok{side}.png", size=side)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            as_batch(str(tmp_path / f"ok{side}.png"), 64)


def test_a_folder_path_works_in_the_python_api(checkpoint, tmp_path):
    model, _ = checkpoint
    files = [_png(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    (tmp_path / "notes.txt").write_text("skipped")
    from_folder = model.extract(str(tmp_path))
    assert from_folder.shape == (3, 512)
    torch.testing.assert_close(from_folder, model.extract([str(f) for f in files]), rtol=0, atol=0)
    (tmp_path / "list.txt").write_text("2.png\n# a comment\n0.png\n")
    torch.testing.assert_close(model.extract(tmp_path / "list.txt"), from_folder[[2, 0]], rtol=0, atol=0)


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        _png(folder / f"ok{i}.png", seed=i)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return folder


@pytest.mark.parametrize("output", ["f.npz", "shards"])
def test_a_corrupt_file_is_named_and_can_be_skipped(checkpoint, messy_folder, tmp_path, capsys, output):
    _, ckpt = checkpoint
    out = tmp_path / "out" / output
    argv = ["extract", str(messy_folder), "--model", f"local-dir:{ckpt}", "-o", str(out), "--workers", "0"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"cannot decode image file {messy_folder / 'broken.png'}" in err and "--on-error skip" in err
    assert not out.exists() and not out.parent.exists()  # a failed run leaves no output behind
    assert main([*argv, "--on-error", "skip"]) == 0
    captured = capsys.readouterr()
    assert f"physdis: skipped {messy_folder / 'broken.png'} (inputs: cannot decode" in captured.err
    feats = read_features(out)
    assert feats.names == [str(messy_folder / f"ok{i}.png") for i in range(3)]
    assert feats.skipped == [str(messy_folder / "broken.png")] and "cannot decode" in feats.skipped_errors[0]


def test_failed_decompose_leaves_no_empty_folder(checkpoint, messy_folder, tmp_path, capsys):
    _, ckpt = checkpoint
    out = tmp_path / "figures"
    assert main(["decompose", str(messy_folder), "--model", f"local-dir:{ckpt}", "-o", str(out)]) == 1
    assert "broken.png" in capsys.readouterr().err and not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_one_line(checkpoint, messy_folder, tmp_path, capsys):
    _, ckpt = checkpoint
    argv = ["extract", str(messy_folder / "ok0.png"), "--model", f"local-dir:{ckpt}", "-o", str(tmp_path / "f.npz")]
    assert main([*argv, "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "physdis: error: device: 'cuda' requested, but CUDA is not available here (use 'cpu')"
