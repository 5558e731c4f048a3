import pytest
import torch

from physdis_hub.render import Renderer
from physdis_hub.scene import View
from training.analysis.relief_scan import main, photometric_error, refit_light_view, relief_scan, scale_relief
from training.analysis.suite import load_split
from training.presets import build_preset

from .conftest import report_inputs


@pytest.fixture(scope="module")
def tiny():
    """The tiny preset, its renderer and 6 ground-truth test scenes."""
    config = build_preset("tiny")
    true = load_split(config, "test").scene.map(lambda t: t[:6])
    return config, Renderer(config.model), true


def test_scale_relief_scales_the_bulge_and_keeps_the_background() -> None:
    depth = torch.full((2, 8, 8), 1.05)
    depth[:, 2:6, 2:6] = torch.tensor([0.95, 1.0]).view(2, 1, 1)
    assert torch.equal(scale_relief(depth, 1.0), depth)
    deeper = scale_relief(depth, 2.0)
    assert torch.allclose(deeper[:, 0, 0], torch.tensor([1.05, 1.05]))  # background plane stays
    assert torch.allclose(1.05 - deeper[:, 3, 3], 2 * (1.05 - depth[:, 3, 3]))
    with pytest.raises(ValueError, match="factor: expected a positive"):
        scale_relief(depth, 0.0)
    with pytest.raises(ValueError, match=r"depth: expected \(B, S, S\)"):
        scale_relief(depth[0], 1.0)


def test_photometric_error_counts_pixels_either_image_covers() -> None:
    target, mask = torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    rendered, rendered_mask = torch.zeros_like(target), mask.clone()
    rendered_mask[..., 2, :] = 1  # one row more than the target: 12 pixels in the union
    rendered[..., 2, :] = 1.0  # that row differs by 1 in [-1, 1] units = 0.5 in [0, 1] units
    assert float(photometric_error(rendered, rendered_mask, target, mask)) == pytest.approx(0.5 * 4 / 12)


def test_refit_recovers_a_perturbed_view_and_never_ends_worse(tiny) -> None:
    _, renderer, true = tiny
    target = renderer.render(true)
    off = true.with_view(View(true.view.rotation + torch.tensor([0.0, 0.08, 0.0]), true.view.translation))
    out = renderer.render(off)
    start = photometric_error(out.image, out.mask, target.image, target.mask)
    fitted, error = refit_light_view(renderer, off, target.image, target.mask, steps=40, lr=0.01)
    assert (error <= start).all() and float(error.mean()) < 0.5 * float(start.mean())
    assert (fitted.view.rotation[:, 1] - true.view.rotation[:, 1]).abs().mean() < 0.04  # was 0.08 off
    assert torch.equal(fitted.depth, off.depth) and torch.equal(fitted.albedo, off.albedo)
    with pytest.raises(ValueError, match="steps: expected a non-negative"):
        refit_light_view(renderer, off, target.image, target.mask, steps=-1)


def test_relief_scan_is_exact_at_the_truth_and_a_deeper_face_costs_until_refit(tiny) -> None:
    _, renderer, true = tiny
    rows = relief_scan(renderer, true, [1.0, 1.4], steps=20, lr=0.01)
    assert list(rows) == ["relief x1", "relief x1.4"]
    exact = rows["relief x1"]
    assert exact["l1_fixed"] == 0.0 and exact["l1_refit"] < 1e-6  # the light rebuilt from its tilt: rounding
    assert exact["view_yaw_slope"] == pytest.approx(1.0) and exact["light_x_slope"] == pytest.approx(1.0)
    deeper = rows["relief x1.4"]
    assert deeper["l1_fixed"] > 0.0 and deeper["l1_refit"] < deeper["l1_fixed"]
    # the deeper face turns less, and the turn it lacks comes back as a sideways shift
    assert deeper["view_yaw_slope"] < 0.95 and deeper["yaw_shift_corr"] < -0.5


def test_main_writes_the_report_block_and_csv_and_checks_arguments(tiny, tmp_path, capsys) -> None:
    config, _, _ = tiny
    cfg, report = report_inputs(tmp_path, config, "relief-scan")
    args = ["--config", str(cfg), "--images", "4", "--steps", "2", "--factors", "1", "1.2"]
    assert main([*args, "--report", str(report)]) == 0
    text = report.read_text()
    assert (tmp_path / "data" / "2026-01-01-report" / "relief-scan.csv").read_text().startswith("model,")
    assert "old" not in text and "| relief x1 |" in text and "| relief x1.2 |" in text and "yaw slope" in text
    for bad, message in ((["--factors", "0"], "--factors: expected positive"), (["--images", "0"], "--images")):
        with pytest.raises(SystemExit):
            main(["--config", str(cfg), *bad, "--report", str(report)])
        assert message in capsys.readouterr().err
    assert report.read_text() == text  # refused arguments change nothing
    with pytest.raises(SystemExit):
        main([*args, "--report", str(report), "--block", "missing"])
    assert "results:missing:start" in capsys.readouterr().err
