"""Clustering probe (paper Sec. 4.2, 4.4-4.6, 4.8).

Ward-linkage agglomerative clustering with as many clusters as classes, scored by cluster accuracy
(weighted purity), weighted F1 and NMI (:mod:`physdis_hub.probes.metrics`). Variants:

- video identification: features averaged per track first (:func:`average_by_track`);
- multi-attribute (CelebA's 40 binary attributes): 2 clusters scored against each attribute, then
  averaged (:func:`attribute_cluster_probe`). The features, hence the 2-cluster partition, are the same
  for every attribute, so the clustering runs once and is scored 40 times: this gives exactly the
  numbers of 40 separate runs;
- FINCH (``method="finch"``, extra ``physdis-hub[finch]``) in place of Ward.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from sklearn.cluster import AgglomerativeClustering

from ..errors import InputError
from ._checks import as_binary_matrix, as_features, as_labels, check_positive_int
from .metrics import cluster_accuracy, cluster_f1, majority_labels, nmi
from .report import ProbeResult, markdown_table

Method = Literal["ward", "finch"]


def cluster_features(features: ArrayLike, n_clusters: int, *, method: Method = "ward") -> np.ndarray:
    """Partition samples into ``n_clusters`` groups.

    Args:
        features: ``(N, D)`` finite values.
        n_clusters: number of clusters, ``2 <= n_clusters <= N``.
        method: ``"ward"`` (scikit-learn ``AgglomerativeClustering(linkage="ward")``, Euclidean) or
            ``"finch"`` (FINCH's partition with ``req_clust=n_clusters``, cosine distance; when even
            FINCH's finest partition has fewer clusters than requested, FINCH returns that one).

    Returns:
        ``(N,)`` int cluster ids.
    """
    x = as_features("features", features)
    n_clusters = check_positive_int("n_clusters", n_clusters, minimum=2)
    if n_clusters > len(x):
        raise InputError(f"n_clusters: {n_clusters} clusters requested for only {len(x)} samples")
    if method == "ward":
        return AgglomerativeClustering(n_clusters=n_clusters, linkage="ward").fit_predict(x)
    if method == "finch":
        return _finch(x, n_clusters)
    raise InputError(f"method: expected 'ward' or 'finch', got {method!r}")


def _finch(x: np.ndarray, n_clusters: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # finch warns at import when its optional ANN backends are absent
            warnings.simplefilter("ignore")
            from finch import FINCH
    except ImportError as err:
        raise ImportError("method='finch' needs the finch-clust package: pip install 'physdis-hub[finch]'") from err
    _, _, requested = FINCH(x, req_clust=n_clusters, distance="cosine", verbose=False)
    return np.asarray(requested, dtype=np.int64)


def average_by_track(
    features: ArrayLike, labels: ArrayLike, tracks: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One feature and one label per track (video face clustering, paper Sec. 4.5).

    Args:
        features: ``(N, D)`` per-frame features.
        labels: ``(N,)`` per-frame identities.
        tracks: ``(N,)`` track id of every frame.

    Returns:
        ``(T, D)`` mean feature of each track, ``(T,)`` its label (the majority over its frames, ties
        to the smallest label; tracks normally have one identity) and ``(T,)`` the sorted track ids.
    """
    x = as_features("features", features)
    y = as_labels("labels", labels, n=len(x))
    t = as_labels("tracks", tracks, n=len(x))
    ids, inverse = np.unique(t, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(ids)).astype(np.float64)
    sums = np.zeros((len(ids), x.shape[1]))
    np.add.at(sums, inverse, x)
    track_labels = majority_labels(y, inverse)
    first = np.unique(inverse, return_index=True)[1]
    return sums / counts[:, None], track_labels[first], ids


@dataclass
class ClusterResult(ProbeResult):
    """Scores of one clustering.

    Attributes:
        method: ``"ward"`` or ``"finch"``.
        n_samples: number of points clustered (tracks when ``per_track``).
        n_classes: number of ground-truth classes.
        n_clusters: number of clusters found.
        accuracy: weighted cluster purity (paper Eq. 8).
        f1: weighted F1 after majority labelling.
        nmi: normalised mutual information (arithmetic mean).
        per_track: whether features were averaged per track first.
    """

    method: str
    n_samples: int
    n_classes: int
    n_clusters: int
    accuracy: float
    f1: float
    nmi: float
    per_track: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "cluster acc": self.accuracy,
            "F1": self.f1,
            "NMI": self.nmi,
            "N": self.n_samples,
            "classes": self.n_classes,
            "clusters": self.n_clusters,
            "algorithm": self.method,
        }


