"""Mesh export: the OBJ and GLB written by ``decompose --mesh`` read back (with minimal readers
written here) to the model's own 3D points, grid faces and albedo."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from physdis_hub import PhysDisModel, save_pretrained
from physdis_hub.cli import main
from physdis_hub.inputs import as_batch
from physdis_hub.mesh_export import BIN_CHUNK, GLB_MAGIC, JSON_CHUNK, depth_mesh, grid_triangles

from .conftest import small_config


def read_obj(path: Path) -> dict[str, np.ndarray | str]:
    """Vertices, uvs, normals, 0-based faces (checking v/vt/vn agree) and the mtllib of an OBJ."""
    rows: dict[str, list] = {"v": [], "vt": [], "vn": [], "f": []}
    mtllib = ""
    for line in path.read_text().splitlines():
        key, *rest = line.split()
        if key in ("v", "vt", "vn"):
            rows[key].append([float(x) for x in rest])
        elif key == "f":
            triples = [[int(i) for i in corner.split("/")] for corner in rest]
            assert all(len(set(t)) == 1 for t in triples), "v/vt/vn share one index per corner"
            rows["f"].append([t[0] - 1 for t in triples])
        elif key == "mtllib":
            mtllib = rest[0]
    out: dict[str, np.ndarray | str] = {k: np.array(v) for k, v in rows.items()}
    out["mtllib"] = mtllib
    return out


def read_glb(path: Path) -> tuple[dict, bytes]:
    """The JSON and BIN chunks of a GLB, checking the header, chunk types and 4-byte alignment."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (GLB_MAGIC, 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == JSON_CHUNK and json_len % 4 == 0
    gltf = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == BIN_CHUNK and bin_len % 4 == 0 and 28 + json_len + bin_len == len(data)
    binary = data[28 + json_len :]
    assert gltf["buffers"] == [{"byteLength": bin_len}]
    return gltf, binary


def accessor(gltf: dict, binary: bytes, index: int) -> np.ndarray:
    acc = gltf["accessors"][index]
    view = gltf["bufferViews"][acc["bufferView"]]
    assert view["byteOffset"] % 4 == 0
    dtype = {5126: "<f4", 5125: "<u4"}[acc["componentType"]]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[acc["type"]]
    raw = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, dtype=dtype).reshape(acc["count"], width) if width > 1 else np.frombuffer(raw, dtype)


def test_grid_triangles_face_the_camera():
    faces = grid_triangles(3)
    assert faces.shape == (8, 3) and set(faces.ravel()) == set(range(9))
    xy = np.stack(np.meshgrid(np.arange(3), np.arange(3), indexing="xy"), -1).reshape(-1, 2)  # (x=c, y=r)
    pts = np.concatenate([xy, np.ones((9, 1))], 1)  # a plane at z=1 in the y-down camera frame
    normals = np.cross(pts[faces[:, 1]] - pts[faces[:, 0]], pts[faces[:, 2]] - pts[faces[:, 0]])
    assert (normals[:, 2] < 0).all()  # every triangle's normal points back at the camera (-z)


