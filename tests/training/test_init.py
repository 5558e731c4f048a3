"""``--init``: LOOCC training from Unsup3d's released networks, on a CelebA tree in the released layout.

The official archive comes from a local server (``PHYSDIS_UNSUP3D_URL``) in the official layout,
with random weights (tests/hub/official_archives.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from physdis_hub import PARTS, load_pretrained
from training.init import INIT_PRESET, init_config
from training.logs import EPOCHS_CSV, read_csv
from training.presets import PresetError
from training.train import main
from training.trainer import CONFIG_FILE, Trainer

from ..data.conftest import write_celeba_tree
from ..hub.archive_server import ArchiveServer
from ..hub.official_archives import point_at, write_archive

IMAGES = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path, _ = write_archive(tmp_path_factory.mktemp("archive"), "celeba", legacy=True, full=False, seed=3)
    yield path
    path.unlink()


@pytest.fixture
def official(archive: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ArchiveServer]:
    with ArchiveServer() as server:
        server.files[archive.name] = archive
        point_at(monkeypatch, server.url, tmp_path / "hf-home")
        yield server


def test_step_zero_computes_the_official_model(official, tmp_path) -> None:
    config = init_config(
        "unsup3d-celeba",
        "LV",
        data="celeba",
        data_dir=str(write_celeba_tree(tmp_path / "celeba", [0, 0, 0, 1, 2, 2])),
        batch_size=2,
    )
    pretrained = load_pretrained("unsup3d-celeba")
    assert config.preset == INIT_PRESET and config.init == "unsup3d-celeba" and config.variant == "LV"
    assert config.model.nets == pretrained.config.nets and config.model.scene == pretrained.config.scene
    assert config.model.loss == pretrained.config.loss and config.perceptual_weights  # the paper's perceptual term
    model = Trainer(config, tmp_path / "run", progress=False).model.eval()
    state, expected = model.state_dict(), pretrained.state_dict()
    assert state.keys() == expected.keys() and all(torch.equal(state[k], expected[k]) for k in state)
    assert model.conf_net is not None  # every network, the confidence network too
    assert torch.equal(model.extract(IMAGES, parts=PARTS), pretrained.extract(IMAGES, parts=PARTS))
    assert torch.equal(model.decompose(IMAGES).reconstruction, pretrained.decompose(IMAGES).reconstruction)


@pytest.mark.slow  # two epochs of the paper-width networks and their 350 MB checkpoints: ~20-50 s here
def test_train_and_resume_from_unsup3d_celeba(official, tmp_path, capsys) -> None:
    data = write_celeba_tree(tmp_path / "celeba", [0, 0, 0, 0, 1, 2])
    run = tmp_path / "run"
    argv = [
        "--init",
        "unsup3d-celeba",
        "--variant",
        "L",
        "--data",
        "celeba",
        "--data-dir",
        str(data),
        "--out",
        str(run),
        "--batch-size",
        "2",
        "--no-export",
        "--no-progress",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    assert main([*argv, "--epochs", "1"]) == 0, capsys.readouterr().err
    official.stop()  # the converted model is cached: resuming needs no network
    assert main([*argv, "--epochs", "2", "--resume"]) == 0, capsys.readouterr().err
    assert "resuming after epoch 1" in capsys.readouterr().err
    saved = json.loads((run / CONFIG_FILE).read_text())
    assert saved["init"] == "unsup3d-celeba" and saved["loocc"]["variant"] == "L"
    epochs = read_csv(run / EPOCHS_CSV)
    assert [row["epoch"] for row in epochs] == ["1", "2"]
    assert all(math.isfinite(float(row[key])) for row in epochs for key in ("train_loocc", "train_total", "val_loss"))


def test_init_refusals(official, tmp_path, capsys) -> None:
    assert main(["--init", "unsup3d-celeba", "--out", str(tmp_path / "a")]) == 2
    assert "--init needs --data DATASET" in capsys.readouterr().err
    assert main(["--preset", "tiny", "--data", "celeba", "--out", str(tmp_path / "b")]) == 2
    assert "--data is for --init runs" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "c")]) == 2
    assert "give either --preset NAME or --init MODEL" in capsys.readouterr().err
    with pytest.raises(PresetError, match="--init unsup3d-celebb: no pretrained model named 'unsup3d-celebb'"):
        init_config("unsup3d-celebb", "L", data="celeba", data_dir=None)
