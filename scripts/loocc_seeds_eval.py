"""Evaluate and aggregate the LOOCC-over-seeds runs of ``scripts/loocc_seeds.sh`` (issue 31, item 4).

It probes the continuous factors that ``synthetic-faces-ict`` records (``training.factor_eval``'s
:func:`~training.factor_eval.synthetic_factors`), with the probe's default owners
(:data:`physdis_hub.probes.factors.OWN_GROUPS`: geom -> shape and expression, alb -> albedo,
light -> light, view -> view) and identity as the one class column.

Two steps::

    # one run: its best checkpoint on the test split of the data it trained on -> JSON
    python scripts/loocc_seeds_eval.py run RUN_DIR --json OUT.json

    # every run's JSON -> CSV tables (per run, mean +- sd per variant and style, tests) under
    # results/data/DATE-SLUG/ and the Markdown tables into the report's block <!-- results:loocc-seeds:... -->
    python scripts/loocc_seeds_eval.py aggregate JSON_DIR --report results/DATE-SLUG.md

``run`` writes, for the trained model, its untrained twin (same architecture, fresh weights, seed
0) and raw pixels: the 4 x 6 part-by-factor matrix (held-out R^2, identity accuracy), the
informativeness, leakage and mean |PCC| summaries (``physdis_hub.probes.factor_report``, split seed
0), and depth SIDE / MAD of the predicted depth against the truth beside the null depth's
(``training.analysis.shape_table.shape_rows``).

``aggregate`` tests each LOOCC variant against ``none`` per style with Welch's unequal-variance
t-test (two-sided, ``scipy.stats.ttest_ind(equal_var=False)``) over the seeds.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from physdis_hub.data import load_dataset
from physdis_hub.probes import factor_report
from training.analysis.shape_table import shape_rows
from training.analysis.suite import add_report_arguments, replace_block, report_data_dir, require_block
from training.factor_eval import own_groups, synthetic_factors
from training.trainer import load_best_model

GROUPS = ("shape", "expression", "albedo", "light", "view")
"""The continuous factor groups probed where recorded (columns of the matrix, then identity): all
five for ``synthetic-faces-ict``, all but ``expression`` for ``synthetic-cars``."""
TOP_MODES = 4
"""ICT faces only: ``shape_top4``, an extra column, the first ICT identity modes alone. They move the surface most
(RMS 0.39 cm for the first, about 0.025 cm for the last of the 30; docs/synthetic-faces.md), so the
mean R^2 over all 33 shape columns hides what geometry holds of the shape. No part owns the
column: it enters neither summary."""
SCORES = ("informativeness", "leakage", "mean_abs_pcc", "geom_identity", "alb_identity", "side", "side_vs_null",
          "mad_deg", "mad_vs_null")  # fmt: skip
"""The per-run numbers that are aggregated and tested."""
TESTED = ("informativeness", "leakage", "mean_abs_pcc", "side_vs_null", "mad_vs_null", "geom_identity")
"""The numbers on which each LOOCC variant is tested against ``none``."""


def evaluate_run(run_dir: Path) -> dict[str, Any]:
    """Probe and depth scores of the best checkpoint of ``run_dir`` on its data's test split."""
    model, meta = load_best_model(run_dir)
    config = meta["config"]
    data = config.data
    test = load_dataset(data.dataset, root=data.root, split="test", **data.options)
    images, recorded, labels = synthetic_factors([test[i] for i in range(len(test))])
    if "shape" not in recorded or "albedo" not in recorded:
        raise ValueError(f"run_dir: {data.dataset!r} records no shape and albedo factors ({run_dir})")
    factors = {g: recorded[g] for g in GROUPS if g in recorded}
    if data.dataset == "synthetic-faces-ict":
        factors[f"shape_top{TOP_MODES}"] = factors["shape"][:, :TOP_MODES]
    classes = {"identity": labels["identity"]}
    with torch.no_grad():
        report = factor_report(model, images, factors, classes, seed=0, own_groups=own_groups(factors))
        depth = shape_rows({"model": model}, config)
    rows = {}
    for name, result in report.results.items():
        rows[name] = {
            "parts": result.parts, "groups": result.groups, "matrix": result.matrix,
            "informativeness": result.informativeness, "leakage": result.leakage,
            "mean_abs_pcc": result.mean_abs_pcc, "chance": result.chance,
            "n_train": result.n_train, "n_test": result.n_test,
        }  # fmt: skip
    return {
        "run": str(run_dir), "dataset": data.dataset, "variant": config.loocc.variant, "style": config.loocc.style,
        "cycle_weight": config.loocc.cycle_weight, "seed": config.seed, "epoch": meta["epoch"],
        "val_loss": meta["val_loss"], "probe": rows,
        "depth": {k: depth["model"][k] for k in ("side", "side_vs_null", "mad_deg", "mad_vs_null")},
        "null_depth": {k: depth["null depth"][k] for k in ("side", "mad_deg")},
    }  # fmt: skip


