"""Linear-probe evaluation (paper Sec. 4.4): a head on frozen or fine-tuned features, few labels.

A budget of ``n_train`` labelled samples (100 / 500 / 1000 in the paper) is drawn from the training
pool (:func:`budget_split`, stratified by class, seeded), a head is trained for a fixed number of
epochs (default 100) with Adam, and accuracy is measured on a held-out set:

- ``labels (N,)``: multi-class, softmax + cross-entropy, prediction = argmax (for two classes this
  is the same as thresholding the positive-class probability at 0.5);
- ``labels (N, K)`` binary attributes: K sigmoid outputs + binary cross-entropy, prediction =
  probability > 0.5, accuracy = mean over all N*K decisions (= mean of the per-attribute accuracies).

Head inputs are standardised with the mean and standard deviation of the budget's features
(constant dimensions are left unscaled), which makes one learning rate work for every extractor.

:func:`linear_probe` works on precomputed features (frozen extractor); :func:`finetune_probe` trains
the extractor with the head; :func:`supervised_resnet18_probe` is the paper's supervised baseline.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..errors import InputError
from ._checks import as_binary_matrix, as_features, as_labels, check_positive_int
from ._train import fit
from .baselines import ResNet18Extractor
from .extractors import check_images, extract_features
from .report import JSON, ProbeResult

HeadKind = Literal["linear", "mlp"]


def budget_split(labels: ArrayLike, n_train: int | None, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Choose a labelled budget and return ``(budget indices, remaining indices)``, both sorted.

    Args:
        labels: ``(N,)`` classes (stratified: each class gets ``n_train * n_c / N`` samples rounded by
            largest remainder) or ``(N, K)`` binary attributes (uniform random sample).
        n_train: budget size, ``1 <= n_train <= N``; ``None`` takes all samples.
        seed: sampling seed (numpy ``default_rng``).
    """
    y = np.asarray(labels)
    if y.ndim not in (1, 2) or len(y) == 0:
        raise InputError(f"labels: expected a non-empty (N,) or (N, K) array, got shape {y.shape}")
    n = len(y)
    if n_train is None:
        return np.arange(n), np.arange(0)
    n_train = check_positive_int("n_train", n_train)
    if n_train > n:
        raise InputError(f"n_train: budget {n_train} exceeds the {n} available samples")
    rng = np.random.default_rng(seed)
    if y.ndim == 2:
        chosen = rng.choice(n, size=n_train, replace=False)
    else:
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        exact = n_train * counts / n
        quota = np.floor(exact).astype(int)
        order = np.argsort(-(exact - quota), kind="stable")
        quota[order[: n_train - quota.sum()]] += 1
        chosen = np.concatenate(
            [rng.choice(np.flatnonzero(inverse == c), size=q, replace=False) for c, q in enumerate(quota)]
        )
    chosen = np.sort(chosen)
    return chosen, np.setdiff1d(np.arange(n), chosen)