def _score(y: np.ndarray, clusters: np.ndarray, method: str, n_classes: int, per_track: bool) -> ClusterResult:
    return ClusterResult(
        method=method,
        n_samples=len(y),
        n_classes=n_classes,
        n_clusters=len(np.unique(clusters)),
        accuracy=cluster_accuracy(y, clusters),
        f1=cluster_f1(y, clusters),
        nmi=nmi(y, clusters),
        per_track=per_track,
    )


def cluster_probe(
    features: ArrayLike,
    labels: ArrayLike,
    *,
    tracks: ArrayLike | None = None,
    method: Method = "ward",
    n_clusters: int | None = None,
) -> ClusterResult:
    """Cluster features and score the partition against class labels.

    Args:
        features: ``(N, D)`` finite features.
        labels: ``(N,)`` classes; at least 2 distinct.
        tracks: optional ``(N,)`` track ids; features are then averaged per track
            (:func:`average_by_track`) and tracks are clustered.
        method: ``"ward"`` or ``"finch"``.
        n_clusters: defaults to the number of classes (the paper's protocol).

    Returns:
        :class:`ClusterResult`.
    """
    x = as_features("features", features)
    y = as_labels("labels", labels, n=len(x))
    if tracks is not None:
        x, y, _ = average_by_track(x, y, tracks)
    n_classes = len(np.unique(y))
    if n_classes < 2:
        raise InputError(f"labels: need at least 2 distinct classes, got {n_classes}")
    k = n_classes if n_clusters is None else n_clusters
    clusters = cluster_features(x, k, method=method)
    return _score(y, clusters, method, n_classes, tracks is not None)


@dataclass
class AttributeClusterResult(ProbeResult):
    """Multi-attribute protocol: 2 clusters scored against each binary attribute, then averaged.

    Attributes:
        method: ``"ward"`` or ``"finch"``.
        n_samples: number of samples.
        accuracy: mean cluster accuracy over attributes.
        f1: mean weighted F1 over attributes.
        nmi: mean NMI over attributes.
        per_attribute: attribute name -> its :class:`ClusterResult`.
    """

    method: str
    n_samples: int
    accuracy: float
    f1: float
    nmi: float
    per_attribute: dict[str, ClusterResult] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "mean cluster acc": self.accuracy,
            "mean F1": self.f1,
            "mean NMI": self.nmi,
            "N": self.n_samples,
            "attributes": len(self.per_attribute),
            "algorithm": self.method,
        }

    def attribute_table(self) -> str:
        """Markdown table with one row per attribute."""
        return markdown_table([{"attribute": name, **r.summary()} for name, r in self.per_attribute.items()])


def attribute_cluster_probe(
    features: ArrayLike,
    attributes: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    method: Method = "ward",
) -> AttributeClusterResult:
    """Cluster into 2 groups and score against each binary attribute (CelebA protocol, Sec. 4.4).

    Args:
        features: ``(N, D)`` finite features.
        attributes: ``(N, K)`` binary attributes in {0, 1} or {-1, 1}; every column must take both values.
        names: ``K`` attribute names (default ``attr_0`` ... ``attr_{K-1}``).
        method: ``"ward"`` or ``"finch"``.

    Returns:
        :class:`AttributeClusterResult` with the means over the K attributes.
    """
    x = as_features("features", features)
    a = as_binary_matrix("attributes", attributes, n=len(x))
    names = [f"attr_{k}" for k in range(a.shape[1])] if names is None else list(names)
    if len(names) != a.shape[1]:
        raise InputError(f"names: {len(names)} names for {a.shape[1]} attribute columns")
    constant = [n for n, col in zip(names, a.T) if len(np.unique(col)) < 2]
    if constant:
        raise InputError(f"attributes: columns {constant} take a single value in these samples")
    clusters = cluster_features(x, 2, method=method)
    per = {n: _score(col, clusters, method, 2, False) for n, col in zip(names, a.T)}
    return AttributeClusterResult(
        method=method,
        n_samples=len(x),
        accuracy=float(np.mean([r.accuracy for r in per.values()])),
        f1=float(np.mean([r.f1 for r in per.values()])),
        nmi=float(np.mean([r.nmi for r in per.values()])),
        per_attribute=per,
    )
