"""Synthetic faces: the MediaPipe canonical face mesh, deformed per identity and per expression.

Geometry (mesh units are the asset's, about a centimetre; X right in the image, Y up, Z towards the
camera):

- the 468-vertex MediaPipe canonical face (``assets/mediapipe_face.npz``, exactly mirror symmetric);
- identity: global width/height/depth scales, a nose class (small / medium / large: protrusion and
  width around the nose), and six smooth random bumps mirrored about ``X = 0``;
- expression, drawn per image: neutral, smile (mouth corners up and out, cheeks raised, teeth
  showing) or surprise (jaw dropped, mouth open, brows raised);
- a head ellipsoid behind the face (hair, and skin at the ears) and a neck cylinder below the chin.

Albedo is procedural in *reference* coordinates (each surface point's position on the undeformed
mesh), so features follow the deformations: skin tone class, cheeks, lips, the mouth opening
(teeth when smiling, dark when open), nostrils, eyes (sclera, iris, pupil, lash line), brows and
hair (colour class, hairline). All are functions of ``|X|``, hence symmetric.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import torch

from ..config import SceneConfig
from ..render import Camera, grid_faces
from .category import (
    AttributeSpec,
    CanonicalObject,
    ObjectCategory,
    Params,
    finish_canonical,
)
from .mesh import rasterize_mesh

PX_PER_UNIT = 2.75
"""Image pixels per mesh unit at depth 1 (the face is about 43 pixels wide)."""
Y_CENTER = 0.8
"""Reference Y at the image centre."""
NOSE_DEPTH = 0.95
"""Canonical depth of the undeformed nose tip."""
NOSE_Z = 7.59
"""Reference Z of the nose tip."""
N_BUMPS = 6
"""Random smooth bumps per identity."""

SKIN_TONES = {"light": (0.93, 0.76, 0.66), "medium": (0.78, 0.56, 0.43), "dark": (0.46, 0.31, 0.23)}
HAIR_COLOURS = {
    "black": (0.07, 0.06, 0.05),
    "brown": (0.33, 0.21, 0.13),
    "blond": (0.80, 0.66, 0.40),
    "auburn": (0.56, 0.23, 0.11),
}
NOSE_CLASSES = {"small": (-0.8, 0.88), "medium": (0.0, 1.0), "large": (1.0, 1.16)}
"""Nose class -> (protrusion in mesh units, width factor)."""
EXPRESSIONS = ("neutral", "smile", "surprise")
_SMILE, _SURPRISE = EXPRESSIONS.index("smile"), EXPRESSIONS.index("surprise")
EYE_COLOURS = np.array([(0.32, 0.19, 0.10), (0.30, 0.46, 0.66), (0.30, 0.46, 0.30), (0.12, 0.08, 0.06)])

_PART_FACE, _PART_HEAD, _PART_NECK = range(3)


def load_face_mesh() -> tuple[torch.Tensor, torch.Tensor]:
    """The MediaPipe canonical face mesh shipped in ``assets/`` (Apache-2.0, see LICENSES.md).

    Returns:
        ``(vertices (468, 3) float32, faces (898, 3) int64)``; X right, Y up, Z out of the face.
    """
    with resources.files(__package__).joinpath("assets/mediapipe_face.npz").open("rb") as fh:
        data = np.load(fh)
        return torch.from_numpy(data["vertices"].astype(np.float32)), torch.from_numpy(data["faces"].astype(np.int64))


def _ellipsoid_grid(rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Front half of a unit sphere as a ``rows x cols`` grid: ``(points (rows*cols, 3), faces)``."""
    lat = torch.linspace(-math.pi / 2, math.pi / 2, rows)
    lon = torch.linspace(-math.pi / 2, math.pi / 2, cols)
    la, lo = torch.meshgrid(lat, lon, indexing="ij")
    pts = torch.stack([la.cos() * lo.sin(), la.sin(), la.cos() * lo.cos()], -1).reshape(-1, 3)
    return pts, grid_faces(rows, cols)


