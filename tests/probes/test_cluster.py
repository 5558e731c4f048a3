"""Clustering probe: planted structure, chance level, tracks, multi-attribute protocol, errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from physdis_hub.probes.cluster import (
    attribute_cluster_probe,
    average_by_track,
    cluster_features,
    cluster_probe,
)


def test_planted_clusters_are_recovered(blobs):
    x, y = blobs(60, 5, 32)
    r = cluster_probe(x, y)
    assert (r.n_classes, r.n_clusters, r.n_samples) == (5, 5, 300)
    assert r.accuracy > 0.98 and r.f1 > 0.98 and r.nmi > 0.95


def test_shuffled_labels_score_near_chance(blobs):
    x, y = blobs(60, 5, 32)
    r = cluster_probe(x, np.random.default_rng(1).permutation(y))
    assert r.accuracy < 0.35  # chance = 0.2 plus the small-sample excess of majority voting
    assert r.nmi < 0.05


def test_track_averaging_gives_one_point_per_track():
    x = np.array([[0.0, 0.0], [2.0, 2.0], [10.0, 10.0], [5.0, 5.0], [7.0, 7.0]])
    labels = np.array(["ann", "ann", "bob", "bob", "bob"])
    tracks = np.array([3, 3, 8, 8, 1])
    feats, track_labels, ids = average_by_track(x, labels, tracks)
    assert ids.tolist() == [1, 3, 8]
    assert feats.tolist() == [[7.0, 7.0], [1.0, 1.0], [7.5, 7.5]]
    assert track_labels.tolist() == ["bob", "ann", "bob"]


def test_track_averaging_removes_frame_noise():
    rng = np.random.default_rng(0)
    track_label = np.repeat([0, 1, 2], 10)  # 30 tracks, 3 identities
    centres = rng.normal(scale=1.0, size=(3, 16))
    tracks = np.repeat(np.arange(30), 20)  # 20 frames per track
    frames = centres[track_label[tracks]] + rng.normal(scale=3.0, size=(600, 16))
    per_frame = cluster_probe(frames, track_label[tracks])
    per_track = cluster_probe(frames, track_label[tracks], tracks=tracks)
    assert per_track.per_track and per_track.n_samples == 30
    assert per_track.accuracy == pytest.approx(1.0)
    assert per_frame.accuracy < 0.9


def test_attribute_protocol_averages_over_attributes(blobs):
    x, y = blobs(50, 2, 8)
    rng = np.random.default_rng(0)
    attrs = np.stack([y, 1 - y, rng.integers(0, 2, len(y))], axis=1) * 2 - 1  # CelebA-style {-1, 1}
    r = attribute_cluster_probe(x, attrs, names=["a", "not_a", "noise"])
    per = r.per_attribute
    assert per["a"].accuracy == per["not_a"].accuracy == pytest.approx(1.0)
    assert per["noise"].accuracy < 0.65
    assert r.accuracy == pytest.approx(np.mean([p.accuracy for p in per.values()]))
    assert "noise" in r.attribute_table()


def test_attribute_protocol_matches_separate_runs(blobs):
    x, y = blobs(30, 3, 8)
    attrs = np.stack([y == 0, y == 2], axis=1).astype(int)
    r = attribute_cluster_probe(x, attrs)
    for k in range(2):
        alone = cluster_probe(x, attrs[:, k])
        assert r.per_attribute[f"attr_{k}"].accuracy == pytest.approx(alone.accuracy)


def test_results_serialise(blobs):
    x, y = blobs(10, 3, 4)
    r = cluster_probe(x, y)
    assert json.loads(r.to_json())["accuracy"] == pytest.approx(r.accuracy)
    assert r.to_markdown().startswith("| cluster acc | F1 | NMI |")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": np.zeros(20)}, "labels: need at least 2 distinct classes"),
        ({"n_clusters": 1}, "n_clusters: expected an int >= 2"),
        ({"n_clusters": 50}, "n_clusters: 50 clusters requested for only 20"),
        ({"features": np.zeros((0, 3)), "labels": np.zeros(0)}, "features: empty"),
        ({"labels": np.arange(19) % 2}, "labels: length 19 does not match the 20"),
        ({"tracks": np.arange(7)}, "tracks: length 7"),
        ({"method": "kmeans"}, "method: expected 'ward' or 'finch'"),
    ],
)
def test_degenerate_inputs_raise(kwargs, match):
    args = {"features": np.random.default_rng(0).normal(size=(20, 3)), "labels": np.arange(20) % 2} | kwargs
    with pytest.raises(ValueError, match=match):
        cluster_probe(**args)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features_raise(bad):
    x = np.ones((6, 2))
    x[3, 1] = bad
    with pytest.raises(ValueError, match="features: 1 row"):
        cluster_probe(x, [0, 1] * 3)


def test_constant_attribute_raises():
    with pytest.raises(ValueError, match=r"attributes: columns \['bald'\]"):
        attribute_cluster_probe(np.eye(4), np.array([[0, 1], [0, 0], [0, 1], [0, 0]]), names=["bald", "smile"])


def test_finch_without_the_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "finch", None)
    with pytest.raises(ImportError, match=r"physdis-hub\[finch\]"):
        cluster_features(np.random.default_rng(0).normal(size=(10, 3)), 2, method="finch")


def test_finch_recovers_planted_clusters(blobs):
    pytest.importorskip("finch")
    x, y = blobs(50, 3, 16, spread=6.0)
    r = cluster_probe(x, y, method="finch")
    assert r.method == "finch" and r.accuracy > 0.9
