"""``python -m training.train`` on a seeded subset of the training images (``--max-train-images``).

The LOOCC-over-seeds runs (``scripts/loocc_seeds.sh``) need a budget below one epoch of the
faces-synthetic-cpu preset (8,000 images, 250 steps) on a shared 2-core CPU; ``training.train``
has no flag for :attr:`training.data.DataConfig.max_images`, so this wrapper sets it and otherwise
builds the run exactly as ``training.train`` does (the preset, then its overrides). The subset is
seeded by ``DataConfig.subset_seed`` (0), apart from the training seed: every run sees the same
images. Example::

    python scripts/loocc_seeds_train.py --max-train-images 3200 --preset faces-synthetic-cpu \\
        --dataset synthetic-faces-ict --data-dir runs/h31exp/data --variant L --loocc-style code \\
        --seed 1 --epochs 1 --threads 1 --out runs/h31exp/L-code-s1
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from physdis_hub._threads import limit_threads
from physdis_hub.vocab import VARIANTS
from training.distributed import distributed_session
from training.loocc import STYLES
from training.presets import PRESETS, build_preset
from training.train import USER_ERRORS, add_config_arguments, apply_overrides
from training.trainer import Trainer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/loocc_seeds_train.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-train-images", type=int, required=True, help="train on this many images (seeded subset)")
    parser.add_argument("--preset", required=True, choices=list(PRESETS), help="training recipe")
    parser.add_argument("--variant", default="none", choices=VARIANTS, help="LOOCC variant (default: none)")
    parser.add_argument("--loocc-style", default="text", choices=STYLES, help="LOOCC style (docs/loocc.md)")
    parser.add_argument("--out", required=True, help="run directory (checkpoints, logs)")
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    if args.max_train_images <= 0:
        parser.error(f"--max-train-images: expected a positive number of images, got {args.max_train_images}")
    limit_threads(args.threads)
    try:
        base = build_preset(args.preset, args.variant, data_dir=args.data_dir,
                          perceptual_weights=args.perceptual_weights, loocc_style=args.loocc_style)  # fmt: skip
        config = apply_overrides(base, args)
        sizes = config.data.max_images or (args.max_train_images, 10**9, 10**9)
        config = config.replace(data=dataclasses.replace(config.data, max_images=(args.max_train_images, *sizes[1:])))
        with distributed_session(config.device) as ctx:
            Trainer(config, args.out, ctx=ctx, progress=not args.no_progress).fit(resume=args.resume)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
