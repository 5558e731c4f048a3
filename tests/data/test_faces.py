"""The shipped face mesh asset and the faces category's parameters."""

from __future__ import annotations

import numpy as np
import torch

from physdis_hub.data.faces import SyntheticFaces, load_face_mesh


def test_the_mediapipe_mesh_is_mirror_symmetric() -> None:
    verts, faces = load_face_mesh()
    assert verts.shape == (468, 3) and faces.shape == (898, 3)
    assert faces.min() == 0 and faces.max() == 467
    mirrored = verts * torch.tensor([-1.0, 1.0, 1.0])
    dist = torch.cdist(verts.double(), mirrored.double())
    assert dist.min(1).values.max() < 1e-5


def test_identity_and_image_parameters_are_labelled_in_range() -> None:
    cat = SyntheticFaces()
    ident = cat.sample_identities(np.random.default_rng(0), 50)
    image = cat.sample_image_factors(np.random.default_rng(1), 50)
    for spec in cat.attributes:
        labels = (ident if spec.level == "identity" else image)[spec.name]
        assert labels.shape == (50,) and labels.min() >= 0 and labels.max() < len(spec.classes)
        assert len(set(labels.tolist())) == len(spec.classes)  # every class drawn
    assert ((ident["skin_rgb"] >= 0) & (ident["skin_rgb"] <= 1.1)).all()
