"""save_pretrained (atomic, refuses to clobber), the model card, push_directory's checks."""

from __future__ import annotations

import dataclasses
import json
import os
from importlib import resources
from pathlib import Path

import pytest
import yaml

from physdis_hub import save_pretrained
from physdis_hub.hub import (
    CheckpointError,
    card,
    publish,
    push_directory,
    render_model_card,
)
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

from .helpers import tiny_config, tiny_model

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL = {"metrics": {"cluster_acc_identity": 0.6123, "nmi|identity": 0.58}, "command": "physdis probe cluster --data x"}


def _card_metadata(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_save_writes_config_weights_and_card(tmp_path):
    model = tiny_model(training_data="synthetic faces (physdis_hub.data)")
    folder = save_pretrained(model, tmp_path / "a" / "ckpt", eval_results=EVAL, repo_id="org/faces")
    assert sorted(p.name for p in folder.iterdir()) == [CARD_NAME, CONFIG_NAME, WEIGHTS_NAME]
    assert json.loads((folder / CONFIG_NAME).read_text()) == model.config.to_dict()
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    for name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME):  # safetensors alone would leave the weights 0600
        assert oct((folder / name).stat().st_mode & 0o777) == oct(0o666 & ~_umask()), name

    text = (folder / CARD_NAME).read_text()
    meta = _card_metadata(text)
    assert meta["library_name"] == "physdis-hub" and meta["license"] == "mit"
    assert meta["datasets"] == ["synthetic faces (physdis_hub.data)"]
    assert {"physdis-hub", "faces", "no-loocc"} <= set(meta["tags"])
    for section in ("## Architecture", "## Training data and licence", "## Evaluation", "## How to load"):
        assert section in text
    assert "| cluster_acc_identity | 0.6123 |" in text and "| nmi\\|identity | 0.58 |" in text
    assert EVAL["command"] in text
    assert 'load_pretrained("hf-hub:org/faces")' in text
    assert (
        f"| geom | depth encoder-decoder, nf 16 | 32 | {sum(p.numel() for p in model.depth_net.parameters()):,} |"
        in text
    )
    assert "${" not in text  # every placeholder was filled


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_card_without_eval_results_and_from_a_json_file(tmp_path):
    text = render_model_card(tiny_model())
    assert "No evaluation results were recorded" in text and "local-dir:path/to/this/folder" in text
    assert _card_metadata(text)["datasets"] == []
    (tmp_path / "eval.json").write_text(json.dumps(EVAL))
    assert "| cluster_acc_identity | 0.6123 |" in render_model_card(tiny_model(), eval_results=tmp_path / "eval.json")


def test_card_says_whether_the_part_scales_are_calibrated():
    model = tiny_model()
    assert "Part scales: not calibrated" in render_model_card(model)
    model.config = model.config.replace(part_scales=(0.064, 0.531, 0.129, 0.0294))
    assert "geom 0.064, alb 0.531, light 0.129, view 0.0294" in render_model_card(model)


def test_card_input_section_says_that_face_models_detect_and_crop_faces():
    faces = render_model_card(tiny_model(category="faces"))
    assert "is searched for faces (MTCNN) and each face is aligned and cropped to 64x64" in faces
    assert "`align=False` turns this off" in faces and "other sizes" not in faces
    cars = render_model_card(tiny_model(category="cars", resize="stretch"))
    assert (
        "Input: RGB images in [0, 1] (or uint8), brought to 64x64 by stretch." in cars
        and "faces" not in cars.split("## Architecture")[1].split("## Training")[0]
    )


def test_card_shows_baselines_beside_the_model_and_the_notes_above():
    results = {**EVAL, "baselines": {"pixels|PCA": {"cluster_acc_identity": 0.25}}, "notes": "Budget: 3 epochs."}
    text = render_model_card(tiny_model(), eval_results=results)
    assert "Budget: 3 epochs.\n\n| metric | value | pixels\\|PCA |" in text
    assert "| cluster_acc_identity | 0.6123 | 0.25 |" in text and "| nmi\\|identity | 0.58 | - |" in text


@pytest.mark.parametrize(
    "bad",
    [
        {"metrics": {"acc": 0.5}},
        {"metrics": {"acc": 0.5}, "command": "x", "extra": 1},
        {"metrics": {}, "command": "x"},
        {"metrics": {"acc": float("nan")}, "command": "x"},
        {"metrics": {"acc": True}, "command": "x"},
        {"metrics": {"acc": 0.5}, "command": " "},
        {"metrics": {"acc": 0.5}, "command": "x", "baselines": {"pixels": {"acc": float("inf")}}},
        {"metrics": {"acc": 0.5}, "command": "x", "baselines": [1]},
        {"metrics": {"acc": 0.5}, "command": "x", "notes": 3},
        [1, 2],
        "/does/not/exist.json",
    ],
)
def test_bad_eval_results_fail_before_anything_is_written(bad, tmp_path):
    with pytest.raises(ValueError, match="eval_results"):
        save_pretrained(tiny_model(), tmp_path / "ckpt", eval_results=bad)
    assert list(tmp_path.iterdir()) == []


def test_the_template_ships_in_the_package_and_model_cards_points_to_it():
    packaged = resources.files("physdis_hub.hub").joinpath(card.TEMPLATE_NAME)
    source = REPO_ROOT / "model_cards" / "template.md"
    assert source.resolve() == Path(str(packaged)).resolve()
    assert "library_name: physdis-hub" in packaged.read_text()


def test_save_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()
    save_pretrained(tiny_model(), target)  # an empty folder is fine
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="directory: .* is not empty; pass overwrite=True"):
        save_pretrained(tiny_model(seed=1), target)
    assert (target / "notes.txt").exists()
    save_pretrained(tiny_model(seed=1), target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == [CARD_NAME, CONFIG_NAME, WEIGHTS_NAME]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary siblings left
    with pytest.raises(TypeError, match="model: expected a PhysDisModel"):
        save_pretrained(object(), tmp_path / "x")  # type: ignore[arg-type]
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="directory: .* is not a folder"):
        save_pretrained(tiny_model(), tmp_path / "file")


def test_a_failed_save_leaves_no_half_written_folder(tmp_path, monkeypatch):
    def fail(model, directory):  # type: ignore[no-untyped-def]
        (directory / CONFIG_NAME).write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(publish, "write_checkpoint", fail)
    with pytest.raises(OSError, match="disk full"):
        save_pretrained(tiny_model(), tmp_path / "new")
    assert list(tmp_path.iterdir()) == []

    monkeypatch.undo()
    old = save_pretrained(tiny_model(), tmp_path / "old")
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    monkeypatch.setattr(publish, "write_checkpoint", fail)
    with pytest.raises(OSError, match="disk full"):
        save_pretrained(tiny_model(seed=1), old, overwrite=True)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["old"]


def test_push_directory_checks_the_folder_first(tmp_path):
    with pytest.raises(ValueError, match="repo_id: expected 'org/name'"):
        push_directory(tmp_path, "no-slash")
    with pytest.raises(CheckpointError, match="expected config.json and model.safetensors"):
        push_directory(tmp_path, "org/faces")
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    config = tiny_config()
    config.replace(nets=dataclasses.replace(config.nets, depth_nf=32)).to_json(folder / CONFIG_NAME)
    with pytest.raises(CheckpointError, match="does not match config.json"):
        push_directory(folder, "org/faces")  # refused before any network access
