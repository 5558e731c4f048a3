import pytest

from physdis_hub.hub import save_pretrained
from physdis_hub.model import PhysDisModel
from training.analysis.shape_table import main, shape_rows
from training.presets import build_preset

from .conftest import report_inputs


@pytest.fixture(scope="module")
def tiny():
    config = build_preset("tiny")
    return config, PhysDisModel(config.model).eval()


def test_shape_rows_score_every_model_against_the_null_depth(tiny) -> None:
    config, model = tiny
    rows = shape_rows({"a": model, "b": PhysDisModel(config.model).eval()}, config)
    assert list(rows) == ["a", "b", "null depth"]
    assert rows["null depth"]["side_vs_null"] == 1.0 and rows["null depth"]["mad_vs_null"] == 1.0
    for name in ("a", "b"):
        assert rows[name]["side_vs_null"] == pytest.approx(rows[name]["side"] / rows["null depth"]["side"])
        assert {"hf_ratio", "light_x_corr", "view_yaw_slope", "side_deplaned", "albedo_light_y_corr"} <= set(rows[name])
        assert -1 <= rows[name]["albedo_light_y_corr"] <= 1
        assert {"light_x_shading_slope", "light_z_shading_ratio", "albedo_brightness_slope"} <= set(rows[name])


def test_main_writes_the_report_block_and_csv_and_checks_arguments(tiny, tmp_path, capsys) -> None:
    config, model = tiny
    ckpt = save_pretrained(model, tmp_path / "model")
    cfg, report = report_inputs(tmp_path, config, "ablation")
    assert main([f"local-dir:{ckpt}", "--names", "tiny", "--config", str(cfg), "--report", str(report)]) == 0
    text = report.read_text()
    assert (tmp_path / "data" / "2026-01-01-report" / "ablation.csv").read_text().startswith("model,")
    assert "old" not in text and "| tiny |" in text and "| null depth |" in text and "MAD / null" in text
    with pytest.raises(SystemExit):
        main([f"local-dir:{ckpt}", "--names", "a", "b", "--config", str(cfg)])
    assert "expected 1 names" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([f"local-dir:{ckpt}", "--config", str(cfg), "--report", str(report), "--block", "missing"])
    assert "results:missing:start" in capsys.readouterr().err


def test_only_a_runs_best_checkpoint_is_taken_as_a_training_file(tmp_path) -> None:
    from training.analysis.shape_table import load_model

    with pytest.raises(ValueError, match="expected a run's best.ckpt"):
        load_model(str(tmp_path / "last.ckpt"))
