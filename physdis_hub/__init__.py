"""physdis-hub: physically disentangled image representations.

An unsupervised inverse renderer (after Unsup3d) with separate encoder-decoders for geometry,
albedo, light and view, a differentiable renderer in plain PyTorch, and the LOOCC loss. The
encoders' bottleneck features are the representation.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time they are imported on first use
    from .categories import CATEGORIES, CategoryProfile, get_category
    from .config import LossConfig, ModelConfig, NetConfig, RenderConfig, SceneConfig
    from .errors import CheckpointError, ChecksumMismatchError, InputError, PhysdisError, UnknownNameError
    from .hub import (
        PretrainedEntry,
        list_pretrained,
        load_pretrained,
        push_to_hub,
        register_pretrained,
        save_pretrained,
    )
    from .model import Decomposition, ForwardOutput, PhysDisModel
    from .scene import Light, SceneParams, View
    from .vocab import PARTS, VARIANT_LABELS, VARIANTS, Part, Variant, check_parts

_EXPORTS = {
    ".categories": ("CATEGORIES", "CategoryProfile", "get_category"),
    ".config": ("LossConfig", "ModelConfig", "NetConfig", "RenderConfig", "SceneConfig"),
    ".errors": ("CheckpointError", "ChecksumMismatchError", "InputError", "PhysdisError", "UnknownNameError"),
    ".hub": (
        "PretrainedEntry",
        "list_pretrained",
        "load_pretrained",
        "push_to_hub",
        "register_pretrained",
        "save_pretrained",
    ),
    ".model": ("Decomposition", "ForwardOutput", "PhysDisModel"),
    ".scene": ("Light", "SceneParams", "View"),
    ".vocab": ("PARTS", "VARIANT_LABELS", "VARIANTS", "Part", "Variant", "check_parts"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES",
    "PARTS",
    "VARIANTS",
    "VARIANT_LABELS",
    "CategoryProfile",
    "CheckpointError",
    "ChecksumMismatchError",
    "Decomposition",
    "ForwardOutput",
    "InputError",
    "Light",
    "LossConfig",
    "ModelConfig",
    "NetConfig",
    "Part",
    "PhysDisModel",
    "PhysdisError",
    "PretrainedEntry",
    "RenderConfig",
    "SceneConfig",
    "SceneParams",
    "UnknownNameError",
    "Variant",
    "View",
    "__version__",
    "check_parts",
    "get_category",
    "list_pretrained",
    "load_pretrained",
    "push_to_hub",
    "register_pretrained",
    "save_pretrained",
]
