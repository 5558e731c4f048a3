"""Synthetic faces with real head shapes: the ICT Face Model, and albedo drawn from recorded parameters.

Geometry (cm; X to the image right, Y up, Z towards the camera):

- the face area of the ICT Face Model (:mod:`physdis_hub.data.ict`): its neutral face plus
  :data:`~physdis_hub.data.ict.ICTFaceModel.identity_modes` weighted by per-identity coefficients
  drawn from N(0, 1) (the scale ICT's own sampler, ``randomize_identity``, uses), plus its expression
  blendshapes weighted per image (each is active with probability :data:`EXPRESSION_RATE`, at a
  weight uniform in [0, 1]);
- behind it, as in :mod:`~physdis_hub.data.faces`, a head ellipsoid (hair, skin at the ears) whose
  size is drawn per identity, and a neck cylinder.

Albedo is painted in reference coordinates (each face point's position on ICT's *neutral* face), so
the paint follows identity and expression. Every number it uses is an identity parameter and is
recorded (:data:`ALBEDO_FACTORS`): skin colour (a continuous tone from light to dark), cheek blush,
lip colour, brow thickness and darkness, iris colour, hair colour, hairline and hair length,
stubble, beard and freckles. Feature positions (eyes, brows, lips, nostrils, jaw) come from ICT's
68 landmarks on the neutral face.

Every image records continuous factors (:meth:`SyntheticFacesICT.factors`): ``shape`` (ICT
identity coefficients and the head's size), ``expression`` (blendshape weights) and ``albedo``;
the generator adds ``light`` and ``view``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..render import Camera
from .category import AttributeSpec, CanonicalObject, Params
from .faces import (
    HAIR_COLOURS,
    SyntheticFaces,
    _ellipse,
    _gauss,
    _paint,
    _paint_hair_and_neck,
    _rgb,
)
from .ict import ICTFaceModel, load_ict_face

EXPRESSION_RATE = 0.2
"""Probability that a blendshape is active in an image (so about four of 21 are)."""
SKIN_LIGHT, SKIN_DARK = np.array([0.95, 0.78, 0.68]), np.array([0.30, 0.19, 0.13])
"""Skin colours at tone 0 and tone 1 (the tone is uniform in [0, 1]; colours in between are mixed)."""
SKIN_CLASSES = ("light", "medium", "dark")
"""Skin label: the tone in thirds."""
FACIAL_HAIR = ("none", "stubble", "beard")
"""Facial-hair label: beard if the beard's coverage is over 0.3, else stubble if the stubble's is, else none."""
IRIS_COLOURS = np.array([(0.32, 0.19, 0.10), (0.30, 0.46, 0.66), (0.30, 0.46, 0.30), (0.12, 0.08, 0.06)])
"""Brown, blue, green, dark; an identity's iris is a random mix of them."""
SHAPE_FACTORS_HEAD = ("head_rx", "head_ry", "head_back")
"""The head ellipsoid's half-width, half-height (cm) and how far its centre sits behind the face."""
# A table of names, related factors on one line: `# fmt: skip` keeps the formatter from splitting it.
ALBEDO_FACTORS = (
    "skin_r", "skin_g", "skin_b", "skin_tone", "blush", "lip_tint", "brow_thickness", "brow_darkness",
    "iris_r", "iris_g", "iris_b", "hair_r", "hair_g", "hair_b", "hairline", "hair_length",
    "stubble", "beard", "freckles",
)  # fmt: skip
"""Columns of the ``albedo`` factor, in order (identity parameters of the same names)."""
EXPRESSION_CLASSES = ("neutral", "smile", "jaw-open", "other")
"""Expression label: neutral when no blendshape weighs over 0.3, else the heaviest one's group."""


