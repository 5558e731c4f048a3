"""``physdis probe cluster|linear|pcc|factors``: run a probe on features stored in a ``.npz`` file, a
``.parquet`` file or a shard folder (what ``physdis extract`` writes; :mod:`physdis_hub.features`).

File keys: ``features`` ``(N, D)``; ``labels`` ``(N,)`` classes or ``(N, K)`` binary attributes;
optional ``tracks`` ``(N,)`` (per-track averaging for clustering), ``attribute_names`` ``(K,)``, and
per-part arrays ``geom``, ``alb``, ``light``, ``view`` ``(N, d)`` (``--parts`` concatenates them
in place of ``features``; ``pcc`` needs them).

``factors`` reads the per-part arrays of ``--features`` and the factor groups of ``--factors``, a
``.npz`` of arrays with the same N rows in the same order: every array is a group, ``(N,)`` or
``(N, k)`` numbers scored by R^2, except those named by ``--classes`` (default: ``identity`` when
present), ``(N,)`` labels scored by accuracy (:mod:`physdis_hub.probes.factors`).

Labels can instead come from a CSV (``--labels labels.csv``): a header row, the first column the
image's file name (or the full name ``extract`` recorded), the label in ``--label-column`` (default:
the second column). Every feature row needs a label; integer labels are used as they are, other
labels become class ids in sorted order.

The main ``physdis`` CLI calls :func:`add_probe_subcommands` on its sub-parsers and, for the
``probe`` command, :func:`run` (also set as the parser's ``func`` default). Standalone:
``python -m physdis_hub.probes.cli probe cluster --features f.npz``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..features import read_features
from ..vocab import PARTS, add_parts_argument

if TYPE_CHECKING:  # the probes (torch, scikit-learn) are imported when one runs: `physdis --help` stays fast
    from .report import Report


DEFAULT_BUDGETS: tuple[int, ...] = (100, 500, 1000)
"""Labelled budgets of ``physdis probe linear`` on data large enough for them (the paper's)."""


def add_probe_subcommands(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``probe`` command (with ``cluster``, ``linear`` and ``pcc``) to ``subparsers``.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Returns:
        The ``probe`` parser.
    """
    probe = subparsers.add_parser(
        "probe", help="evaluate features: clustering, linear probe, part correlation, part-by-factor matrix"
    )
    sub = probe.add_subparsers(dest="probe", required=True, metavar="{cluster,linear,pcc,factors}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--features",
            required=True,
            type=Path,
            help=".npz / .parquet feature file or shard folder (what `physdis extract` writes)",
        )
        p.add_argument("--json", type=Path, help="also write the result as JSON to this file")

    def labels(p: argparse.ArgumentParser) -> None:
        p.add_argument("--labels", type=Path, help="CSV of labels keyed by file name (header row), instead of 'labels'")
        p.add_argument("--label-column", help="the CSV column holding the label (default: the second column)")

    c = sub.add_parser("cluster", help="Ward (or FINCH) clustering: cluster accuracy, weighted F1, NMI")
    common(c)
    labels(c)
    add_parts_argument(c, "use these per-part arrays instead of 'features'")
    c.add_argument("--method", choices=("ward", "finch"), default="ward")
    c.add_argument("--no-tracks", action="store_true", help="ignore 'tracks' (cluster frames, not tracks)")

    lin = sub.add_parser("linear", help="linear / MLP head on frozen features with a labelled budget")
    common(lin)
    labels(lin)
    add_parts_argument(lin, "use these per-part arrays instead of 'features'")
    lin.add_argument("--test", type=Path, help="test .npz (default: the samples of --features outside the budget)")
    lin.add_argument(
        "--budgets",
        type=int,
        nargs="+",
        help=f"labelled samples per run (default: those of {list(DEFAULT_BUDGETS)} that the data allows, "
        "else half the samples)",
    )
    lin.add_argument("--head", choices=("linear", "mlp"), default="linear")
    lin.add_argument("--epochs", type=int, default=100)
    lin.add_argument("--lr", type=float, default=1e-3)
    lin.add_argument("--seed", type=int, default=0)

    pcc = sub.add_parser("pcc", help="mean absolute Pearson correlation between the features of parts")
    common(pcc)
    add_parts_argument(pcc, "parts to correlate (default: all of geom,alb,light,view in the file)")

    fac = sub.add_parser("factors", help="part-by-factor matrix: held-out R^2 / accuracy of each part on each factor")
    common(fac)
    add_parts_argument(fac, "matrix rows (default: all of geom,alb,light,view in the file)")
    fac.add_argument("--factors", required=True, type=Path, help=".npz of factor groups, rows as in --features")
    fac.add_argument("--classes", nargs="+", help="groups of --factors that are class labels (default: identity)")
    fac.add_argument("--test-fraction", type=float, default=0.25, help="held-out share of the images (default 0.25)")
    fac.add_argument("--seed", type=int, default=0, help="seed of the fixed split (default 0)")
    fac.add_argument(
        "--alpha",
        type=float,
        help="fixed ridge penalty on standardised features (default: chosen per cell by 5-fold CV)",
    )
    probe.set_defaults(func=run)
    return probe


def _load(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir() or path.suffix == ".parquet":
        return read_features(path).arrays()
    if not path.is_file():
        raise SystemExit(f"--features/--test: {path} is not a file (nor a shard folder)")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def read_label_csv(path: Path, column: str | None = None) -> dict[str, str]:
    """``{file name: label}`` from a CSV with a header row: keys in the first column, labels in
    ``column`` (default: the second column).

    Raises:
        ValueError: naming ``--labels`` / ``--label-column`` for a missing file or column, a repeated
            or empty key, or an empty label.
    """
    if not path.is_file():
        raise InputError(f"--labels: {path} is not a file")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2 or len(rows[0]) < 2:
        raise InputError(f"--labels: {path} needs a header row and at least two columns (file name, label)")
    header = [h.strip() for h in rows[0]]
    if column is None:
        col = 1
    elif column in header:
        col = header.index(column)
    else:
        raise InputError(f"--label-column: {column!r} is not a column of {path} (columns: {header})")
    table: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= col or not row[0].strip() or not row[col].strip():
            raise InputError(
                f"--labels: {path} line {line}: expected a file name and a {header[col]!r} label, got {row}"
            )
        key = row[0].strip()
        if key in table:
            raise InputError(f"--labels: {path} line {line}: {key!r} is listed twice")
        table[key] = row[col].strip()
    return table


def join_labels(names: Sequence[str], table: dict[str, str], path: Path) -> np.ndarray:
    """``(N,)`` labels of the feature rows ``names``, looked up by full name, then by file name
    (a crop suffix ``#k`` is ignored). Integer labels stay integers; others become sorted class ids."""
    found, missing = [], []
    for name in names:
        base = str(name).rsplit("#", 1)[0]
        label = next((table[k] for k in (str(name), Path(str(name)).name, base, Path(base).name) if k in table), None)
        if label is None:
            missing.append(name)
        else:
            found.append(label)
    if missing:
        shown = ", ".join(str(m) for m in missing[:5]) + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
        raise InputError(f"--labels: {len(missing)} of {len(names)} feature rows have no label in {path}: {shown}")
    try:
        return np.array([int(v) for v in found])
    except ValueError:
        return np.unique(np.array(found), return_inverse=True)[1]


def _labels(data: dict[str, np.ndarray], args: argparse.Namespace, path: Path) -> np.ndarray:
    if args.labels is None:
        hint = "pass --labels LABELS.csv (file name, label per row) for features written by physdis extract"
        labels = _get(data, "labels", path, hint=hint)
    else:
        labels = join_labels(
            _get(data, "names", path).tolist(), read_label_csv(args.labels, args.label_column), args.labels
        )
    warning = degenerate_labels(labels)
    if warning:
        print(f"physdis probe: warning: {path}: {warning}", file=sys.stderr)
    return labels


def degenerate_labels(labels: np.ndarray) -> str | None:
    """Why ``labels (N,)`` cannot measure a representation, or None: each sample alone in its class
    makes cluster accuracy and NMI 1.0 and a linear probe 0.0 by construction (a single class is
    refused by the probes themselves). Attribute labels ``(N, A)`` are not checked."""
    if labels.ndim != 1 or len(labels) < 2:
        return None
    if len(np.unique(labels)) == len(labels):
        return (
            f"each of the {len(labels)} samples has a class of its own, so the scores below are fixed by the "
            "labelling (clustering 1.0, a linear probe 0.0), not measured; label several samples per class"
        )
    return None


def default_budgets(samples: int, held_out: bool) -> list[int]:
    """The linear probe's labelled budgets when ``--budgets`` is not given: those of
    :data:`DEFAULT_BUDGETS` that ``samples`` labelled samples allow (fewer than ``samples`` when the
    test samples come from the same file, ``held_out`` False), else half the samples."""
    fits = [n for n in DEFAULT_BUDGETS if n < samples or (held_out and n == samples)]
    return fits or [max(1, samples // 2)]


def _get(data: dict[str, np.ndarray], key: str, path: Path, hint: str = "") -> np.ndarray:
    """``data[key]``; a missing key exits naming the file, its keys and ``hint`` (what to do)."""
    if key not in data:
        raise SystemExit(f"{path}: no '{key}' array (keys: {sorted(data)})" + (f"; {hint}" if hint else ""))
    return data[key]


def _features(data: dict[str, np.ndarray], parts: Sequence[str] | None, path: Path) -> np.ndarray:
    if parts is None:
        return _get(data, "features", path)
    return np.concatenate([_get(data, p, path) for p in parts], axis=1)


def _cluster(args: argparse.Namespace) -> Any:
    from .cluster import attribute_cluster_probe, cluster_probe

    data = _load(args.features)
    x, y = _features(data, args.parts, args.features), _labels(data, args, args.features)
    if y.ndim == 2:
        names = data.get("attribute_names")
        return attribute_cluster_probe(x, y, names=None if names is None else names.tolist(), method=args.method)
    tracks = None if args.no_tracks else data.get("tracks")
    return cluster_probe(x, y, tracks=tracks, method=args.method)


def _linear(args: argparse.Namespace) -> Report:
    from .linear import budget_split, linear_probe
    from .report import Report

    data = _load(args.features)
    x, y = _features(data, args.parts, args.features), _labels(data, args, args.features)
    if args.test is not None:
        test = _load(args.test)
        test_x, test_y = _features(test, args.parts, args.test), _labels(test, args, args.test)
    report = Report(f"{args.head} probe, frozen features ({args.features.name})")
    if args.budgets is None:
        args.budgets = default_budgets(len(y), held_out=args.test is not None)
        print(f"physdis probe linear: budgets {args.budgets} ({len(y)} labelled samples)", file=sys.stderr)
    too_large = [n for n in args.budgets if n > len(y)]
    if too_large:  # before any head is trained
        raise SystemExit(
            f"--budgets: {too_large[0]} exceeds the {len(y)} labelled samples in {args.features}; "
            "pass smaller --budgets"
        )
    for n in args.budgets:
        if args.test is None:  # the budget comes from the file, the rest is the test set
            budget, rest = budget_split(y, n, seed=args.seed)
            if len(rest) == 0:
                raise SystemExit(f"--budgets: {n} leaves no test samples out of {len(y)}; pass --test")
            split = (x[budget], y[budget], x[rest], y[rest], None)
        else:
            split = (x, y, test_x, test_y, n)
        train_x, train_y, eval_x, eval_y, n_train = split
        result = linear_probe(
            train_x,
            train_y,
            eval_x,
            eval_y,
            n_train=n_train,
            head=args.head,
            epochs=args.epochs,
            lr=args.lr,
            seed=args.seed,
        )
        report.add(f"n={n}", result)
    return report


def _pcc(args: argparse.Namespace) -> Any:
    from .disentangle import part_correlation

    data = _load(args.features)
    parts = args.parts or [p for p in PARTS if p in data]
    if len(parts) < 2:
        raise SystemExit(f"{args.features}: pcc needs at least two of the arrays {list(PARTS)}, found {parts}")
    return part_correlation({p: _get(data, p, args.features) for p in parts})


def _factors(args: argparse.Namespace) -> Any:
    from .factors import factor_probe

    data = _load(args.features)
    parts = args.parts or [p for p in PARTS if p in data]
    if not parts:
        raise SystemExit(f"{args.features}: factors needs the per-part arrays {list(PARTS)}, found none")
    if not args.factors.is_file():
        raise SystemExit(f"--factors: {args.factors} is not a file")
    with np.load(args.factors, allow_pickle=False) as f:
        groups = {k: f[k] for k in f.files}
    class_names = args.classes if args.classes is not None else [g for g in ("identity",) if g in groups]
    unknown = [c for c in class_names if c not in groups]
    if unknown:
        raise SystemExit(f"--classes: {unknown} are not arrays of {args.factors} (arrays: {sorted(groups)})")
    return factor_probe(
        {p: _get(data, p, args.features) for p in parts},
        {k: v for k, v in groups.items() if k not in class_names},
        {k: groups[k] for k in class_names},
        test_fraction=args.test_fraction,
        seed=args.seed,
        alpha=args.alpha,
    )


def run(args: argparse.Namespace) -> int:
    """Run the probe chosen on the command line; print markdown, optionally write JSON. Returns 0."""
    try:
        result = {"cluster": _cluster, "linear": _linear, "pcc": _pcc, "factors": _factors}[args.probe](args)
    except (ValueError, ImportError) as err:
        raise SystemExit(f"physdis probe {args.probe}: {err}") from err
    print(result.to_markdown())
    if args.json is not None:
        args.json.write_text(result.to_json() + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m physdis_hub.probes.cli probe ...``."""
    parser = argparse.ArgumentParser(prog="physdis")
    add_probe_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
