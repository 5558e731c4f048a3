"""A sane default for the number of CPU threads of the ``physdis`` and training commands.

torch starts one intra-op thread per core. On a machine shared with other jobs those threads wait
for each other: a tiny training run took 2.5 min with the default threads and 28 s with one. The
commands therefore use at most :data:`DEFAULT_MAX_THREADS` unless told otherwise."""

from __future__ import annotations

import os
import sys

from .errors import InputError

DEFAULT_MAX_THREADS = 4


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def limit_threads(threads: int | None = None) -> int | None:
    """Use ``threads`` CPU threads; by default ``min(4, cores)``, unless ``OMP_NUM_THREADS`` is set
    (then torch already follows it and nothing changes; returns None). Returns the count set.

    Sets torch's count when torch is imported and ``OMP_NUM_THREADS`` for torch imported later and
    for child processes (data loader and distributed workers), so it costs no torch import."""
    if threads is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return None
        threads = min(DEFAULT_MAX_THREADS, available_cores())
    if threads < 1:
        raise InputError(f"--threads: expected a positive int, got {threads}")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads
