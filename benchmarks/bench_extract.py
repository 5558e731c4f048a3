"""Throughput of ``extract(parts=["geom", "alb"])`` against the full inverse-rendering forward.

Both run on the same batch (default B=64, 64x64, paper widths: ``ModelConfig()``), in one process,
interleaved, each timed as the median of ``--repeats`` runs after a warm-up. ``extract`` runs only the
depth and albedo down paths; the forward runs all five networks (four encoder-decoders / encoders and
the confidence network) and renders the reconstruction and its flipped twin.

Run::

    PYTHONPATH=. python benchmarks/bench_extract.py [--batch-size 64] [--repeats 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from physdis_hub import ModelConfig, PhysDisModel

TARGET_SPEEDUP = 5.0


def _seconds(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)

    torch.manual_seed(0)
    model = PhysDisModel(ModelConfig()).eval().to(device)
    images = torch.rand(args.batch_size, 3, 64, 64, device=device)

    def extract() -> torch.Tensor:
        return model.extract(images, parts=["geom", "alb"], batch_size=args.batch_size)

    def full_forward() -> object:
        with torch.inference_mode():
            return model(images * 2 - 1)

    runs: dict[str, list[float]] = {"extract(geom, alb)": [], "full forward + render": []}
    for fn in (extract, full_forward):  # warm-up
        fn()
    for _ in range(args.repeats):
        for name, fn in zip(runs, (extract, full_forward)):
            runs[name].append(_seconds(fn, device))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, load avg {load:.1f}")
    print(f"batch {args.batch_size} x 3 x 64 x 64, paper widths, median of {args.repeats} runs")
    throughput = {}
    for name, times in runs.items():
        median = statistics.median(times)
        throughput[name] = args.batch_size / median
        print(f"  {name:<24} {median * 1000:9.1f} ms/batch {throughput[name]:9.1f} images/s")
    ratio = throughput["extract(geom, alb)"] / throughput["full forward + render"]
    verdict = "meets" if ratio >= TARGET_SPEEDUP else "misses"
    print(f"  speed-up {ratio:.1f}x ({verdict} the >= {TARGET_SPEEDUP:.0f}x target)")
    return {**throughput, "ratio": ratio}


if __name__ == "__main__":
    main()
