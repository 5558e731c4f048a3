import math

import pytest
import torch

from physdis_hub.model import PhysDisModel
from tests.conftest import small_config
from tests.render.test_renderer import face_like_scene
from training.suite import depth_errors, markdown_table, replace_block


def test_side_is_scale_invariant_and_mad_zero_for_identical() -> None:
    model = PhysDisModel(small_config())
    gt = face_like_scene(2).depth
    mask = torch.ones(2, 1, 64, 64)
    mask[:, :, :4], mask[:, :, -4:], mask[..., :4], mask[..., -4:] = 0, 0, 0, 0
    same = depth_errors(gt, gt, mask, model)
    assert same["side"] == pytest.approx(0, abs=1e-6) and same["mad_deg"] == pytest.approx(0, abs=0.05)
    scaled = depth_errors(gt * 1.3, gt, mask, model)
    assert scaled["side"] == pytest.approx(0, abs=1e-6)
    flat = depth_errors(torch.full_like(gt, 1.0), gt, mask, model)
    expected = torch.log(gt[:, 4:-4, 4:-4]).flatten(1).std(1, unbiased=False).mean().item()
    assert flat["side"] == pytest.approx(expected, rel=1e-4)
    assert 0 < flat["mad_deg"] < 90


def test_table_and_readme_block(tmp_path) -> None:
    rows = {"ours": {"cluster_ood_acc": 0.5, "side": 0.01}, "pixels": {"cluster_ood_acc": 0.25, "side": math.nan}}
    table = markdown_table(rows)
    assert "| ours | 0.5 | 0.01 |" in table and "| pixels | 0.25 | - |" in table
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- results:faces:start -->\nold\n<!-- results:faces:end -->\nb\n")
    replace_block(readme, "faces", table)
    assert "old" not in readme.read_text() and table in readme.read_text()
    with pytest.raises(ValueError, match="results:cars"):
        replace_block(readme, "cars", table)
