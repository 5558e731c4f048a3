"""One training run from the command line; also the torchrun entry point.

Examples::

    python -m training.train --preset faces-synthetic-cpu --out runs/faces-lv
    python -m training.train --preset faces-synthetic-cpu --out runs/faces-lv --resume
    python -m training.train --preset faces-synthetic-cpu --print-config
    python -m training.train --init unsup3d-celeba --variant LV --data celeba --data-dir data/CelebA --out runs/celeba-lv
    torchrun --nproc_per_node 4 -m training.train --preset faces --data-dir data/UTKFace \\
        --perceptual-weights vgg16.safetensors --variant L --out runs/faces-l

At the end (rank 0), the best epoch is evaluated on the test split and exported with
:func:`physdis_hub.hub.save_pretrained` to ``OUT/model`` (``--no-export`` skips this), and pushed
with ``--push-to-hub ORG/NAME``. Resuming needs the same arguments plus ``--resume``: the
configuration is checked against the checkpoint's. ``--init NAME`` starts from a pretrained model
instead of a preset (:mod:`training.init`), on the data set ``--data`` names.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from physdis_hub._threads import DEFAULT_MAX_THREADS, limit_threads
from physdis_hub.config import LossConfig, SceneConfig
from physdis_hub.data.registry import get_dataset
from physdis_hub.nets import PRECISIONS
from physdis_hub.vocab import DEVICES, VARIANTS

from .commands import USER_ERRORS, command_line, report_interrupt
from .config import ADAM_IMPLS, TrainConfig
from .distributed import distributed_session
from .init import init_config
from .loocc import STYLES, LooccConfig
from .presets import PRESETS, Preset, PresetError, build_preset, list_presets
from .shape_init import ShapeInitConfig
from .trainer import Trainer, TrainingInterrupted


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``train`` and ``reproduce`` that override preset fields."""
    parser.add_argument("--data-dir", help="directory of the real data set (UTKFace, syncar)")
    parser.add_argument(
        "--perceptual-weights",
        metavar="FILE",
        help="local VGG16 .safetensors; enables the perceptual loss at the paper's weight",
    )
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="train on another synthetic data set with the preset's data options "
        "(e.g. synthetic-faces-ict with a faces synthetic preset)",
    )
    parser.add_argument("--epochs", type=int, help="override max_epochs")
    parser.add_argument("--batch-size", type=int, help="override the global batch size")
    parser.add_argument("--lr", type=float, help="override the learning rate (paper text: 1e-3, public configs: 1e-4)")
    parser.add_argument("--weight-decay", type=float, help="override Adam's L2 weight decay (Unsup3d: 5e-4)")
    parser.add_argument("--seed", type=int, help="override the seed")
    parser.add_argument(
        "--precision", choices=list(PRECISIONS), help="what the networks compute in while training (CPU presets: bf16)"
    )
    parser.add_argument(
        "--adam-impl",
        choices=list(ADAM_IMPLS),
        help="Adam's implementation (speed only; presets: auto, torch's choice)",
    )
    parser.add_argument("--device", choices=DEVICES, help="override the device")
    parser.add_argument(
        "--loss",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a loss weight of the model config, e.g. --loss lam_normal_smooth=0 "
        "(repeatable; names: the fields of physdis_hub.config.LossConfig)",
    )
    parser.add_argument(
        "--loocc",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a number of the LOOCC config, e.g. --loocc cycle_weight=1",
    )
    parser.add_argument(
        "--scene",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a scene setting of the model config, e.g. --scene border_depth=1.05 "
        "(repeatable; names: the number fields of physdis_hub.config.SceneConfig)",
    )
    parser.add_argument(
        "--shape-init",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a number of the convex start (training.shape_init.ShapeInitConfig), "
        "e.g. --shape-init bulge=0.4 or --shape-init steps=0 (off)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="STEPS",
        help="write OUT/last.ckpt every STEPS steps within an epoch too (0: at epoch ends only; "
        "it is always written on Ctrl-C / SIGTERM)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.ckpt (from the last saved step)")
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"CPU threads (default: OMP_NUM_THREADS if set, else at most {DEFAULT_MAX_THREADS})",
    )


def apply_overrides(config: TrainConfig, args: argparse.Namespace) -> TrainConfig:
    """``config`` with the command-line overrides applied."""
    changes = {}
    if args.epochs is not None:
        changes["max_epochs"] = args.epochs
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.checkpoint_every is not None:
        changes["checkpoint_every"] = args.checkpoint_every
    if args.device is not None:
        changes["device"] = args.device
    if args.precision is not None:
        changes["precision"] = args.precision
    if args.dataset is not None:
        synthetic = {name: not get_dataset(name).layout for name in (config.data.dataset, args.dataset)}
        if not all(synthetic.values()):
            raise PresetError(
                f"--dataset {args.dataset}: replaces only a synthetic data set by another synthetic one "
                f"(the preset trains on {config.data.dataset!r}; synthetic: {synthetic})"
            )
        changes["data"] = dataclasses.replace(config.data, dataset=args.dataset)
    optim = {
        k: v
        for k, v in (("lr", args.lr), ("weight_decay", args.weight_decay), ("adam_impl", args.adam_impl))
        if v is not None
    }
    weights = _scalar_fields(args.loss, LossConfig, "--loss")
    scene = _scalar_fields(args.scene, SceneConfig, "--scene")
    loocc = _scalar_fields(args.loocc, LooccConfig, "--loocc")
    shape_init = _scalar_fields(args.shape_init, ShapeInitConfig, "--shape-init")
    try:  # a value the config refuses (e.g. --loss lam_perc=1 without --perceptual-weights) is a usage error
        if optim:
            changes["optim"] = dataclasses.replace(config.optim, **optim)
        if weights or scene:
            model = config.model
            changes["model"] = model.replace(
                loss=dataclasses.replace(model.loss, **weights), scene=dataclasses.replace(model.scene, **scene)
            )
        if loocc:
            changes["loocc"] = dataclasses.replace(config.loocc, **loocc)
        if shape_init:
            changes["shape_init"] = dataclasses.replace(config.shape_init, **shape_init)
        return config.replace(**changes)
    except ValueError as err:
        raise PresetError(str(err)) from err


