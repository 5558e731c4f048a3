"""Distributed data parallel through torchrun: process group set-up from its environment variables.

Launch with ``torchrun --nproc_per_node N [--nnodes M ...] -m training.train ...``; a plain
``python -m training.train`` is a world of one. Backend: NCCL for CUDA, gloo on CPU. Only rank 0
writes checkpoints, logs and figures; the global batch is split evenly across ranks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job.

    Attributes:
        rank: global rank, 0 .. world_size - 1.
        world_size: number of processes.
        local_rank: rank on this node (selects the CUDA device).
        device: the device this process trains on.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"`` -> this process's device."""
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' requested but torch.cuda.is_available() is False")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def init_distributed(device: str = "auto") -> DistContext:
    """Join the process group torchrun describes (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ...).

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Returns:
        :class:`DistContext`; a world of one when ``WORLD_SIZE`` is unset or 1.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistContext(rank, world, local_rank, dev)


def shutdown(ctx: DistContext, *, wait_for_peers: bool = True) -> None:
    """Leave the process group (if this process joined one).

    Args:
        ctx: this process's place in the world.
        wait_for_peers: meet every rank at a barrier first, so that no rank tears down its
            connections while a peer still talks on them (gloo can then abort the peer with
            ``terminate called without an active exception``). Pass ``False`` after an error: the
            other ranks may never reach the barrier.
    """
    if ctx.distributed and dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


@contextmanager
def distributed_session(device: str = "auto") -> Iterator[DistContext]:
    """:func:`init_distributed` for the ``with`` block, :func:`shutdown` when it ends (also on errors)."""
    ctx = init_distributed(device)
    try:
        yield ctx
    except BaseException:
        shutdown(ctx, wait_for_peers=False)
        raise
    shutdown(ctx)


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op for a world of one)."""
    if ctx.distributed:
        dist.barrier()


def all_reduce_sum(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum ``values`` over ranks (returns a new tensor; identity for a world of one)."""
    out = values.detach().clone()
    if ctx.distributed:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def local_rows(batch_size: int, ctx: DistContext) -> slice:
    """Which rows of a global batch this rank holds.

    ``DistributedSampler`` deals indices round-robin (rank ``r`` gets positions ``r, r + W, ...`` of
    the shuffled order), so with a per-rank batch of ``B / W`` global batch ``i`` is exactly the
    single-process batch ``i`` and this rank's rows are ``r::W`` of it.
    """
    if batch_size % ctx.world_size:
        raise ValueError(f"batch_size: {batch_size} is not divisible by the world size {ctx.world_size}")
    return slice(ctx.rank, None, ctx.world_size)