def _cylinder_grid(rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Front half of a unit vertical cylinder, y in [0, 1]: ``(points (rows*cols, 3), faces)``."""
    y = torch.linspace(0, 1, rows)
    lon = torch.linspace(-math.pi / 2, math.pi / 2, cols)
    yy, lo = torch.meshgrid(y, lon, indexing="ij")
    pts = torch.stack([lo.sin(), yy, lo.cos()], -1).reshape(-1, 3)
    return pts, grid_faces(rows, cols)


def _gauss(x: torch.Tensor, y: torch.Tensor, cx: float, cy: float, sx: float, sy: float) -> torch.Tensor:
    return torch.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def _smoothstep(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return x * x * (3 - 2 * x)


def _ellipse(
    x: torch.Tensor, y: torch.Tensor, cx: float, cy: float, ax: float, ay: float, soft: float = 0.12
) -> torch.Tensor:
    """Soft indicator (0..1) of the ellipse centred at ``(cx, cy)`` with half-axes ``(ax, ay)``;
    the edge is ``soft`` mesh units wide."""
    r = torch.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2)
    return torch.sigmoid((1 - r) * min(ax, ay) / soft)


def _rgb(identity: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    """Per-identity colour ``(B, 3)`` -> ``(B, 3, 1, 1)``."""
    return identity[key][:, :, None, None].float()


def _paint(base: torch.Tensor, colour: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Blend ``colour`` (``(B, 3, 1, 1)`` or ``(B, 3, H, W)``) over ``base`` with ``weight (B, 1, H, W)``."""
    return base + (colour - base) * weight


def _paint_hair_and_neck(
    out: torch.Tensor,
    part: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    hair: torch.Tensor,
    hairline: torch.Tensor,
    hair_length: torch.Tensor,
    curve: float,
    soft: float,
) -> torch.Tensor:
    """The last step of a face albedo: hair above the hairline on the face, hair above ear level on
    the head (skin below), a darker neck; clamped to [0, 1].

    ``out (B, 3, S, S)`` is the albedo so far, ``part (B, 1, S, S)`` the part index, ``x`` (``|X|``)
    and ``y`` ``(B, 1, S, S)`` reference coordinates, ``hair (B, 3, 1, 1)`` the hair colour,
    ``hairline`` and ``hair_length`` ``(B, 1, 1, 1)`` reference heights. The hairline falls by
    ``curve * x**2`` to the sides; ``soft`` is the width of its edge.
    """
    on_face_hair = torch.sigmoid((y - (hairline - curve * x**2)) / soft)
    head_hair = torch.sigmoid((y - hair_length) / 0.3)
    weight = torch.where(
        part == _PART_FACE, on_face_hair, torch.where(part == _PART_HEAD, head_hair, torch.zeros_like(y))
    )
    out = _paint(out, hair, weight)
    out = torch.where(part == _PART_NECK, out * 0.86, out)
    return out.clamp(0, 1)


class SyntheticFaces(ObjectCategory):
    """Face-like category (see the module docstring). Scene ranges: the faces configuration."""

    name = "faces"
    scene = SceneConfig()
    attributes = (
        AttributeSpec("nose", tuple(NOSE_CLASSES), "identity"),
        AttributeSpec("skin", tuple(SKIN_TONES), "identity"),
        AttributeSpec("hair", tuple(HAIR_COLOURS), "identity"),
        AttributeSpec("expression", EXPRESSIONS, "image"),
    )

    def __init__(self) -> None:
        self.face_vertices, face_faces = load_face_mesh()
        self.head_unit, self._head_faces = _ellipsoid_grid(22, 22)
        self.neck_unit, self._neck_faces = _cylinder_grid(8, 14)
        self._use_face_mesh(face_faces, len(self.face_vertices))

    def _use_face_mesh(self, face_faces: torch.Tensor, n_face: int) -> None:
        """Set the whole object's triangles and per-vertex part one-hots (face, then head, then neck)
        for a face mesh of ``n_face`` vertices and triangles ``face_faces (F, 3)``."""
        n_head, n_neck = len(self.head_unit), len(self.neck_unit)
        self.faces = torch.cat([face_faces, self._head_faces + n_face, self._neck_faces + n_face + n_head])
        part = torch.cat(
            [torch.full((n_face,), _PART_FACE), torch.full((n_head,), _PART_HEAD), torch.full((n_neck,), _PART_NECK)]
        )
        self.part_onehot = torch.nn.functional.one_hot(part, 3).float()

    # -- sampling ------------------------------------------------------------------------------
    def sample_identities(self, rng: np.random.Generator, n: int) -> Params:
        nose = rng.integers(0, len(NOSE_CLASSES), n)
        skin = rng.integers(0, len(SKIN_TONES), n)
        hair = rng.integers(0, len(HAIR_COLOURS), n)
        nose_table = np.array(list(NOSE_CLASSES.values()))
        return {
            "nose": nose,
            "skin": skin,
            "hair": hair,
            "scale": rng.uniform([0.92, 0.94, 0.85], [1.08, 1.06, 1.15], (n, 3)),
            "nose_amp": nose_table[nose, 0] + rng.normal(0, 0.12, n),
            "nose_width": nose_table[nose, 1] + rng.normal(0, 0.03, n),
            "bump_center": rng.uniform([0.0, -8.5], [7.0, 7.5], (n, N_BUMPS, 2)),
            "bump_sigma": rng.uniform(1.5, 3.2, (n, N_BUMPS)),
            "bump_amp": rng.normal(0, 0.3, (n, N_BUMPS)),
            "skin_rgb": np.array(list(SKIN_TONES.values()))[skin] * rng.uniform(0.93, 1.07, (n, 1))
            + rng.normal(0, 0.02, (n, 3)),
            "hair_rgb": np.array(list(HAIR_COLOURS.values()))[hair] * rng.uniform(0.85, 1.15, (n, 1))
            + rng.normal(0, 0.015, (n, 3)),
            "eye_rgb": EYE_COLOURS[rng.integers(0, len(EYE_COLOURS), n)],
            "lip_tint": rng.uniform(0.0, 1.0, n),
            "blush": rng.uniform(0.0, 1.0, n),
            "brow_thickness": rng.uniform(0.32, 0.6, n),
            "hairline": rng.uniform(6.0, 7.6, n),
            "head_size": rng.uniform([8.5, 10.4, 0.9], [9.3, 11.4, 1.6], (n, 3)),
            "hair_length": rng.uniform(-3.0, 0.5, n),
        }

    def sample_image_factors(self, rng: np.random.Generator, n: int) -> Params:
        return {"expression": rng.integers(0, len(EXPRESSIONS), n), "strength": rng.uniform(0.7, 1.0, n)}

    # -- geometry ------------------------------------------------------------------------------
    def deform_face(self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor]) -> torch.Tensor:
        """Deformed face mesh vertices ``(B, 468, 3)`` in mesh units (before the global scale)."""
        ref = self.face_vertices
        batch = identity["scale"].shape[0]
        x, y, z = (c.expand(batch, -1).clone() for c in ref.unbind(-1))
        ax = x.abs()
        # identity: symmetric bumps (in |X|) along Z, nose protrusion and width
        c, s, a = identity["bump_center"], identity["bump_sigma"], identity["bump_amp"]
        d2 = (ax[:, :, None] - c[:, None, :, 0]) ** 2 + (y[:, :, None] - c[:, None, :, 1]) ** 2
        z = z + (a[:, None, :] * torch.exp(-d2 / (2 * s[:, None, :] ** 2))).sum(-1)
        g_nose = _gauss(x, y, 0.0, -0.9, 1.4, 1.9)
        z = z + identity["nose_amp"][:, None] * g_nose
        x = x * (1 + (identity["nose_width"][:, None] - 1) * g_nose)
        # expression
        expr, k = image["expression"], image["strength"][:, None]
        smile = (expr == _SMILE).float()[:, None] * k
        surprise = (expr == _SURPRISE).float()[:, None] * k
        g_corner = _gauss(ax, y, 2.46, -4.34, 1.0, 0.9)
        g_cheek = _gauss(ax, y, 3.3, -2.3, 1.4, 1.2)
        y = y + smile * (0.55 * g_corner + 0.25 * g_cheek)
        x = x + smile * 0.35 * g_corner * torch.sign(x)
        z = z + smile * (0.35 * g_cheek - 0.25 * g_corner)
        below = _smoothstep((-4.27 - y) / 0.27)  # 0 above the lips' meeting line, 1 from the lower lip down
        jaw = 1 - _smoothstep((ax - 2.5) / 4.5)
        drop = smile * 0.35 + surprise * 1.7
        y = y - drop * below * jaw
        z = z - 0.3 * drop * below * jaw
        y = y + surprise * 0.55 * _smoothstep((y - 3.4) / 1.2) * (1 - _smoothstep((ax - 5.5) / 2))
        return torch.stack([x, y, z], -1)

    def canonical(
        self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor], camera: Camera
    ) -> CanonicalObject:
        face = self.deform_face(identity, image)
        mesh = self._with_head_and_neck(face, identity["head_size"], (0.9, -4.4), (4.8, 10.0, 4.8), (0.0, -16.5, -1.8))
        ref = mesh.clone()
        mesh = mesh * identity["scale"][:, None]
        return self._place_and_render(mesh, ref, Y_CENTER, NOSE_Z, identity, image, camera)

    def _with_head_and_neck(
        self,
        face: torch.Tensor,
        head_size: torch.Tensor,
        head_centre: tuple[float, float],
        neck_size: tuple[float, float, float],
        neck_offset: tuple[float, float, float],
    ) -> torch.Tensor:
        """The whole object's vertices ``(B, V, 3)``: the face ``face (B, F, 3)``, then the head
        ellipsoid, then the neck cylinder, in the order of :meth:`_use_face_mesh`.

        The head's half-axes are ``head_size (B, 3)`` columns 0, 1 and 0.95 x column 0; its centre
        is at Y ``head_centre[0]`` and Z ``head_centre[1] - head_size[:, 2]``. The neck is the unit
        cylinder scaled by ``neck_size`` and moved by ``neck_offset`` (X, Y, Z).
        """
        batch = len(face)
        hs = head_size
        head = self.head_unit * torch.stack([hs[:, 0], hs[:, 1], hs[:, 0] * 0.95], -1)[:, None]
        centre = torch.stack([torch.zeros(batch), torch.full((batch,), head_centre[0]), head_centre[1] - hs[:, 2]], -1)
        head = head + centre[:, None]
        neck = self.neck_unit * torch.tensor(neck_size) + torch.tensor(neck_offset)
        return torch.cat([face, head, neck.expand(batch, -1, -1)], 1)

    def _place_and_render(
        self,
        mesh: torch.Tensor,
        ref: torch.Tensor,
        y_center: float,
        nose_z: float,
        identity: dict[str, torch.Tensor],
        image: dict[str, torch.Tensor],
        camera: Camera,
    ) -> CanonicalObject:
        """Place ``mesh (B, V, 3)`` (mesh units) in the canonical camera frame and render it.

        :data:`PX_PER_UNIT` pixels per mesh unit at depth 1; reference Y ``y_center`` at the image
        centre; the point at Z ``nose_z`` at depth :data:`NOSE_DEPTH`. The albedo is painted by
        :meth:`albedo` from the interpolated reference positions ``ref (B, V, 3)`` and part one-hots.
        """
        unit = PX_PER_UNIT / camera.focal  # world units per mesh unit at depth 1
        cam = torch.stack(
            [mesh[..., 0] * unit, -(mesh[..., 1] - y_center) * unit, NOSE_DEPTH + (nose_z - mesh[..., 2]) * unit], -1
        )
        attrs = torch.cat([ref, self.part_onehot.expand(len(mesh), -1, -1)], -1)
        maps = rasterize_mesh(cam, self.faces, attrs, camera, self.scene.border_depth)
        return finish_canonical(maps, self.albedo(identity, image, maps.attributes), self.scene.border_depth)

    # -- albedo --------------------------------------------------------------------------------
    def albedo(
        self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor], attrs: torch.Tensor
    ) -> torch.Tensor:
        """Albedo ``(B, 3, S, S)`` in [0, 1] from interpolated reference coordinates and part weights
        ``attrs (B, 6, S, S)``."""
        x, y = attrs[:, 0:1].abs(), attrs[:, 1:2]
        part = attrs[:, 3:6].argmax(1, keepdim=True)
        skin, hair = _rgb(identity, "skin_rgb"), _rgb(identity, "hair_rgb")
        out = skin.expand(-1, -1, *x.shape[-2:]).clone()
        # cheeks and lips
        blush = identity["blush"][:, None, None, None] * 0.18
        out = _paint(
            out, skin * torch.tensor([1.0, 0.78, 0.78]).view(1, 3, 1, 1), blush * _gauss(x, y, 3.6, -1.9, 1.3, 1.1)
        )
        lips = skin * torch.tensor([0.82, 0.52, 0.52]).view(1, 3, 1, 1)
        lips = lips * (1 - 0.15 * identity["lip_tint"][:, None, None, None])
        lip_region = torch.where(y > -4.35, _ellipse(x, y, 0.0, -4.35, 2.5, 1.0), _ellipse(x, y, 0.0, -4.35, 2.5, 1.05))
        out = _paint(out, lips, lip_region)
        smiling = (image["expression"] == _SMILE)[:, None, None, None]
        interior = torch.where(
            smiling,
            torch.tensor([0.88, 0.85, 0.78]).view(1, 3, 1, 1),
            torch.tensor([0.22, 0.06, 0.07]).view(1, 3, 1, 1),
        )
        out = _paint(out, interior, _ellipse(x, y, 0.0, -4.265, 2.2, 0.28, soft=0.05))
        # nose: nostrils
        out = _paint(out, skin * 0.35, _ellipse(x, y, 0.72, -1.86, 0.36, 0.17, soft=0.06))
        # eyes: socket shade, lash line, sclera, iris, pupil
        out = _paint(out, skin * 0.82, 0.6 * _gauss(x, y, 3.1, 2.9, 1.5, 0.8))
        out = _paint(
            out, torch.tensor([0.12, 0.08, 0.07]).view(1, 3, 1, 1), _ellipse(x, y, 3.15, 2.66, 1.42, 0.46, soft=0.06)
        )
        out = _paint(
            out, torch.tensor([0.9, 0.88, 0.86]).view(1, 3, 1, 1), _ellipse(x, y, 3.15, 2.6, 1.26, 0.32, soft=0.05)
        )
        iris = _ellipse(x, y, 3.15, 2.62, 0.42, 0.42, soft=0.05) * _ellipse(x, y, 3.15, 2.6, 1.26, 0.34, soft=0.05)
        out = _paint(out, _rgb(identity, "eye_rgb"), iris)
        out = _paint(
            out,
            torch.tensor([0.03, 0.03, 0.03]).view(1, 3, 1, 1),
            _ellipse(x, y, 3.15, 2.62, 0.18, 0.18, soft=0.04) * iris,
        )
        # brows: a band around a quadratic centre line through the asset's brow landmarks
        centre = 4.2 + 0.55 * (x - 1.2) - 0.135 * (x - 1.2) ** 2
        half = identity["brow_thickness"][:, None, None, None] / 2 * (1.15 - 0.1 * x)
        brow = (
            torch.sigmoid((half - (y - centre).abs()) / 0.07)
            * torch.sigmoid((x - 1.2) / 0.15)
            * torch.sigmoid((5.9 - x) / 0.25)
        )
        out = _paint(out, hair * 0.8 + 0.02, brow)
        # hair above the hairline on the face; the head is hair above ear level, skin below
        hairline, hair_length = identity["hairline"][:, None, None, None], identity["hair_length"][:, None, None, None]
        return _paint_hair_and_neck(out, part, x, y, hair, hairline, hair_length, curve=0.06, soft=0.2)
