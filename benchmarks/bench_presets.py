"""Seconds per training step of the CPU-scale presets, on one thread: the times the docs state.

For each preset (at its default LOOCC variant): its model and training objective, one batch of its own
synthetic data at its batch size (photometric augmentation included where the preset uses it), and
the step the trainer runs (LOOCC offsets drawn, forward, losses, backward, Adam); one warm-up step,
then the median of ``--repeats`` timed steps. ``--write`` stores the results in
``training/preset_timings.json``, which :attr:`training.presets.Preset.timing` reads; the run's time
follows as steps per epoch x epochs (validation, figures and the one-off data rendering not counted).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_presets.py [--presets tiny,cars-synthetic-cpu,...] [--repeats 3] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import torch

from physdis_hub.data import load_dataset
from physdis_hub.vocab import to_network_range
from training.augment import augment
from training.data import collate_images
from training.loocc import sample_perturbation
from training.objective import TrainingObjective
from training.presets import TIMINGS_FILE, PresetTiming, build_preset

MEASURED = ("tiny", "cars-synthetic-cpu", "faces-synthetic-cpu")
"""Presets timed by default: those that train on generated data at CPU scale (the paper-scale ones
take minutes a step on a CPU; ``scripts/gpu_check.sh`` times a paper-width step on a GPU)."""


def one_batch(name: str) -> torch.Tensor:
    """A ``(B, 3, 64, 64)`` batch in [0, 1] of the preset's own synthetic data (rendered in memory)."""
    config = build_preset(name)
    options = {**config.data.options, "train_identities": -(-config.batch_size // 8), "images_per_identity": 8}
    data = load_dataset(config.data.dataset, split="train", progress=False, **options)
    return collate_images([data[i] for i in range(config.batch_size)])


def step_seconds(name: str, repeats: int) -> float:
    """Median seconds of one training step of preset ``name`` (after one warm-up step)."""
    config = build_preset(name)
    torch.manual_seed(config.seed)
    from physdis_hub.model import PhysDisModel

    model = PhysDisModel(config.model)
    objective = TrainingObjective(model, config.loocc, config.perceptual_weights, config.shape_init)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    images, generator = one_batch(name), torch.Generator().manual_seed(0)
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        batch = augment(images, config.augment, generator) if config.augment.enabled else images
        perturbation = sample_perturbation(config.loocc, config.batch_size, generator)
        terms = objective(to_network_range(batch), perturbation, config.shape_init.weight_at(i + 1))
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        optimizer.step()
        if i:  # the first step allocates and warms caches
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=",".join(MEASURED), help="comma-separated preset names")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--machine", default="2-core CPU shared with other jobs", help="recorded with the times")
    parser.add_argument("--write", action="store_true", help=f"merge the results into {TIMINGS_FILE}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = json.loads(TIMINGS_FILE.read_text())
    for name in args.presets.split(","):
        config = build_preset(name)
        train_images = config.data.options["train_identities"] * config.data.options["images_per_identity"]
        timing = PresetTiming(
            seconds_per_step=round(step_seconds(name, args.repeats), 3),
            steps_per_epoch=train_images // config.batch_size,
            max_epochs=config.max_epochs,
            threads=1,
            machine=args.machine,
            command=f"OMP_NUM_THREADS=1 python benchmarks/bench_presets.py --presets {name} "
            f"--repeats {args.repeats} --write",
        )
        results[name] = dataclasses.asdict(timing)
        print(
            f"{name:22s} {timing.seconds_per_step:7.3f} s/step  {timing.steps_per_epoch:4d} steps/epoch  "
            f"{timing.max_epochs:3d} epochs  {timing.hours_per_run:6.2f} h/run",
            flush=True,
        )
    if args.write:
        TIMINGS_FILE.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
