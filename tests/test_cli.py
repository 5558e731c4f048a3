"""The ``physdis`` command line: list, extract, decompose (push: tests/hub/test_cli_hub.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub import (
    PhysDisModel,
    PretrainedEntry,
    register_pretrained,
    save_pretrained,
)
from physdis_hub.cli import main
from physdis_hub.errors import InputError
from physdis_hub.figures import FIGURE_LABELS
from physdis_hub.hub import unregister_pretrained
from physdis_hub.inputs import as_batch

from .helpers import small_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhysDisModel, Path]:
    torch.manual_seed(0)
    model = PhysDisModel(small_config()).eval()
    return model, save_pretrained(model, tmp_path_factory.mktemp("ckpt") / "small")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four PNGs of different sizes (crop + resize) and a non-image file that is skipped."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(64, 64), (80, 70), (40, 90), (128, 128)]):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_list_without_registered_checkpoints(capsys):
    assert main(["list", "no-such-*"]) == 0
    assert "No pretrained checkpoints are registered matching 'no-such-*'" in capsys.readouterr().out


def test_list_shows_registered_checkpoints(capsys):
    entry = PretrainedEntry(
        name="zz-cli-test",
        kind="hub",
        repo_id="org/faces",
        revision="e" * 40,
        sha256="1" * 64,
        config_sha256="2" * 64,
        summary="faces, LOOCC LV",
        license="mit",
        paper="-",
        description="-",
    )
    register_pretrained(entry)
    try:
        assert main(["list", "zz-*"]) == 0
    finally:
        unregister_pretrained(entry.name)
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["NAME", "KIND", "SOURCE", "LICENSE", "SUMMARY"]
    assert row.split()[:4] == ["zz-cli-test", "hub", f"org/faces@{'e' * 40}", "mit"] and row.endswith("faces, LOOCC LV")


def test_extract_a_folder_to_npz(checkpoint, photos, tmp_path, capsys):
    model, folder = checkpoint
    out = tmp_path / "out" / "features.npz"
    argv = ["extract", str(photos), "--model", f"local-dir:{folder}", "--no-align", "-o", str(out), "--batch-size", "3"]
    assert main(argv) == 0
    assert "wrote 4 x 512 features (geom alb)" in capsys.readouterr().out
    data = np.load(out)
    files = sorted(photos.glob("*.png"))
    assert data["features"].shape == (4, 512) and data["features"].dtype == np.float32
    assert list(data["names"]) == [str(p) for p in files] and list(data["parts"]) == ["geom", "alb"]
    expected = torch.cat([model.extract(as_batch(str(p), 64)) for p in files]).numpy()
    np.testing.assert_allclose(data["features"], expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(data["geom"], data["features"][:, :256])


def test_extract_parts_in_the_order_given(checkpoint, photos, tmp_path):
    _, folder = checkpoint
    out = tmp_path / "f.npz"
    image = str(photos / "img1.png")
    for parts in (["view,geom"], ["view", "geom"]):  # one syntax documented (commas), spaces accepted
        argv = ["extract", image, "--model", f"local-dir:{folder}", "--parts", *parts, "--no-align", "-o", str(out)]
        assert main(argv) == 0
        data = np.load(out)
        assert data["features"].shape == (1, 512) and list(data["parts"]) == ["view", "geom"]
        np.testing.assert_array_equal(data["features"], np.concatenate([data["view"], data["geom"]], axis=1))


def test_probes_read_what_extract_writes(checkpoint, photos, tmp_path, capsys):
    _, folder = checkpoint
    out = tmp_path / "f.npz"
    parts = ["geom", "alb", "light", "view"]
    argv = ["extract", str(photos), "--model", f"local-dir:{folder}", "--parts", *parts, "--no-align", "-o", str(out)]
    assert main(argv) == 0
    assert main(["probe", "pcc", "--features", str(out)]) == 0
    assert "geom-alb" in capsys.readouterr().out.splitlines()[-3]


def test_extract_to_parquet(checkpoint, photos, tmp_path, capsys):
    _, folder = checkpoint
    out = tmp_path / "f.parquet"
    code = main(["extract", str(photos), "--model", f"local-dir:{folder}", "--no-align", "-o", str(out)])
    if importlib.util.find_spec("pyarrow") is None:
        assert code == 1 and "pip install 'physdis-hub[parquet]'" in capsys.readouterr().err
        assert not out.exists()
        return
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.num_rows == 4 and len(table.column("features")[0]) == 512


def test_decompose_writes_one_figure_per_image(checkpoint, photos, tmp_path):
    _, folder = checkpoint
    out = tmp_path / "figures"
    images = [str(photos / name) for name in ("img1.png", "img2.png", "img1.png")]
    assert main(["decompose", *images, "--model", f"local-dir:{folder}", "--no-align", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["img1-1.png", "img1.png", "img2.png"]
    with Image.open(out / "img1.png") as fig:
        assert fig.size == (len(FIGURE_LABELS) * 128, 128 + 14)
        assert np.asarray(fig).std() > 0


def test_decompose_names_figures_of_inputs_that_share_a_stem(checkpoint, photos, tmp_path, capsys):
    _, folder = checkpoint
    image = Image.open(photos / "img0.png")
    for path in ("same/face.png", "same/face.jpg", "anna/0001.png", "bob/0001.png", "solo/eve.png"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        image.save(tmp_path / path)
    inputs = [str(tmp_path / d) for d in ("same", "anna", "bob", "solo")]
    out = tmp_path / "figures"
    assert main(["decompose", *inputs, "--model", f"local-dir:{folder}", "--no-align", "-o", str(out)]) == 0
    expected = ["anna_0001.png.png", "bob_0001.png.png", "eve.png", "face.jpg.png", "face.png.png"]
    assert sorted(p.name for p in out.iterdir()) == expected
    assert "wrote 5 figures" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["extract", "missing.png", "--model", "local-dir:x", "-o", "f.npz"],
            "inputs: no such file or folder: missing.png",
        ),
        (["extract", "{photos}", "--model", "faces-lv", "-o", "f.npz"], "no pretrained model named 'faces-lv'"),
        (
            ["extract", "{photos}", "--model", "local-dir:{ckpt}", "-o", "f.csv"],
            "--output: expected a .npz or .parquet",
        ),
        (["extract", "{photos}", "--model", "local-dir:{ckpt}", "-o", "f.npz", "--batch-size", "0"], "--batch-size"),
        (["decompose", "{empty}", "--model", "local-dir:{ckpt}", "-o", "figs"], "inputs: no images"),
    ],
)
def test_errors_exit_1_with_a_message(argv, message, checkpoint, photos, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    paths = {"photos": photos, "ckpt": checkpoint[1], "empty": tmp_path / "empty"}
    assert main([a.format(**paths) for a in argv]) == 1
    assert message in capsys.readouterr().err


def test_unknown_parts_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "x.png", "--model", "m", "-o", "f.npz", "--parts", "geom", "shape"])
    assert exit_info.value.code == 2 and "--parts: expected a non-empty subset" in capsys.readouterr().err


def test_demo_runs_on_the_bundled_samples(checkpoint, tmp_path) -> None:
    _, folder = checkpoint
    out = tmp_path / "demo"
    assert main(["demo", "--model", f"local-dir:{folder}", "-o", str(out)]) == 0
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) == len(list(Path(__file__).parents[1].joinpath("physdis_hub/data/samples").glob("*.png")))
    data = np.load(out / "features.npz")
    assert data["features"].shape == (len(figures), 512)


def test_the_package_errors_exit_1_and_a_bug_keeps_its_traceback(monkeypatch, capsys):
    """main catches PhysdisError (and the file system's OSError), not built-in errors at large."""
    import physdis_hub.cli as cli

    def run(error: Exception):
        monkeypatch.setattr(cli, "_run_list", lambda args: (_ for _ in ()).throw(error))
        return main(["list"])

    assert run(InputError("--x: expected 1, got 2")) == 1
    assert "physdis: error: --x: expected 1, got 2" in capsys.readouterr().err
    assert run(FileNotFoundError("nothing there")) == 1
    with pytest.raises(ZeroDivisionError):
        run(ZeroDivisionError("a bug"))
    with pytest.raises(ValueError, match="not the package's"):
        run(ValueError("not the package's"))