def test_decompose_mesh_writes_the_models_points_faces_and_albedo(tmp_path):
    torch.manual_seed(0)
    model = PhysDisModel(small_config()).eval()
    ckpt = save_pretrained(model, tmp_path / "ckpt")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (80, 72, 3), dtype=np.uint8)).save(tmp_path / "face.png")
    out = tmp_path / "figures"
    assert (
        main(
            [
                "decompose",
                str(tmp_path / "face.png"),
                "--model",
                f"local-dir:{ckpt}",
                "-o",
                str(out),
                "--mesh",
                "--no-align",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["face.glb", "face.mtl", "face.obj", "face.png", "face_albedo.png"]

    dec = model.decompose(as_batch(str(tmp_path / "face.png"), 64))
    s = 64
    points = model.renderer.camera.unproject(dec.scene.depth)[0].reshape(-1, 3).numpy()
    albedo = (dec.albedo[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    r, c = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    uv = np.stack([(c + 0.5) / s, (r + 0.5) / s], -1).reshape(-1, 2)

    obj = read_obj(out / "face.obj")
    np.testing.assert_array_equal(obj["v"].astype(np.float32), points)  # %.9g round-trips float32
    assert obj["f"].shape == (2 * (s - 1) ** 2, 3)
    np.testing.assert_array_equal(obj["f"], grid_triangles(s))
    np.testing.assert_allclose(obj["vt"], np.stack([uv[:, 0], 1 - uv[:, 1]], 1), atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(obj["vn"], axis=1), 1, atol=1e-6)
    assert obj["mtllib"] == "face.mtl" and "map_Kd face_albedo.png" in (out / "face.mtl").read_text()
    with Image.open(out / "face_albedo.png") as tex:
        np.testing.assert_array_equal(np.asarray(tex), albedo)

    gltf, binary = read_glb(out / "face.glb")
    prim = gltf["meshes"][0]["primitives"][0]
    positions = accessor(gltf, binary, prim["attributes"]["POSITION"])
    np.testing.assert_array_equal(positions, points)
    pos_acc = gltf["accessors"][prim["attributes"]["POSITION"]]
    np.testing.assert_array_equal(np.float32(pos_acc["min"]), points.min(0))
    np.testing.assert_array_equal(np.float32(pos_acc["max"]), points.max(0))
    np.testing.assert_array_equal(accessor(gltf, binary, prim["indices"]).reshape(-1, 3), grid_triangles(s))
    np.testing.assert_allclose(accessor(gltf, binary, prim["attributes"]["TEXCOORD_0"]), uv, atol=1e-7)
    np.testing.assert_array_equal(accessor(gltf, binary, prim["attributes"]["NORMAL"]), obj["vn"].astype(np.float32))
    image = gltf["images"][
        gltf["textures"][gltf["materials"][prim["material"]]["pbrMetallicRoughness"]["baseColorTexture"]["index"]][
            "source"
        ]
    ]
    view = gltf["bufferViews"][image["bufferView"]]
    png = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    assert image["mimeType"] == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "embedded.png").write_bytes(png)
    with Image.open(tmp_path / "embedded.png") as tex:
        np.testing.assert_array_equal(np.asarray(tex), albedo)
    assert gltf["asset"]["version"] == "2.0" and gltf["nodes"][0]["mesh"] == 0


def test_a_glb_that_trimesh_reads_when_installed(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    from physdis_hub.mesh_export import export_meshes

    model = PhysDisModel(small_config()).eval()
    paths = export_meshes(model, torch.rand(1, 3, 64, 64), tmp_path, ["x"])
    scene = trimesh.load(paths[-1])
    assert sum(len(g.faces) for g in scene.geometry.values()) == 2 * 63**2


def test_vertex_normals_follow_the_models_normal_convention():
    """A converted Unsup3d model shades with a (0, 0, 1) outer ring (render.normals "unsup3d"): its
    mesh carries the same normals, towards the camera; our own models' border copies its neighbour."""
    torch.manual_seed(0)
    model = PhysDisModel(small_config()).eval()
    camera = model.renderer.camera
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, camera.size), torch.linspace(-1, 1, camera.size), indexing="ij")
    depth = 1.0 + 0.05 * (xx**2 + yy**2)  # a bowl: the border's normals are far from (0, 0, -1)
    albedo = torch.full((3, camera.size, camera.size), 0.5)
    ring = torch.ones(camera.size, camera.size, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    official = depth_mesh(camera, depth, albedo, "unsup3d").normals.reshape(camera.size, camera.size, 3)
    own = depth_mesh(camera, depth, albedo).normals.reshape(camera.size, camera.size, 3)
    np.testing.assert_allclose(official[ring.numpy()], np.tile([0.0, 0.0, -1.0], (int(ring.sum()), 1)), atol=1e-6)
    assert np.abs(own[ring.numpy()] - [0.0, 0.0, -1.0]).max() > 0.05
    # inside, the same directions (Unsup3d's are up to 0.3% shorter: length + 1e-7 on ~3e-5 long crosses)
    np.testing.assert_allclose(official[1:-1, 1:-1], own[1:-1, 1:-1], rtol=5e-3, atol=5e-3)
