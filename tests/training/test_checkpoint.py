"""Checkpoint files: atomic writes, and damaged files detected and reported, never used."""

from __future__ import annotations

import math
import random
import threading

import numpy as np
import pytest
import torch

from training.checkpoint import CheckpointError, load_checkpoint, read_verified, save_checkpoint
from training.rng import capture_rng_state, restore_rng_state, seed_everything


def _state() -> dict:
    return {
        "epoch": 3,
        "model": {"w": torch.arange(1000.0)},
        "best": math.inf,
        "betas": (0.9, 0.999),
        "rng": capture_rng_state(),
    }


def test_roundtrip_and_no_temporary_files_left(tmp_path) -> None:
    path = save_checkpoint(_state(), tmp_path / "run" / "last.ckpt")
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and loaded["best"] == math.inf and loaded["betas"] == (0.9, 0.999)
    assert torch.equal(loaded["model"]["w"], torch.arange(1000.0))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
    assert path.read_bytes().startswith(b"PHYSDIS-CKPT 1 sha256=")


def test_overwrite_is_atomic_and_a_failed_write_keeps_the_old_file(tmp_path) -> None:
    path = save_checkpoint({"epoch": 1}, tmp_path / "last.ckpt")
    save_checkpoint({"epoch": 2}, path)
    assert load_checkpoint(path)["epoch"] == 2
    with pytest.raises(TypeError, match="pickle"):
        save_checkpoint({"epoch": 3, "bad": threading.Lock()}, path)
    assert load_checkpoint(path)["epoch"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_truncated_checkpoint_is_reported(tmp_path) -> None:
    path = save_checkpoint(_state(), tmp_path / "last.ckpt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"last\.ckpt: truncated .* header says \d+ payload bytes, found \d+"):
        load_checkpoint(path)


@pytest.mark.parametrize("where", [0.3, 0.6, 0.999])
def test_flipped_byte_is_reported(tmp_path, where) -> None:
    path = save_checkpoint(_state(), tmp_path / "last.ckpt")
    data = bytearray(path.read_bytes())
    header = data.index(b"\n") + 1
    i = header + int((len(data) - header) * where)
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"last\.ckpt: corrupt: SHA-256 of the payload is [0-9a-f]{64}"):
        load_checkpoint(path)


def test_damaged_header_missing_file_and_foreign_file(tmp_path) -> None:
    path = save_checkpoint(_state(), tmp_path / "last.ckpt")
    data = bytearray(path.read_bytes())
    data[3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="unreadable header"):
        read_verified(path)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.ckpt")
    foreign = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, foreign)  # a plain torch file is refused before unpickling
    with pytest.raises(CheckpointError, match="not a physdis checkpoint"):
        load_checkpoint(foreign)


def test_rng_state_roundtrip_through_a_checkpoint(tmp_path) -> None:
    seed_everything(7)
    path = save_checkpoint({"rng": capture_rng_state()}, tmp_path / "rng.ckpt")
    expected = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(99)
    restore_rng_state(load_checkpoint(path)["rng"])
    got = (random.random(), np.random.rand(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1] and torch.equal(got[2], expected[2])


def test_seed_checks() -> None:
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    with pytest.raises(ValueError, match="missing"):
        restore_rng_state({"torch": torch.get_rng_state()})
