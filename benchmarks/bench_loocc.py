"""Cost of LOOCC, and of rendering, in a training step (paper widths, 64x64).

Measured side by side in one run, on the same batch, interleaved (A, B, C, D, A, B, ...) so that
load from other processes hits every variant alike; each figure is the median over the repeats:

  * bare networks: forward + backward of the five networks (depth, albedo, light, view,
    confidence) on the batch, no rendering, no loss beyond a sum; then the Adam step;
  * full step without LOOCC: training pass (networks, renderer for the image and its flipped twin),
    reconstruction losses, backward, Adam step (``training.objective.TrainingObjective``);
  * full step with LOOCC, light perturbed, and with LOOCC, view perturbed (LV alternates the two;
    its cost is their mean): plus one re-render of the batch and the four encoders on it.

Ratios printed: LOOCC / no LOOCC (target <= 1.6) and full step / bare networks (target <= 1.15).
Images are synthetic faces (``physdis_hub.data``), so the renderer sees object-shaped inputs.

Run: python benchmarks/bench_loocc.py [--batch 64] [--repeats 3] [--threads N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from physdis_hub.config import ModelConfig
from physdis_hub.data import load_dataset
from physdis_hub.model import PhysDisModel
from training.data import collate_images
from training.loocc import KINDS, LooccConfig, sample_perturbation
from training.objective import TrainingObjective


def synthetic_batch(batch: int) -> torch.Tensor:
    """``batch`` synthetic face images in [-1, 1]."""
    ids = -(-batch // 8)
    data = load_dataset(
        "synthetic-faces",
        split="train",
        train_identities=ids,
        val_identities=1,
        test_identities=1,
        images_per_identity=8,
        progress=False,
    )
    return collate_images([data[i] for i in range(batch)]) * 2 - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    torch.manual_seed(0)
    model = PhysDisModel(ModelConfig()).to(device)  # paper widths, confidence on, no perceptual term
    loocc = LooccConfig(variant="LV")
    objective = TrainingObjective(model, loocc).to(device)
    plain = TrainingObjective(model, LooccConfig(variant="none")).to(device)
    nets = [model.depth_net, model.albedo_net, model.light_net, model.view_net, model.conf_net]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = synthetic_batch(args.batch).to(device)
    gen = torch.Generator().manual_seed(0)
    perturbations = {}
    while len(perturbations) < len(KINDS):
        p = sample_perturbation(loocc, args.batch, gen)
        perturbations.setdefault(p.kind, p)

    def optimise(loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def bare() -> None:
        outputs = [net(x) for net in nets]
        optimise(sum(o.float().mean() for out in outputs for o in (out if isinstance(out, tuple) else (out,))))

    steps: dict[str, Callable[[], None]] = {
        "bare networks": bare,
        "full step, no LOOCC": lambda: optimise(plain(x)["total"]),
        "full step, LOOCC light": lambda: optimise(objective(x, perturbations["light"])["total"]),
        "full step, LOOCC view": lambda: optimise(objective(x, perturbations["view"])["total"]),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for fn in steps.values():  # warm-up
        fn()
    for _ in range(args.repeats):
        for name, fn in steps.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    t = {name: statistics.median(v) for name, v in times.items()}
    t_lv = (t["full step, LOOCC light"] + t["full step, LOOCC view"]) / 2

    print(f"device={device} threads={torch.get_num_threads()} batch={args.batch} repeats={args.repeats} (median)")
    for name, value in t.items():
        print(f"{name:24s}: {value * 1000:9.1f} ms")
    print(f"{'full step, LOOCC LV':24s}: {t_lv * 1000:9.1f} ms  (mean of light and view)")
    base = t["full step, no LOOCC"]
    print(f"LOOCC light / no LOOCC  : {t['full step, LOOCC light'] / base:6.3f}x  (target <= 1.6)")
    print(f"LOOCC view  / no LOOCC  : {t['full step, LOOCC view'] / base:6.3f}x  (target <= 1.6)")
    print(f"LOOCC LV    / no LOOCC  : {t_lv / base:6.3f}x  (target <= 1.6)")
    print(f"full step / bare nets   : {base / t['bare networks']:6.3f}x  (target <= 1.15)")


if __name__ == "__main__":
    main()
