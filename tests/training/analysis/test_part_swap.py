import pytest
import torch

from physdis_hub.hub import save_pretrained
from physdis_hub.model import PhysDisModel
from physdis_hub.scene import View
from training.analysis.part_swap import PAIRINGS, main, part_swap, pick_better
from training.analysis.suite import load_split
from training.presets import build_preset

from .conftest import report_inputs


@pytest.fixture(scope="module")
def tiny():
    """The tiny preset, an untrained model of it and 6 test images with their ground truth."""
    config = build_preset("tiny")
    data = load_split(config, "test")
    torch.manual_seed(0)
    return config, PhysDisModel(config.model).eval(), data.images[:6], data.scene.map(lambda t: t[:6])


def test_pick_better_takes_each_images_lower_error_fit(tiny) -> None:
    _, _, _, true = tiny
    turned = true.with_view(View(true.view.rotation + 0.1, true.view.translation))
    chosen, error = pick_better(
        true, torch.tensor([1.0, 2.0, 3.0, 1.0, 1.0, 1.0]), turned, torch.tensor([2.0, 1.0, 3.0, 0.5, 1.0, 9.0])
    )
    assert error.tolist() == [1.0, 1.0, 3.0, 0.5, 1.0, 1.0]
    from_turned = torch.tensor([False, True, False, True, False, False])  # ties keep the first
    assert torch.equal(chosen.view.rotation[from_turned], turned.view.rotation[from_turned])
    assert torch.equal(chosen.view.rotation[~from_turned], true.view.rotation[~from_turned])
    assert torch.equal(chosen.depth, true.depth)


def test_the_true_parts_are_the_floor_and_a_refit_never_ends_worse(tiny) -> None:
    _, model, images, true = tiny
    rows = part_swap(model, images, true, steps=5)
    assert list(rows) == ["model as predicted", *(f"{d} depth, {a} albedo, refit" for d, a in PAIRINGS)]
    floor = rows["true depth, true albedo, refit"]
    for key in ("light_x_slope", "light_y_slope", "view_yaw_slope", "view_pitch_slope"):
        assert floor[key] == pytest.approx(1.0, abs=0.02)  # started at the truth, kept where it fits best
    assert floor["l1"] < rows["model depth, model albedo, refit"]["l1"]  # an untrained model's parts fit worse
    assert rows["model depth, model albedo, refit"]["l1"] <= rows["model as predicted"]["l1"] + 1e-6
    with pytest.raises(ValueError, match="images: expected 6 images"):
        part_swap(model, images[:5], true)


def test_main_writes_the_report_block_and_csv_and_checks_arguments(tiny, tmp_path, capsys) -> None:
    config, model, _, _ = tiny
    ckpt = save_pretrained(model, tmp_path / "model")
    cfg, report = report_inputs(tmp_path, config, "part-swap")
    args = [f"local-dir:{ckpt}", "--config", str(cfg), "--images", "4", "--steps", "2"]
    assert main([*args, "--report", str(report)]) == 0
    text = report.read_text()
    assert (tmp_path / "data" / "2026-01-01-report" / "part-swap.csv").read_text().startswith("model,")
    assert "old" not in text and "| model as predicted |" in text and "| true depth, true albedo, refit |" in text
    assert "4 images" in text and "yaw slope" in text
    with pytest.raises(SystemExit):
        main([*args, "--steps", "-1"])
    assert "--images / --steps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--report", str(report), "--block", "missing"])
    assert "results:missing:start" in capsys.readouterr().err
