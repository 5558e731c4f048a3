"""Differentiable rendering of depth-map meshes in plain PyTorch."""

from .camera import Camera, normals_from_depth, rotation_matrix, transform_points
from .rasterize import face_index_map, grid_faces, interpolate_depth, rasterize_depth
from .renderer import Renderer, Rendering

__all__ = [
    "Camera",
    "Renderer",
    "Rendering",
    "face_index_map",
    "grid_faces",
    "interpolate_depth",
    "normals_from_depth",
    "rasterize_depth",
    "rotation_matrix",
    "transform_points",
]
