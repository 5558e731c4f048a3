"""Conversion of official training checkpoints (Unsup3d's released models, the PDR code's
checkpoints) into physdis checkpoints (``config.json`` + ``model.safetensors`` + model card).

The official files are pickles; :func:`read_checkpoint` reads them without running code from them.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time they are imported on first use
    from .categories import PDR_CATEGORIES, UNSUP3D_CATEGORIES, OfficialCategory
    from .reader import BOOKKEEPING_CLASSES, ConversionError, TrainingRecord, read_checkpoint
    from .unsup3d import PDR, UNSUP3D, Layout, convert_checkpoint, convert_pdr, convert_unsup3d, map_network

_EXPORTS = {
    ".categories": ("PDR_CATEGORIES", "UNSUP3D_CATEGORIES", "OfficialCategory"),
    ".reader": ("BOOKKEEPING_CLASSES", "ConversionError", "TrainingRecord", "read_checkpoint"),
    ".unsup3d": ("PDR", "UNSUP3D", "Layout", "convert_checkpoint", "convert_pdr", "convert_unsup3d", "map_network"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "BOOKKEEPING_CLASSES",
    "PDR",
    "PDR_CATEGORIES",
    "UNSUP3D",
    "UNSUP3D_CATEGORIES",
    "ConversionError",
    "Layout",
    "OfficialCategory",
    "TrainingRecord",
    "convert_checkpoint",
    "convert_pdr",
    "convert_unsup3d",
    "map_network",
    "read_checkpoint",
]
