"""Saving checkpoints (config.json + model.safetensors + model card) and publishing them to the Hub."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from ..errors import CheckpointError, InputError
from ..model import PhysDisModel
from .card import EvalResults, render_model_card
from .checkpoint import (
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    build_model,
    is_network_error,
    write_checkpoint,
)
from .registry import REPO_ID


def save_pretrained(
    model: PhysDisModel,
    directory: str | os.PathLike[str],
    *,
    eval_results: EvalResults | None = None,
    repo_id: str | None = None,
    overwrite: bool = False,
    provenance: str | None = None,
) -> Path:
    """Write ``config.json``, ``model.safetensors`` and the ``README.md`` model card into ``directory``.

    The files are written to a temporary sibling folder that is renamed into place, so ``directory``
    is never left half-written.

    Args:
        model: the model to save.
        directory: destination folder; must be absent or empty unless ``overwrite``.
        eval_results: ``{"metrics": {name: number}, "command": "..."}`` (or a JSON file of it) for the
            card's evaluation table.
        repo_id: Hub repository the card's loading example names (default: a local-dir: example).
        overwrite: replace a non-empty ``directory`` (its whole content).
        provenance: Markdown for the card on where the weights come from (see :func:`render_model_card`).

    Returns:
        ``directory`` as a Path.

    Example:
        >>> save_pretrained(model, "checkpoints/faces-lv",
        ...                 eval_results={"metrics": {"cluster_acc": 0.61}, "command": "physdis probe ..."})  # doctest: +SKIP
        PosixPath('checkpoints/faces-lv')
    """
    if not isinstance(model, PhysDisModel):
        raise TypeError(f"model: expected a PhysDisModel, got {type(model).__name__}")
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
        raise InputError(f"directory: expected a folder path, got {directory!r}")
    directory = Path(directory).expanduser()
    if directory.exists() and not directory.is_dir():
        raise InputError(f"directory: {directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not overwrite:
        raise FileExistsError(f"directory: {directory} is not empty; pass overwrite=True to replace its content")
    # validates eval_results first
    card = render_model_card(model, eval_results=eval_results, repo_id=repo_id, provenance=provenance)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        write_checkpoint(model, tmp)
        (tmp / CARD_NAME).write_text(card, encoding="utf-8")
        _move_into_place(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _move_into_place(tmp: Path, directory: Path) -> None:
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
    if not directory.exists():
        os.rename(tmp, directory)
        return
    old = directory.parent / f".{directory.name}.{uuid.uuid4().hex[:8]}.old"
    os.rename(directory, old)
    try:
        os.rename(tmp, directory)
    except BaseException:
        os.rename(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)


def push_to_hub(
    model: PhysDisModel,
    repo_id: str,
    *,
    revision: str | None = None,
    commit_message: str = "Upload physdis-hub model",
    private: bool = False,
    token: str | None = None,
    eval_results: EvalResults | None = None,
) -> str:
    """Save ``model`` (see :func:`save_pretrained`) and commit it to the Hub repository ``repo_id``.

    The repository is created if needed (``private`` applies then); ``revision`` names a branch,
    created from ``main`` if absent. Uses huggingface_hub, so ``HF_ENDPOINT`` and ``HF_TOKEN`` apply.

    Returns:
        The 40-hex commit sha, which a registry entry can pin.

    Example:
        >>> sha = push_to_hub(model, "org/physdis-faces-lv")  # doctest: +SKIP
    """
    _check_repo_id(repo_id)
    with tempfile.TemporaryDirectory(prefix="physdis-push-") as tmp:
        directory = save_pretrained(model, Path(tmp) / "checkpoint", eval_results=eval_results, repo_id=repo_id)
        return _upload(directory, repo_id, revision, commit_message, private, token)


def push_directory(
    directory: str | os.PathLike[str],
    repo_id: str,
    *,
    revision: str | None = None,
    commit_message: str = "Upload physdis-hub model",
    private: bool = False,
    token: str | None = None,
) -> str:
    """Commit a folder written by :func:`save_pretrained` to the Hub as it is.

    The folder must load strictly; only ``config.json``, ``model.safetensors`` and ``README.md`` are
    uploaded (never pickle files). Arguments as in :func:`push_to_hub`.

    Returns:
        The 40-hex commit sha.
    """
    _check_repo_id(repo_id)
    directory = Path(directory).expanduser()
    config, weights = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not (config.is_file() and weights.is_file()):
        raise CheckpointError(f"{directory}: expected {CONFIG_NAME} and {WEIGHTS_NAME} (see save_pretrained)")
    build_model(config, weights, source=str(directory))
    return _upload(directory, repo_id, revision, commit_message, private, token)


def _check_repo_id(repo_id: str) -> None:
    if not isinstance(repo_id, str) or not REPO_ID.fullmatch(repo_id):
        raise InputError(f"repo_id: expected 'org/name', got {repo_id!r}")


def _upload(
    directory: Path, repo_id: str, revision: str | None, commit_message: str, private: bool, token: str | None
) -> str:
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision is not None and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=directory,
            revision=revision,
            commit_message=commit_message,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME],
            repo_type="model",
        )
    except HfHubHTTPError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"push to {repo_id} on {constants.ENDPOINT} was refused: {first}") from err
    except Exception as err:  # the network layer's own errors (no connection, DNS, TLS, timeouts)
        if not is_network_error(err):
            raise
        raise CheckpointError(
            f"push to {repo_id}: {constants.ENDPOINT} cannot be reached ({type(err).__name__}: {err}); "
            "check the network or HF_ENDPOINT"
        ) from err
    return info.oid
