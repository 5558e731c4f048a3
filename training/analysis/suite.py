"""The evaluation suite of the shipped checkpoints: every variant against the baselines.

``python -m training.analysis.suite faces --runs OUT`` evaluates ``OUT/<variant>/model`` (``OUT``: the folder that
``python -m training.reproduce faces --out OUT`` wrote) for each variant found, beside three baselines, on the synthetic test identities (never seen in
training) of the preset the runs were trained with:

- identity clustering (Ward, as many clusters as identities; accuracy = weighted purity, F1, NMI) on
  the test identities under the training light/view ranges (``id``) and under light and view ranges
  training never used (``ood``);
- a linear identity probe trained on N labelled images of the test identities under the training
  ranges, scored on the same identities under novel light and view (``lin_ood@N``);
- the mean absolute Pearson correlation between the features of different parts (``part_pcc``);
- depth accuracy against ground truth in the image's view: scale-invariant depth error (``side``,
  Unsup3d's definition: the standard deviation of ``log(pred) - log(gt)`` over the object) and the
  mean angle deviation of normals (``mad_deg``), and the same for a constant (null) depth;
- reconstruction error (``recon_l1``, [0, 1] units, over covered pixels);
- faces only, with scikit-image installed: instance clustering of jittered real LFW face crops
  (``real_photo_acc``, ``real_photo_nmi``: means over three jitter draws, and ``real_photo_acc_sd``;
  see :mod:`training.analysis.real_photos`), the one real-photo check available offline.

Baselines: raw pixels projected by PCA (fitted on the evaluated images), a random-init model of the
same architecture, and a random-init ResNet-18 (no ImageNet weights offline). The results go to
``<runs>/suite.json`` and ``<runs>/SUITE.md``; ``--report results/DATE-SLUG.md`` also replaces the
table between ``<!-- results:<block>:start -->`` and ``<!-- results:<block>:end -->`` of that experiment
report (``--block``, default: the category) and writes each table as CSV beside it
(:func:`add_report_arguments`, shared by the other table tools). Nothing writes into README.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from physdis_hub.data import load_dataset
from physdis_hub.data.synthetic import GROUND_TRUTH_KEYS, scene_from_ground_truth
from physdis_hub.hub import load_pretrained
from physdis_hub.model import PhysDisModel
from physdis_hub.probes.baselines import PixelPCA, ResNet18Extractor
from physdis_hub.probes.cluster import cluster_probe
from physdis_hub.probes.linear import linear_probe
from physdis_hub.probes.report import markdown_table as report_table
from physdis_hub.scene import SceneParams
from physdis_hub.vocab import VARIANT_LABELS, VARIANTS

from ..commands import command_line
from ..config import TrainConfig
from ..data import build_splits
from ..evaluate import evaluate
from ..export import calibration_images
from .real_photos import RealPhotoDraw, jittered_draws, lfw_faces, real_photo_scores
from .shape_eval import null_depth_scores, ratios_to_null, shape_scores

REAL_PHOTO_COPIES = 5
"""Jittered copies of each real photo in the faces suite's real-photo check."""
REAL_PHOTO_SEEDS = (0, 1, 2)
"""Jitter draws the real-photo scores are averaged over (one draw moves accuracy by about 0.02)."""


@dataclass(frozen=True)
class SuiteData:
    """Images ``(N, 3, 64, 64)`` in [0, 1], identity labels ``(N,)`` and ground truth of one split."""

    images: torch.Tensor
    identity: np.ndarray
    view_depth: torch.Tensor
    view_mask: torch.Tensor
    scene: SceneParams
    dataset: torch.utils.data.Dataset


def load_split(config: TrainConfig, split: str) -> SuiteData:
    """The ``split`` (``"test"``, ``"test-ood"``, ...) of the synthetic set ``config`` trained on."""
    data = config.data
    if not data.dataset.startswith("synthetic-"):
        raise ValueError(
            f"config.data.dataset: the suite needs a synthetic set with ground truth, got {data.dataset!r}"
        )
    ds = load_dataset(data.dataset, root=data.root, split=split, **data.options)
    items = [ds[i] for i in range(len(ds))]
    return SuiteData(
        images=torch.stack([it["image"] for it in items]).float(),
        identity=np.asarray([int(it["labels"]["identity"]) for it in items]),
        view_depth=torch.stack([it["gt"]["view_depth"] for it in items]).float(),
        view_mask=torch.stack([it["gt"]["view_object_mask"] for it in items]).float(),
        scene=scene_from_ground_truth(
            {k: torch.stack([it["gt"][k] for it in items]).float() for k in GROUND_TRUTH_KEYS}
        ),
        dataset=ds,
    )


def identity_scores(
    extract: Callable[[torch.Tensor], np.ndarray], test: SuiteData, ood: SuiteData, n_labels: Sequence[int], epochs: int
) -> dict[str, float]:
    """Clustering (id, ood) and linear probes (budget on ``test``, scored on ``ood``) of one extractor."""
    f_id, f_ood = extract(test.images), extract(ood.images)
    out: dict[str, float] = {}
    for tag, feats, data in (("id", f_id, test), ("ood", f_ood, ood)):
        res = cluster_probe(feats, data.identity)
        out.update({f"cluster_{tag}_acc": res.accuracy, f"cluster_{tag}_f1": res.f1, f"cluster_{tag}_nmi": res.nmi})
    for n in n_labels:
        if n <= len(f_id):
            out[f"lin_ood@{n}"] = linear_probe(
                f_id, test.identity, f_ood, ood.identity, n_train=n, epochs=epochs
            ).accuracy
    return out


def model_extractor(
    model: PhysDisModel, parts: Sequence[str] = ("geom", "alb")
) -> Callable[[torch.Tensor], np.ndarray]:
    return lambda images: model.extract(images, parts=list(parts)).cpu().numpy()


def module_extractor(module: torch.nn.Module) -> Callable[[torch.Tensor], np.ndarray]:
    @torch.no_grad()
    def run(images: torch.Tensor) -> np.ndarray:
        return torch.cat([module(c) for c in images.split(128)]).cpu().numpy()

    return run


def evaluate_models(
    models: dict[str, PhysDisModel],
    config: TrainConfig,
    *,
    n_labels: Sequence[int] = (100, 500, 1000),
    epochs: int = 100,
    pca_dims: int = 128,
    real_photos: Sequence[RealPhotoDraw] | None = None,
) -> dict[str, dict[str, float]]:
    """Rows of the results table: each model, then the baselines.

    ``real_photos``: draws of jittered real photos and their photo indices (:mod:`training.analysis.real_photos`);
    when given, every extractor is also scored on them (``real_photo_acc``, ``real_photo_acc_sd``,
    ``real_photo_nmi``).
    """
    test, ood = load_split(config, "test"), load_split(config, "test-ood")
    rows: dict[str, dict[str, float]] = {}
    reference = next(iter(models.values()))
    # same architecture, untrained (torch default init); calibrated on the validation split as the
    # training export calibrates the trained models, so both are read the same way
    random_model = PhysDisModel(reference.config.replace(part_scales=None)).eval()
    if reference.config.part_scales is not None:
        random_model.calibrate(calibration_images(build_splits(config.data).val), align=False)

    def scores(
        extract: Callable[[torch.Tensor], np.ndarray], real_extract: Callable[[torch.Tensor], np.ndarray] | None = None
    ) -> dict[str, float]:
        row = identity_scores(extract, test, ood, n_labels, epochs)
        if real_photos is not None:
            row.update(real_photo_scores(real_extract or extract, real_photos))
        return row

    for name, model in [*models.items(), ("random-init", random_model)]:
        row = scores(model_extractor(model))
        basic = evaluate(model, test.dataset, cluster_parts=("geom", "alb"), max_classes=1)
        row.update({k: basic[k] for k in ("recon_l1", "part_pcc") if k in basic})
        row.update(shape_scores(model, test.images, test.scene, test.view_depth, test.view_mask, test.identity))
        rows[name] = row
    # PCA is fitted on the images it projects: the synthetic test split, and the real photos apart
    real_pca = None
    if real_photos is not None:
        real_pca = module_extractor(PixelPCA(pca_dims).fit(torch.cat([images for images, _ in real_photos])))
    rows["pixels+PCA"] = scores(module_extractor(PixelPCA(pca_dims).fit(test.images)), real_pca)
    rows["ResNet-18 (random init)"] = scores(module_extractor(ResNet18Extractor(None).eval()))
    null = null_depth_scores(test.view_depth, test.view_mask, reference.renderer.camera)
    rows["null depth"] = null
    for row in rows.values():
        if "side" in row:
            row.update(ratios_to_null(row, null))
    return rows


