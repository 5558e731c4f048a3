"""Where a CPU training step goes, and what makes it faster (the faces-synthetic-cpu preset's step).

One run, one batch of synthetic faces, the preset's model and objective (nf 16 networks, confidence,
normal-smoothness prior, LOOCC-LV); the settings below are timed interleaved (A, B, C, A, B, C, ...)
so that load from other processes hits each alike, and each figure is the median over the repeats:

  * ``eager``: the step as the trainer runs it (forward, losses, backward, Adam);
  * ``channels_last``: the networks and the batch in channels-last memory format;
  * ``compiled``: the five networks wrapped by ``torch.compile`` (inductor; the first steps compile
    and are not timed);

and, with ``--profile``, the top operators of one eager step (torch.profiler, self CPU time).
Ratios printed: each setting's step time over eager's. The trainer adopts a setting only at >= 1.3x.
Thread counts are compared by running the script twice (``--threads 1`` and ``--threads 2``).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_train_step.py [--batch 32] [--repeats 5] [--threads N] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from training.loocc import sample_perturbation
from training.objective import TrainingObjective
from training.presets import build_preset

from bench_loocc import synthetic_batch


def _step_fn(objective: TrainingObjective, x: torch.Tensor, generator: torch.Generator) -> Callable[[], None]:
    optimizer = torch.optim.Adam(objective.model.parameters(), lr=1e-4, weight_decay=5e-4)
    loocc = objective.loocc

    def step() -> None:
        perturbation = sample_perturbation(loocc, x.shape[0], generator)
        loss = objective(x, perturbation)["total"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def build(setting: str, batch: torch.Tensor) -> Callable[[], None]:
    """A step function of ``setting`` (a fresh model from the same seed for each)."""
    config = build_preset("faces-synthetic-cpu", "LV")
    torch.manual_seed(0)
    from physdis_hub.model import PhysDisModel

    model = PhysDisModel(config.model)
    x = batch
    if setting == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = batch.contiguous(memory_format=torch.channels_last)
    elif setting == "compiled":
        for name in ("depth_net", "albedo_net", "light_net", "view_net", "conf_net"):
            setattr(model, name, torch.compile(getattr(model, name)))
    objective = TrainingObjective(model, config.loocc)
    return _step_fn(objective, x, torch.Generator().manual_seed(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--settings", default="eager,channels_last,compiled")
    parser.add_argument("--profile", action="store_true", help="print the top operators of an eager step")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = synthetic_batch(args.batch)
    settings = args.settings.split(",")
    steps = {s: build(s, batch) for s in settings}
    for s, step in steps.items():  # warm-up (and compilation)
        t0 = time.perf_counter()
        for _ in range(2):
            step()
        print(f"{s}: warm-up {time.perf_counter() - t0:.1f} s", flush=True)
    times: dict[str, list[float]] = {s: [] for s in settings}
    for _ in range(args.repeats):
        for s, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[s].append(time.perf_counter() - t0)
    base = statistics.median(times[settings[0]])
    print(f"threads {args.threads}, batch {args.batch}, medians of {args.repeats}:")
    for s in settings:
        med = statistics.median(times[s])
        print(f"  {s:14s} {med * 1000:8.0f} ms/step   speed-up vs {settings[0]}: {base / med:.2f}x")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            steps[settings[0]]()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
