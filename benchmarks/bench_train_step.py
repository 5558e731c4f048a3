"""Where a CPU training step goes, and what makes it faster (the faces-synthetic-cpu preset's step).

One run, one batch of synthetic faces, the preset's model and objective (nf 16 networks, confidence,
normal-smoothness prior, LOOCC-LV with the cycle term). Each timed variant is a code tree and a
setting, and runs in a worker process of its own, so that two versions of the library can be timed
side by side:

  * trees: ``current`` (this checkout) and, with ``--baseline REV``, the library as it was at git
    revision ``REV`` (``git archive`` into a temporary folder; the worker imports only from there);
  * settings: ``eager`` (the step as the tree's trainer runs it at the preset's configuration:
    forward, losses, backward, Adam; for trees before ``TrainConfig.precision`` existed, float32 and
    torch's default Adam), ``channels_last`` (the networks and the batch in channels-last memory
    format), ``compiled`` (every ``nn.Sequential`` of the networks compiled in place by
    ``torch.compile``, inductor; the warm-up steps compile and are not timed), and the settings of
    :data:`STEP_CONFIGS`, which set the precision and Adam implementation of the step (trees that
    have ``TrainConfig.precision`` only): ``fp32`` (float32, torch's default Adam: today's step on
    this tree), ``bf16``, ``fused-adam`` and ``bf16-fused-adam``; the baseline skips these.

The workers step in turn (A, B, C, A, B, C, ...), so that load from other processes hits each alike;
each figure is the median over the repeats, and the ratios are the first variant's step time over
each variant's (above 1: faster). Both clocks are reported: wall time, and the worker's CPU time
(``time.process_time``), which load from other processes inflates less (a worker waiting for a core
spends no CPU time). Every worker starts from the same seed, batch and perturbation generator, and
prints the loss of its first step: trees whose steps compute the same thing print the same loss.
With ``--profile``, the top operators of one step of each variant (torch.profiler, self CPU time).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_train_step.py [--baseline REV] [--settings eager,fp32,bf16]
[--batch 32] [--repeats 5] [--threads N] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

STEP_CONFIGS: dict[str, dict[str, str]] = {
    "fp32": {"precision": "fp32", "adam_impl": "auto"},
    "bf16": {"precision": "bf16", "adam_impl": "auto"},
    "fused-adam": {"precision": "fp32", "adam_impl": "fused"},
    "bf16-fused-adam": {"precision": "bf16", "adam_impl": "fused"},
}
"""Setting -> the ``TrainConfig.precision`` and ``OptimConfig.adam_impl`` its step runs with."""
SETTINGS = ("eager", "channels_last", "compiled", *STEP_CONFIGS)
REPO = Path(__file__).resolve().parents[1]


def _build_step(setting: str, batch: torch.Tensor):  # type: ignore[no-untyped-def]
    """A step function of ``setting`` (a fresh model from seed 0), in the library this process imports."""
    from physdis_hub.model import PhysDisModel
    from training import presets
    from training.loocc import sample_perturbation
    from training.objective import TrainingObjective

    # A --baseline commit may predate the registries' rename (get_preset built the TrainConfig then).
    config = getattr(presets, "build_preset", presets.get_preset)("faces-synthetic-cpu", "LV")
    configurable = hasattr(config, "precision")  # trees from before TrainConfig.precision: fp32, plain Adam
    if setting in STEP_CONFIGS:
        if not configurable:
            raise SystemExit(f"setting {setting!r}: this tree has no TrainConfig.precision")
        step_config = STEP_CONFIGS[setting]
        config = config.replace(
            precision=step_config["precision"], optim=config.optim.replace(adam_impl=step_config["adam_impl"])
        )
    torch.manual_seed(0)
    model = PhysDisModel(config.model)
    x = batch
    if setting == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = batch.contiguous(memory_format=torch.channels_last)
    elif setting == "compiled":
        for module in model.modules():
            if isinstance(module, torch.nn.Sequential):
                module.compile()
    objective = TrainingObjective(model, config.loocc)
    if configurable:
        from physdis_hub.nets import set_precision

        set_precision(model, config.precision)
        optimizer = config.optim.adam(model.parameters())
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    generator = torch.Generator().manual_seed(0)

    def step() -> float:
        perturbation = sample_perturbation(config.loocc, x.shape[0], generator)
        loss = objective(x, perturbation)["total"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def _worker(setting: str, batch_file: str, threads: int) -> None:
    """Serve steps on stdin: ``step`` -> wall and CPU seconds, ``profile`` -> operator table; EOF ends."""
    import time

    import physdis_hub

    torch.set_num_threads(threads)
    step = _build_step(setting, torch.load(batch_file, weights_only=True))
    t0 = time.perf_counter()
    first = step()
    step()
    print(f"ready {time.perf_counter() - t0:.1f} {first!r} {Path(physdis_hub.__file__).parent}", flush=True)
    for line in sys.stdin:
        if line.strip() == "step":
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            print(f"{time.perf_counter() - t0} {time.process_time() - c0}", flush=True)
        elif line.strip() == "profile":
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CPU]) as prof:
                step()
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
            print("end-profile", flush=True)


def _export(revision: str, folder: Path) -> Path:
    """The repository's tree at ``revision``, written into ``folder``."""
    archive = folder / "tree.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), revision], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