COLUMNS = (
    ("cluster_id_acc", "clust. acc (id)"),
    ("cluster_ood_acc", "clust. acc (OOD)"),
    ("cluster_ood_f1", "F1 (OOD)"),
    ("cluster_ood_nmi", "NMI (OOD)"),
    ("lin_ood@100", "lin. OOD @100"),
    ("lin_ood@500", "lin. OOD @500"),
    ("lin_ood@1000", "lin. OOD @1000"),
    ("part_pcc", "part PCC"),
    ("side", "SIDE"),
    ("side_vs_null", "SIDE / null"),
    ("mad_deg", "MAD (deg)"),
    ("mad_vs_null", "MAD / null"),
    ("recon_l1", "recon L1"),
    ("real_photo_acc", "real-photo acc"),
    ("real_photo_acc_sd", "(sd)"),
    ("real_photo_nmi", "real-photo NMI"),
)


SHAPE_COLUMNS = (
    ("side_true_view", "SIDE, true view"),
    ("mad_true_view", "MAD, true view"),
    ("side_deplaned", "SIDE, plane removed"),
    ("mad_deplaned", "MAD, plane removed"),
    ("hf_ratio", "HF depth / truth"),
    ("light_x_corr", "light x r"),
    ("light_x_slope", "light x slope"),
    ("light_y_corr", "light y r"),
    ("light_y_slope", "light y slope"),
    ("view_yaw_corr", "yaw r"),
    ("view_yaw_slope", "yaw slope"),
    ("view_pitch_corr", "pitch r"),
    ("view_pitch_slope", "pitch slope"),
    ("yaw_shift_corr", "yaw err vs x-shift err r"),
    ("relief_slope", "relief / truth"),
    ("light_y_id_share", "light y: share between ids"),
    ("albedo_light_y_corr", "albedo contrast err vs light y err r"),
    ("light_x_shading_slope", "diffuse l_x slope"),
    ("light_z_shading_ratio", "diffuse l_z / truth"),
    ("albedo_brightness_slope", "albedo brightness slope"),
)
"""Diagnostics of :mod:`training.analysis.shape_eval` (a second table: models only)."""


def markdown_table(rows: dict[str, dict[str, float]], columns: Sequence[tuple[str, str]] = COLUMNS) -> str:
    """The results as a markdown table (``-`` where a metric does not apply); rows without any of
    ``columns`` are left out."""
    cols = [c for c in columns if any(c[0] in r for r in rows.values())]
    rows = {name: row for name, row in rows.items() if any(k in row for k, _ in cols)}
    return report_table(
        [
            {"model": name, **{h: f"{row[k]:.4g}" if k in row and math.isfinite(row[k]) else "-" for k, h in cols}}
            for name, row in rows.items()
        ]
    )


def read_block(path: Path, name: str) -> tuple[str, str, str]:
    """``path``'s text and the start and end markers of its results block ``name``; ``ValueError`` if absent."""
    start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
    doc = path.read_text() if path.is_file() else ""
    if start not in doc or end not in doc:
        raise ValueError(f"--report: {path} has no {start} ... {end} block")
    return doc, start, end


def replace_block(path: Path, name: str, text: str) -> None:
    """Replace the text between the markers of results block ``name`` in ``path``."""
    doc, start, end = read_block(path, name)
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    path.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", doc))


def report_data_dir(report: Path) -> Path:
    """Where the CSV files of experiment report ``report`` go: ``<its folder>/data/<its stem>/``."""
    return report.parent / "data" / report.stem


def markdown_cells(markdown: str) -> list[list[list[str]]]:
    r"""The cells of each Markdown table in ``markdown``, one list of rows per table (separator rows left out).

    Example:
        >>> markdown_cells("| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n\n| c |\n|---|\n| 3 |")
        [[['a', 'b'], ['1', '2']], [['c'], ['3']]]
    """
    tables: list[list[list[str]]] = []
    inside = False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        if not inside:
            tables.append([])
            inside = True
        if not re.fullmatch(r"\|[-| ]+\|", line.strip()):
            tables[-1].append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return tables


