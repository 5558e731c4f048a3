"""physdis-hub: physically disentangled image representations.

An unsupervised inverse renderer (after Unsup3d) with separate encoder-decoders for geometry,
albedo, light and view, a differentiable renderer in plain PyTorch, and the LOOCC loss. The
encoders' bottleneck features are the representation.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time they are imported on first use
    from .config import PARTS, LossConfig, ModelConfig, NetConfig, RenderConfig, SceneConfig
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

_EXPORTS = {
    ".config": ("PARTS", "LossConfig", "ModelConfig", "NetConfig", "RenderConfig", "SceneConfig"),
    ".hub": ("PretrainedEntry", "list_pretrained", "load_pretrained", "push_to_hub", "register_pretrained", "save_pretrained"),
    ".model": ("Decomposition", "ForwardOutput", "PhysDisModel"),
    ".scene": ("Light", "SceneParams", "View"),
}  # fmt: skip
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__version__ = "0.1.0"

__all__ = [
    "PARTS",
    "Decomposition",
    "ForwardOutput",
    "Light",
    "LossConfig",
    "ModelConfig",
    "NetConfig",
    "PhysDisModel",
    "PretrainedEntry",
    "RenderConfig",
    "SceneConfig",
    "SceneParams",
    "View",
    "__version__",
    "list_pretrained",
    "load_pretrained",
    "push_to_hub",
    "register_pretrained",
    "save_pretrained",
]
