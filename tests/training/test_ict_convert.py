"""The ICT converter on a tiny input in ICT-FaceKit's layout: what it keeps, symmetrises, closes and
records; that its output has the shipped file's layout; and (slow, given the real source) that it
reproduces the shipped file."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from physdis_hub.data.ict import ASSET, KEYS, model_from_arrays
from training.ict_convert import ICTConversionError, convert, main

SOURCE_ENV = "PHYSDIS_ICT_SOURCE"
"""A folder holding ICT-FaceKit's LICENSE and FaceXModel/ (``git archive`` of the recorded commit)."""
COLS, ROWS = 5, 5  # x in -2..2 (a midline column), y in 0..4


def _grid() -> tuple[np.ndarray, list[list[int]]]:
    """A symmetric 5 x 5 vertex sheet with a 2-quad hole in the middle, then 4 vertices and 1 quad outside the face area."""
    x, y = np.meshgrid(np.arange(COLS) - 2.0, np.arange(ROWS, dtype=float))
    points = np.stack([x.ravel(), y.ravel(), 5 - 0.3 * x.ravel() ** 2], -1)
    quads = [
        [r * COLS + c, r * COLS + c + 1, (r + 1) * COLS + c + 1, (r + 1) * COLS + c]
        for r in range(ROWS - 1)
        for c in range(COLS - 1)
        if not (r == 1 and c in (1, 2))
    ]
    extra = np.array([[10.0, 0, 0], [11, 0, 0], [11, 1, 0], [10, 1, 0]])
    return np.concatenate([points, extra]), [*quads, [25, 26, 27, 28]]


def _write_obj(path: Path, points: np.ndarray, quads: list[list[int]] | None = None) -> None:
    lines = [f"v {p[0]:.6f} {p[1]:.6f} {p[2]:.6f}" for p in points]
    lines += [f"f {' '.join(f'{i + 1}/{i + 1}' for i in q)}" for q in quads or []]
    path.write_text("# tiny\n" + "\n".join(lines) + "\n")


def _symmetric_delta(k: int, points: np.ndarray) -> np.ndarray:
    return np.stack([0.1 * k * points[:, 0], 0.05 * k * points[:, 1], 0.02 * (k + 1) * points[:, 0] ** 2], -1)


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    root = tmp_path / "ict"
    (root / "FaceXModel").mkdir(parents=True)
    (root / "LICENSE").write_text("MIT License\n\nCopyright (c) 2020 USC Institute for Creative Technologies\n")
    points, quads = _grid()
    model = root / "FaceXModel"
    _write_obj(model / "generic_neutral_mesh.obj", points, quads)
    _write_obj(model / "identity000.obj", points + _symmetric_delta(1, points))
    _write_obj(model / "identity001.obj", points + [0.4, 0.0, 0.0])  # a pure shift in x: no symmetric part
    _write_obj(model / "identity002.obj", points + _symmetric_delta(2, points))
    _write_obj(model / "jawOpen.obj", points + _symmetric_delta(3, points))
    half = points * [1, 0, 0] * 0.1
    _write_obj(model / "browDown_L.obj", points + half)  # L + R = a symmetric stretch in x
    _write_obj(model / "browDown_R.obj", points + half)
    indices = {
        "expressions": ["browDown_L", "browDown_R", "jawOpen"],
        "idx_to_landmark_verts": [i % 25 for i in range(68)],
    }
    (model / "vertex_indices.json").write_text(json.dumps(indices))
    return root


def _tiny(source: Path) -> dict[str, np.ndarray]:
    return convert(
        source, "ab" * 20, identity_modes=2, expressions=("browDown", "jawOpen"), face_vertices=25, face_polygons=14
    )


def test_converter_keeps_the_face_area_symmetric_modes_and_closes_openings(source: Path) -> None:
    arrays = _tiny(source)
    assert tuple(arrays) == KEYS
    model = model_from_arrays(arrays)
    points, _ = _grid()
    hole = [6, 7, 8, 13, 12, 11]  # the rim of the two missing quads (midline vertices 7 and 12)
    assert model.neutral.shape == (26, 3)  # 25 face vertices + the hole's centre
    assert np.allclose(model.neutral[:25].numpy(), points[:25]) and np.allclose(
        model.neutral[25].numpy(), points[hole].mean(0)
    )
    assert model.faces.shape == (14 * 2 + 6, 3) and int(model.faces.max()) == 25
    assert model.provenance["identity_modes"] == ["identity000", "identity002"]  # identity001 is skipped
    for row, k in enumerate((1, 2)):
        want = _symmetric_delta(k, points[:25])
        assert np.allclose(model.identity_modes[row, :25].numpy(), want, atol=2e-3)
        assert np.allclose(model.identity_modes[row, 25].numpy(), want[hole].mean(0), atol=2e-3)
    assert model.expression_names == ("browDown", "jawOpen")
    assert np.allclose(model.expression_modes[0, :25, 0].numpy(), 0.2 * points[:25, 0], atol=1e-3)
    prov = model.provenance
    assert prov["commit"] == "ab" * 20 and prov["license"].startswith("MIT License")
    neutral = source / "FaceXModel" / "generic_neutral_mesh.obj"
    assert prov["files"]["FaceXModel/generic_neutral_mesh.obj"] == hashlib.sha256(neutral.read_bytes()).hexdigest()
    assert "FaceXModel/browDown_R.obj" in prov["files"] and "FaceXModel/identity001.obj" in prov["files"]


def test_converter_output_has_the_shipped_layout(source: Path) -> None:
    import physdis_hub.data as data_pkg

    shipped = np.load(Path(data_pkg.__file__).parent / ASSET, allow_pickle=False)
    buf = io.BytesIO()
    np.savez_compressed(buf, **_tiny(source))
    buf.seek(0)
    tiny = np.load(buf, allow_pickle=False)
    assert tiny.files == shipped.files == list(KEYS)
    for key in KEYS:
        assert tiny[key].dtype.kind == shipped[key].dtype.kind and tiny[key].ndim == shipped[key].ndim, key
        if tiny[key].dtype.kind != "U":
            assert tiny[key].dtype == shipped[key].dtype, key


def test_bad_sources_are_refused_naming_the_file(source: Path, tmp_path: Path) -> None:
    (source / "FaceXModel" / "jawOpen.obj").unlink()
    with pytest.raises(ICTConversionError, match="jawOpen.obj: missing, and no jawOpen_L.obj"):
        _tiny(source)
    points, quads = _grid()
    points[3, 2] += 0.5  # one vertex off its mirror position
    _write_obj(source / "FaceXModel" / "generic_neutral_mesh.obj", points, quads)
    with pytest.raises(ICTConversionError, match="no mirror vertex"):
        _tiny(source)
    out = tmp_path / "out.npz"
    assert main([str(tmp_path / "nowhere"), "--commit", "x", "-o", str(out)]) == 2 and not out.exists()


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get(SOURCE_ENV), reason=f"set {SOURCE_ENV} to an ICT-FaceKit folder to re-convert it"
)
def test_reconverting_ict_facekit_gives_the_shipped_file() -> None:
    import physdis_hub.data as data_pkg

    shipped = np.load(Path(data_pkg.__file__).parent / ASSET, allow_pickle=False)
    commit = json.loads(str(shipped["provenance"]))["commit"]
    again = convert(Path(os.environ[SOURCE_ENV]), commit)
    for key in KEYS:
        assert np.array_equal(again[key], shipped[key]), key
