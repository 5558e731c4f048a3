"""Time to generate synthetic samples (image + full ground truth), per category.

Renders ``--n`` samples of the training split of each category in batches (the default config
has exactly 10,000 training images: 500 identities x 20), optionally writing them to the disk cache,
and prints the wall time, the rate and the process's CPU time (with the load average: other jobs
on the machine inflate the wall time, not the CPU time). Also writes the contact sheets of docs/data.md and docs/synthetic-faces.md
(``docs/figures/synthetic_<category>.png``, ``-`` written ``_``) with ``--sheets``.

Run: PYTHONPATH=. python benchmarks/bench_synthetic.py [--n 10000] [--batch-size 256] [--cache DIR] [--sheets]
     [--categories faces faces-ict cars]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from physdis_hub.data import SyntheticConfig, SyntheticGenerator, write_cache
from training.augment import augment
from training.presets import build_preset

SHEET_SPLITS = ("train", "test-ood-light", "test-ood-view", "test-ood")


def contact_sheet(category: str, path: Path, per_split: int = 8) -> None:
    """Rows of ``per_split`` samples from each of :data:`SHEET_SPLITS` as the synthetic presets render
    them (textured backdrops for faces), then the first row as the training augmentation sees it, then
    the canonical depth and albedo of the first row, at 2x (nearest) so the 64x64 samples are easy to see."""
    preset = build_preset(f"{category}-synthetic-cpu")  # its backdrops and augmentation
    backdrop = {k: v for k, v in preset.data.options.items() if k == "background_texture"}
    gen = SyntheticGenerator(SyntheticConfig.for_category(category, **backdrop))
    stride = gen.config.images_per_identity
    picks = np.arange(per_split) * stride + np.arange(per_split) % stride  # one image per identity
    batches = [gen.render(split, picks) for split in SHEET_SPLITS]
    rows = [b.image for b in batches]
    first = batches[0]
    if preset.augment.enabled:
        rows.append(augment(first.image, preset.augment, torch.Generator().manual_seed(0)))
    scene = gen.category.scene
    depth = 1 - (first.depth - scene.min_depth) / (scene.border_depth - scene.min_depth)
    rows += [depth[:, None].expand(-1, 3, -1, -1), (first.albedo + 1) / 2]
    grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)  # (3, rows*64, per_split*64)
    pixels = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    img = Image.fromarray(pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.resize((img.width * 2, img.height * 2), Image.Resampling.NEAREST).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples per category")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--categories", nargs="+", default=["faces", "cars"])
    parser.add_argument("--cache", type=Path, default=None, help="also time writing the disk cache here")
    parser.add_argument("--sheets", action="store_true", help="write docs/figures/synthetic_<category>.png")
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for category in args.categories:
        images_per_identity = 20
        identities = -(-args.n // images_per_identity)
        cfg = SyntheticConfig.for_category(
            category, train_identities=identities, images_per_identity=images_per_identity
        )
        gen = SyntheticGenerator(cfg)
        gen.render("train", range(8))  # warm-up (mesh asset, allocator)
        start, cpu = time.perf_counter(), time.process_time()
        done = 0
        for first in range(0, args.n, args.batch_size):
            done += len(gen.render("train", np.arange(first, min(first + args.batch_size, args.n))).image)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"{category}: {done} samples in {elapsed:.1f} s wall ({done / elapsed:.0f} samples/s, batch {args.batch_size}), "
            f"{cpu:.1f} s CPU over {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}"
        )
        if args.cache is not None:
            with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
                start = time.perf_counter()
                folder = write_cache(cfg, "train", tmp, args.batch_size, progress=True)
                size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
                print(
                    f"{category}: cached {cfg.split_size('train')} samples in {time.perf_counter() - start:.1f} s, {size:.0f} MiB"
                )
        if args.sheets:
            out = Path("docs/figures") / f"synthetic_{category.replace('-', '_')}.png"
            contact_sheet(category, out)
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
