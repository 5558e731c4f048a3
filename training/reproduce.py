"""Reproduce the paper's variants end to end: train, evaluate, write model cards, export, push.

Examples::

    python -m training.reproduce faces --preset faces-synthetic-cpu            # offline (time: --help of training.train)
    python -m training.reproduce faces --data-dir data/UTKFace --perceptual-weights vgg16.safetensors
    python -m training.reproduce cars --data-dir data/syncar --variant LV --push-to-hub my-org

For every variant (``--variant all``: none, L, LV) a run directory ``OUT/<variant>`` holds the
checkpoints, logs and figures, ``eval.json`` and the exported model (``OUT/<variant>/model``, whose
``README.md`` card carries the measured numbers). ``OUT/results.json`` and ``OUT/RESULTS.md``
compare the variants. Without ``--data-dir`` and without a synthetic preset the command stops and
says where to download the data set and which flag trains offline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from physdis_hub._threads import limit_threads
from physdis_hub.errors import lookup
from physdis_hub.vocab import VARIANT_SLUGS

from .commands import USER_ERRORS, command_line, report_interrupt
from .distributed import barrier, distributed_session
from .loocc import VARIANTS
from .presets import PRESETS, PresetError, build_preset, data_hint, has_data
from .train import add_config_arguments, apply_overrides
from .trainer import LAST_CHECKPOINT, Trainer, TrainingInterrupted

CATEGORIES = tuple(dict.fromkeys(p.category for p in PRESETS.values()))
"""Categories with training presets (those of :data:`physdis_hub.categories.CATEGORIES` that have data)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.reproduce",
        description="Train, evaluate and export the paper's LOOCC variants for one category.",
    )
    parser.add_argument("category", choices=CATEGORIES)
    parser.add_argument("--variant", default="all", choices=(*VARIANTS, "all"), help="LOOCC variant (default: all)")
    parser.add_argument("--preset", help="preset of the category (default: the paper's, which needs --data-dir)")
    parser.add_argument("--out", help="output directory (default: runs/reproduce-<preset>)")
    parser.add_argument("--push-to-hub", metavar="ORG", help="push each model to ORG/physdis-<preset>-<variant>")
    add_config_arguments(parser)
    return parser


def resolve_preset(category: str, preset: str | None, data_dir: str | None) -> str:
    """The preset to use, or a :class:`PresetError` saying how to get data or train offline."""
    if preset is None:
        if not has_data(data_dir):
            raise PresetError(f"no data for {category}: {data_hint(category)}")
        return category
    found = lookup(PRESETS, preset, what="preset", error=PresetError, lead=f"--preset: unknown preset {preset!r}")
    if found.category != category:
        raise PresetError(f"--preset: {preset!r} is a {found.category} preset, not a {category} one")
    return preset


def repo_name(org: str, preset: str, variant: str) -> str:
    """Hub repository of one exported variant, e.g. ``org/physdis-faces-loocc-lv``."""
    return f"{org}/physdis-{preset}-{VARIANT_SLUGS[variant]}"


def results_markdown(preset: str, rows: dict[str, dict[str, float]], command: str) -> str:
    """A table of the variants' metrics (one row per variant)."""
    names = sorted({k for metrics in rows.values() for k in metrics})
    lines = [
        f"# physdis-hub reproduction: preset `{preset}`",
        "",
        f"Command: `{command}`",
        "",
        "| variant | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for variant, metrics in rows.items():
        cells = [f"{metrics[n]:.4g}" if n in metrics else "" for n in names]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run; returns the exit status (2 when data, weights or a checkpoint are missing or damaged)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    limit_threads(args.threads)
    command = command_line("training.reproduce", argv)
    variants = list(VARIANTS) if args.variant == "all" else [args.variant]
    try:
        preset = resolve_preset(args.category, args.preset, args.data_dir)
        configs = {
            v: apply_overrides(
                build_preset(preset, v, data_dir=args.data_dir, perceptual_weights=args.perceptual_weights), args
            )
            for v in variants
        }
        out = Path(args.out or f"runs/reproduce-{preset}")
        with distributed_session(configs[variants[0]].device) as ctx:
            rows: dict[str, dict[str, float]] = {}
            for variant, config in configs.items():
                run_dir = out / variant
                trainer = Trainer(config, run_dir, ctx=ctx, progress=not args.no_progress)
                trainer.fit(resume=args.resume and (run_dir / LAST_CHECKPOINT).exists())
                if ctx.is_main:
                    from .export import export_run

                    push_to = repo_name(args.push_to_hub, preset, variant) if args.push_to_hub else None
                    exported = export_run(run_dir, trainer.splits, command=command, push_to=push_to, device=ctx.device)
                    rows[variant] = exported.metrics
                    print(f"{variant}: {exported.report()}", file=sys.stderr)
                barrier(ctx)
            if ctx.is_main:
                _write_summary(out, preset, rows, command)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (TrainingInterrupted, KeyboardInterrupt) as err:
        return report_interrupt(err, args.out or "the output directory")
    return 0


def _write_summary(out: Path, preset: str, rows: dict[str, dict[str, float]], command: str) -> None:
    summary: dict[str, Any] = {"preset": preset, "command": command, "variants": rows}
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "RESULTS.md").write_text(results_markdown(preset, rows, command))
    print(f"summary: {out / 'RESULTS.md'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