def run_scores(record: dict[str, Any], row: str = "model") -> dict[str, float]:
    """The :data:`SCORES` of one run's JSON record (``row``: model, untrained or pixels)."""
    probe = record["probe"][row]
    out = {
        k: probe[k] if probe[k] is not None else float("nan") for k in ("informativeness", "leakage", "mean_abs_pcc")
    }
    for part in ("geom", "alb"):
        out[f"{part}_identity"] = cell(probe, part, "identity") if part in probe["parts"] else float("nan")
    out.update(
        record["depth"]
        if row == "model"
        else dict.fromkeys(("side", "side_vs_null", "mad_deg", "mad_vs_null"), float("nan"))
    )
    return out


def cell(probe: dict[str, Any], part: str, group: str) -> float:
    """One raw cell of a probe row's matrix."""
    return probe["matrix"][probe["parts"].index(part)][probe["groups"].index(group)]


def arm(record: dict[str, Any]) -> str:
    """``none``, or ``<variant>-<style>`` (``none`` is trained once; it has no LOOCC style)."""
    return "none" if record["variant"] == "none" else f"{record['variant']}-{record['style']}"


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; nan for one value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")


def baselines(records: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], str]]:
    """Baseline row name -> (a record holding it, its probe row). The untrained twin is seeded
    (seed 0), so it is one network per architecture: the text style's (also ``none``'s) and the
    code style's (``encoder_head="tanh-conv"``); the pixels are the same in every record."""
    out = {}
    for style in ("text", "code"):
        held = [
            r
            for r in records
            if (r["variant"] == "none" and style == "text") or (r["variant"] != "none" and r["style"] == style)
        ]
        if held:
            out[f"untrained ({style}-style architecture)"] = (held[0], "untrained")
    out["pixels"] = (records[0], "pixels")
    return out


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fmt(m: float, s: float) -> str:
    """``mean ± sd``, the mean alone for one value, ``-`` where the score does not apply."""
    if np.isnan(m):
        return "-"
    return f"{m:.3f}" if np.isnan(s) else f"{m:.3f} ± {s:.3f}"