def _landmark_geometry(model: ICTFaceModel) -> dict[str, float]:
    """Feature positions on the neutral face (cm, ``|X|`` for the symmetric ones), from the 68 landmarks."""
    p = model.neutral[model.landmarks].numpy()
    eye = p[42:48]
    return {
        "nose_y": float(p[30, 1]),
        "nose_z": float(p[30, 2]),
        "eye_x": float(np.abs(eye[:, 0]).mean()),
        "eye_y": float(eye[:, 1].mean()),
        "eye_ax": float(np.ptp(eye[:, 0]) / 2),
        "eye_ay": float(max(np.ptp(eye[:, 1]) / 2, 0.25)),
        "brow_x0": float(np.abs(p[22:27, 0]).min()),
        "brow_x1": float(np.abs(p[22:27, 0]).max()),
        "brow_y": float(p[22:27, 1].mean()),
        "brow_curve": float(p[24, 1] - (p[22, 1] + p[26, 1]) / 2),
        "mouth_y": float(p[60:68, 1].mean()),
        "mouth_ax": float(np.abs(p[48:60, 0]).max()),
        "lip_top": float(p[51, 1]),
        "lip_bottom": float(p[57, 1]),
        "nostril_x": float(np.abs(p[[32, 34], 0]).mean()),
        "nostril_y": float(p[[32, 34], 1].mean()),
        "subnasal_y": float(p[33, 1]),
        "chin_y": float(p[8, 1]),
        "jaw_x": float(np.abs(p[[4, 12], 0]).mean()),
    }


