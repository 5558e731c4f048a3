"""Model cards: ``README.md`` rendered from the template ``model_card_template.md`` (see model_cards/).

The card carries the Hub metadata block (library_name physdis-hub, licence, tags, datasets), the
architecture, the training data and licence, an evaluation table and how to load the model.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from ..model import PhysDisModel
from ..vocab import PARTS, VARIANT_LABELS, VARIANT_SLUGS

EvalResults = Mapping[str, Any] | str | os.PathLike
"""``{"metrics": {name: number, ...}, "command": "the command that produced them"}`` or a JSON file of it;
optional keys: ``"baselines"`` (``{row name: {name: number}}``, shown as further columns beside the
model's value) and ``"notes"`` (text shown above the table: data, budget, caveats)."""

_OPTIONAL_KEYS = {"baselines", "notes"}

TEMPLATE_NAME = "model_card_template.md"


def render_model_card(
    model: PhysDisModel,
    *,
    eval_results: EvalResults | None = None,
    repo_id: str | None = None,
    provenance: str | None = None,
) -> str:
    """The model card of ``model`` as Markdown with a YAML metadata block.

    Args:
        model: the model (its config and parameter counts fill the card).
        eval_results: metrics and the command that produced them (dict or JSON file), or None.
        repo_id: Hub repository the card is for; used in the loading example.
        provenance: Markdown appended to the training section: where weights that were not trained
            by physdis-hub come from and what inputs they expect (e.g. converted checkpoints).

    Example:
        >>> card = render_model_card(model, eval_results={"metrics": {"cluster_acc": 0.61},
        ...                                               "command": "physdis probe cluster ..."})  # doctest: +SKIP
    """
    config = model.config
    variant = VARIANT_LABELS[config.variant]
    tags = [
        "physdis-hub",
        "inverse-rendering",
        "disentangled-representation",
        "image-feature-extraction",
        config.category,
        VARIANT_SLUGS[config.variant],
    ]
    dims = config.nets.feature_dims
    template = Template(resources.files(__package__).joinpath(TEMPLATE_NAME).read_text(encoding="utf-8"))
    return template.substitute(
        license=json.dumps(config.license),
        tags=json.dumps(tags),
        datasets=json.dumps([config.training_data] if config.training_data else []),
        title=f"physdis-hub {config.category} model ({variant})",
        architecture=_architecture(model),
        config_json=json.dumps(config.to_dict(), indent=2, sort_keys=True),
        training=(
            f"- Category: {config.category}\n"
            f"- Training data: {config.training_data or 'not recorded'}\n"
            f"- Training objective: photometric reconstruction ({variant})\n"
            f"- Licence of the weights: `{config.license}` (the training data's own terms also apply)"
            + (f"\n\n{provenance.strip()}" if provenance else "")
        ),
        evaluation=_evaluation(eval_results),
        load_name=f"hf-hub:{repo_id}" if repo_id else "local-dir:path/to/this/folder",
        geom_alb_dim=dims["geom"] + dims["alb"],
    )


def _architecture(model: PhysDisModel) -> str:
    config = model.config
    nets, dims = config.nets, config.nets.feature_dims
    rows = [
        ("geom", f"depth encoder-decoder, nf {nets.depth_nf}", dims["geom"], model.depth_net),
        ("alb", f"albedo encoder-decoder, nf {nets.albedo_nf}", dims["alb"], model.albedo_net),
        ("light", f"light encoder, nf {nets.light_nf}", dims["light"], model.light_net),
        ("view", f"view encoder, nf {nets.view_nf}", dims["view"], model.view_net),
    ]
    lines = ["| part | network | feature size | parameters |", "|---|---|---|---|"]
    lines += [f"| {p} | {desc} | {dim} | {_count(net):,} |" for p, desc, dim, net in rows]
    if model.conf_net is not None:
        lines.append(
            f"| (confidence) | ConfidenceNet, nf {nets.conf_nf}, training only | - | {_count(model.conf_net):,} |"
        )
    lines += [
        "",
        f"{_input_note(model)} Total parameters: {_count(model):,}.",
        "",
        _scales_note(config.part_scales),
    ]
    return "\n".join(lines)


def _input_note(model: PhysDisModel) -> str:
    """What the model takes, as :meth:`PhysDisModel.align` prepares it (face models align faces)."""
    size, resize = model.config.image_size, model.config.resize
    if model.aligns_faces:
        return (
            f"Input: RGB images in [0, 1] (or uint8). A photograph larger than {size}x{size} is searched for "
            f"faces (MTCNN) and each face is aligned and cropped to {size}x{size} as Unsup3d's demo does "
            f"(`align=False` turns this off); an image of {size}x{size} or smaller is taken as a face crop "
            f"({resize} to {size}x{size})."
        )
    return f"Input: RGB images in [0, 1] (or uint8), brought to {size}x{size} by {resize}."


def _scales_note(scales: tuple[float, ...] | None) -> str:
    if scales is None:
        return "Part scales: not calibrated; `extract` returns the raw bottleneck features."
    listed = ", ".join(f"{p} {v:.3g}" for p, v in zip(PARTS, scales))
    return (
        f"Part scales (feature spread per part, `config.part_scales`): {listed}. `extract` divides each part "
        "by its scale so that every part weighs the same in a distance; `scale_parts=False` gives the raw features."
    )


def _count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def _evaluation(eval_results: EvalResults | None) -> str:
    if eval_results is None:
        return "No evaluation results were recorded for this checkpoint."
    data = _read_eval_results(eval_results)
    baselines = data.get("baselines", {})
    escape = lambda text: text.replace("|", "\\|")  # a '|' would end the table cell
    lines = [
        "| " + " | ".join(["metric", "value", *map(escape, baselines)]) + " |",
        "|---" * (2 + len(baselines)) + "|",
    ]
    for name, value in data["metrics"].items():
        others = [f"{row[name]:.4g}" if name in row else "-" for row in baselines.values()]
        lines.append("| " + " | ".join([escape(name), f"{value:.4g}", *others]) + " |")
    notes = f"{data['notes'].strip()}\n\n" if "notes" in data else ""
    return notes + "\n".join(lines) + f"\n\nProduced by:\n\n```bash\n{data['command']}\n```"


def _read_eval_results(eval_results: EvalResults) -> Mapping[str, Any]:
    if isinstance(eval_results, (str, os.PathLike)):
        try:
            data = json.loads(Path(eval_results).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"eval_results: cannot read JSON from {eval_results}: {err}") from err
    else:
        data = eval_results
    if not isinstance(data, Mapping) or not {"metrics", "command"} <= set(data) <= {
        "metrics",
        "command",
        *_OPTIONAL_KEYS,
    }:
        keys = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(
            f"eval_results: expected the keys 'metrics' and 'command' (optional: {sorted(_OPTIONAL_KEYS)}), got {keys}"
        )
    command = data["command"]
    if not isinstance(command, str) or not command.strip():
        raise ValueError("eval_results: 'command' must be the non-empty command line that produced the metrics")
    _check_metrics("'metrics'", data["metrics"])
    baselines = data.get("baselines", {})
    if not isinstance(baselines, Mapping) or not all(isinstance(k, str) and k for k in baselines):
        raise ValueError("eval_results: 'baselines' must map row names to metric mappings")
    for row, metrics in baselines.items():
        _check_metrics(f"baseline {row!r}", metrics)
    if not isinstance(data.get("notes", ""), str):
        raise ValueError(f"eval_results: 'notes' must be text, got {type(data['notes']).__name__}")
    return data


def _check_metrics(what: str, metrics: Any) -> None:
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError(f"eval_results: {what} must be a non-empty mapping of metric name -> number")
    for name, value in metrics.items():
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not isinstance(name, str) or not name or not ok:
            raise ValueError(
                f"eval_results: {what}: metric {name!r} must be a name with a finite number, got {value!r}"
            )
