"""Streaming extraction: shard folders and their index, resume, file lists, data sets, the
preprocessing hook, several torchrun processes, and probes reading what extract writes."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub import PhysDisModel, save_pretrained
from physdis_hub.cli import main
from physdis_hub.data import load_dataset
from physdis_hub.features import INDEX_NAME, read_features, read_index
from physdis_hub.inputs import as_batch
from physdis_hub.stream import (
    NO_FACE,
    DatasetSource,
    FileSource,
    Item,
    StreamOptions,
    extract_to_folder,
    gather_crops,
    iter_shards,
    row_name,
)

from .conftest import small_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhysDisModel, Path]:
    torch.manual_seed(0)
    model = PhysDisModel(small_config()).eval()
    return model, save_pretrained(model, tmp_path_factory.mktemp("ckpt") / "small")


def write_images(folder: Path, n: int, size: int = 48) -> list[Path]:
    """``n`` small random PNGs (non-square sizes vary so the crop/resize path runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    paths = []
    for i in range(n):
        h, w = size + (i % 3) * 8, size + (i % 2) * 16
        paths.append(folder / f"im{i:04d}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_images(tmp_path_factory.mktemp("photos") / "photos", 23, size=64)


def _extract(ckpt: Path, inputs: list[str], out: Path, *extra: str) -> int:
    # the test photos are noise, not faces: alignment (physdis_hub.align, tested there) is turned off
    return main(
        ["extract", *inputs, "--model", f"local-dir:{ckpt}", "-o", str(out), "--no-progress", "--no-align", *extra]
    )


def test_shard_folder_equals_one_file_and_the_model(checkpoint, photos, tmp_path):
    model, ckpt = checkpoint
    folder = str(photos[0].parent)
    assert _extract(ckpt, [folder], tmp_path / "one.npz", "--workers", "0") == 0
    assert _extract(ckpt, [folder], tmp_path / "shards", "--shard-size", "5", "--batch-size", "3") == 0
    one, shards = read_features(tmp_path / "one.npz"), read_features(tmp_path / "shards")
    assert shards.names == one.names == [str(p) for p in photos]
    np.testing.assert_array_equal(shards.features, one.features)
    expected = torch.cat([model.extract(as_batch(str(p), 64)) for p in photos]).numpy()
    np.testing.assert_allclose(shards.features, expected, rtol=0, atol=1e-5)
    index = read_index(tmp_path / "shards")
    assert [s["file"] for s in index["shards"]] == [f"shard-{k:06d}.npz" for k in range(5)]
    assert [s["rows"] for s in index["shards"]] == [5, 5, 5, 5, 3]
    assert index["parts"] == ["geom", "alb"] and index["dims"] == {"geom": 256, "alb": 256}
    assert index["model"] == f"local-dir:{ckpt}" and index["image_size"] == 64 and index["num_rows"] == 23
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == sorted(
        [INDEX_NAME, ".manifest.json"] + [s["file"] for s in index["shards"]]
    )


def test_resume_keeps_complete_shards_and_ignores_partial_files(checkpoint, photos, tmp_path):
    _, ckpt = checkpoint
    out = tmp_path / "shards"
    folder = str(photos[0].parent)
    assert _extract(ckpt, [folder], out, "--shard-size", "4", "--workers", "0") == 0
    reference = read_features(out)
    # a kill after shards 0-2: later shards gone, a half-written temporary left, no index
    for k in range(3, 6):
        (out / f"shard-{k:06d}.npz").unlink()
    (out / INDEX_NAME).unlink()
    (out / ".shard-000003.npz.999.tmp").write_bytes(b"half a shard")
    kept = {k: (out / f"shard-{k:06d}.npz").stat().st_mtime_ns for k in range(3)}
    with pytest.raises(ValueError, match="has no index.json"):
        read_features(out)
    assert _extract(ckpt, [folder], out, "--shard-size", "4", "--workers", "0") == 0
    assert {k: (out / f"shard-{k:06d}.npz").stat().st_mtime_ns for k in range(3)} == kept  # not recomputed
    resumed = read_features(out)
    assert resumed.names == reference.names
    np.testing.assert_array_equal(resumed.features, reference.features)


def test_resume_refuses_another_extraction(checkpoint, photos, tmp_path, capsys):
    _, ckpt = checkpoint
    out = tmp_path / "shards"
    assert _extract(ckpt, [str(photos[0])], out) == 0
    assert _extract(ckpt, [str(photos[0])], out, "--parts", "geom") == 1
    assert "holds another extraction (parts: ['geom', 'alb'] -> ['geom'])" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    assert _extract(ckpt, [str(photos[0])], tmp_path / "other") == 1
    assert "non-empty folder that no `physdis extract` wrote" in capsys.readouterr().err


def test_file_lists_and_parquet_shards(checkpoint, photos, tmp_path):
    _, ckpt = checkpoint
    listing = tmp_path / "lists" / "files.txt"
    listing.parent.mkdir()
    listing.write_text("\n".join(os.path.relpath(p, listing.parent) for p in photos[:7:2]) + "\n")
    assert _extract(ckpt, [str(listing)], tmp_path / "a.npz") == 0
    feats = read_features(tmp_path / "a.npz")
    assert [Path(n).name for n in feats.names] == [p.name for p in photos[:7:2]]
    if importlib.util.find_spec("pyarrow") is None:
        return
    assert _extract(ckpt, [str(listing)], tmp_path / "pq", "--shard-size", "3", "--shard-format", "parquet") == 0
    assert sorted(p.name for p in (tmp_path / "pq").glob("shard-*")) == ["shard-000000.parquet", "shard-000001.parquet"]
    np.testing.assert_array_equal(read_features(tmp_path / "pq").features, feats.features)


def test_a_registered_data_set_and_a_preprocessing_hook(checkpoint, tmp_path):
    model, _ = checkpoint
    data = load_dataset("synthetic-faces", split="test", test_identities=2, images_per_identity=3, progress=False)
    images = torch.stack([data[i]["image"] for i in range(len(data))])
    flip = lambda image: [image, image.flip(-1)]  # noqa: E731 - a hook with two crops per image
    source = DatasetSource(data, "synthetic-faces/test", flip)
    (shard,) = iter_shards(model, source, [0], len(data), StreamOptions(parts=("alb",), batch_size=4))
    assert shard.names == [f"synthetic-faces/test/{i:07d}#{j}" for i in range(len(data)) for j in range(2)]
    expected = model.extract(torch.stack([images, images.flip(-1)], 1).flatten(0, 1), parts=["alb"])
    np.testing.assert_allclose(shard.parts["alb"], expected.numpy(), rtol=0, atol=1e-5)


def test_probe_reads_shard_folders_with_csv_labels(checkpoint, photos, tmp_path, capsys):
    _, ckpt = checkpoint
    out = tmp_path / "shards"
    assert _extract(ckpt, [str(photos[0].parent)], out, "--shard-size", "10", "--parts", "geom", "alb", "view") == 0
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "file,kind,colour\n" + "".join(f"{p.name},{i % 2},{'red' if i % 3 else 'blue'}\n" for i, p in enumerate(photos))
    )
    assert (
        main(["probe", "cluster", "--features", str(out), "--labels", str(csv), "--json", str(tmp_path / "c.json")])
        == 0
    )
    result = json.loads((tmp_path / "c.json").read_text())
    assert result and "geom-alb" not in capsys.readouterr().out
    assert (
        main(
            [
                "probe",
                "linear",
                "--features",
                str(out),
                "--labels",
                str(csv),
                "--label-column",
                "colour",
                "--budgets",
                "10",
                "--epochs",
                "2",
            ]
        )
        == 0
    )
    assert main(["probe", "pcc", "--features", str(out)]) == 0
    assert "geom-alb" in capsys.readouterr().out
    csv.write_text("file,kind\n" + "".join(f"{p.name},1\n" for p in photos[2:]))
    with pytest.raises(SystemExit, match=r"2 of 23 feature rows have no label in .*labels.csv: .*im0000.png"):
        main(["probe", "cluster", "--features", str(out), "--labels", str(csv)])
    with pytest.raises(
        SystemExit, match=r"--label-column: 'age' is not a column of .* \(columns: \['file', 'kind'\]\)"
    ):
        main(["probe", "cluster", "--features", str(out), "--labels", str(csv), "--label-column", "age"])


@pytest.mark.slow
def test_two_torchrun_processes_write_one_index(checkpoint, photos, tmp_path):
    model, ckpt = checkpoint
    folder = str(photos[0].parent)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "physdis_hub.cli",
            "extract",
            folder,
            "--model",
            f"local-dir:{ckpt}",
            "--no-align",
            "-o",
            str(tmp_path / "two"),
            "--shard-size",
            "4",
            "--workers",
            "0",
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("wrote 23 x 512 features") == 1  # rank 0 alone reports
    source = FileSource(photos)
    index = extract_to_folder(model, source, tmp_path / "one", model_id=f"local-dir:{ckpt}", shard_size=4)
    assert index["shards"] == [{"file": f"shard-{k:06d}.npz", "rows": 4 if k < 5 else 3} for k in range(6)]
    assert read_index(tmp_path / "two")["shards"] == read_index(tmp_path / "one")["shards"]
    np.testing.assert_allclose(
        read_features(tmp_path / "two").features, read_features(tmp_path / "one").features, rtol=0, atol=1e-5
    )


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(checkpoint, tmp_path):
    _, ckpt = checkpoint
    folder = tmp_path / "many"
    write_images(folder, 300, size=32)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "physdis_hub.cli",
        "extract",
        str(folder),
        "--model",
        f"local-dir:{ckpt}",
        "--no-align",
        "--shard-size",
        "20",
        "--batch-size",
        "10",
        "--workers",
        "1",
        "--no-progress",
    ]
    out = tmp_path / "killed"
    proc = subprocess.Popen([*command, "-o", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list(out.glob("shard-*.npz"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no shards written in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in out.glob("shard-*.npz"))
    assert 3 <= len(done) < 15 and not (out / INDEX_NAME).exists()
    kept = {name: (out / name).stat().st_mtime_ns for name in done}
    assert subprocess.run([*command, "-o", str(out)], env=env, capture_output=True, timeout=600).returncode == 0
    assert {name: (out / name).stat().st_mtime_ns for name in done} == kept
    assert (
        subprocess.run([*command, "-o", str(tmp_path / "whole")], env=env, capture_output=True, timeout=600).returncode
        == 0
    )
    resumed, whole = read_features(out), read_features(tmp_path / "whole")
    assert resumed.names == whole.names and len(whole.names) == 300
    np.testing.assert_array_equal(resumed.features, whole.features)


def test_label_join_by_full_name_file_name_and_crop(tmp_path):
    from physdis_hub.probes.cli import join_labels, read_label_csv

    csv = tmp_path / "l.csv"
    csv.write_text("name,score,split\na#1.png,7,test\nb.png,8,train\n/data/c.png,9,train\n\n")
    table = read_label_csv(csv)
    assert table == {"a#1.png": "7", "b.png": "8", "/data/c.png": "9"}
    names = ["/x/a#1.png", "/y/b.png#0", "/y/b.png#1", "/data/c.png"]
    np.testing.assert_array_equal(join_labels(names, table, csv), [7, 8, 8, 9])
    np.testing.assert_array_equal(join_labels(names, read_label_csv(csv, "split"), csv), [0, 1, 1, 1])
    csv.write_text("name,score\nb.png,1\nb.png,2\n")
    with pytest.raises(ValueError, match=r"line 3: 'b.png' is listed twice"):
        read_label_csv(csv)


def test_gather_crops_stacks_rows_and_reports_what_it_leaves_out():
    crop = torch.rand(1, 3, 8, 8)
    items = [
        Item(0, "one.png", crop),
        Item(1, "broken.png", None, error="cannot decode broken.png"),
        Item(2, "blank.png", torch.zeros(0, 3, 8, 8)),
        Item(3, "two.png", torch.cat([crop, 1 - crop]), numbered=True),
    ]
    batch = gather_crops(items, "skip")
    assert batch.crops.shape == (3, 3, 8, 8) and torch.equal(batch.crops[2], 1 - crop[0])
    assert [row_name(it, j) for it, j in batch.rows] == ["one.png", "two.png#0", "two.png#1"]
    assert batch.skipped == [("broken.png", "cannot decode broken.png"), ("blank.png", NO_FACE)]
    with pytest.raises(ValueError, match="cannot decode broken.png; pass --on-error skip"):
        gather_crops(items, "raise")
    assert gather_crops(items[1:3], "skip").crops.shape[0] == 0
