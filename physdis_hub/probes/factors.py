"""Part-by-factor probe: how much of each known generative factor each part's features carry.

For images whose factors are known (synthetic data that records them), fit a linear read-out from
every part's features to every factor group on a fixed training split, and score it on the held-out
rest. The result is a parts x groups matrix (4 x 6 for the parts geom, alb, light, view and the
groups shape, expression, albedo, light, view, identity):

- a *continuous* group (``(N,)`` or ``(N, k)`` values: shape or expression coefficients, albedo
  parameters, light, view) is scored by the held-out R^2 of a ridge regression, averaged over the
  group's ``k`` columns (each column's R^2 against its own test mean, as scikit-learn's
  ``r2_score``; it can be negative when the read-out is worse than the mean);
- a *class* group (``(N,)`` labels: identity) is scored by the held-out accuracy of a ridge
  classifier (ridge regression onto one-hot targets, arg-max).

Features are standardised with the training split's mean and spread (constant dimensions are
dropped). The ridge penalty on the standardised features is chosen per cell from :data:`ALPHAS` by
5-fold cross-validation on the training split (least squared error of the targets, one-hot for a
class group), unless a fixed ``alpha`` is given: a fixed small penalty lets rarely active feature
dimensions (ReLU units firing on a few training images) blow up held-out predictions.

Summaries (ideal: each part predicts its own factors and nothing else):

- **informativeness**: the mean over the parts present of the score of the part on its own groups
  (:data:`OWN_GROUPS`: geom -> shape and expression, alb -> albedo, light -> light, view -> view);
- **leakage**: the mean score of the off-diagonal cells: a part on a group owned by another part.
  The identity group has no owner (identity lives in shape and albedo together) and enters neither
  summary; its column says which parts carry identity.

For the summaries a cell's score is put on a 0-1 scale where 0 is chance: R^2 clipped below at 0,
and accuracy as ``(accuracy - chance) / (1 - chance)`` with ``chance`` the majority class's share of
the test split. The matrix itself holds the raw R^2 and accuracy. Beside them the probe reports
the paper's mean absolute cross-part Pearson correlation (:func:`~physdis_hub.probes.part_correlation`).

Input format (plain arrays, so any generator's records work): ``parts`` maps part names to ``(N, D)``
features of the same N images; ``factors`` maps group names to ``(N,)`` / ``(N, k)`` numbers;
``classes`` maps group names to ``(N,)`` labels. Names other than the defaults are allowed (a group or
part without an owner relation simply enters no summary); a baseline without parts (raw pixels) is
one row, e.g. ``{"pixels": X}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..errors import InputError
from ..vocab import BATCH_SIZE, PARTS
from ._checks import as_features, as_labels, as_parts, check_positive_int
from .disentangle import part_correlation
from .extractors import PartEncoders, PartsExtractor, check_images
from .report import ProbeResult, Report, markdown_table

FACTOR_GROUPS: tuple[str, ...] = ("shape", "expression", "albedo", "light", "view", "identity")
"""The factor groups of the synthetic faces, in matrix column order."""
ALPHAS: tuple[float, ...] = tuple(10.0**k for k in range(-2, 6))
"""Ridge penalties the cross-validation chooses from (1e-2 to 1e5)."""
CV_FOLDS = 5
"""Folds of the training split that choose the penalty."""
OWN_GROUPS: dict[str, tuple[str, ...]] = {
    "geom": ("shape", "expression"),
    "alb": ("albedo",),
    "light": ("light",),
    "view": ("view",),
}
"""Part -> the factor groups it should carry (the diagonal of the matrix)."""


def split_indices(n: int, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random split of ``n`` samples: ``(train indices, test indices)``, each sorted.

    The same ``n``, ``test_fraction`` and ``seed`` give the same split on every machine (NumPy's PCG64).
    """
    n = check_positive_int("n", n, minimum=2)
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    n_test = min(max(1, round(n * test_fraction)), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.ptp(train, axis=0) > 0
    mean, std = train[:, keep].mean(0), train[:, keep].std(0)
    return (train[:, keep] - mean) / std, (test[:, keep] - mean) / std


class _Ridge:
    """Ridge regression with intercept on fixed training features ``x (n, d)``, for any penalty.

    One eigendecomposition of ``x^T x`` (or, with more features than samples, of ``x x^T``: the dual,
    same weights) serves every penalty and every target.
    """

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.dual = x.shape[1] > x.shape[0]
        evals, self.vecs = np.linalg.eigh(x @ x.T if self.dual else x.T @ x)
        self.evals = np.clip(evals, 0, None)

    def predict(self, y: np.ndarray, x_test: np.ndarray, alpha: float) -> np.ndarray:
        """Predictions ``(n_test, k)`` of the fit to ``y (n, k)`` with penalty ``alpha``."""
        mean = y.mean(0)
        yc = y - mean
        if self.x.shape[1] == 0:
            return np.broadcast_to(mean, (len(x_test), y.shape[1])).copy()
        rhs = yc if self.dual else self.x.T @ yc
        coef = self.vecs @ ((self.vecs.T @ rhs) / (self.evals + alpha)[:, None])
        weights = self.x.T @ coef if self.dual else coef
        return x_test @ weights + mean


def _choose_alpha(x: np.ndarray, targets: list[np.ndarray], seed: int) -> list[float]:
    """Per target ``(n, k)``: the penalty of :data:`ALPHAS` with the least 5-fold squared error."""
    folds = np.array_split(np.random.default_rng(seed).permutation(len(x)), CV_FOLDS)
    errors = np.zeros((len(targets), len(ALPHAS)))
    for held in folds:
        rest = np.setdiff1d(np.arange(len(x)), held)
        ridge = _Ridge(x[rest])
        for t, y in enumerate(targets):
            for a, alpha in enumerate(ALPHAS):
                errors[t, a] += ((ridge.predict(y[rest], x[held], alpha) - y[held]) ** 2).sum()
    return [ALPHAS[int(i)] for i in errors.argmin(1)]


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over columns of ``1 - SS_res / SS_tot`` (columns constant on the test split are skipped)."""
    ss_tot = ((y_true - y_true.mean(0)) ** 2).sum(0)
    ss_res = ((y_true - y_pred) ** 2).sum(0)
    varying = ss_tot > 0
    if not varying.any():
        raise InputError("factors: a group is constant on the test split; R^2 is undefined")
    return float(np.mean(1 - ss_res[varying] / ss_tot[varying]))


@dataclass
class FactorResult(ProbeResult):
    """What :func:`factor_probe` returns.

    Attributes:
        parts: row names, in order.
        groups: column names, in order.
        kinds: group -> ``"r2"`` (continuous) or ``"accuracy"`` (classes).
        matrix: ``[row][column]`` held-out scores (R^2 or accuracy).
        chance: class group -> the majority class's share of the test split.
        informativeness: mean normalised own-group score over the parts that own a group (None when
            no row owns one, e.g. a pixel baseline).
        leakage: mean normalised score of the cells where a part meets a group another part owns
            (None when there is no such cell).
        mean_abs_pcc: the paper's cross-part correlation (None with fewer than two parts).
        n_train, n_test: split sizes.
        alphas: ``[row][column]`` ridge penalty of each cell (chosen, or the fixed one).
    """

    parts: list[str]
    groups: list[str]
    kinds: dict[str, str]
    matrix: list[list[float]]
    chance: dict[str, float] = field(default_factory=dict)
    informativeness: float | None = None
    leakage: float | None = None
    mean_abs_pcc: float | None = None
    n_train: int = 0
    n_test: int = 0
    alphas: list[list[float]] = field(default_factory=list)

    def score(self, part: str, group: str) -> float:
        """The raw cell of ``part`` and ``group``."""
        return self.matrix[self.parts.index(part)][self.groups.index(group)]

    def summary(self) -> dict[str, Any]:
        return {
            "informativeness": _or_nan(self.informativeness),
            "leakage": _or_nan(self.leakage),
            "mean abs PCC": _or_nan(self.mean_abs_pcc),
            "N train": self.n_train,
            "N test": self.n_test,
        }

    def to_markdown(self) -> str:
        """The matrix (one row per part; R^2 or accuracy per column) and the summary row."""
        rows = [
            {"part": p, **{f"{g} ({self.kinds[g]})": v for g, v in zip(self.groups, row)}}
            for p, row in zip(self.parts, self.matrix)
        ]
        return markdown_table(rows) + "\n\n" + markdown_table([self.summary()])


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _normalised(score: float, kind: str, chance: float | None) -> float:
    if kind == "r2":
        return max(score, 0.0)
    assert chance is not None
    return max((score - chance) / (1 - chance), 0.0) if chance < 1 else 0.0


def factor_probe(
    parts: Mapping[str, ArrayLike],
    factors: Mapping[str, ArrayLike] | None = None,
    classes: Mapping[str, ArrayLike] | None = None,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    alpha: float | None = None,
    own_groups: Mapping[str, Sequence[str]] = OWN_GROUPS,
) -> FactorResult:
    """The part-by-factor matrix and its summaries (module docstring).

    Args:
        parts: part name -> ``(N, D_part)`` features of the same N images (rows in this order).
        factors: continuous group name -> ``(N,)`` or ``(N, k)`` values.
        classes: class group name -> ``(N,)`` labels (e.g. identity ids).
        test_fraction: share of the N images held out (:func:`split_indices`).
        seed: seed of the split.
        alpha: ridge penalty on standardised features (> 0); None chooses it per cell by
            cross-validation on the training split (module docstring).
        own_groups: part -> the groups it should carry (default :data:`OWN_GROUPS`).

    Returns:
        :class:`FactorResult`; columns are the ``factors`` groups then the ``classes`` groups, each
        in the order given.

    Raises:
        ValueError: naming the argument, for empty inputs, mismatched N, non-finite values, a group
            named twice, or a group constant on the test split.
    """
    features = as_parts(parts)
    n = len(next(iter(features.values())))
    factors, classes = dict(factors or {}), dict(classes or {})
    if not factors and not classes:
        raise InputError("factors, classes: expected at least one factor group")
    twice = sorted(set(factors) & set(classes))
    if twice:
        raise InputError(f"classes: groups {twice} are also in factors; give each group once")
    if alpha is not None and not alpha > 0:
        raise InputError(f"alpha: expected > 0, got {alpha}")
    targets: dict[str, np.ndarray] = {}
    for name, y in factors.items():
        arr = np.asarray(y)
        targets[name] = as_features(f"factors[{name!r}]", arr[:, None] if arr.ndim == 1 else arr, n=n)
    labels = {name: as_labels(f"classes[{name!r}]", y, n=n) for name, y in classes.items()}
    train, test = split_indices(n, test_fraction, seed)

    groups = list(targets) + list(labels)
    kinds = {**{g: "r2" for g in targets}, **{g: "accuracy" for g in labels}}
    chance: dict[str, float] = {}
    onehot: dict[str, np.ndarray] = {}
    for name, y in labels.items():
        values, codes = np.unique(y, return_inverse=True)
        onehot[name] = np.eye(len(values))[codes]
        chance[name] = float(np.bincount(codes[test], minlength=len(values)).max() / len(test))
    matrix: list[list[float]] = []
    alphas: list[list[float]] = []
    for x in features.values():
        x_train, x_test = _standardise(x[train], x[test])
        ys = [targets[g] if g in targets else onehot[g] for g in groups]
        chosen = [alpha] * len(groups) if alpha is not None else _choose_alpha(x_train, [y[train] for y in ys], seed)
        ridge = _Ridge(x_train)
        row = []
        for g, y, a in zip(groups, ys, chosen):
            pred = ridge.predict(y[train], x_test, a)
            row.append(_r2(y[test], pred) if g in targets else float((pred.argmax(1) == y[test].argmax(1)).mean()))
        matrix.append(row)
        alphas.append(chosen)

    owner = {g: p for p, owned in own_groups.items() if p in features for g in owned if g in kinds}
    own: dict[str, list[float]] = {}  # part -> its normalised own-group cells
    off: list[float] = []
    for p, row in zip(features, matrix):
        for g, value in zip(groups, row):
            if g in owner:
                cell = _normalised(value, kinds[g], chance.get(g))
                own.setdefault(p, []).append(cell) if owner[g] == p else off.append(cell)
    informativeness = float(np.mean([np.mean(cells) for cells in own.values()])) if own else None
    pcc = part_correlation(features).mean_abs_pcc if len(features) >= 2 else None
    return FactorResult(
        parts=list(features),
        groups=groups,
        kinds=kinds,
        matrix=matrix,
        chance=chance,
        informativeness=informativeness,
        leakage=float(np.mean(off)) if off else None,
        mean_abs_pcc=pcc,
        n_train=len(train),
        n_test=len(test),
        alphas=alphas,
    )


@torch.no_grad()
def part_features(
    extractor: nn.Module, images: torch.Tensor, *, name: str = "features", batch_size: int = BATCH_SIZE
) -> dict[str, np.ndarray]:
    """Features of ``images (N, 3, 64, 64)`` in [0, 1], float64: part -> ``(N, D_part)`` for a
    :class:`PartsExtractor`, ``{name: (N, D)}`` for any other extractor (one row of the matrix)."""
    images = check_images("images", images)
    batch_size = check_positive_int("batch_size", batch_size)
    chunks: dict[str, list[torch.Tensor]] = {}
    for batch in images.split(batch_size):
        out = extractor.forward_parts(batch) if isinstance(extractor, PartsExtractor) else {name: extractor(batch)}
        for key, value in out.items():
            chunks.setdefault(key, []).append(value.flatten(1).double())
    return {key: torch.cat(values).numpy() for key, values in chunks.items()}


def factor_report(
    model: PartEncoders,
    images: torch.Tensor,
    factors: Mapping[str, ArrayLike] | None = None,
    classes: Mapping[str, ArrayLike] | None = None,
    *,
    seed: int = 0,
    **probe_options: Any,
) -> Report:
    """:func:`factor_probe` of ``model`` and its two baselines on the same images and split.

    Rows: ``"model"`` (the four parts' down paths), ``"untrained"`` (the same architecture with
    fresh random weights, :func:`~physdis_hub.probes.random_init_like`, seeded by ``seed``) and
    ``"pixels"`` (the raw pixels as one row).

    Args:
        model: a :class:`~physdis_hub.model.PhysDisModel` (anything with ``part_encoders()``).
        images: ``(N, 3, 64, 64)`` in [0, 1], the images the factors describe, in the same order.
        factors, classes: as in :func:`factor_probe`.
        seed: seed of the split and of the untrained weights.
        probe_options: passed to :func:`factor_probe` (``test_fraction``, ``alpha``, ``own_groups``).

    Returns:
        :class:`Report` of three :class:`FactorResult` rows (``report.results[name].to_markdown()``
        shows a row's matrix).
    """
    from .baselines import PixelPCA, random_init_like

    trained = PartsExtractor.from_model(model, PARTS).eval()
    untrained = random_init_like(trained, seed=seed).eval()
    extractors: dict[str, nn.Module] = {"model": trained, "untrained": untrained, "pixels": PixelPCA(k=None)}
    report = Report(f"part-by-factor probe, {len(images)} images")
    for row, extractor in extractors.items():
        feats = part_features(extractor, images, name=row)
        report.add(row, factor_probe(feats, factors, classes, seed=seed, **probe_options))
    return report
