"""Linear probe: budgets, planted linear labels, chance level, multi-label, fine-tuning, baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from physdis_hub.probes.extractors import PartsExtractor
from physdis_hub.probes.linear import (
    ProbeHead,
    budget_split,
    finetune_probe,
    linear_probe,
    supervised_resnet18_probe,
)


def test_budget_is_stratified_seeded_and_disjoint_from_the_rest():
    labels = np.array([0] * 600 + [1] * 300 + [2] * 100)
    budget, rest = budget_split(labels, 100, seed=3)
    assert np.bincount(labels[budget]).tolist() == [60, 30, 10]
    assert len(rest) == 900 and not set(budget) & set(rest)
    assert np.array_equal(budget, budget_split(labels, 100, seed=3)[0])
    assert not np.array_equal(budget, budget_split(labels, 100, seed=4)[0])


def test_budget_rounds_by_largest_remainder():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    budget, _ = budget_split(labels, 5, seed=0)  # exact shares 2.5, 1.5, 1.0
    assert np.bincount(labels[budget]).sum() == 5 and np.bincount(labels[budget])[2] == 1


def test_budget_errors_name_the_argument():
    with pytest.raises(ValueError, match="n_train: budget 11 exceeds the 10"):
        budget_split(np.arange(10), 11)
    with pytest.raises(ValueError, match="n_train: expected an int >= 1"):
        budget_split(np.arange(10), 0)


def _linear_task(n: int, dim: int, seed: int, margin: float = 1.0):
    """Features with uneven scales (standardisation matters) and 3 linear scores ``(n, 3)``; samples
    whose scores come within ``margin`` of a decision boundary are dropped."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(dim, 3))
    x = rng.normal(size=(3 * n, dim)) * rng.uniform(0.1, 10, size=dim)
    scores = (x / x.std(0)) @ w
    top2 = np.sort(scores, axis=1)[:, -2:]
    keep = np.flatnonzero((top2[:, 1] - top2[:, 0] > margin) & (np.abs(scores).min(1) > margin / 2))[:n]
    return x[keep], scores[keep]


def test_planted_linear_labels_are_learned_and_shuffled_ones_are_not():
    x, scores = _linear_task(1500, 32, seed=0)
    y = scores.argmax(1)
    r = linear_probe(x[:1000], y[:1000], x[1000:], y[1000:], n_train=500, epochs=100)
    assert r.accuracy > 0.93 and r.n_train == 500 and r.n_test == 500 and r.task == "multiclass"
    shuffled = np.random.default_rng(1).permutation(y)
    chance = linear_probe(x[:1000], shuffled[:1000], x[1000:], shuffled[1000:], n_train=500, epochs=100)
    assert chance.accuracy < 0.45  # 3 balanced-ish classes


def test_multilabel_attributes_use_sigmoid_and_threshold():
    x, scores = _linear_task(1200, 16, seed=1)
    attrs = np.where(scores > 0, 1, -1)  # CelebA-style {-1, 1}
    r = linear_probe(x[:800], attrs[:800], x[800:], attrs[800:], n_train=500, epochs=60, head="mlp")
    assert r.task == "multilabel" and len(r.per_attribute) == 3
    assert r.accuracy == pytest.approx(np.mean(r.per_attribute))
    assert r.accuracy > 0.9


def test_probe_errors_name_the_argument():
    x = np.random.default_rng(0).normal(size=(20, 4))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="test_features: 3 dimensions"):
        linear_probe(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="train_labels: need at least 2 distinct classes"):
        linear_probe(x, np.zeros(20), x, y)
    with pytest.raises(ValueError, match="test_labels: length 5"):
        linear_probe(x, y, x, y[:5])
    with pytest.raises(ValueError, match="head: expected 'linear' or 'mlp'"):
        linear_probe(x, y, x, y, n_train=10, head="svm")
    with pytest.raises(ValueError, match="lr: expected a positive learning rate"):
        linear_probe(x, y, x, y, n_train=10, lr=0.0)
    with pytest.raises(ValueError, match="epochs: expected an int >= 1"):
        linear_probe(x, y, x, y, n_train=10, epochs=0)
    x[2, 2] = np.nan
    with pytest.raises(ValueError, match="train_features: 1 row"):
        linear_probe(x, y, x, y)


def test_probe_head_standardises_inputs():
    head = ProbeHead(2, 1, mean=torch.tensor([1.0, 2.0]), std=torch.tensor([2.0, 4.0]))
    with torch.no_grad():
        head.net.weight.copy_(torch.tensor([[1.0, 1.0]]))
        head.net.bias.zero_()
    assert head(torch.tensor([[3.0, 6.0]])).item() == pytest.approx(2.0)


def test_finetuning_trains_a_copy_of_the_extractor(small_model):
    extractor = PartsExtractor.from_model(small_model, ("geom",))
    before = {k: v.clone() for k, v in extractor.state_dict().items()}
    torch.manual_seed(0)
    images = torch.rand(48, 3, 64, 64)
    labels = (images[:, 0].mean((1, 2)) > images[:, 2].mean((1, 2))).long().numpy()
    r = finetune_probe(extractor, images[:32], labels[:32], images[32:], labels[32:], n_train=24, epochs=2)
    assert r.mode == "finetune" and r.n_train == 24 and r.n_test == 16 and np.isfinite(r.final_loss)
    assert all(torch.equal(before[k], v) for k, v in extractor.state_dict().items())


def test_supervised_resnet18_baseline_runs_on_the_same_budget():
    torch.manual_seed(0)
    images = torch.rand(24, 3, 64, 64)
    labels = np.arange(24) % 3
    r = supervised_resnet18_probe(images, labels, images, labels, n_train=12, epochs=1, batch_size=12)
    assert r.n_train == 12 and 0.0 <= r.accuracy <= 1.0


def test_result_keeps_the_trained_head_out_of_json():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    feats = (rng.normal(size=(60, 4)) + labels[:, None] * 3).astype(np.float32)
    res = linear_probe(feats, labels, feats, labels, n_train=None, epochs=30)
    assert isinstance(res.trained, ProbeHead)
    logits = res.trained(torch.from_numpy(feats))
    assert float((logits.argmax(1).numpy() == labels).mean()) == pytest.approx(res.accuracy)
    assert "trained" not in res.to_dict()
    json.loads(res.to_json())
