"""Pretrained checkpoints: the registry, loading (registry names, ``hf-hub:``, ``local-dir:``),
saving with a model card, and publishing to the Hugging Face Hub.

Hub plumbing only; the model itself lives in :mod:`physdis_hub.model`.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time they are imported on first use
    from ..errors import CheckpointError, ChecksumMismatchError
    from .card import render_model_card
    from .download import load_pretrained, parse_model_name
    from .publish import push_directory, push_to_hub, save_pretrained
    from .registry import (
        PretrainedEntry,
        UnknownPretrainedError,
        get_pretrained,
        list_pretrained,
        register_pretrained,
        unregister_pretrained,
    )

_EXPORTS = {
    ".card": ("render_model_card",),
    "..errors": ("CheckpointError", "ChecksumMismatchError"),
    ".download": ("load_pretrained", "parse_model_name"),
    ".publish": ("push_directory", "push_to_hub", "save_pretrained"),
    ".registry": (
        "PretrainedEntry",
        "UnknownPretrainedError",
        "get_pretrained",
        "list_pretrained",
        "register_pretrained",
        "unregister_pretrained",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "CheckpointError",
    "ChecksumMismatchError",
    "PretrainedEntry",
    "UnknownPretrainedError",
    "get_pretrained",
    "list_pretrained",
    "load_pretrained",
    "parse_model_name",
    "push_directory",
    "push_to_hub",
    "register_pretrained",
    "render_model_card",
    "save_pretrained",
    "unregister_pretrained",
]
