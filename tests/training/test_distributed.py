"""DDP through torchrun on CPU (gloo, 2 processes) trains like one process with the same global batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from physdis_hub.model import PhysDisModel
from training.checkpoint import load_checkpoint
from training.data import collate_images
from training.distributed import DistContext, local_rows
from training.logs import read_csv
from training.loocc import Perturbation, sample_perturbation
from training.objective import TrainingObjective
from training.presets import build_preset
from training.trainer import LAST_CHECKPOINT

from .conftest import run_module

# LOOCC-L with gathered features: NT-Xent sees the whole global batch in both runs.
ARGS = ["--preset", "tiny", "--variant", "L", "--epochs", "2", "--no-export", "--no-progress"]


def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    one = run_module(["-m", "training.train", *ARGS, "--out", "one"], tmp_path)
    assert one.returncode == 0, one.stderr
    two = run_module(
        [
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "training.train",
            *ARGS,
            "--out",
            "two",
        ],
        tmp_path,
    )
    assert two.returncode == 0, two.stderr
    assert "world size 2" in two.stderr and two.stderr.count("preset 'tiny'") == 1  # only rank 0 speaks

    a, b = read_csv(tmp_path / "one" / "steps.csv"), read_csv(tmp_path / "two" / "steps.csv")
    assert len(a) == len(b) == 8  # rank 0 alone writes: one row per global step
    assert all(ra["aug"] == rb["aug"] == "light" for ra, rb in zip(a, b))
    # step 1, same weights: the contrastive term sees the same gathered batch (equal up to float
    # rounding); the reconstruction term differs only in averaging per-rank masked means
    assert float(b[0]["loocc"]) == pytest.approx(float(a[0]["loocc"]), rel=1e-5)
    assert float(b[0]["total"]) == pytest.approx(float(a[0]["total"]), rel=1e-4)
    # later steps: Adam turns those rounding-level differences into a slow drift
    for ra, rb in zip(a, b):
        for key in ("loocc", "recon", "total"):
            assert float(rb[key]) == pytest.approx(float(ra[key]), rel=2e-2), (ra["step"], key)
    last_one = load_checkpoint(tmp_path / "one" / LAST_CHECKPOINT)
    last_two = load_checkpoint(tmp_path / "two" / LAST_CHECKPOINT)
    assert last_two["world_size"] == 2 and last_two["step"] == last_one["step"] == 8
    augment = last_two["augment_generators"]  # each rank's own stream, for an exact resume
    assert augment.shape[0] == 2 and not torch.equal(augment[0], augment[1])
    assert torch.equal(augment[0], last_one["augment_generators"][0])
    val_one = [float(r["val_loss"]) for r in read_csv(tmp_path / "one" / "epochs.csv")]
    val_two = [float(r["val_loss"]) for r in read_csv(tmp_path / "two" / "epochs.csv")]
    assert val_two == pytest.approx(val_one, rel=3e-2)


def _ddp_step_gradients(rank: int, world: int, x: torch.Tensor, p: Perturbation) -> dict[str, torch.Tensor]:
    """One DDP forward/backward on this rank's rows of the global batch; the model's gradients."""
    config = build_preset("tiny", "L")
    torch.manual_seed(0)
    model = PhysDisModel(config.model)
    ddp = DistributedDataParallel(TrainingObjective(model, config.loocc), broadcast_buffers=False)
    rows = local_rows(x.shape[0], DistContext(rank=rank, world_size=world))
    ddp(x[rows], p.rows(rows))["total"].backward()
    return {n: q.grad.clone() for n, q in model.named_parameters()}


def _ddp_gradients(rank: int, world: int, init_file: str, x: torch.Tensor, p: Perturbation, out: str) -> None:
    """Rank ``rank`` of the spawned world; rank 0 saves its gradients to ``out``."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        grads = _ddp_step_gradients(rank, world, x, p)  # the DDP wrapper is gone when this returns
        dist.barrier()  # no rank tears down while a peer still talks (gloo then aborts it)
    finally:
        dist.destroy_process_group()
    if rank == 0:
        save_file(grads, out)


def test_ddp_gradients_equal_the_single_process_gradients(tiny_splits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = build_preset("tiny", "L")
    x = collate_images([tiny_splits.train[i] for i in range(8)]) * 2 - 1
    p = sample_perturbation(config.loocc, 8, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = PhysDisModel(config.model)
    TrainingObjective(model, config.loocc)(x, p)["total"].backward()
    out = tmp_path / "grads.safetensors"
    mp.spawn(_ddp_gradients, args=(2, str(tmp_path / "init"), x, p, str(out)), nprocs=2, join=True)
    ddp_grads = load_file(out)
    # per-rank masked means of the reconstruction differ from the global one only where the
    # objects' masks differ in size, so the gradients agree to well below a per-mille
    for name, q in model.named_parameters():
        scale = float(q.grad.abs().max())
        assert float((ddp_grads[name] - q.grad).abs().max()) <= 2e-3 * scale + 1e-9, name


def test_local_rows_follow_the_distributed_sampler() -> None:
    # DistributedSampler deals the shuffled indices round-robin: rank r holds positions r, r+W, ...
    ranks = [DistContext(rank=r, world_size=4) for r in range(4)]
    rows = [torch.arange(8)[local_rows(8, ctx)] for ctx in ranks]
    assert [r.tolist() for r in rows] == [[0, 4], [1, 5], [2, 6], [3, 7]]
    with pytest.raises(ValueError, match="divisible"):
        local_rows(6, ranks[0])
