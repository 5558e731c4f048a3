"""The shipped ICT face area: it loads, has the shapes its provenance records, and is symmetric."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch

from physdis_hub.data.ict import load_ict_face, read_arrays


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_ict_face()


def test_shipped_file_has_the_recorded_shapes(model) -> None:
    prov = model.provenance
    n_vertices = prov["face_vertices"] + len(prov["openings_closed"])
    assert model.neutral.shape == (n_vertices, 3)
    assert model.identity_modes.shape == (len(prov["identity_modes"]), n_vertices, 3)
    assert model.expression_modes.shape == (len(prov["expressions"]), n_vertices, 3)
    assert model.expression_names == tuple(prov["expressions"])
    quads_as_triangles = 2 * prov["face_polygons"]
    assert model.faces.shape == (quads_as_triangles + sum(prov["openings_closed"]), 3)
    assert model.faces.min() >= 0 and model.faces.max() < n_vertices
    assert model.landmarks.shape == (68,) and model.landmarks.max() < prov["face_vertices"]
    assert prov["repository"] == "https://github.com/ICT-VGL/ICT-FaceKit" and re.fullmatch(
        "[0-9a-f]{40}", prov["commit"]
    )
    assert "MIT License" in prov["license"] and "USC Institute for Creative Technologies" in prov["license"]
    assert all(re.fullmatch("[0-9a-f]{64}", h) for h in prov["files"].values())
    assert "FaceXModel/generic_neutral_mesh.obj" in prov["files"]


def _mirrored(points: torch.Tensor) -> bool:
    """Whether a point set equals its mirror image about X = 0 (to float16 rounding)."""
    a = points.numpy().astype(np.float64)
    b = a * [-1, 1, 1]
    order_a, order_b = np.lexsort(np.round(a, 2).T), np.lexsort(np.round(b, 2).T)
    return bool(np.abs(a[order_a] - b[order_b]).max() < 2e-3)


def test_any_coefficients_give_a_symmetric_face(model) -> None:
    gen = torch.Generator().manual_seed(0)
    identity = torch.randn(2, len(model.identity_modes), generator=gen)
    expression = torch.rand(2, len(model.expression_modes), generator=gen)
    faces = model.shape(identity, expression)
    assert faces.shape == (2, *model.neutral.shape)
    assert _mirrored(model.neutral) and _mirrored(faces[0]) and _mirrored(faces[1])
    assert (faces[0] - model.neutral).norm(dim=-1).max() > 0.5  # the modes are not negligible (cm)


def test_bad_coefficients_and_files_are_named(model) -> None:
    with pytest.raises(ValueError, match=r"identity: expected \(B, 30\)"):
        model.shape(torch.zeros(2, 5), torch.zeros(2, len(model.expression_modes)))
    with pytest.raises(ValueError, match="expression: expected"):
        model.shape(torch.zeros(2, len(model.identity_modes)), torch.zeros(2, 3))
    buf = io.BytesIO()
    np.savez(buf, neutral=np.zeros((3, 3)))
    buf.seek(0)
    with pytest.raises(ValueError, match="missing arrays .*ict_convert"):
        read_arrays(buf)
