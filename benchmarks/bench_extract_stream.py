"""Streaming extraction at scale: images/s and peak RSS of ``physdis extract`` into a shard folder.

The inputs are a ``.txt`` file list that repeats a pool of real PNG files written once (default 256
files of 60-120 px, random content, so every image is decoded and cropped/resized): 10^5 images
need no 10^5 files on disk, and every image still goes through the whole path (DataLoader workers
decode the PNG, the default hook takes the centre square and resizes it, the model encodes geom +
alb, shards are written, then the index). Extraction runs with ``--no-align``: the face model would
otherwise search each photograph for a face and skip the noise images, which hold none. The model is the embedded default ``faces-loocc-lv``. Each N runs in a fresh process
(the ``extract`` command line itself), so its peak RSS is its own; the workers' peak is the largest
of the DataLoader processes (``RUSAGE_CHILDREN`` of that process).

Run::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_extract_stream.py [--sizes 1000 100000] \\
        [--workers 2] [--batch-size 256] [--shard-size 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _pool(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        h, w = rng.integers(60, 121, 2)
        paths.append(folder / f"pool{i:04d}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(paths[-1])
    return paths


def _child(args: argparse.Namespace) -> None:
    """One measured run in this fresh process: the ``physdis extract`` entry point itself."""
    from physdis_hub.cli import main

    start = time.perf_counter()
    code = main(
        [
            "extract",
            args.list,
            "-o",
            args.out,
            "--no-align",
            "--workers",
            str(args.workers),
            "--batch-size",
            str(args.batch_size),
            "--shard-size",
            str(args.shard_size),
            "--no-progress",
        ]
    )
    seconds = time.perf_counter() - start
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps({"code": code, "seconds": seconds, "peak_mb": peak_kb / 1024, "worker_peak_mb": workers_kb / 1024})
    )


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--pool", type=int, default=256, help="distinct PNG files repeated by the list")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--shard-size", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--list", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pool = _pool(Path(tmp), args.pool)
        for n in args.sizes:
            listing = Path(tmp) / f"list{n}.txt"
            listing.write_text("".join(f"{pool[i % len(pool)].name}\n" for i in range(n)))
            command = [
                sys.executable,
                __file__,
                "--child",
                "--list",
                str(listing),
                "--out",
                str(Path(tmp) / f"out{n}"),
                "--workers",
                str(args.workers),
                "--batch-size",
                str(args.batch_size),
                "--shard-size",
                str(args.shard_size),
            ]
            run = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(run.stdout.strip().splitlines()[-1])
            if result["code"] != 0:
                raise SystemExit(f"extract failed for N={n}: {run.stderr}")
            index = json.loads((Path(tmp) / f"out{n}" / "index.json").read_text())
            assert index["num_rows"] == n
            rows.append({"images": n, "images_per_s": n / result["seconds"], **result})
    print("| images | shards | seconds | images/s | peak RSS, main process | peak RSS, largest worker |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        shards = -(-r["images"] // args.shard_size)
        print(
            f"| {r['images']:,} | {shards} | {r['seconds']:.1f} | {r['images_per_s']:.0f} | "
            f"{r['peak_mb']:.0f} MB | {r['worker_peak_mb']:.0f} MB |"
        )
    return rows


if __name__ == "__main__":
    main()
