"""The command lines: train (one run, export with a card), reproduce (variants, summary, push, refusals)."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import pytest
import torch

from physdis_hub.config import ModelConfig
from physdis_hub.hub import load_pretrained
from training import presets as presets_module
from training import reproduce, train
from training.trainer import load_best_model

from ..hub.helpers import point_huggingface_hub_at
from ..hub.hub_server import HubServer


def test_train_exports_the_best_epoch_with_its_numbers(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    argv = ["--preset", "tiny", "--variant", "L", "--epochs", "1", "--no-progress", "--out", str(out)]
    assert train.main(argv) == 0
    card = (out / "model" / "README.md").read_text()
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["command"] == "python -m training.train " + " ".join(argv)
    for name in ("recon_l1", "part_pcc", "cluster_identity_acc", "best_epoch", "val_loss"):
        assert f"| {name} | {evaluation['metrics'][name]:.4g} |" in card
    assert ModelConfig.from_json(out / "model" / "config.json").variant == "L"
    assert "exported to" in capsys.readouterr().err
    # refusing to overwrite a finished run is a clear one-line error, not a traceback
    assert train.main(argv) == 2
    assert "already holds last.ckpt; resume it (--resume)" in capsys.readouterr().err


def test_train_refuses_push_without_export(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    status = train.main(["--preset", "tiny", "--out", str(tmp_path), "--no-export", "--push-to-hub", "a/b"])
    assert status == 2 and "--push-to-hub needs the export" in capsys.readouterr().err


def test_reproduce_without_data_says_where_to_get_it(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PHYSDIS_DATA", raising=False)
    assert reproduce.main(["faces"]) == 2
    err = capsys.readouterr().err
    assert "UTKFace" in err and "--data-dir" in err and "--preset faces-synthetic-cpu" in err
    assert reproduce.main(["cars", "--variant", "LV"]) == 2
    err = capsys.readouterr().err
    assert "unsup3d" in err and "download_syncar.sh" in err and "--preset cars-synthetic-cpu" in err
    assert reproduce.main(["cars", "--preset", "cars-cpu"]) == 2  # a real-data preset needs data too
    assert "--data-dir" in capsys.readouterr().err
    assert reproduce.main(["cars", "--preset", "faces-synthetic-cpu"]) == 2
    assert "is a faces preset, not a cars one" in capsys.readouterr().err
    assert reproduce.main(["faces", "--data-dir", "/data"]) == 2  # bundled VGG16: the data folder is what is missing
    assert "utkface: no such folder: /data" in capsys.readouterr().err
    monkeypatch.setattr(presets_module, "BUNDLED_VGG16", Path("/nonexistent/vgg16.safetensors"))
    assert reproduce.main(["faces", "--data-dir", "/data"]) == 2  # without it, the paper preset needs VGG16 weights
    assert "--perceptual-weights" in capsys.readouterr().err


def test_reproduce_trains_evaluates_exports_and_pushes(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "repro"
    with HubServer() as server:
        point_huggingface_hub_at(monkeypatch, server.url, tmp_path / "hf-home")
        try:
            argv = [
                "faces",
                "--preset",
                "tiny",
                "--variant",
                "LV",
                "--epochs",
                "1",
                "--no-progress",
                "--out",
                str(out),
                "--push-to-hub",
                "lab",
            ]
            assert reproduce.main(argv) == 0
            pushed = load_pretrained("hf-hub:lab/physdis-tiny-loocc-lv")
        finally:
            huggingface_hub.close_session()
    summary = json.loads((out / "results.json").read_text())
    assert summary["preset"] == "tiny" and list(summary["variants"]) == ["LV"]
    assert summary["variants"]["LV"]["recon_l1"] > 0
    assert "| LV | " in (out / "RESULTS.md").read_text()
    best, _ = load_best_model(out / "LV")
    for name, tensor in best.state_dict().items():
        assert torch.equal(pushed.state_dict()[name], tensor), name
    assert "pushed to lab/physdis-tiny-loocc-lv" in capsys.readouterr().err


def test_reproduce_all_variants(tmp_path: Path) -> None:
    out = tmp_path / "repro"
    assert reproduce.main(["faces", "--preset", "tiny", "--epochs", "2", "--no-progress", "--out", str(out)]) == 0
    summary = json.loads((out / "results.json").read_text())
    assert list(summary["variants"]) == ["none", "L", "LV"]
    table = (out / "RESULTS.md").read_text()
    for variant in ("none", "L", "LV"):
        assert (out / variant / "model" / "README.md").is_file()
        assert f"| {variant} | " in table


@pytest.mark.parametrize(
    ("org", "preset", "variant", "expected"),
    [
        ("lab", "faces", "none", "lab/physdis-faces-no-loocc"),
        ("x", "cars-synthetic-cpu", "LV", "x/physdis-cars-synthetic-cpu-loocc-lv"),
    ],
)
def test_repo_names(org: str, preset: str, variant: str, expected: str) -> None:
    assert reproduce.repo_name(org, preset, variant) == expected


def test_loss_scene_loocc_and_shape_init_overrides_change_only_the_named_values() -> None:
    base = presets_module.build_preset("tiny", "LV")
    args = train._parser().parse_args(
        [
            "--preset",
            "tiny",
            "--variant",
            "LV",
            "--out",
            "x",
            "--loss",
            "lam_normal_smooth=0.5",
            "--loocc",
            "cycle_weight=2",
            "--scene",
            "border_depth=1.05",
            "--scene",
            "fov_deg=12",
            "--weight-decay",
            "0",
            "--shape-init",
            "bulge=0.45",
            "--shape-init",
            "steps=7",
            "--precision",
            "bf16",
            "--adam-impl",
            "fused",
        ]
    )
    config = train.apply_overrides(base, args)
    assert (config.precision, base.precision) == ("bf16", "fp32")
    assert config.model.loss.lam_normal_smooth == 0.5 and config.loocc.cycle_weight == 2.0
    assert config.model.scene == base.model.scene.replace(border_depth=1.05, fov_deg=12.0)
    assert config.optim == base.optim.replace(weight_decay=0.0, adam_impl="fused")
    assert config.shape_init.bulge == 0.45 and config.shape_init.steps == 7 and isinstance(config.shape_init.steps, int)
    assert config.model.loss.replace(lam_normal_smooth=base.model.loss.lam_normal_smooth) == base.model.loss
    assert config.loocc.replace(cycle_weight=0.0) == base.loocc
    assert config.shape_init.replace(bulge=base.shape_init.bulge, steps=base.shape_init.steps) == base.shape_init
    for flag, item, message in [
        ("--loocc", "variant=1", "NAME one of"),
        ("--loocc", "cycle_weight", "NAME=VALUE"),
        ("--loss", "lam_flip=x", "expected a number"),
        ("--loocc", "cycle_weight=-1", "cycle_weight"),
        ("--shape-init", "steps=1.5", "expected a whole number"),
        ("--shape-init", "semi_axes=1", "NAME one of"),
        ("--shape-init", "bulge=2", "bulge"),
        ("--loocc", "gather=maybe", "expected true or false"),
        ("--scene", "fov_deg=200", "fov_deg"),
        ("--weight-decay", "-1", "weight_decay"),
        ("--lr", "0", "OptimConfig.lr"),
    ]:
        args = train._parser().parse_args(["--preset", "tiny", "--out", "x", flag, item])
        with pytest.raises(presets_module.PresetError, match=message):
            train.apply_overrides(base, args)


def test_dataset_override_swaps_one_synthetic_set_for_another() -> None:
    base = presets_module.build_preset("tiny", "none")
    args = train._parser().parse_args(["--preset", "tiny", "--out", "x", "--dataset", "synthetic-faces-ict"])
    config = train.apply_overrides(base, args)
    assert config.data == base.data.replace(dataset="synthetic-faces-ict")
    assert config.replace(data=base.data) == base
    args = train._parser().parse_args(["--preset", "tiny", "--out", "x", "--dataset", "utkface"])
    with pytest.raises(presets_module.PresetError, match="--dataset utkface: replaces only a synthetic data set"):
        train.apply_overrides(base, args)
    args = train._parser().parse_args(["--preset", "tiny", "--out", "x", "--dataset", "synthetic-face"])
    with pytest.raises(KeyError, match="unknown data set 'synthetic-face'"):
        train.apply_overrides(base, args)


@pytest.mark.slow  # a real one-epoch run: about 20 s on a loaded core
def test_loocc_style_code_trains_as_the_authors_code(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = [
        "--preset",
        "tiny",
        "--variant",
        "LV",
        "--loocc-style",
        "code",
        "--epochs",
        "1",
        "--no-progress",
        "--no-export",
        "--out",
        str(out),
    ]
    assert train.main(argv) == 0
    stored = json.loads((out / "train_config.json").read_text())
    assert stored["loocc"]["style"] == "code" and stored["loocc"]["light_mode"] == "vector"
    assert stored["model"]["nets"]["encoder_head"] == "tanh-conv" and stored["augment"]["p_hflip"] == 0.5


def test_init_refuses_the_code_style(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The code style swaps the light/view encoders' heads; a pretrained model's are fixed."""
    argv = ["--init", "unsup3d-celeba", "--data", "celeba", "--loocc-style", "code", "--out", str(tmp_path / "run")]
    assert train.main(argv) == 2
    assert "--loocc-style code changes the light and view encoders' heads" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
