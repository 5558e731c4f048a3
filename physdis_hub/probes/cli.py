"""``physdis probe cluster|linear|pcc``: run a probe on features stored in a ``.npz`` file.

File keys: ``features`` ``(N, D)``; ``labels`` ``(N,)`` classes or ``(N, K)`` binary attributes;
optional ``tracks`` ``(N,)`` (per-track averaging for clustering), ``attribute_names`` ``(K,)``, and
per-part arrays ``geom``, ``alb``, ``light``, ``view`` ``(N, d)`` (``--parts`` concatenates them
in place of ``features``; ``pcc`` needs them).

The main ``physdis`` CLI calls :func:`add_probe_subcommands` on its sub-parsers and, for the
``probe`` command, :func:`run` (also set as the parser's ``func`` default). Standalone:
``python -m physdis_hub.probes.cli probe cluster --features f.npz``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import PARTS

if TYPE_CHECKING:  # the probes (torch, scikit-learn) are imported when one runs: `physdis --help` stays fast
    from .report import Report


def _parts_arg(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(PARTS)}, got {text!r}")
    return parts


def add_probe_subcommands(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``probe`` command (with ``cluster``, ``linear`` and ``pcc``) to ``subparsers``.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Returns:
        The ``probe`` parser.
    """
    probe = subparsers.add_parser("probe", help="evaluate features: clustering, linear probe, part correlation")
    sub = probe.add_subparsers(dest="probe", required=True, metavar="{cluster,linear,pcc}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--features", required=True, type=Path, help=".npz with features, labels, ...")
        p.add_argument("--json", type=Path, help="also write the result as JSON to this file")

    def parts(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--parts", type=_parts_arg, help=f"{what} (comma-separated, e.g. geom,alb)")

    c = sub.add_parser("cluster", help="Ward (or FINCH) clustering: cluster accuracy, weighted F1, NMI")
    common(c)
    parts(c, "use these per-part arrays instead of 'features'")
    c.add_argument("--method", choices=("ward", "finch"), default="ward")
    c.add_argument("--no-tracks", action="store_true", help="ignore 'tracks' (cluster frames, not tracks)")

    lin = sub.add_parser("linear", help="linear / MLP head on frozen features with a labelled budget")
    common(lin)
    parts(lin, "use these per-part arrays instead of 'features'")
    lin.add_argument("--test", type=Path, help="test .npz (default: the samples of --features outside the budget)")
    lin.add_argument("--budgets", type=int, nargs="+", default=[100, 500, 1000], help="labelled samples")
    lin.add_argument("--head", choices=("linear", "mlp"), default="linear")
    lin.add_argument("--epochs", type=int, default=100)
    lin.add_argument("--lr", type=float, default=1e-3)
    lin.add_argument("--seed", type=int, default=0)

    pcc = sub.add_parser("pcc", help="mean absolute Pearson correlation between the features of parts")
    common(pcc)
    parts(pcc, "parts to correlate (default: all of geom,alb,light,view in the file)")
    probe.set_defaults(func=run)
    return probe


def _load(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise SystemExit(f"--features/--test: {path} is not a file")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _get(data: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    if key not in data:
        raise SystemExit(f"{path}: no '{key}' array (keys: {sorted(data)})")
    return data[key]


def _features(data: dict[str, np.ndarray], parts: Sequence[str] | None, path: Path) -> np.ndarray:
    if parts is None:
        return _get(data, "features", path)
    return np.concatenate([_get(data, p, path) for p in parts], axis=1)


def _cluster(args: argparse.Namespace) -> Any:
    from .cluster import attribute_cluster_probe, cluster_probe

    data = _load(args.features)
    x, y = _features(data, args.parts, args.features), _get(data, "labels", args.features)
    if y.ndim == 2:
        names = data.get("attribute_names")
        return attribute_cluster_probe(x, y, names=None if names is None else names.tolist(), method=args.method)
    tracks = None if args.no_tracks else data.get("tracks")
    return cluster_probe(x, y, tracks=tracks, method=args.method)


def _linear(args: argparse.Namespace) -> Report:
    from .linear import budget_split, linear_probe
    from .report import Report

    data = _load(args.features)
    x, y = _features(data, args.parts, args.features), _get(data, "labels", args.features)
    if args.test is not None:
        test = _load(args.test)
        test_x, test_y = _features(test, args.parts, args.test), _get(test, "labels", args.test)
    report = Report(f"{args.head} probe, frozen features ({args.features.name})")
    for n in args.budgets:
        if args.test is None:  # the budget comes from the file, the rest is the test set
            budget, rest = budget_split(y, n, seed=args.seed)
            if len(rest) == 0:
                raise SystemExit(f"--budgets: {n} leaves no test samples out of {len(y)}; pass --test")
            split = (x[budget], y[budget], x[rest], y[rest], None)
        else:
            split = (x, y, test_x, test_y, n)
        train_x, train_y, eval_x, eval_y, n_train = split
        result = linear_probe(train_x, train_y, eval_x, eval_y, n_train=n_train, head=args.head,
                              epochs=args.epochs, lr=args.lr, seed=args.seed)  # fmt: skip
        report.add(f"n={n}", result)
    return report


def _pcc(args: argparse.Namespace) -> Any:
    from .disentangle import part_correlation

    data = _load(args.features)
    parts = args.parts or [p for p in PARTS if p in data]
    if len(parts) < 2:
        raise SystemExit(f"{args.features}: pcc needs at least two of the arrays {list(PARTS)}, found {parts}")
    return part_correlation({p: _get(data, p, args.features) for p in parts})


def run(args: argparse.Namespace) -> int:
    """Run the probe chosen on the command line; print markdown, optionally write JSON. Returns 0."""
    try:
        result = {"cluster": _cluster, "linear": _linear, "pcc": _pcc}[args.probe](args)
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
