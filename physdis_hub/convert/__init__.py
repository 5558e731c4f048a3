"""Conversion of official training checkpoints (Unsup3d's released models, the PDR code's
checkpoints) into physdis checkpoints (``config.json`` + ``model.safetensors`` + model card).

The official files are pickles; :func:`read_checkpoint` reads them without running code from them.
"""

from .categories import PDR_CATEGORIES, UNSUP3D_CATEGORIES, OfficialCategory
from .reader import BOOKKEEPING_CLASSES, ConversionError, TrainingRecord, read_checkpoint
from .unsup3d import PDR, UNSUP3D, Layout, convert_checkpoint, convert_pdr, convert_unsup3d, map_network

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
