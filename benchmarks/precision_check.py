"""Does a preset train as well in bf16 as in float32? Two short runs from one seed, side by side.

Both runs are the real :class:`training.trainer.Trainer` on the preset's data, capped at
``--train-images`` training images (so an epoch is ``train_images / batch_size`` steps) and
``--eval-images`` validation and test images, from the same seed: the same initial weights, data
order, augmentations and LOOCC draws (``--pair fp32,fp32-fused`` is the control: float32 both
times, only Adam's implementation, so only rounding, differs). The images are read once, before both runs, and held in
memory (the synthetic sets render each image when it is read, about 0.7 s an image on one thread). They differ only in
``TrainConfig.precision`` and ``OptimConfig.adam_impl`` (:data:`RUNS`), by default ``fp32``
(float32, torch's default Adam) against ``bf16-fused`` (bfloat16 networks, fused Adam). The two run at once, each in
a worker process of its own, and write their run directories under ``--out``.

Printed and written to ``--csv``: the mean training loss (``total``) of each run over windows of
``--window`` steps and their difference (second run minus first; the loss crosses 0, as the
confidence terms are log-likelihoods, so differences rather than ratios), and each epoch's
validation loss.

Run: OMP_NUM_THREADS=1 python benchmarks/precision_check.py --out DIR [--preset faces-synthetic-cpu]
[--variant LV] [--pair fp32,bf16-fused] [--train-images 160] [--eval-images 32] [--epochs 16] [--window 10] [--csv FILE]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

RUNS = {
    "fp32": ("fp32", "auto"),
    "bf16": ("bf16", "auto"),
    "bf16-fused": ("bf16", "fused"),
    "fp32-fused": ("fp32", "fused"),
}
"""Run name -> (``TrainConfig.precision``, ``OptimConfig.adam_impl``)."""


def _config(args: argparse.Namespace, run: str | None = None):  # type: ignore[no-untyped-def]
    """The preset's configuration, capped and shortened; with ``run``, at that run's precision and Adam."""
    from training.presets import build_preset

    config = build_preset(args.preset, args.variant)
    config = config.replace(
        max_epochs=args.epochs,
        patience=args.epochs,
        figure_every=0,
        data=config.data.replace(max_images=(args.train_images, args.eval_images, args.eval_images)),
    )
    if run is None:
        return config
    precision, adam_impl = RUNS[run]
    return config.replace(precision=precision, optim=config.optim.replace(adam_impl=adam_impl))


def _read_images(args: argparse.Namespace) -> Path:
    """Read the three capped splits once into ``args.out / images.pt`` (``(N, 3, S, S)`` per split)."""
    import torch

    from training.data import SPLITS, build_splits, collate_images

    splits = build_splits(_config(args).data)
    images = {name: collate_images(list(getattr(splits, name))) for name in SPLITS}
    path = args.out / "images.pt"
    torch.save(images, path)
    return path


def _train(args: argparse.Namespace, run: str) -> None:
    """Train the ``run`` configuration into ``args.out / run`` on the images read before (a worker process)."""
    import torch

    from training.data import SPLITS, Splits
    from training.trainer import Trainer

    images = torch.load(args.out / "images.pt", weights_only=True)
    splits = Splits(*(list(images[name]) for name in SPLITS))
    Trainer(_config(args, run), args.out / run, splits=splits, progress=False).fit()


def _pair(text: str) -> tuple[str, str]:
    runs = tuple(text.split(","))
    if len(runs) != 2 or not set(runs) <= set(RUNS) or runs[0] == runs[1]:
        raise argparse.ArgumentTypeError(
            f"expected two different names of {list(RUNS)} joined by a comma, got {text!r}"
        )
    return runs  # type: ignore[return-value]


def _column(path: Path, name: str) -> list[float]:
    with path.open() as f:
        return [float(row[name]) for row in csv.DictReader(f)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the two run directories (new)")
    parser.add_argument("--preset", default="faces-synthetic-cpu")
    parser.add_argument("--variant", default="LV")
    parser.add_argument("--train-images", type=int, default=160)
    parser.add_argument("--eval-images", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--window", type=int, default=10, help="steps per window of the loss comparison")
    parser.add_argument("--csv", type=Path, help="also write the window table here")
    parser.add_argument("--pair", default="fp32,bf16-fused", type=_pair, help=f"two of {list(RUNS)}")
    parser.add_argument("--worker", choices=list(RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _train(args, args.worker)
        return
    if args.out.exists():
        raise SystemExit(f"--out: {args.out} exists; give a new folder")
    args.out.mkdir(parents=True)
    _read_images(args)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    first, second = args.pair
    workers = [
        subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--worker", run], env=env) for run in args.pair
    ]
    if any(w.wait() for w in workers):
        raise SystemExit("a training run failed (its error is above)")
    losses = {run: _column(args.out / run / "steps.csv", "total") for run in args.pair}
    steps = len(losses[first])
    rows = []
    for start in range(0, steps, args.window):
        means = {
            run: sum(v[start : start + args.window]) / len(v[start : start + args.window]) for run, v in losses.items()
        }
        rows.append(
            {
                "steps": f"{start + 1}-{min(start + args.window, steps)}",
                **{f"{run}_total": f"{m:.5f}" for run, m in means.items()},
                "diff": f"{means[second] - means[first]:+.5f}",
            }
        )
    val = {run: _column(args.out / run / "epochs.csv", "val_loss") for run in args.pair}
    print(
        f"{args.preset} {args.variant}, {args.train_images} training images, {args.epochs} epochs, {second} - {first}:"
    )
    for row in rows:
        print("  ".join(f"{k} {v}" for k, v in row.items()))
    for epoch, (a, b) in enumerate(zip(val[first], val[second]), 1):
        print(f"epoch {epoch}: val_loss {first} {a:.5f}  {second} {b:.5f}  diff {b - a:+.5f}")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
