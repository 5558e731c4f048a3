"""Scores used by the probes, on plain arrays.

Clustering (paper Sec. 4.2):

- cluster accuracy = weighted purity, Eq. 8: ``(1/N) * sum_c n_c * p_c`` where ``n_c`` is the size
  of cluster ``c`` and ``p_c`` the fraction of its most common class; equivalently the number of
  samples that carry their cluster's majority label, over N.
- weighted F1: each cluster is labelled with its majority class (ties go to the smallest label), then
  scikit-learn's F1 with ``average="weighted"`` (per-class F1 weighted by class support).
- NMI: mutual information over the *arithmetic* mean of the two entropies (scikit-learn's default
  ``average_method="arithmetic"``). This is the normalisation that reproduces the textbook examples
  Y=[1]*5+[2]*10+[3]*5 against two clusterings (0.1089 and 0.2533); the geometric mean gives
  0.1112 and 0.2585.

Segmentation: IoU per class from the confusion matrix over all pixels of the evaluation set.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import f1_score, normalized_mutual_info_score

from ..errors import InputError
from ._checks import as_labels, check_positive_int


def _pair(labels: ArrayLike, clusters: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = as_labels("labels", labels)
    c = as_labels("clusters", clusters)
    if len(y) != len(c):
        raise InputError(f"labels and clusters: lengths differ ({len(y)} vs {len(c)})")
    return y, c


def majority_labels(labels: ArrayLike, clusters: ArrayLike) -> np.ndarray:
    """Label every sample with its cluster's majority class (ties: the smallest class label).

    Args:
        labels: ``(N,)`` ground-truth classes.
        clusters: ``(N,)`` cluster ids.

    Returns:
        ``(N,)`` predicted classes, same dtype as ``labels``.
    """
    y, c = _pair(labels, clusters)
    classes, y_idx = np.unique(y, return_inverse=True)
    ids, c_idx = np.unique(c, return_inverse=True)
    counts = np.zeros((len(ids), len(classes)), dtype=np.int64)
    np.add.at(counts, (c_idx, y_idx), 1)
    return classes[counts.argmax(axis=1)][c_idx]


def cluster_accuracy(labels: ArrayLike, clusters: ArrayLike) -> float:
    """Weighted cluster purity, paper Eq. 8: ``(1/N) sum_c n_c p_c``.

    Args:
        labels: ``(N,)`` ground-truth classes.
        clusters: ``(N,)`` cluster ids.
    """
    y, c = _pair(labels, clusters)
    return float(np.mean(majority_labels(y, c) == y))


def cluster_f1(labels: ArrayLike, clusters: ArrayLike) -> float:
    """Support-weighted F1 after labelling each cluster with its majority class.

    Args:
        labels: ``(N,)`` ground-truth classes.
        clusters: ``(N,)`` cluster ids.
    """
    y, c = _pair(labels, clusters)
    return float(f1_score(y, majority_labels(y, c), average="weighted", zero_division=0))


def nmi(labels: ArrayLike, clusters: ArrayLike) -> float:
    """Normalised mutual information, arithmetic-mean normalisation (see module docstring).

    Args:
        labels: ``(N,)`` ground-truth classes.
        clusters: ``(N,)`` cluster ids.
    """
    y, c = _pair(labels, clusters)
    return float(normalized_mutual_info_score(y, c, average_method="arithmetic"))


def confusion_matrix(target: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixel confusion matrix.

    Args:
        target: integer class map of any shape, values in ``[0, num_classes)``.
        predicted: same shape as ``target``.
        num_classes: number of classes.

    Returns:
        ``(num_classes, num_classes)`` int64, rows = target class, columns = predicted class.
    """
    num_classes = check_positive_int("num_classes", num_classes)
    t = np.asarray(target).ravel().astype(np.int64)
    p = np.asarray(predicted).ravel().astype(np.int64)
    if t.shape != p.shape:
        raise InputError(f"target and predicted: sizes differ ({t.size} vs {p.size})")
    for name, arr in (("target", t), ("predicted", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise InputError(f"{name}: class ids must lie in [0, {num_classes}), got [{arr.min()}, {arr.max()}]")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_iou(confusion: np.ndarray) -> np.ndarray:
    """IoU of each class: ``TP / (TP + FP + FN)``.

    Args:
        confusion: ``(C, C)`` from :func:`confusion_matrix`.

    Returns:
        ``(C,)``; NaN for a class that appears neither in the targets nor in the predictions
        (its IoU is undefined), so it is left out of means.
    """
    conf = np.asarray(confusion, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1] or conf.shape[0] == 0:
        raise InputError(f"confusion: expected a non-empty square matrix, got shape {conf.shape}")
    tp = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def segmentation_scores(confusion: np.ndarray, top_k: int = 10) -> tuple[float, float, float]:
    """``(mIoU, top-k mIoU, pixel accuracy)`` from a confusion matrix.

    mIoU averages the defined per-class IoUs; top-k mIoU averages the ``top_k`` largest of them
    (all of them when fewer are defined); pixel accuracy is the trace over the total.
    """
    conf = np.asarray(confusion, dtype=np.float64)
    iou = per_class_iou(conf)
    defined = np.sort(iou[np.isfinite(iou)])[::-1]
    if defined.size == 0 or conf.sum() == 0:
        raise InputError("confusion: no pixels")
    top_k = check_positive_int("top_k", top_k)
    return float(defined.mean()), float(defined[:top_k].mean()), float(np.trace(conf) / conf.sum())
