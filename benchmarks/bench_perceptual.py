"""Cost of the VGG16 perceptual term in a training step of the CPU-scale faces model.

The ``faces-synthetic-cpu`` preset (nf 16 networks, confidence network, batch 32, 64x64), one
training step = forward + loss + backward + Adam, measured side by side in one run, interleaved:
  * without the perceptual term (lam_perc 0), and
  * with it at the paper's faces weight (lam_perc 1) on the shipped ImageNet VGG16 relu3_3 weights
    (training.perceptual.BUNDLED_VGG16): VGG16 runs on the reconstruction and its flipped twin
    (2B images, with backward) and once on the target (B images).
Reports the median ms per step of each, their ratio, and the loss terms of an untrained model
(the size of the perceptual term against the photometric one at the start of training).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_perceptual.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from physdis_hub.model import PhysDisModel
from training.objective import TrainingObjective
from training.perceptual import BUNDLED_VGG16
from training.presets import build_preset

from bench_loocc import synthetic_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per setting (after one warm-up)")
    args = parser.parse_args()

    config = build_preset("faces-synthetic-cpu", perceptual_weights=str(BUNDLED_VGG16))
    assert config.model.loss.lam_perc == 1.0, config.model.loss
    without = config.model.replace(loss=dataclasses.replace(config.model.loss, lam_perc=0.0))
    x = synthetic_batch(config.batch_size)
    steps = {}
    for name, model_config, weights in (
        ("without perceptual", without, None),
        ("with perceptual", config.model, config.perceptual_weights),
    ):
        torch.manual_seed(0)
        objective = TrainingObjective(PhysDisModel(model_config), config.loocc, weights)
        optimizer = torch.optim.Adam(
            objective.model.parameters(),
            lr=config.optim.lr,
            betas=config.optim.betas,
            weight_decay=config.optim.weight_decay,
        )

        def step(objective: TrainingObjective = objective, optimizer: torch.optim.Optimizer = optimizer) -> None:
            loss = objective(x)["total"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        steps[name] = step
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    with torch.no_grad():
        terms = TrainingObjective(PhysDisModel(config.model), config.loocc, config.perceptual_weights)(
            x
        )  # a fresh model: the first step's terms
    median = {name: statistics.median(t) for name, t in times.items()}
    print(
        f"faces-synthetic-cpu step, batch {config.batch_size}, {config.model.image_size}x{config.model.image_size}, "
        f"threads={torch.get_num_threads()}, median of {args.repeats}:"
    )
    for name, value in median.items():
        print(f"  {name:20s}: {value * 1000:8.1f} ms   (all: {', '.join(f'{t * 1000:.0f}' for t in times[name])})")
    print(f"  ratio with / without: {median['with perceptual'] / median['without perceptual']:.2f}x")
    print(
        "loss terms of an untrained model (lam_perc 1): "
        + ", ".join(f"{k} {v.item():.3g}" for k, v in terms.items() if k in ("l1", "l1_flip", "perc", "perc_flip"))
    )


if __name__ == "__main__":
    main()
