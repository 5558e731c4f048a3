"""The on-disk checkpoint format: ``config.json`` + ``model.safetensors``, read and written strictly.

A checkpoint folder (local, in the Hub cache, or embedded in the package) holds:

- ``config.json``: :meth:`ModelConfig.to_dict`, which fully defines the model;
- ``model.safetensors``: the model's ``state_dict`` (keys ``depth_net.*``, ``albedo_net.*``,
  ``light_net.*``, ``view_net.*`` and ``conf_net.*`` when the config uses the confidence network);
- ``README.md``: the model card (written by :func:`physdis_hub.hub.publish.save_pretrained`).

Pickle formats (``.bin``, ``.pt``, ``.pth``, ...) are never loaded: unpickling can run arbitrary code.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..config import ModelConfig
from ..errors import CheckpointError
from ..model import PhysDisModel

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
"""Weight formats that are refused because loading them unpickles (runs) code."""


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_weights_error(source: str, files: Iterable[str] | None) -> CheckpointError:
    """The error for a checkpoint without ``model.safetensors``; ``files`` lists what it has (None: unknown)."""
    pickles = sorted(f for f in files or () if f.lower().endswith(PICKLE_SUFFIXES))
    if pickles:
        return CheckpointError(
            f"{source}: has only pickle weights ({', '.join(pickles)}) and no {WEIGHTS_NAME}. physdis-hub "
            "refuses pickle formats because loading them can run arbitrary code. Convert them once, in an "
            "environment you trust: `safetensors.torch.save_file(torch.load(path, weights_only=True), "
            f"'{WEIGHTS_NAME}')`, or re-save the model with physdis_hub.save_pretrained."
        )
    return CheckpointError(
        f"{source}: no {WEIGHTS_NAME}. A physdis checkpoint holds {CONFIG_NAME} and {WEIGHTS_NAME} "
        "(written by physdis_hub.save_pretrained)."
    )


def build_model(config_path: str | Path, weights_path: str | Path, *, source: str) -> PhysDisModel:
    """Build the model ``config.json`` defines and load ``model.safetensors`` into it strictly.

    Args:
        config_path: path of ``config.json``.
        weights_path: path of ``model.safetensors``.
        source: how the user named the checkpoint, for error messages.

    Returns:
        The model on the CPU, in eval mode.

    Raises:
        CheckpointError: invalid config, unreadable weights, or weights that do not match the config
            (missing or unexpected keys, wrong shapes), naming the keys.
    """
    try:
        config = ModelConfig.from_json(config_path)
    except (ValueError, OSError) as err:
        raise CheckpointError(f"{source}: invalid {CONFIG_NAME}: {err}") from err
    try:
        state = load_file(weights_path)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{source}: {WEIGHTS_NAME} is not a readable safetensors file: {err}") from err
    model = PhysDisModel(config)
    problems = _state_dict_problems(state, model.state_dict())
    if problems:
        raise CheckpointError(
            f"{source}: {WEIGHTS_NAME} does not match {CONFIG_NAME} (strict load): {'; '.join(problems)}. "
            "The weights were saved for another architecture or the files come from different checkpoints."
        )
    model.load_state_dict(state, strict=True)
    return model.eval()


def _state_dict_problems(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> list[str]:
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k} (file {_shape(state[k])}, model {_shape(expected[k])})"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", shapes)):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{label}: {', '.join(items[:5])}{more}")
    return problems


def _shape(tensor: torch.Tensor) -> str:
    return "x".join(map(str, tensor.shape)) or "scalar"


def write_checkpoint(model: PhysDisModel, directory: Path) -> None:
    """Write ``config.json`` and ``model.safetensors`` of ``model`` into an existing ``directory``."""
    model.config.to_json(directory / CONFIG_NAME)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = directory / WEIGHTS_NAME
    save_file(state, weights, metadata={"format": "pt"})
    # safetensors writes through a private temporary file (mode 0600); give the weights the mode
    # config.json got from the umask, so packaged or shared copies stay readable.
    weights.chmod(stat.S_IMODE((directory / CONFIG_NAME).stat().st_mode))


def is_network_error(err: BaseException) -> bool:
    """True for the HTTP stack's own failures (no connection, DNS, TLS, timeouts), as opposed to an
    answer from the server (``HfHubHTTPError``) or a bug."""
    return type(err).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "requests", "urllib3", "ssl")
