"""Input checks shared by the probes: every error names the offending argument."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError


def as_features(name: str, x: ArrayLike, *, n: int | None = None) -> np.ndarray:
    """Validate a feature matrix.

    Args:
        name: argument name used in error messages.
        x: ``(N, D)`` real values, all finite.
        n: expected number of rows, if known.

    Returns:
        ``(N, D)`` float64 copy-free view where possible.
    """
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(f"{name}: expected shape (N, D), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name}: empty array of shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise InputError(f"{name}: {bad} row(s) contain NaN or inf")
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{name}: expected {n} rows to match the other inputs, got {arr.shape[0]}")
    return arr


def as_parts(parts: Mapping[str, ArrayLike], *, minimum: int = 1) -> dict[str, np.ndarray]:
    """Validate the features of several parts of the same samples (the argument is named ``parts``).

    Args:
        parts: part name -> ``(N, D_part)`` features (:func:`as_features`), the same N for all.
        minimum: the fewest parts accepted.

    Returns:
        part name -> ``(N, D_part)`` float64 array, in the order given.
    """
    if not isinstance(parts, Mapping) or len(parts) < minimum:
        raise InputError(f"parts: expected a mapping of at least {minimum} part name(s) to (N, D) features")
    arrays = {name: as_features(f"parts[{name!r}]", x) for name, x in parts.items()}
    n = len(next(iter(arrays.values())))
    for name, x in arrays.items():
        if len(x) != n:
            raise InputError(f"parts[{name!r}]: {len(x)} samples, expected {n} like the first part")
    return arrays


def as_labels(name: str, y: ArrayLike, *, n: int | None = None) -> np.ndarray:
    """Validate a vector of class labels.

    Args:
        name: argument name used in error messages.
        y: ``(N,)`` hashable class labels (ints or strings).
        n: expected length, if known.

    Returns:
        ``(N,)`` array.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected shape (N,), got {arr.shape}")
    if arr.shape[0] == 0:
        raise InputError(f"{name}: empty")
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{name}: length {arr.shape[0]} does not match the {n} samples of the other inputs")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise InputError(f"{name}: contains NaN or inf")
    return arr


def as_binary_matrix(name: str, y: ArrayLike, *, n: int | None = None) -> np.ndarray:
    """Validate multi-label binary targets.

    Args:
        name: argument name used in error messages.
        y: ``(N, K)`` values in {0, 1} (or {-1, 1}, as in CelebA's ``list_attr_celeba.txt``).
        n: expected number of rows, if known.

    Returns:
        ``(N, K)`` int64 array in {0, 1}.
    """
    arr = np.asarray(y)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name}: expected a non-empty (N, K) array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{name}: {arr.shape[0]} rows do not match the {n} samples of the other inputs")
    values = set(np.unique(arr).tolist())
    if values <= {0, 1}:
        return arr.astype(np.int64)
    if values <= {-1, 1}:
        return (arr > 0).astype(np.int64)
    raise InputError(f"{name}: expected binary values in {{0, 1}} or {{-1, 1}}, got {sorted(values)[:5]}")


def check_positive_int(name: str, value: int, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)