def aggregate(json_dir: Path, out: Path) -> str:
    """Write the CSV tables into ``out`` and return the Markdown of the report's tables."""
    records = [json.loads(p.read_text()) for p in sorted(json_dir.glob("*.json"))]
    if not records:
        raise ValueError(f"json_dir: no run JSON files in {json_dir}")
    out.mkdir(parents=True, exist_ok=True)
    order = ["none", "L-text", "LV-text", "L-code", "LV-code"]
    arms = [a for a in order if any(arm(r) == a for r in records)]
    per_run = [
        {"arm": arm(r), "seed": r["seed"], "epoch": r["epoch"], "val_loss": r["val_loss"], **run_scores(r)}
        for r in records
    ]
    per_run.sort(key=lambda row: (order.index(row["arm"]), row["seed"]))
    write_csv(out / "per_run.csv", per_run)
    matrix_rows = []
    for r in records:
        for row in ("model", "untrained", "pixels"):
            probe = r["probe"][row]
            for part, values in zip(probe["parts"], probe["matrix"]):
                matrix_rows.append({"arm": arm(r), "seed": r["seed"], "row": row, "part": part,
                                    **dict(zip(probe["groups"], values))})  # fmt: skip
    write_csv(out / "matrix_per_run.csv", matrix_rows)
    groups = records[0]["probe"]["model"]["groups"]
    md: list[str] = []
    summary = []
    for a in arms:
        runs = [r for r in records if arm(r) == a]
        row: dict[str, Any] = {"arm": a, "n_seeds": len(runs)}
        for k in SCORES:
            row[f"{k}_mean"], row[f"{k}_sd"] = mean_sd([run_scores(r)[k] for r in runs])
        summary.append(row)
    for name, (record, key) in baselines(records).items():
        row = {"arm": name, "n_seeds": 1}
        for k in SCORES:
            row[f"{k}_mean"], row[f"{k}_sd"] = mean_sd([run_scores(record, key)[k]])
        summary.append(row)
    write_csv(out / "aggregate.csv", summary)
    md.append(
        "| model | seeds | informativeness | leakage | mean abs PCC | geom -> identity acc | alb -> identity acc | SIDE | SIDE / null | MAD (deg) | MAD / null |"
    )
    md.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in summary:
        md.append(
            "| "
            + " | ".join([row["arm"], str(row["n_seeds"])] + [fmt(row[f"{k}_mean"], row[f"{k}_sd"]) for k in SCORES])
            + " |"
        )
    matrix_agg = []
    sources = {a: ([r for r in records if arm(r) == a], "model") for a in arms}
    sources.update({name: ([record], key) for name, (record, key) in baselines(records).items()})
    for a, (runs, key) in sources.items():
        parts = runs[0]["probe"][key]["parts"]
        md.append(f"\n**{a}** ({len(runs)} {'seeds' if key == 'model' else 'network'}; R^2, identity: accuracy)\n")
        md.append("| part | " + " | ".join(groups) + " |")
        md.append("|---|" + "---|" * len(groups))
        for part in parts:
            cells = []
            row = {"arm": a, "part": part}
            for g in groups:
                m, s = mean_sd([cell(r["probe"][key], part, g) for r in runs])
                row[f"{g}_mean"], row[f"{g}_sd"] = m, s
                cells.append(fmt(m, s))
            matrix_agg.append(row)
            md.append(f"| {part} | " + " | ".join(cells) + " |")
    write_csv(out / "matrix_aggregate.csv", matrix_agg)
    tests = []
    base = [r for r in records if arm(r) == "none"]
    for a in arms:
        if a == "none" or not base:
            continue
        runs = [r for r in records if arm(r) == a]
        for k in TESTED:
            x, y = [run_scores(r)[k] for r in runs], [run_scores(r)[k] for r in base]
            t, p = stats.ttest_ind(x, y, equal_var=False)
            tests.append({"arm": a, "vs": "none", "score": k, "mean_arm": float(np.mean(x)), "mean_none": float(np.mean(y)),
                          "difference": float(np.mean(x) - np.mean(y)), "welch_t": float(t), "p_two_sided": float(p)})  # fmt: skip
    if tests:
        write_csv(out / "tests.csv", tests)
        md.append("\n| variant vs none | score | mean variant | mean none | difference | Welch t | p (two-sided) |")
        md.append("|---|---|---|---|---|---|---|")
        for t in tests:
            md.append(f"| {t['arm']} | {t['score']} | {t['mean_arm']:.3f} | {t['mean_none']:.3f} | {t['difference']:+.3f} | "
                      f"{t['welch_t']:.2f} | {t['p_two_sided']:.3f} |")  # fmt: skip
    null = records[0]["null_depth"]
    md.append(f"\nNull depth (constant depth): SIDE {null['side']:.4f}, MAD {null['mad_deg']:.2f} deg.")
    return "\n".join(md)


def publish_block(report: Path, block: str, text: str) -> None:
    """Make ``text`` the results block ``block`` of ``report`` (a new report gets just the block)."""
    if not report.exists():
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(f"<!-- results:{block}:start -->\n<!-- results:{block}:end -->\n")
    replace_block(report, block, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/loocc_seeds_eval.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="evaluate one run's best checkpoint")
    one.add_argument("run_dir", type=Path, help="a run folder of python -m training.train (holds best.ckpt)")
    one.add_argument("--json", required=True, type=Path, help="where to write the run's scores")
    agg = sub.add_parser("aggregate", help="tables over every run's JSON")
    agg.add_argument("json_dir", type=Path, help="folder of the run JSON files")
    agg.add_argument("--out", type=Path, help="folder of the CSV tables (default: the report's data folder)")
    agg.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    add_report_arguments(agg, "loocc-seeds", "loocc-seeds")
    args = parser.parse_args(argv)
    if args.command == "aggregate":
        if args.out is None and args.report is None:
            parser.error("aggregate: give --out FOLDER or --report results/DATE-SLUG.md (or both)")
        require_block(parser, args.report, args.block)
    if args.command == "run":
        record = evaluate_run(args.run_dir)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1))
        print(json.dumps({k: record[k] for k in ("variant", "style", "seed", "epoch", "depth")}))
    else:
        text = aggregate(args.json_dir, args.out or report_data_dir(args.report))
        if args.report:
            publish_block(args.report, args.block, text)
        if args.markdown:
            args.markdown.write_text(text + "\n")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