def add_report_arguments(parser: argparse.ArgumentParser, block: str | None, block_default: str) -> None:
    """Add ``--report`` and ``--block``: where a table tool also writes its tables (see :func:`publish`)."""
    parser.add_argument(
        "--report",
        type=Path,
        metavar="results/DATE-SLUG.md",
        help="also write the table(s) into this experiment report's results block (a new file is created) and each "
        "table as CSV under <report folder>/data/<report name>/",
    )
    parser.add_argument(
        "--block", default=block, help=f"that block's name: <!-- results:NAME:start --> (default: {block_default})"
    )


def require_block(parser: argparse.ArgumentParser, report: Path | None, name: str) -> None:
    """Stop with a usage error now, before the work, if ``report`` (when given) cannot take results block ``name``.

    A README is refused (results live in reports under ``results/``); an existing report must have the
    block; a report that does not exist yet is created by :func:`publish`.
    """
    if report is None:
        return
    if report.name.lower() == "readme.md":
        parser.error(f"--report: {report} is a README; results go to a dated report, e.g. results/YYYY-MM-DD-{name}.md")
    if report.exists():
        try:
            read_block(report, name)
        except ValueError as err:
            parser.error(str(err))


def publish(header: str, table: str, report: Path | None, name: str) -> None:
    """Print ``header`` and ``table``; with ``report``, also make them its results block ``name`` and write
    each table as ``<name>.csv``, ``<name>-2.csv``, ... under :func:`report_data_dir`."""
    if report is not None:
        if not report.exists():
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(f"# {name}\n\n<!-- results:{name}:start -->\n<!-- results:{name}:end -->\n")
        replace_block(report, name, f"{header}\n\n{table}")
        folder = report_data_dir(report)
        folder.mkdir(parents=True, exist_ok=True)
        for k, rows in enumerate(markdown_cells(table)):
            with open(folder / (f"{name}.csv" if k == 0 else f"{name}-{k + 1}.csv"), "w", newline="") as f:
                csv.writer(f).writerows(rows)
    print(header, table, sep="\n\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.analysis.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("category", choices=["faces", "cars"])
    parser.add_argument("--runs", required=True, type=Path, help="output folder of training.reproduce")
    parser.add_argument("--epochs", type=int, default=100, help="linear probe epochs")
    add_report_arguments(parser, None, "the category")
    args = parser.parse_args(argv)
    block = args.block or args.category
    require_block(parser, args.report, block)  # before the minutes of evaluation, not after
    torch.manual_seed(0)
    variants = [v for v in VARIANTS if (args.runs / v / "model").is_dir()]
    if not variants:
        parser.error(f"--runs: no <variant>/model folders under {args.runs}")
    models = {f"ours, {VARIANT_LABELS[v]}": load_pretrained(f"local-dir:{args.runs / v / 'model'}") for v in variants}
    config = TrainConfig.from_dict(json.loads((args.runs / variants[0] / "train_config.json").read_text()))
    real, real_note = None, ""
    if args.category == "faces":
        try:
            real = jittered_draws(lfw_faces(), REAL_PHOTO_COPIES, REAL_PHOTO_SEEDS)
            real_note = (
                f" Real photo = the 100 LFW face crops of scikit-image, {REAL_PHOTO_COPIES} jittered copies each "
                "(shading ramp, gain, gamma, flip, small rotation/scale/shift), clustered into one cluster "
                f"per photo (`training/analysis/real_photos.py`); mean over {len(REAL_PHOTO_SEEDS)} jitter draws, "
                "(sd) = their standard deviation."
            )
        except ImportError as err:
            real_note = f" Real-photo check skipped: {err}."
    rows = evaluate_models(models, config, epochs=args.epochs, real_photos=real)
    command = command_line("training.analysis.suite", argv)
    table = f"{markdown_table(rows)}\n\nShape diagnostics (`training/analysis/shape_eval.py`):\n\n{markdown_table(rows, SHAPE_COLUMNS)}"
    data = config.data.options
    header = (
        f"Synthetic {args.category}: {data.get('test_identities')} test identities x {data.get('images_per_identity')} "
        f"images, never seen in training; OOD = light and view ranges training never used. "
        f"Preset `{config.preset}`.{real_note} Generated by `{command}`."
    )
    suite = {"command": command, "preset": config.preset, "header": header, "rows": rows}
    (args.runs / "suite.json").write_text(json.dumps(suite, indent=2))
    (args.runs / "SUITE.md").write_text(f"{header}\n\n{table}\n")
    publish(header, table, args.report, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