def _parse_bool(value: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ValueError(value)


def _scalar_fields(items: Sequence[str], cls: type, flag: str) -> dict[str, float | int | bool]:
    """``["lam_perc=1", ...]`` -> ``{"lam_perc": 1.0}``; names must be number or true/false fields of
    dataclass ``cls`` (an ``int`` field takes whole numbers only, a ``bool`` one true/false/1/0)."""
    kinds = {"float": float, float: float, "int": int, int: int, "bool": _parse_bool, bool: _parse_bool}
    expected = {float: "a number", int: "a whole number", _parse_bool: "true or false"}
    known = {f.name: kinds[f.type] for f in dataclasses.fields(cls) if f.type in kinds}
    values: dict[str, float | int | bool] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in known:
            raise PresetError(f"{flag}: expected NAME=VALUE with NAME one of {sorted(known)}, got {item!r}")
        try:
            values[name] = known[name](value)
        except ValueError:
            raise PresetError(f"{flag} {name}: expected {expected[known[name]]}, got {value!r}") from None
    return values


def config_json(config: TrainConfig) -> str:
    """What ``--print-config`` prints: the resolved configuration as indented JSON, keys sorted."""
    return json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n"


def _describe(preset: Preset) -> str:
    """One preset in ``--help``: name, description, default variant, measured time where there is one."""
    timing = preset.timing
    measured = f", measured {timing.seconds_per_step:.1f} s/step, {timing.hours_per_run:.1f} h/run" if timing else ""
    return f"{preset.name}: {preset.description} (variant {preset.variant}{measured})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.train",
        description="Train one physdis model (run under torchrun for several GPUs or nodes).",
        epilog="presets: " + "; ".join(_describe(p) for p in PRESETS.values()),
    )
    parser.add_argument("--preset", choices=[p.name for p in list_presets()], help="training recipe (or --init)")
    parser.add_argument(
        "--init",
        metavar="MODEL",
        help="start from this pretrained model (e.g. unsup3d-celeba) instead of a preset: its "
        "networks and settings, the paper's schedule; needs --data",
    )
    parser.add_argument(
        "--data", metavar="DATASET", help="with --init: the registered data set to train on (e.g. celeba)"
    )
    parser.add_argument(
        "--variant", choices=VARIANTS, help="LOOCC variant (default: the preset's, LV except for tiny; LV with --init)"
    )
    parser.add_argument(
        "--loocc-style",
        default="text",
        choices=STYLES,
        help="LOOCC as the paper's text (default) or as the authors' code (docs/loocc.md)",
    )
    parser.add_argument("--out", help="run directory (checkpoints, logs, figures, export); required to train")
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved configuration (preset, variant and overrides) as JSON and exit",
    )
    add_config_arguments(parser)
    parser.add_argument("--no-export", action="store_true", help="skip evaluation and export of the best epoch")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="push the exported model to this Hub repository")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run; returns the process exit status (2 for a configuration or checkpoint problem)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.out and not args.print_config:
        parser.error("the following arguments are required: --out (or --print-config)")
    limit_threads(args.threads)
    if args.push_to_hub and args.no_export:
        print("error: --push-to-hub needs the export (drop --no-export)", file=sys.stderr)
        return 2
    if (args.preset is None) == (args.init is None):
        print("error: give either --preset NAME or --init MODEL", file=sys.stderr)
        return 2
    if (args.data is None) != (args.preset is not None):
        why = (
            "--init needs --data DATASET (the registered data set to train on, e.g. celeba)"
            if args.init
            else ("--data is for --init runs (a preset names its own data set)")
        )
        print(f"error: {why}", file=sys.stderr)
        return 2
    if args.init and args.loocc_style != "text":
        print(
            "error: --loocc-style code changes the light and view encoders' heads, which --init's pretrained "
            "networks fix; use it with --preset",
            file=sys.stderr,
        )
        return 2
    try:
        if args.init:
            base = init_config(
                args.init,
                args.variant or "LV",
                data=args.data,
                data_dir=args.data_dir,
                perceptual_weights=args.perceptual_weights,
            )
        else:
            base = build_preset(
                args.preset,
                args.variant,
                data_dir=args.data_dir,
                perceptual_weights=args.perceptual_weights,
                loocc_style=args.loocc_style,
            )
        config = apply_overrides(base, args)
        if args.print_config:
            print(config_json(config), end="")
            return 0
        with distributed_session(config.device) as ctx:
            trainer = Trainer(config, args.out, ctx=ctx, progress=not args.no_progress)
            trainer.fit(resume=args.resume)
            if ctx.is_main and not args.no_export:
                from .export import export_run

                exported = export_run(
                    args.out,
                    trainer.splits,
                    command=command_line("training.train", argv),
                    push_to=args.push_to_hub,
                    device=ctx.device,
                )
                print(exported.report(), file=sys.stderr)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (TrainingInterrupted, KeyboardInterrupt) as err:
        return report_interrupt(err, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
