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
from physdis_hub.inputs import ALPHA_BACKGROUND, as_batch, as_images, collect_images, read_image, to_uint8

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
    with pytest.warns(
        UserWarning, match=r"tiny\.png.*20x20 px, under half the model's 64x64 input; it is upsampled 3\.2x"
    ):
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


def test_folders_and_file_lists_inside_a_list_are_expanded_in_place(checkpoint, tmp_path):
    model, _ = checkpoint
    photos = tmp_path / "photos"
    photos.mkdir()
    files = [_png(photos / f"{i}.png", seed=i) for i in range(3)]
    single = _png(tmp_path / "single.png", seed=7)
    (tmp_path / "list.txt").write_text("photos/1.png\n")
    mixed = [str(single), str(photos), tmp_path / "list.txt"]
    expected = as_batch([str(single), *map(str, files), str(files[1])], 64)
    torch.testing.assert_close(as_batch(mixed, 64), expected, rtol=0, atol=0)
    assert len(as_images(mixed)) == 5
    torch.testing.assert_close(model.extract(mixed), model.extract(expected), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"images\[1\]: no such file or folder: .*gone\.txt"):
        as_batch([str(single), str(tmp_path / "gone.txt")], 64)


def test_a_missing_path_is_named_as_missing(tmp_path):
    with pytest.raises(ValueError, match=r"inputs: no such file or folder: .*nope\.jpg"):
        collect_images([tmp_path / "nope.jpg"])


def test_numpy_channels_first_and_rgba_arrays_match_their_torch_and_file_forms(tmp_path):
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    torch.testing.assert_close(as_batch(chw, 16), as_batch(hwc, 16), rtol=0, atol=0)
    torch.testing.assert_close(as_batch(torch.from_numpy(chw), 16), as_batch(hwc, 16), rtol=0, atol=0)
    torch.testing.assert_close(as_batch(np.stack([chw, chw]), 16), as_batch([hwc, hwc], 16), rtol=0, atol=0)
    rgba = np.concatenate([hwc, rng.integers(0, 256, (20, 30, 1), dtype=np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    from_file = as_batch(str(tmp_path / "a.png"), 16)
    torch.testing.assert_close(as_batch(rgba, 16), from_file, rtol=0, atol=1e-6)
    torch.testing.assert_close(as_batch(rgba.astype(np.float32) / 255, 16), from_file, rtol=0, atol=1e-6)
    torch.testing.assert_close(as_batch(rgba.transpose(2, 0, 1), 16), from_file, rtol=0, atol=1e-6)
    rgba_chw = torch.from_numpy(np.ascontiguousarray(rgba.transpose(2, 0, 1)))
    torch.testing.assert_close(as_batch(rgba_chw, 16), from_file, rtol=0, atol=1e-6)
    torch.testing.assert_close(
        as_batch(torch.stack([rgba_chw] * 2).float() / 255, 16), from_file.expand(2, -1, -1, -1), rtol=0, atol=1e-6
    )
    with pytest.raises(
        ValueError, match=r"images: expected 1, 3 or 4 channels \(B, C, H, W\), got shape \(1, 5, 4, 4\)"
    ):
        as_batch(torch.zeros(1, 5, 4, 4), 16)
    with pytest.raises(ValueError, match=r"images: expected a numpy array .*C = 1, 3 or 4, got shape \(20, 30, 5\)"):
        as_batch(np.zeros((20, 30, 5), np.uint8), 16)


def test_read_only_arrays_are_taken_without_a_warning():
    frozen = np.asarray(Image.fromarray(np.full((20, 20, 3), 9, np.uint8)))
    assert not frozen.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch = as_batch(frozen, 16)
    assert batch.shape == (1, 3, 16, 16)


def test_many_tiny_images_give_one_warning_that_counts_them(checkpoint):
    model, _ = checkpoint
    tiny = [np.full((20, 20, 3), i, np.uint8) for i in range(5)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        as_batch([*tiny, np.zeros((64, 64, 3), np.uint8)], 64)
        model.extract(tiny)  # 20 x 20: taken as crops, not aligned
    messages = [str(w.message) for w in caught if "upsampled" in str(w.message)]
    assert len(messages) == 2, messages
    assert messages[0].startswith("5 images (images[0], images[1], images[2] and 2 more) are under half")
    assert "upsampled up to 3.2x" in messages[1]


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
    argv = ["decompose", str(messy_folder), "--model", f"local-dir:{ckpt}", "-o", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"cannot decode image file {messy_folder / 'broken.png'}" in err and "--on-error skip" in err
    assert not out.exists()


def test_decompose_can_skip_a_corrupt_file(checkpoint, messy_folder, tmp_path, capsys):
    _, ckpt = checkpoint
    out = tmp_path / "figures"
    argv = ["decompose", str(messy_folder), "--model", f"local-dir:{ckpt}", "-o", str(out), "--on-error", "skip"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert f"physdis: skipped {messy_folder / 'broken.png'} (inputs: cannot decode" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["ok0.png", "ok1.png", "ok2.png"]
    assert "wrote 3 figures" in captured.out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_one_line(checkpoint, messy_folder, tmp_path, capsys):
    _, ckpt = checkpoint
    argv = ["extract", str(messy_folder / "ok0.png"), "--model", f"local-dir:{ckpt}", "-o", str(tmp_path / "f.npz")]
    assert main([*argv, "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "physdis: error: device: 'cuda' requested, but CUDA is not available here (use 'cpu')"


def test_to_uint8_clamps_rounds_and_puts_channels_last_and_round_trips_a_file(tmp_path):
    images = torch.tensor([-0.5, 0.0, 0.5, 1.0, 2.0, 0.002]).view(1, 1, 3, 1, 2).expand(2, 1, 3, 1, 2).double()
    pixels = to_uint8(images)
    assert pixels.shape == (2, 1, 1, 2, 3) and pixels.dtype == np.uint8
    assert pixels[0, 0, 0].T.tolist() == [[0, 0], [128, 255], [255, 1]]  # clamped, 127.5 rounds to 128
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    read = read_image(tmp_path / "a.png")
    assert np.array_equal(to_uint8(torch.from_numpy(read).permute(2, 0, 1)), np.asarray(Image.open(tmp_path / "a.png")))
