"""Clustering and segmentation metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from physdis_hub.probes.metrics import (
    cluster_accuracy,
    cluster_f1,
    confusion_matrix,
    majority_labels,
    nmi,
    per_class_iou,
    segmentation_scores,
)

Y = [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]
C1 = [1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 2]
C2 = [1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]


def test_nmi_reference_values_use_the_arithmetic_mean():
    assert nmi(Y, C1) == pytest.approx(0.1089, abs=5e-5)
    assert nmi(Y, C2) == pytest.approx(0.2533, abs=5e-5)


def test_purity_of_the_reference_labelling_by_hand():
    # cluster 1 holds classes {1: 3, 2: 3, 3: 4} -> majority 3 (4); cluster 2 holds {1: 2, 2: 7, 3: 1} -> 7
    assert cluster_accuracy(Y, C1) == pytest.approx((4 + 7) / 20)
    # C2: cluster 1 = {1: 3, 2: 7} -> 7; cluster 2 = {1: 2, 2: 3, 3: 5} -> 5
    assert cluster_accuracy(Y, C2) == pytest.approx((7 + 5) / 20)


def test_purity_and_weighted_f1_small_case_by_hand():
    labels = [0, 0, 0, 1, 1, 2]
    clusters = ["a", "a", "b", "b", "b", "b"]  # a -> 0 (2 of 2), b -> 1 (2 of 4)
    assert list(majority_labels(labels, clusters)) == [0, 0, 1, 1, 1, 1]
    assert cluster_accuracy(labels, clusters) == pytest.approx(4 / 6)
    f1_0 = 2 * 1 * (2 / 3) / (1 + 2 / 3)  # precision 1, recall 2/3
    f1_1 = 2 * 0.5 * 1 / (0.5 + 1)  # precision 2/4, recall 1
    assert cluster_f1(labels, clusters) == pytest.approx((3 * f1_0 + 2 * f1_1 + 1 * 0.0) / 6)


def test_majority_ties_go_to_the_smallest_label():
    assert list(majority_labels([5, 3, 3, 5], [0, 0, 1, 1])) == [3, 3, 3, 3]


def test_perfect_and_permuted_clusterings_score_one():
    labels = np.repeat([0, 1, 2], 4)
    clusters = np.repeat([7, 2, 9], 4)
    assert cluster_accuracy(labels, clusters) == cluster_f1(labels, clusters) == pytest.approx(1.0)
    assert nmi(labels, clusters) == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60))
def test_purity_bounds_and_cluster_relabelling_invariance(pairs):
    labels, clusters = map(np.array, zip(*pairs))
    acc = cluster_accuracy(labels, clusters)
    majority_share = np.bincount(labels).max() / len(labels)
    assert majority_share - 1e-12 <= acc <= 1.0
    assert cluster_accuracy(labels, (clusters + 3) * 11) == pytest.approx(acc)
    assert 0.0 <= cluster_f1(labels, clusters) <= 1.0


@pytest.mark.parametrize(
    "labels, clusters, match",
    [([], [], "labels: empty"), ([0, 1], [0], "lengths differ"), ([[0, 1]], [0], "labels: expected shape")],
)
def test_metric_inputs_are_checked(labels, clusters, match):
    with pytest.raises(ValueError, match=match):
        cluster_accuracy(labels, clusters)


def test_segmentation_scores_by_hand():
    target = np.array([[0, 0], [1, 1]])
    predicted = np.array([[0, 1], [1, 1]])
    conf = confusion_matrix(target, predicted, 3)
    assert conf.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    iou = per_class_iou(conf)
    assert iou[:2] == pytest.approx([1 / 2, 2 / 3]) and np.isnan(iou[2])  # class 2 absent: undefined
    miou, top1, pixel = segmentation_scores(conf, top_k=1)
    assert miou == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert top1 == pytest.approx(2 / 3)
    assert pixel == pytest.approx(3 / 4)


def test_confusion_matrix_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match="predicted: class ids"):
        confusion_matrix(np.zeros(4), np.full(4, 3), 3)
