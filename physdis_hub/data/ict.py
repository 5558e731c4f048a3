"""The ICT Face Model's face area, as shipped in ``assets/ict_face.npz`` (MIT, see LICENSES.md).

The file is written by the maintainer tool ``training/ict_convert.py`` from ICT-FaceKit's
``FaceXModel`` folder. It holds only the *full face area* (ICT's vertices ``[0:9409]``: face, ears,
forehead to the scalp line, front of the neck), with its eye and mouth openings closed by fans
(one extra vertex per opening, so the model's surface has no holes), and the symmetric part of
the first identity modes and of a chosen set of expression blendshapes.

Symmetry: the face area is mirror symmetric about ``X = 0`` (every vertex has a mirror vertex to
0.005 cm). Every stored mode is the symmetric part ``(m + mirror(m)) / 2`` of ICT's mode, and only
one half of it is stored: row ``half_of[v]`` of a mode, with its X multiplied by ``x_sign[v]``, is
vertex ``v``'s displacement. So any coefficient vector gives an exactly symmetric face.

Array layout of the file (``V`` vertices incl. the fan centres, ``H`` stored half rows, ``F``
triangles, ``KI`` identity and ``KE`` expression modes):

- ``neutral`` ``(V, 3)`` float32: ICT's generic neutral mesh, cm, X to the face's left (image
  right), Y up, Z out of the face.
- ``faces`` ``(F, 3)`` int16: triangles (ICT's quads split in two, plus the fans).
- ``half_of`` ``(V,)`` int16 and ``x_sign`` ``(V,)`` int8 (+-1): the mirror expansion above.
- ``identity_modes`` ``(KI, H, 3)`` float16: an ICT identity mode is
  ``identityNNN.obj - generic_neutral_mesh.obj`` (cm; the files kept are named in the provenance),
  at the scale ICT's own sampler (``randomize_identity``) uses: coefficients drawn from N(0, 1).
- ``expression_modes`` ``(KE, H, 3)`` float16: blendshape minus neutral at full activation
  (weight 1); a name without ``_L``/``_R`` that ICT has as a left/right pair is the sum of both.
- ``expression_names`` ``(KE,)`` str.
- ``landmarks`` ``(68,)`` int16: the Multi-PIE 68 landmark vertices (ICT's ``vertex_indices.json``).
- ``provenance`` () str: JSON with the source repository, commit, the sha256 of every input file,
  the licence text and the conversion settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import torch

from ..errors import InputError

ASSET = "assets/ict_face.npz"
"""The shipped file, relative to this package."""
KEYS = (
    "neutral",
    "faces",
    "half_of",
    "x_sign",
    "identity_modes",
    "expression_modes",
    "expression_names",
    "landmarks",
    "provenance",
)
"""Arrays of the file (see the module docstring)."""


@dataclass(frozen=True)
class ICTFaceModel:
    """The face area of the ICT Face Model, modes expanded to every vertex.

    Attributes:
        neutral: ``(V, 3)`` float32 neutral face (cm; X to the image right, Y up, Z towards the viewer).
        faces: ``(F, 3)`` int64 triangles.
        identity_modes: ``(KI, V, 3)`` float32, each at the scale of one N(0, 1) coefficient.
        expression_modes: ``(KE, V, 3)`` float32, full activation each.
        expression_names: ``KE`` blendshape names.
        landmarks: ``(68,)`` int64 Multi-PIE landmark vertex indices.
        provenance: the conversion record (source, commit, sha256 of the inputs, licence, settings).
    """

    neutral: torch.Tensor
    faces: torch.Tensor
    identity_modes: torch.Tensor
    expression_modes: torch.Tensor
    expression_names: tuple[str, ...]
    landmarks: torch.Tensor
    provenance: dict[str, Any]

    def shape(self, identity: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        """Vertices ``(B, V, 3)`` of a batch of coefficients.

        Args:
            identity: ``(B, KI)`` identity coefficients (ICT draws them from N(0, 1)).
            expression: ``(B, KE)`` blendshape weights.
        """
        ki, ke = len(self.identity_modes), len(self.expression_modes)
        if identity.ndim != 2 or identity.shape[1] != ki:
            raise InputError(f"identity: expected (B, {ki}), got {tuple(identity.shape)}")
        if expression.shape != (identity.shape[0], ke):
            raise InputError(f"expression: expected {(identity.shape[0], ke)}, got {tuple(expression.shape)}")
        offset = torch.einsum("bk,kvc->bvc", identity, self.identity_modes)
        offset = offset + torch.einsum("bk,kvc->bvc", expression, self.expression_modes)
        return self.neutral + offset


def expand_half(modes: np.ndarray, half_of: np.ndarray, x_sign: np.ndarray) -> np.ndarray:
    """Half-stored modes ``(K, H, 3)`` -> every vertex ``(K, V, 3)`` (float32), X mirrored by ``x_sign``."""
    full = modes[:, half_of].astype(np.float32)
    full[..., 0] *= x_sign.astype(np.float32)
    return full


def read_arrays(fh: Any) -> dict[str, np.ndarray]:
    """The arrays of an ``ict_face.npz`` file object (no pickle), checked for every key of :data:`KEYS`."""
    with np.load(fh, allow_pickle=False) as data:
        missing = [k for k in KEYS if k not in data.files]
        if missing:
            raise InputError(f"ICT face file: missing arrays {missing}; rewrite it with training/ict_convert.py")
        return {k: data[k] for k in KEYS}


def model_from_arrays(arrays: dict[str, np.ndarray]) -> ICTFaceModel:
    """An :class:`ICTFaceModel` from the arrays of the file (see :func:`read_arrays`)."""
    half_of, x_sign = arrays["half_of"].astype(np.int64), arrays["x_sign"]
    return ICTFaceModel(
        neutral=torch.from_numpy(arrays["neutral"].astype(np.float32)),
        faces=torch.from_numpy(arrays["faces"].astype(np.int64)),
        identity_modes=torch.from_numpy(expand_half(arrays["identity_modes"], half_of, x_sign)),
        expression_modes=torch.from_numpy(expand_half(arrays["expression_modes"], half_of, x_sign)),
        expression_names=tuple(str(n) for n in arrays["expression_names"]),
        landmarks=torch.from_numpy(arrays["landmarks"].astype(np.int64)),
        provenance=json.loads(str(arrays["provenance"])),
    )


def load_ict_face() -> ICTFaceModel:
    """The shipped ICT face area (``assets/ict_face.npz``)."""
    with resources.files(__package__).joinpath(ASSET).open("rb") as fh:
        return model_from_arrays(read_arrays(fh))
