"""The attribution command: a head on all four parts, IG shares that sum to 100, a Grad-CAM PNG."""

import json

import pytest
from PIL import Image

from physdis_hub.hub import save_pretrained
from physdis_hub.model import PARTS, PhysDisModel
from training.analysis.attribution import main
from training.presets import build_preset


def test_attribution_writes_the_figure_and_shares(tmp_path, capsys) -> None:
    pytest.importorskip("captum")
    model = PhysDisModel(build_preset("tiny").model)
    folder = save_pretrained(model, tmp_path / "model")
    out = tmp_path / "fig" / "attribution.png"
    assert main(["--model", f"local-dir:{folder}", "--preset", "tiny", "--out", str(out), "--rows", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["percent"]) == set(PARTS)
    assert sum(result["percent"].values()) == pytest.approx(100, abs=1e-3)
    assert 0 <= result["probe_accuracy"] <= 1
    with Image.open(out) as fig:
        assert fig.width == 5 * (2 * 64 + 2)  # the input and one overlay per part


def test_real_data_preset_is_refused_before_any_work(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--preset", "faces", "--out", str(tmp_path / "x.png")])
    assert "--preset" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