class SyntheticFacesICT(SyntheticFaces):
    """Faces with ICT Face Model shapes and expressions (see the module docstring)."""

    name = "faces-ict"
    attributes = (
        AttributeSpec("skin", SKIN_CLASSES, "identity"),
        AttributeSpec("hair", tuple(HAIR_COLOURS), "identity"),
        AttributeSpec("facial_hair", FACIAL_HAIR, "identity"),
        AttributeSpec("expression", EXPRESSION_CLASSES, "image"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.model = load_ict_face()
        self.geometry = _landmark_geometry(self.model)
        self._use_face_mesh(self.model.faces, len(self.model.neutral))
        self.factor_names = {
            "shape": tuple(self.model.provenance["identity_modes"]) + SHAPE_FACTORS_HEAD,
            "expression": self.model.expression_names,
            "albedo": ALBEDO_FACTORS,
        }

    # -- sampling ------------------------------------------------------------------------------
    def sample_identities(self, rng: np.random.Generator, n: int) -> Params:
        tone = rng.uniform(0.0, 1.0, n)
        hair = rng.integers(0, len(HAIR_COLOURS), n)
        skin_rgb = SKIN_LIGHT + (SKIN_DARK - SKIN_LIGHT) * tone[:, None] + rng.normal(0, 0.02, (n, 3))
        iris_mix = rng.dirichlet(np.full(len(IRIS_COLOURS), 0.3), n)
        stubble = np.where(rng.uniform(size=n) < 0.35, rng.uniform(0.0, 1.0, n), 0.0)
        beard = np.where(rng.uniform(size=n) < 0.2, rng.uniform(0.0, 1.0, n), 0.0)
        freckles = np.where(rng.uniform(size=n) < 0.3, rng.uniform(0.0, 1.0, n), 0.0)
        return {
            "shape_coefficients": rng.normal(0.0, 1.0, (n, len(self.model.identity_modes))),
            "head_size": rng.uniform([9.4, 11.0, 0.0], [10.4, 12.2, 1.2], (n, 3)),
            "skin_rgb": skin_rgb.clip(0, 1),
            "skin_tone": tone,
            "blush": rng.uniform(0.0, 1.0, n),
            "lip_tint": rng.uniform(0.0, 1.0, n),
            "brow_thickness": rng.uniform(0.35, 0.8, n),
            "brow_darkness": rng.uniform(0.3, 1.0, n),
            "iris_rgb": iris_mix @ IRIS_COLOURS,
            "hair_rgb": (np.array(list(HAIR_COLOURS.values()))[hair] * rng.uniform(0.85, 1.15, (n, 1))).clip(0, 1),
            "hairline": rng.uniform(8.5, 10.5, n),
            "hair_length": rng.uniform(-3.0, 1.5, n),
            "stubble": stubble,
            "beard": beard,
            "freckles": freckles,
            "freckle_phase": rng.uniform(0.0, 2 * math.pi, (n, 2)),
            "hair": hair,
            "skin": np.minimum((tone * len(SKIN_CLASSES)).astype(np.int64), len(SKIN_CLASSES) - 1),
            "facial_hair": np.where(beard > 0.3, 2, np.where(stubble > 0.3, 1, 0)),
        }

    def sample_image_factors(self, rng: np.random.Generator, n: int) -> Params:
        names = self.model.expression_names
        k = len(names)
        weights = np.where(rng.uniform(size=(n, k)) < EXPRESSION_RATE, rng.uniform(0.0, 1.0, (n, k)), 0.0)
        heaviest = weights.argmax(1)
        group = np.where(heaviest == names.index("mouthSmile"), 1, np.where(heaviest == names.index("jawOpen"), 2, 3))
        return {"expression_weights": weights, "expression": np.where(weights.max(1) > 0.3, group, 0)}

    def factors(self, identity: Params, image: Params) -> dict[str, np.ndarray]:
        """Continuous factors of each image (float32, first axis ``B``; columns :attr:`factor_names`):
        ``shape`` ``(B, 33)``, ``expression`` ``(B, 21)``, ``albedo`` ``(B, 19)``."""
        albedo = np.concatenate(
            [
                np.asarray(identity[key], dtype=np.float64).reshape(len(identity["skin_tone"]), -1)
                for key in (
                    "skin_rgb",
                    "skin_tone",
                    "blush",
                    "lip_tint",
                    "brow_thickness",
                    "brow_darkness",
                    "iris_rgb",
                    "hair_rgb",
                    "hairline",
                    "hair_length",
                    "stubble",
                    "beard",
                    "freckles",
                )
            ],
            1,
        )
        return {
            "shape": np.concatenate([identity["shape_coefficients"], identity["head_size"]], 1).astype(np.float32),
            "expression": np.asarray(image["expression_weights"], dtype=np.float32),
            "albedo": albedo.astype(np.float32),
        }

    # -- geometry ------------------------------------------------------------------------------
    def canonical(
        self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor], camera: Camera
    ) -> CanonicalObject:
        face = self.model.shape(identity["shape_coefficients"], image["expression_weights"])
        nose_z = self.geometry["nose_z"]
        mesh = self._with_head_and_neck(
            face, identity["head_size"], (2.2, nose_z - 15.2), (5.2, 10.0, 5.2), (0.0, -17.0, nose_z - 10.5)
        )
        ref = torch.cat([self.model.neutral.expand(len(face), -1, -1), mesh[:, face.shape[1] :]], 1)
        y_center = (self.geometry["eye_y"] + self.geometry["mouth_y"]) / 2 + 1.7
        return self._place_and_render(mesh, ref, y_center, nose_z, identity, image, camera)

    # -- albedo --------------------------------------------------------------------------------
    def albedo(
        self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor], attrs: torch.Tensor
    ) -> torch.Tensor:
        """Albedo ``(B, 3, S, S)`` in [0, 1] from interpolated neutral-face coordinates and part
        weights ``attrs (B, 6, S, S)``."""
        g = self.geometry
        x, y = attrs[:, 0:1].abs(), attrs[:, 1:2]
        part = attrs[:, 3:6].argmax(1, keepdim=True)

        def scalar(key: str) -> torch.Tensor:
            return identity[key].float()[:, None, None, None]

        skin, hair = _rgb(identity, "skin_rgb"), _rgb(identity, "hair_rgb")
        out = skin.expand(-1, -1, *x.shape[-2:]).clone()
        # freckles: sparse dots over cheeks and nose (a hash of the neutral position and the identity's phase)
        phase = identity["freckle_phase"].float()[:, :, None, None]
        noise = torch.frac(torch.sin(x * 12.9898 * 3 + y * 78.233 + phase[:, :1] * 7 + phase[:, 1:] * 13) * 43758.5453)
        zone = _gauss(x, y, g["eye_x"] * 0.6, g["nostril_y"] + 0.8, 3.2, 1.8)
        out = _paint(out, skin * 0.62, (noise > 1 - 0.25 * scalar("freckles")).float() * zone)  # noise < 1: none at 0
        # cheeks
        blush = skin * torch.tensor([1.0, 0.75, 0.75]).view(1, 3, 1, 1)
        out = _paint(out, blush, 0.22 * scalar("blush") * _gauss(x, y, g["eye_x"] + 0.4, g["nostril_y"], 1.5, 1.2))
        # stubble and beard: lower face, outside the lips
        jaw = torch.sigmoid((g["jaw_x"] + 0.6 - x) / 0.3) * torch.sigmoid((g["subnasal_y"] - 0.35 - y) / 0.2)
        jaw = jaw * torch.sigmoid((y - g["chin_y"] + 1.8) / 0.4)
        lip_zone = _ellipse(x, y, 0.0, g["mouth_y"], g["mouth_ax"] + 0.15, (g["lip_top"] - g["lip_bottom"]) / 2 + 0.15)
        facial = jaw * (1 - lip_zone)
        out = _paint(out, skin * 0.55 + hair * 0.2, 0.55 * scalar("stubble") * facial)
        out = _paint(out, hair * 0.9, scalar("beard") * facial)
        # lips, the mouth's inside
        lips = skin * torch.tensor([0.82, 0.5, 0.52]).view(1, 3, 1, 1) * (1 - 0.2 * scalar("lip_tint"))
        lip_centre = (g["lip_top"] + g["lip_bottom"]) / 2
        out = _paint(
            out, lips, _ellipse(x, y, 0.0, lip_centre, g["mouth_ax"], (g["lip_top"] - g["lip_bottom"]) / 2, soft=0.1)
        )
        out = _paint(
            out,
            torch.tensor([0.25, 0.07, 0.08]).view(1, 3, 1, 1),
            _ellipse(x, y, 0.0, g["mouth_y"], g["mouth_ax"] * 0.8, 0.08, soft=0.04),
        )
        # nostrils
        out = _paint(out, skin * 0.35, _ellipse(x, y, g["nostril_x"], g["nostril_y"] + 0.1, 0.32, 0.16, soft=0.06))
        # eyes: socket shade, lash line, sclera, iris, pupil
        ex, ey, ax, ay = g["eye_x"], g["eye_y"], g["eye_ax"], g["eye_ay"]
        out = _paint(out, skin * 0.82, 0.5 * _gauss(x, y, ex, ey + 0.3, ax * 1.1, ay * 2.2))
        out = _paint(
            out,
            torch.tensor([0.12, 0.08, 0.07]).view(1, 3, 1, 1),
            _ellipse(x, y, ex, ey, ax * 1.08, ay * 1.25, soft=0.06),
        )
        out = _paint(
            out, torch.tensor([0.9, 0.88, 0.86]).view(1, 3, 1, 1), _ellipse(x, y, ex, ey, ax * 0.95, ay, soft=0.05)
        )
        iris = _ellipse(x, y, ex, ey, 0.55, 0.55, soft=0.05) * _ellipse(x, y, ex, ey, ax * 0.95, ay, soft=0.05)
        out = _paint(out, _rgb(identity, "iris_rgb"), iris)
        out = _paint(
            out, torch.tensor([0.03, 0.03, 0.03]).view(1, 3, 1, 1), _ellipse(x, y, ex, ey, 0.22, 0.22, soft=0.04) * iris
        )
        # brows: a band around a parabola through the brow landmarks
        mid = (g["brow_x0"] + g["brow_x1"]) / 2
        half_span = (g["brow_x1"] - g["brow_x0"]) / 2
        centre = g["brow_y"] + g["brow_curve"] * (1 - ((x - mid) / half_span) ** 2)
        half = scalar("brow_thickness") / 2 * (1.15 - 0.08 * (x - g["brow_x0"]))
        brow = torch.sigmoid((half - (y - centre).abs()) / 0.07)
        brow = brow * torch.sigmoid((x - g["brow_x0"] + 0.2) / 0.15) * torch.sigmoid((g["brow_x1"] + 0.2 - x) / 0.25)
        out = _paint(out, hair * 0.8 + 0.02, brow * scalar("brow_darkness"))
        # hair above the hairline on the face; the head is hair above ear level, skin below
        return _paint_hair_and_neck(
            out, part, x, y, hair, scalar("hairline"), scalar("hair_length"), curve=0.05, soft=0.25
        )