class _Worker:
    def __init__(self, name: str, tree: Path, setting: str, batch_file: Path, threads: int) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree)}
        command = [
            sys.executable,
            __file__,
            "--worker",
            setting,
            "--batch-file",
            str(batch_file),
            "--threads",
            str(threads),
        ]
        self.proc = subprocess.Popen(
            command, env=env, cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.times: list[float] = []
        self.cpu_times: list[float] = []

    def read_line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: the worker ended (exit status {self.proc.wait()})")
        return line.strip()

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read_line()

    def read_until(self, marker: str) -> str:
        assert self.proc.stdout is not None
        lines = []
        for line in self.proc.stdout:
            if line.strip() == marker:
                break
            lines.append(line)
        return "".join(lines)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", metavar="REV", help="also time the library at this git revision")
    parser.add_argument("--settings", default="eager", help=f"comma-separated, of {list(SETTINGS)}")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print the top operators of a step of each variant")
    parser.add_argument("--worker", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--batch-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.batch_file, args.threads)
        return
    settings = args.settings.split(",")
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise SystemExit(f"--settings: unknown {unknown}; expected some of {list(SETTINGS)}")
    sys.path.insert(0, str(REPO))
    from bench_loocc import synthetic_batch

    with tempfile.TemporaryDirectory() as tmp:
        batch_file = Path(tmp) / "batch.pt"
        torch.save(synthetic_batch(args.batch), batch_file)
        trees = [("current", REPO)]
        if args.baseline:
            trees.insert(0, (f"baseline {args.baseline}", _export(args.baseline, Path(tmp))))
        workers = []
        for name, tree in trees:  # started one at a time, so warm-up (and compilation) runs alone
            # the baseline runs only the settings every tree has (it may predate TrainConfig.precision)
            for s in settings if tree == REPO else [s for s in settings if s not in STEP_CONFIGS]:
                workers.append(_Worker(f"{name}, {s}", tree, s, batch_file, args.threads))
                _, seconds, loss, package = workers[-1].read_line().split(" ", 3)
                print(f"{workers[-1].name}: warm-up {seconds} s, first-step loss {loss}, library {package}", flush=True)
        for _ in range(args.repeats):
            for w in workers:
                wall, cpu = w.ask("step").split()
                w.times.append(float(wall))
                w.cpu_times.append(float(cpu))
        base, cpu_base = statistics.median(workers[0].times), statistics.median(workers[0].cpu_times)
        print(
            f"threads {args.threads}, batch {args.batch}, medians of {args.repeats} (interleaved); "
            f"speed-ups against {workers[0].name}:"
        )
        for w in workers:
            med, cpu = statistics.median(w.times), statistics.median(w.cpu_times)
            print(
                f"  {w.name:40s} wall {med * 1000:6.0f} ms/step ({base / med:.2f}x)   "
                f"CPU {cpu * 1000:6.0f} ms/step ({cpu_base / cpu:.2f}x)"
            )
        if args.profile:
            for w in workers:
                assert w.proc.stdin is not None
                w.proc.stdin.write("profile\n")
                w.proc.stdin.flush()
                print(f"{w.name}:\n{w.read_until('end-profile')}")
        for w in workers:
            w.close()


if __name__ == "__main__":
    main()
