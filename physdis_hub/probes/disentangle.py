"""Disentanglement probe: Pearson correlation between the features of different parts (paper Sec. 5).

The statistic (``mean |PCC|``), for parts P and Q with features ``(N, dP)`` and ``(N, dQ)``:

1. drop *constant* dimensions, i.e. those whose N values are all identical (their correlation is
   0/0, undefined; dead ReLU units of a bottleneck are the usual case); their number is reported;
2. compute the ``dP' x dQ'`` matrix ``r[i, j]`` of Pearson correlations, across the N samples,
   between dimension i of P and dimension j of Q (float64);
3. take the mean of ``|r[i, j]|`` over the matrix: the pair's value, in [0, 1].

The reported score is the mean of the pair values over all unordered pairs of parts (6 for the four
parts geom, alb, light, view). 0 means no linear relation between any two dimensions of different
parts; 1 means every dimension of one part is an exact affine function of every dimension of the
other. Note what this measures: it is unchanged by a per-dimension affine map (``a*x + b``, ``a != 0``)
or a permutation of a part's dimensions, but a general linear mix is not such a map, and when a part's
dimensions are mutually uncorrelated an exact copy of it scores only about ``1/d`` against it (only the
d matched pairs correlate). Learned bottlenecks have strongly correlated dimensions, which is why the
paper's values (0.28 without LOOCC, 0.18 with) are far from 0. For independent parts, the value
shrinks like ``sqrt(2 / (pi N))`` (about 0.018 for N = 2000), so compare models on the same N.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ._checks import as_features, as_parts
from .report import ProbeResult


def _standardise(name: str, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Columns centred and scaled to unit norm, constant ones dropped; returns (matrix, n_dropped)."""
    keep = np.ptp(x, axis=0) > 0
    if not keep.any():
        raise InputError(f"{name}: every dimension is constant across the samples; correlation is undefined")
    z = x[:, keep] - x[:, keep].mean(axis=0)
    return z / np.linalg.norm(z, axis=0), int((~keep).sum())


def _corr(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """Correlation matrix of standardised columns (rounding can overshoot 1 slightly: clipped)."""
    return np.clip(za.T @ zb, -1.0, 1.0)


def cross_correlation(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """Pearson correlations between every dimension of ``p`` and every dimension of ``q``.

    Args:
        p: ``(N, dP)``.
        q: ``(N, dQ)``, same N, N >= 2.

    Returns:
        ``(dP', dQ')`` with constant dimensions removed.
    """
    a = as_features("p", p)
    b = as_features("q", q, n=len(a))
    if len(a) < 2:
        raise InputError("p: need at least 2 samples to compute a correlation")
    za, _ = _standardise("p", a)
    zb, _ = _standardise("q", b)
    return _corr(za, zb)


@dataclass
class CorrelationResult(ProbeResult):
    """Mean absolute cross-part Pearson correlation.

    Attributes:
        mean_abs_pcc: mean over part pairs of each pair's mean ``|r|``.
        pairs: ``"P-Q"`` -> that pair's mean ``|r|``.
        constant_dims: part -> number of constant dimensions that were left out.
        n_samples: N.
    """

    mean_abs_pcc: float
    pairs: dict[str, float] = field(default_factory=dict)
    constant_dims: dict[str, int] = field(default_factory=dict)
    n_samples: int = 0

    def summary(self) -> dict[str, Any]:
        return {"mean abs PCC": self.mean_abs_pcc, **self.pairs, "N": self.n_samples}


def part_correlation(parts: Mapping[str, ArrayLike]) -> CorrelationResult:
    """Mean absolute Pearson correlation between the features of different parts (module docstring).

    Args:
        parts: part name -> ``(N, d_part)`` features of the same N samples; at least two parts, N >= 2.

    Returns:
        :class:`CorrelationResult`.
    """
    arrays = as_parts(parts, minimum=2)
    n = len(next(iter(arrays.values())))
    if n < 2:
        raise InputError("parts: need at least 2 samples to compute a correlation")
    standardised = {name: _standardise(f"parts[{name!r}]", x) for name, x in arrays.items()}
    pairs = {
        f"{a}-{b}": float(np.abs(_corr(standardised[a][0], standardised[b][0])).mean())
        for a, b in itertools.combinations(arrays, 2)
    }
    return CorrelationResult(
        mean_abs_pcc=float(np.mean(list(pairs.values()))),
        pairs=pairs,
        constant_dims={name: s[1] for name, s in standardised.items()},
        n_samples=n,
    )
