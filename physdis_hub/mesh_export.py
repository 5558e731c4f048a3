"""Meshes of a decomposition: the canonical depth map as a textured grid mesh (OBJ + MTL + PNG, GLB).

The mesh has one vertex per pixel of the ``S x S`` canonical depth map, placed where the model's own
camera lifts it (:meth:`physdis_hub.render.camera.Camera.unproject`), and two triangles per quad of
neighbouring pixels: ``2 * (S - 1) ** 2`` faces, the whole map (the 2-pixel border at the model's
border depth included, as the renderer sees it). Coordinates are the renderer's camera frame (x
right, y down, z away from the camera, in the model's depth units). The OBJ stores them as they are;
the GLB stores the same numbers and gives its node a matrix that turns them into glTF's y-up frame
(``(x, -y, -z)``), so viewers show the face upright and facing them. Triangles are counter-clockwise
seen from the camera; normals point to the camera (the renderer's shading normals, negated). The
texture is the albedo; pixel ``(r, c)``'s vertex has uv ``((c + 0.5) / S, (r + 0.5) / S)`` from the
image's top-left (glTF's convention; the OBJ stores ``1 - v``, OBJ's bottom-left convention), so
each vertex samples its own albedo pixel.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import InputError
from .inputs import Images, to_uint8
from .model import Decomposition, PhysDisModel
from .render.camera import Camera, normals_from_depth


@dataclass
class Mesh:
    """A textured triangle mesh of ``N = S * S`` vertices.

    Attributes:
        vertices: ``(N, 3)`` float32 camera-space points (row-major over pixels).
        normals: ``(N, 3)`` float32 unit normals, towards the camera.
        uvs: ``(N, 2)`` float32 texture coordinates, origin at the image's top-left.
        faces: ``(2 * (S - 1) ** 2, 3)`` int64 vertex indices, counter-clockwise seen from the camera.
        texture: ``(S, S, 3)`` uint8 albedo.
    """

    vertices: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    texture: np.ndarray


def grid_triangles(size: int) -> np.ndarray:
    """``(2 * (size - 1) ** 2, 3)`` triangles of a ``size x size`` vertex grid (row-major), two per quad,
    counter-clockwise seen from the camera of the y-down image frame."""
    if size < 2:
        raise InputError(f"size: expected a grid side >= 2, got {size}")
    r, c = np.meshgrid(np.arange(size - 1), np.arange(size - 1), indexing="ij")
    v0 = (r * size + c).reshape(-1)
    v1, v2 = v0 + 1, v0 + size
    v3 = v2 + 1
    return np.stack([np.stack([v0, v2, v1], 1), np.stack([v1, v2, v3], 1)], 1).reshape(-1, 3).astype(np.int64)


def depth_mesh(camera: Camera, depth: torch.Tensor, albedo: torch.Tensor, normals: str = "replicate") -> Mesh:
    """The grid mesh of one canonical depth map.

    Args:
        camera: the model's camera (``model.renderer.camera``).
        depth: ``(S, S)`` canonical depth.
        albedo: ``(3, S, S)`` in [0, 1].
        normals: the model's normal convention (``model.config.render.normals``), so the vertex
            normals are the ones it shades with (converted Unsup3d models: a (0, 0, 1) outer ring).
    """
    s = camera.size
    if tuple(depth.shape) != (s, s) or tuple(albedo.shape) != (3, s, s):
        raise InputError(
            f"depth, albedo: expected ({s}, {s}) and (3, {s}, {s}) for the camera's size {s}, "
            f"got {tuple(depth.shape)} and {tuple(albedo.shape)}"
        )
    depth = depth.detach().float().cpu()
    points = camera.unproject(depth[None])[0].reshape(-1, 3)
    vertex_normals = -normals_from_depth(camera, depth[None], normals)[0].reshape(-1, 3)
    r, c = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    uvs = np.stack([(c + 0.5) / s, (r + 0.5) / s], -1).reshape(-1, 2).astype(np.float32)
    texture = to_uint8(albedo)
    return Mesh(
        points.numpy().astype(np.float32), vertex_normals.numpy().astype(np.float32), uvs, grid_triangles(s), texture
    )


def write_obj(mesh: Mesh, path: str | Path) -> list[Path]:
    """Write ``NAME.obj``, ``NAME.mtl`` and the texture ``NAME_albedo.png`` beside it.

    Returns:
        The three paths.
    """
    path = Path(path)
    mtl, png = path.with_suffix(".mtl"), path.with_name(f"{path.stem}_albedo.png")
    Image.fromarray(mesh.texture).save(png)
    mtl.write_text(f"newmtl albedo\nKa 0 0 0\nKd 1 1 1\nKs 0 0 0\nillum 1\nmap_Kd {png.name}\n")
    lines = [
        f"# physdis-hub depth mesh: {len(mesh.vertices)} vertices, {len(mesh.faces)} triangles",
        f"mtllib {mtl.name}",
        "usemtl albedo",
    ]
    lines += [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in mesh.vertices.tolist()]
    lines += [f"vt {u:.9g} {1 - v:.9g}" for u, v in mesh.uvs.tolist()]
    lines += [f"vn {x:.9g} {y:.9g} {z:.9g}" for x, y, z in mesh.normals.tolist()]
    lines += ["f " + " ".join(f"{i}/{i}/{i}" for i in tri) for tri in (mesh.faces + 1).tolist()]
    path.write_text("\n".join(lines) + "\n")
    return [path, mtl, png]


GLB_MAGIC, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942
"""The glTF binary header magic ("glTF") and chunk types ("JSON", "BIN\\0")."""
_FLOAT, _UINT = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR, _CLAMP = 9729, 33071


def write_glb(mesh: Mesh, path: str | Path) -> Path:
    """Write one self-contained glTF 2.0 binary: positions, normals, uvs, uint32 indices and the PNG
    texture in one buffer (every view 4-byte aligned), POSITION with min/max."""
    png = io.BytesIO()
    Image.fromarray(mesh.texture).save(png, format="PNG")
    blobs = [
        (mesh.vertices.astype("<f4").tobytes(), _ARRAY_BUFFER),
        (mesh.normals.astype("<f4").tobytes(), _ARRAY_BUFFER),
        (mesh.uvs.astype("<f4").tobytes(), _ARRAY_BUFFER),
        (mesh.faces.astype("<u4").tobytes(), _ELEMENT_ARRAY_BUFFER),
        (png.getvalue(), None),
    ]
    binary, views = b"", []
    for data, target in blobs:
        binary += b"\0" * (-len(binary) % 4)
        view = {"buffer": 0, "byteOffset": len(binary), "byteLength": len(data)}
        views.append(view if target is None else {**view, "target": target})
        binary += data
    binary += b"\0" * (-len(binary) % 4)
    n = len(mesh.vertices)
    accessors = [
        {
            "bufferView": 0,
            "componentType": _FLOAT,
            "count": n,
            "type": "VEC3",
            "min": mesh.vertices.min(0).tolist(),
            "max": mesh.vertices.max(0).tolist(),
        },
        {"bufferView": 1, "componentType": _FLOAT, "count": n, "type": "VEC3"},
        {"bufferView": 2, "componentType": _FLOAT, "count": n, "type": "VEC2"},
        {"bufferView": 3, "componentType": _UINT, "count": mesh.faces.size, "type": "SCALAR"},
    ]
    gltf = {
        "asset": {"version": "2.0", "generator": "physdis-hub"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "matrix": [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1]}],
        "meshes": [
            {
                "primitives": [
                    {
                        "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
                        "indices": 3,
                        "material": 0,
                        "mode": 4,
                    }
                ]
            }
        ],
        "materials": [
            {"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}, "metallicFactor": 0.0, "roughnessFactor": 1.0}}
        ],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [{"magFilter": _LINEAR, "minFilter": _LINEAR, "wrapS": _CLAMP, "wrapT": _CLAMP}],
        "images": [{"bufferView": 4, "mimeType": "image/png"}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    path = Path(path)
    with open(path, "wb") as f:
        f.write(struct.pack("<III", GLB_MAGIC, 2, total))
        f.write(struct.pack("<II", len(text), JSON_CHUNK) + text)
        f.write(struct.pack("<II", len(binary), BIN_CHUNK) + binary)
    return path


def write_meshes(model: PhysDisModel, dec: Decomposition, folder: str | Path, names: Sequence[str]) -> list[Path]:
    """Write ``NAME.obj`` (+ ``NAME.mtl``, ``NAME_albedo.png``) and ``NAME.glb`` per image of ``dec``.

    Args:
        model: the model whose camera lifts the depth.
        dec: its :meth:`~PhysDisModel.decompose` result for ``B`` images.
        folder: output folder (created).
        names: ``B`` file stems.

    Returns:
        The written paths, four per image.
    """
    if len(names) != dec.albedo.shape[0]:
        raise InputError(f"names: expected {dec.albedo.shape[0]} names, one per image, got {len(names)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, name in enumerate(names):
        mesh = depth_mesh(model.renderer.camera, dec.scene.depth[i], dec.albedo[i], model.config.render.normals)
        written += write_obj(mesh, folder / f"{name}.obj") + [write_glb(mesh, folder / f"{name}.glb")]
    return written


def export_meshes(model: PhysDisModel, images: Images, folder: str | Path, names: Sequence[str]) -> list[Path]:
    """Decompose ``images`` (as :meth:`PhysDisModel.decompose` takes them) and :func:`write_meshes`.

    Example:
        >>> export_meshes(load_pretrained("faces-loocc-lv"), ["face.png"], "meshes/", ["face"])  # doctest: +SKIP
        [PosixPath('meshes/face.obj'), PosixPath('meshes/face.mtl'), PosixPath('meshes/face_albedo.png'), PosixPath('meshes/face.glb')]
    """
    return write_meshes(model, model.decompose(images), folder, names)
