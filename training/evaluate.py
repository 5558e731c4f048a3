"""Evaluation of a trained model on a held-out split: a minimal, honest set of numbers.

- ``recon_l1``: mean absolute error, in [0, 1] intensity units, between each test image and its
  reconstruction, over the pixels the reconstruction covers; ``mask_coverage``: that pixel fraction.
- ``part_pcc``: mean absolute Pearson correlation between the features of different parts
  (:func:`physdis_hub.probes.disentangle.part_correlation`; paper: 0.28 without LOOCC, 0.18 with).
- ``cluster_<label>_{acc,f1,nmi}``: Ward clustering of the geometry + albedo features with as many
  clusters as classes (the paper's protocol, :func:`physdis_hub.probes.cluster.cluster_probe`), for
  each discrete label of the split with 2 to ``max_classes`` classes (e.g. ``identity`` of the
  synthetic sets, whose test identities are unseen in training).

Every value is a plain float, ready for a model card's evaluation table.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from physdis_hub.model import PhysDisModel
from physdis_hub.probes.cluster import cluster_probe
from physdis_hub.probes.disentangle import part_correlation
from physdis_hub.vocab import PARTS, check_parts, to_network_range, to_unit_range

from .data import image_of, labels_of


def _collate(items: Sequence[Any]) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    return torch.stack([image_of(i) for i in items]).float(), [labels_of(i) for i in items]


def _discrete_labels(rows: list[dict[str, Any]], max_classes: int) -> dict[str, np.ndarray]:
    """Label name -> ``(N,)`` int64 for every label that every row has, is integral and has 2..max_classes classes."""
    out: dict[str, np.ndarray] = {}
    for key in sorted(set.intersection(*(set(r) for r in rows))) if rows else []:
        values = np.asarray([np.asarray(r[key]).item() if np.asarray(r[key]).size == 1 else np.nan for r in rows])
        if values.dtype.kind not in "iub":
            continue
        if 2 <= len(np.unique(values)) <= max_classes:
            out[key] = values.astype(np.int64)
    return out


@torch.no_grad()
def evaluate(
    model: PhysDisModel,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    cluster_parts: Sequence[str] = ("geom", "alb"),
    max_classes: int = 100,
) -> dict[str, float]:
    """Evaluate ``model`` on ``dataset`` (normally the test split).

    Args:
        model: a trained model (any device; evaluated in eval mode, restored afterwards).
        dataset: items as :func:`training.data.image_of` / :func:`training.data.labels_of` read them.
        batch_size: images per forward pass.
        cluster_parts: parts whose features are concatenated for clustering (paper: geom + alb).
        max_classes: labels with more classes than this (e.g. age in years) are not clustered.

    Returns:
        ``{"n_images", "recon_l1", "mask_coverage", "part_pcc", "cluster_<label>_acc", ...}`` (module
        docstring); ``part_pcc`` is left out, with a warning, when a part's features are all constant.
    """
    if len(dataset) < 2:  # type: ignore[arg-type]
        raise ValueError(f"dataset: need at least 2 images, got {len(dataset)}")  # type: ignore[arg-type]
    check_parts(cluster_parts, "cluster_parts")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    abs_err = covered = pixels = 0.0
    features: dict[str, list[torch.Tensor]] = {p: [] for p in PARTS}
    label_rows: list[dict[str, Any]] = []
    for images, labels in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=_collate):
        images = images.to(device)
        feats = model._encode(to_network_range(images))
        rendering = model.renderer.render(model.decode_scene(feats))
        recon = to_unit_range(rendering.image)
        abs_err += float(((recon - images).abs() * rendering.mask).sum())
        covered += float(rendering.mask.sum())
        pixels += rendering.mask.numel()
        for p in PARTS:
            features[p].append(feats[p].float().cpu())
        label_rows += labels
    model.train(was_training)
    parts = {p: torch.cat(v).numpy() for p, v in features.items()}
    results: dict[str, float] = {
        "n_images": float(len(label_rows)),
        "recon_l1": abs_err / max(3 * covered, 1.0),
        "mask_coverage": covered / pixels,
    }
    try:
        results["part_pcc"] = part_correlation(parts).mean_abs_pcc
    except ValueError as err:  # a part whose every feature is constant (dead units): undefined
        warnings.warn(f"part_pcc not reported: {err}", stacklevel=2)
    stacked = np.concatenate([parts[p] for p in cluster_parts], axis=1)
    for name, labels in _discrete_labels(label_rows, max_classes).items():
        scores = cluster_probe(stacked, labels)
        results.update(
            {f"cluster_{name}_acc": scores.accuracy, f"cluster_{name}_f1": scores.f1, f"cluster_{name}_nmi": scores.nmi}
        )
    return results