class ProbeHead(nn.Module):
    """Standardisation followed by a linear layer or a one-hidden-layer MLP.

    Args:
        in_dim: feature size D.
        out_dim: number of classes or attributes.
        kind: ``"linear"`` or ``"mlp"`` (Linear-ReLU-Linear, ``hidden`` units).
        mean, std: ``(D,)`` standardisation statistics (default: identity).
        hidden: MLP width.

    ``forward``: ``(B, D)`` -> logits ``(B, out_dim)``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        kind: HeadKind = "linear",
        *,
        mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
        hidden: int = 512,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim) if mean is None else mean.float().clone())
        self.register_buffer("std", torch.ones(in_dim) if std is None else std.float().clone())
        if kind == "linear":
            self.net: nn.Module = nn.Linear(in_dim, out_dim)
        elif kind == "mlp":
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))
        else:
            raise InputError(f"head: expected 'linear' or 'mlp', got {kind!r}")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net((features - self.mean) / self.std)


@dataclass
class LinearProbeResult(ProbeResult):
    """Held-out accuracy of a probe.

    Attributes:
        accuracy: fraction of correct decisions on the test set.
        task: ``"multiclass"`` or ``"multilabel"``.
        mode: ``"frozen"`` or ``"finetune"``.
        head: ``"linear"`` or ``"mlp"``.
        n_train: labelled budget used for training.
        n_test: test samples.
        epochs: training epochs.
        seed: budget and initialisation seed.
        final_loss: mean training loss of the last epoch.
        per_attribute: multilabel only, accuracy of each attribute column.
        trained: the trained model (:class:`ProbeHead`, or the extractor and head when fine-tuned),
            for attribution; not serialised.
    """

    accuracy: float
    task: str
    mode: str
    head: str
    n_train: int
    n_test: int
    epochs: int
    seed: int
    final_loss: float
    per_attribute: list[float] = field(default_factory=list)
    trained: nn.Module | None = field(default=None, repr=False, compare=False, metadata={JSON: False})

    def summary(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "# train": self.n_train,
            "mode": self.mode,
            "head": self.head,
            "task": self.task,
            "epochs": self.epochs,
        }


@dataclass
class _Targets:
    """Training and test targets in tensor form, plus the loss that fits them."""

    task: str
    train: torch.Tensor
    test: np.ndarray
    out_dim: int

    def loss(self) -> nn.Module:
        return nn.CrossEntropyLoss() if self.task == "multiclass" else nn.BCEWithLogitsLoss()

    def decide(self, logits: torch.Tensor) -> np.ndarray:
        return (logits.argmax(1) if self.task == "multiclass" else (logits > 0).long()).numpy()


def _targets(train_labels: ArrayLike, test_labels: ArrayLike, n_train_pool: int, n_test: int) -> _Targets:
    if np.ndim(train_labels) == 2 or np.ndim(test_labels) == 2:
        train = as_binary_matrix("train_labels", train_labels, n=n_train_pool)
        test = as_binary_matrix("test_labels", test_labels, n=n_test)
        if train.shape[1] != test.shape[1]:
            raise InputError(f"train_labels and test_labels: {train.shape[1]} vs {test.shape[1]} attribute columns")
        return _Targets("multilabel", torch.from_numpy(train).float(), test, train.shape[1])
    train = as_labels("train_labels", train_labels, n=n_train_pool)
    test = as_labels("test_labels", test_labels, n=n_test)
    classes = np.unique(np.concatenate([train, test]))
    if len(np.unique(train)) < 2:
        raise InputError("train_labels: need at least 2 distinct classes")
    return _Targets(
        "multiclass", torch.from_numpy(np.searchsorted(classes, train)), np.searchsorted(classes, test), len(classes)
    )


@torch.no_grad()
def _predict(model: nn.Module, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(chunk.to(device)).cpu() for chunk in inputs.split(batch_size)])


def _standardiser(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = features.mean(0)
    std = features.std(0, unbiased=False) if len(features) > 1 else torch.ones_like(mean)
    return mean, torch.where(std > 0, std, torch.ones_like(std))


def _result(targets: _Targets, predicted: np.ndarray, **settings: Any) -> LinearProbeResult:
    correct = predicted == targets.test
    per = correct.mean(0).tolist() if targets.task == "multilabel" else []
    return LinearProbeResult(accuracy=float(correct.mean()), task=targets.task, per_attribute=per, **settings)


def linear_probe(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    test_features: ArrayLike,
    test_labels: ArrayLike,
    *,
    n_train: int | None = 100,
    head: HeadKind = "linear",
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> LinearProbeResult:
    """Train a head on frozen features of a labelled budget and score it on the test set.

    Args:
        train_features: ``(N, D)`` pool the budget is drawn from.
        train_labels: ``(N,)`` classes or ``(N, K)`` binary attributes.
        test_features: ``(M, D)``.
        test_labels: ``(M,)`` or ``(M, K)``, same kind as ``train_labels``.
        n_train: budget size (``None``: the whole pool).
        head: ``"linear"`` or ``"mlp"``.
        epochs, lr, batch_size, weight_decay: Adam training settings.
        seed: budget sampling and initialisation seed.

    Returns:
        :class:`LinearProbeResult` with ``mode="frozen"``.
    """
    x = as_features("train_features", train_features)
    xt = as_features("test_features", test_features)
    if xt.shape[1] != x.shape[1]:
        raise InputError(f"test_features: {xt.shape[1]} dimensions, train_features have {x.shape[1]}")
    targets = _targets(train_labels, test_labels, len(x), len(xt))
    budget, _ = budget_split(np.asarray(train_labels), n_train, seed=seed)
    inputs = torch.from_numpy(x[budget]).float()
    torch.manual_seed(seed)
    mean, std = _standardiser(inputs)
    model = ProbeHead(x.shape[1], targets.out_dim, head, mean=mean, std=std)
    loss = fit(
        model,
        inputs,
        targets.train[budget],
        targets.loss(),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        seed=seed,
    )[-1]
    predicted = targets.decide(_predict(model, torch.from_numpy(xt).float(), 1024))
    return _result(
        targets,
        predicted,
        mode="frozen",
        head=head,
        n_train=len(budget),
        n_test=len(xt),
        epochs=epochs,
        seed=seed,
        final_loss=loss,
        trained=model,
    )


def finetune_probe(
    extractor: nn.Module,
    train_images: torch.Tensor,
    train_labels: ArrayLike,
    test_images: torch.Tensor,
    test_labels: ArrayLike,
    *,
    n_train: int | None = 100,
    head: HeadKind = "linear",
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> LinearProbeResult:
    """Train a copy of ``extractor`` and a head together on a labelled budget; score on the test images.

    Every parameter of the copy is trained (the caller's extractor is left unchanged). The head's
    standardisation uses the extractor's features of the budget before training.

    Args:
        extractor: images ``(B, 3, 64, 64)`` in [0, 1] -> ``(B, D)`` (e.g. a
            :class:`~physdis_hub.probes.extractors.PartsExtractor`).
        train_images: ``(N, 3, 64, 64)`` in [0, 1].
        train_labels: ``(N,)`` or ``(N, K)``.
        test_images: ``(M, 3, 64, 64)``.
        test_labels: ``(M,)`` or ``(M, K)``.
        n_train, head, epochs, lr, batch_size, weight_decay, seed: as in :func:`linear_probe`.

    Returns:
        :class:`LinearProbeResult` with ``mode="finetune"``.
    """
    images = check_images("train_images", train_images)
    test = check_images("test_images", test_images)
    targets = _targets(train_labels, test_labels, len(images), len(test))
    budget, _ = budget_split(np.asarray(train_labels), n_train, seed=seed)
    inputs = images[torch.from_numpy(budget)]
    start = torch.from_numpy(extract_features(extractor, inputs, batch_size=batch_size))
    torch.manual_seed(seed)
    device = next(extractor.parameters(), torch.empty(0)).device
    mean, std = _standardiser(start)
    probe_head = ProbeHead(start.shape[1], targets.out_dim, head, mean=mean, std=std)
    model = nn.Sequential(copy.deepcopy(extractor), probe_head).to(device)
    for p in model.parameters():
        p.requires_grad_(True)
    loss = fit(
        model,
        inputs,
        targets.train[budget],
        targets.loss(),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        seed=seed,
    )[-1]
    predicted = targets.decide(_predict(model, test, batch_size))
    return _result(
        targets,
        predicted,
        mode="finetune",
        head=head,
        n_train=len(budget),
        n_test=len(test),
        epochs=epochs,
        seed=seed,
        final_loss=loss,
        trained=model,
    )


def supervised_resnet18_probe(
    train_images: torch.Tensor,
    train_labels: ArrayLike,
    test_images: torch.Tensor,
    test_labels: ArrayLike,
    *,
    weights: str | Path | None = None,
    **settings: Any,
) -> LinearProbeResult:
    """The paper's supervised baseline: ResNet-18 (random init unless ``weights``) with a linear head,
    trained end to end on the same budget. ``settings`` are those of :func:`finetune_probe`."""
    torch.manual_seed(settings.get("seed", 0))
    return finetune_probe(ResNet18Extractor(weights), train_images, train_labels, test_images, test_labels, **settings)
