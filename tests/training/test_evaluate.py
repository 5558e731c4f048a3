"""Evaluation: keys, ranges, and the reconstruction error against a direct computation."""

from __future__ import annotations

import math

import pytest
import torch

from physdis_hub.model import PhysDisModel
from training.data import collate_images
from training.evaluate import evaluate
from training.presets import build_preset


@pytest.fixture(scope="module")
def model() -> PhysDisModel:
    torch.manual_seed(0)
    return PhysDisModel(build_preset("tiny").model)


def test_metrics_on_the_test_split(model, tiny_splits) -> None:  # type: ignore[no-untyped-def]
    results = evaluate(model, tiny_splits.test, batch_size=5)  # batches of 5 + 5 + 5 + 1
    assert results["n_images"] == len(tiny_splits.test) == 16
    assert all(isinstance(v, float) and math.isfinite(v) for v in results.values())
    assert 0 < results["recon_l1"] < 1 and 0 < results["mask_coverage"] <= 1
    assert 0 <= results["part_pcc"] <= 1
    # the synthetic test split has 2 unseen identities (and per-image attributes)
    for key in ("cluster_identity_acc", "cluster_identity_f1", "cluster_identity_nmi"):
        assert 0 <= results[key] <= 1
    # recon_l1 is the masked mean absolute error of the rendered reconstruction, in [0, 1] units
    x = collate_images([tiny_splits.test[i] for i in range(16)])
    with torch.no_grad():
        r = model.renderer.render(model.decode_scene(model._encode(x * 2 - 1)))
    expected = float((((r.image + 1) / 2 - x).abs() * r.mask).sum() / (3 * r.mask.sum()))
    assert results["recon_l1"] == pytest.approx(expected, rel=1e-5)
    assert model.training  # left as found


def test_labels_with_too_many_classes_are_not_clustered(model, tiny_splits) -> None:  # type: ignore[no-untyped-def]
    results = evaluate(model, tiny_splits.test, max_classes=1)
    assert not any(k.startswith("cluster_") for k in results)


def test_argument_checks(model, tiny_splits) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="cluster_parts"):
        evaluate(model, tiny_splits.test, cluster_parts=("shape",))
    with pytest.raises(ValueError, match="at least 2 images"):
        evaluate(model, [tiny_splits.test[0]])
