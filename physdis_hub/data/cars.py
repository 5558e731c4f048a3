"""Synthetic cars: procedural, left-right symmetric car bodies with wheels, seen from the front and
above (the canonical view).

Geometry (metres in the car frame: x to the car's right as seen from the front, y up, f forward):

- a body lofted along its length from cross-sections: sills, sides up to the belt line, a
  greenhouse (side windows) tapering in to the roof, and a crowned roof or hood; the belt and roof
  heights along the length come from the body class (sedan: hood, cabin, trunk; hatchback: cabin to
  the rear with a steep tailgate; van: short hood, tall long roof), jittered per identity, as are
  length, width and height;
- a flat front fascia (headlights, grille, bumper) closing the body;
- four wheels (tyre tread and outer disc with a rim).

The car is seen from the front, ``ELEVATION_DEG`` above the horizon, scaled to fill
``FILL`` of the image; the depth axis is compressed by ``DEPTH_SQUASH`` so that the whole car fits in
the model's depth range (a real car is deeper than it is wide; the model's canonical depth spans
only [0.9, 1.1]). Albedo: a paint colour class with per-identity jitter, dark glass, headlights,
grille, dark sills, tyres and rims.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..categories import CATEGORIES
from ..render import Camera, grid_faces
from .category import (
    AttributeSpec,
    CanonicalObject,
    ObjectCategory,
    Params,
    finish_canonical,
)
from .mesh import rasterize_mesh

ELEVATION_DEG = 15.0
"""Elevation of the canonical view above the car's horizon."""
FILL = 0.75
"""Fraction of the image side the car's larger projected extent covers."""
DEPTH_SQUASH = 0.6
"""Factor applied to depth offsets (see the module docstring); smaller where a car would otherwise
not fit in 95% of [min_depth, border_depth]."""

N_SECTIONS = 40
"""Cross-sections along the body."""
N_WHEEL = 16
"""Vertices around a wheel."""
N_STATIONS = 9
"""Cross-section vertices from the bottom of one side to the roof centre (see ``_section_stations``)."""

BODY_CLASSES = ("sedan", "hatchback", "van")
COLOURS = {
    "red": (0.72, 0.08, 0.07),
    "blue": (0.10, 0.22, 0.62),
    "white": (0.88, 0.88, 0.86),
    "black": (0.08, 0.08, 0.09),
    "silver": (0.62, 0.64, 0.66),
    "yellow": (0.92, 0.74, 0.10),
}

# Per body class: (length, width, sill height, wheel radius), belt line keypoints (u, height) and
# roof keypoints (u, height); u runs from -1 (rear) to +1 (front). Top of the body = max(belt, roof).
_SHAPES = {
    "sedan": (
        (4.6, 1.80, 0.30, 0.32),
        ((-1.0, 0.84), (-0.92, 0.98), (0.88, 0.94), (1.0, 0.80)),
        ((-1.0, 0.0), (-0.62, 0.98), (-0.30, 1.42), (0.16, 1.44), (0.50, 0.94), (1.0, 0.0)),
    ),
    "hatchback": (
        (4.1, 1.76, 0.30, 0.31),
        ((-1.0, 0.90), (-0.95, 1.00), (0.88, 0.95), (1.0, 0.80)),
        ((-1.0, 0.0), (-0.96, 1.02), (-0.74, 1.46), (0.14, 1.48), (0.50, 0.95), (1.0, 0.0)),
    ),
    "van": (
        (4.8, 1.90, 0.34, 0.34),
        ((-1.0, 0.98), (-0.97, 1.06), (0.92, 1.00), (1.0, 0.86)),
        ((-1.0, 0.0), (-0.98, 1.10), (-0.92, 1.90), (0.52, 1.95), (0.80, 1.04), (1.0, 0.0)),
    ),
}

_PART_BODY, _PART_FASCIA, _PART_WHEEL = range(3)
_GLASS_MIN = 0.12  # greenhouse height (m) from which the side band is glass


def _interp(u: torch.Tensor, ku: torch.Tensor, kh: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation per row: ``u (B, Q)`` at keypoints ``ku, kh (B, K)``."""
    j = torch.searchsorted(ku.contiguous(), u.contiguous()).clamp(1, ku.shape[1] - 1)
    u0, u1 = ku.gather(1, j - 1), ku.gather(1, j)
    h0, h1 = kh.gather(1, j - 1), kh.gather(1, j)
    t = ((u - u0) / (u1 - u0).clamp_min(1e-6)).clamp(0, 1)
    return h0 + (h1 - h0) * t


class SyntheticCars(ObjectCategory):
    """Car-like category (see the module docstring). Scene ranges: the cars configuration."""

    name = "cars"
    scene = CATEGORIES["cars"].scene
    attributes = (
        AttributeSpec("body", BODY_CLASSES, "identity"),
        AttributeSpec("colour", tuple(COLOURS), "identity"),
    )

    factor_names = {
        "shape": (
            "length", "width", "sill_height", "wheel_radius",
            *(f"belt_height_{k}" for k in range(4)),
            *(f"roof_position_{k}" for k in range(1, 5)),
            *(f"roof_height_{k}" for k in range(1, 5)),
        ),
        "albedo": ("paint_r", "paint_g", "paint_b"),
    }  # fmt: skip
    """The body's dimensions, belt-line heights and the inner roof keypoints (position along the
    car, height; the roof's ends are fixed at the bumpers), and the paint colour."""

    def __init__(self) -> None:
        self.n_around = 2 * N_STATIONS - 1
        body = grid_faces(N_SECTIONS, self.n_around)
        self.n_body = N_SECTIONS * self.n_around
        front_ring = torch.arange(self.n_body - self.n_around, self.n_body)  # the last section (u = +1)
        fascia = torch.stack([front_ring, front_ring.roll(-1), torch.full((self.n_around,), self.n_body)], -1)
        parts = [body, fascia]
        ring = torch.arange(N_WHEEL)
        for w in range(4):  # per wheel: inner ring, outer ring, outer hub
            inner = self.n_body + 1 + w * (2 * N_WHEEL + 1)
            outer, hub = inner + N_WHEEL, inner + 2 * N_WHEEL
            nxt = (ring + 1) % N_WHEEL
            parts.append(torch.stack([inner + ring, outer + ring, inner + nxt], -1))  # tread
            parts.append(torch.stack([inner + nxt, outer + ring, outer + nxt], -1))
            parts.append(torch.stack([outer + ring, outer + nxt, torch.full((N_WHEEL,), hub)], -1))  # disc
        self.faces = torch.cat(parts)

    # -- sampling ------------------------------------------------------------------------------
    def sample_identities(self, rng: np.random.Generator, n: int) -> Params:
        body = rng.integers(0, len(BODY_CLASSES), n)
        colour = rng.integers(0, len(COLOURS), n)
        dims = np.array([_SHAPES[BODY_CLASSES[b]][0] for b in body])
        belt = np.array([_SHAPES[BODY_CLASSES[b]][1] for b in body])  # (n, 4, 2)
        roof = np.array([_SHAPES[BODY_CLASSES[b]][2] for b in body])  # (n, 6, 2)
        belt[:, 1:-1, 1] *= rng.uniform(0.95, 1.05, (n, 1))
        roof[:, 1:-1, 1] *= rng.uniform(0.95, 1.05, (n, 1))
        roof[:, 1:-1, 0] += rng.uniform(-0.04, 0.04, (n, 4))
        return {
            "body": body,
            "colour": colour,
            "dims": dims * rng.uniform([0.95, 0.95, 0.9, 0.93], [1.05, 1.05, 1.1, 1.07], (n, 4)),
            "belt": belt,
            "roof": roof,
            "paint": np.clip(
                np.array(list(COLOURS.values()))[colour] * rng.uniform(0.9, 1.1, (n, 1)) + rng.normal(0, 0.02, (n, 3)),
                0,
                1,
            ),
        }

    def sample_image_factors(self, rng: np.random.Generator, n: int) -> Params:
        return {}

    def factors(self, identity: Params, image: Params) -> dict[str, np.ndarray]:
        """Continuous factors of each image (float32, first axis ``B``; columns :attr:`factor_names`):
        ``shape`` ``(B, 16)``, ``albedo`` ``(B, 3)``."""
        roof = np.asarray(identity["roof"])[:, 1:-1]
        shape = [identity["dims"], np.asarray(identity["belt"])[:, :, 1], roof[:, :, 0], roof[:, :, 1]]
        return {
            "shape": np.concatenate(shape, 1).astype(np.float32),
            "albedo": np.asarray(identity["paint"], dtype=np.float32),
        }

    # -- geometry ------------------------------------------------------------------------------
    @staticmethod
    def _section_stations(
        belt: torch.Tensor, top: torch.Tensor, width: torch.Tensor, sill: float | torch.Tensor
    ) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], list[torch.Tensor]]:
        """Left half of the cross-sections, bottom to roof centre: ``([(x, y)], [glass weight])``,
        each ``(B, N_SECTIONS)``; ``belt``/``top``/``width`` are ``(B, N_SECTIONS)``."""
        g = (top - belt).clamp(min=0)
        half = width / 2
        glass = (g > _GLASS_MIN).float()
        zero = torch.zeros_like(g)
        stations = [
            ((-half + 0.08, sill + zero), zero),
            ((-half, sill + 0.10 + zero), zero),
            ((-half, belt - 0.08), zero),
            ((-half + 0.05, belt), zero),
            ((-half + 0.07, belt + 0.02), glass),
            ((-half + 0.09 + 0.22 * g, belt + 0.88 * g), glass),
            ((-half + 0.10 + 0.22 * g, belt + 0.9 * g + 0.02), zero),
            ((-half + 0.25 + 0.22 * g, top + 0.03), zero),
            ((zero, top + 0.05), zero),
        ]
        return [s for s, _ in stations], [w for _, w in stations]

    def body_mesh(self, identity: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Body vertices ``(B, N_SECTIONS * n_around, 3)`` (x, y, f) and per-vertex glass weights."""
        length, width, sill = identity["dims"][:, 0:1], identity["dims"][:, 1:2], identity["dims"][:, 2:3]
        batch = length.shape[0]
        u = torch.linspace(-1, 1, N_SECTIONS).expand(batch, -1)
        belt = _interp(u, identity["belt"][..., 0], identity["belt"][..., 1])
        roof = _interp(u, identity["roof"][..., 0], identity["roof"][..., 1])
        top = torch.maximum(belt, roof)
        roof_max = identity["roof"][..., 1].amax(1, keepdim=True)
        # windshield and rear window: where the roof line climbs between the belt and the roof
        sloped = ((top > belt + 0.08) & (top < roof_max - 0.05)).float()
        stations, glass = self._section_stations(belt, top, width.expand(-1, N_SECTIONS), sill)
        top_glass = {len(stations) - 2, len(stations) - 1}
        xs, ys, ws = [], [], []
        for k, ((x, y), w) in enumerate(zip(stations, glass)):
            xs.append(x)
            ys.append(y)
            ws.append(torch.maximum(w, sloped) if k in top_glass else w)
        # mirror the left half (without repeating the centre station) to get the full ring
        xs += [-x for x in xs[-2::-1]]
        ys += ys[-2::-1]
        ws += ws[-2::-1]
        x = torch.stack(xs, -1)  # (B, N_SECTIONS, n_around)
        y = torch.stack(ys, -1)
        f = (u * length / 2)[..., None].expand_as(x)
        return torch.stack([x, y, f], -1).reshape(batch, -1, 3), torch.stack(ws, -1).reshape(batch, -1)

    def wheels(self, identity: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Wheel vertices ``(B, 4 * (2 * N_WHEEL + 1), 3)`` and their radial coordinate (0 hub, 1 tyre)."""
        length, width, radius = identity["dims"][:, 0], identity["dims"][:, 1], identity["dims"][:, 3]
        a = torch.linspace(0, 2 * math.pi, N_WHEEL + 1)[:-1]
        pts, rad = [], []
        for side in (-1.0, 1.0):
            for axle in (0.62, -0.64):
                fc = axle * length / 2
                inner = side * (width / 2 - 0.24)
                outer = side * (width / 2 + 0.05)
                ring_y = radius[:, None] * (1 + a.sin())
                ring_f = fc[:, None] + radius[:, None] * a.cos()
                xs = torch.cat(
                    [inner[:, None].expand(-1, N_WHEEL), outer[:, None].expand(-1, N_WHEEL), outer[:, None]], 1
                )
                ys = torch.cat([ring_y, ring_y, radius[:, None]], 1)
                fs = torch.cat([ring_f, ring_f, fc[:, None]], 1)
                pts.append(torch.stack([xs, ys, fs], -1))
                rad.append(torch.cat([torch.ones(2 * N_WHEEL), torch.zeros(1)]).expand(len(length), -1))
        return torch.cat(pts, 1), torch.cat(rad, 1)

    def canonical(
        self, identity: dict[str, torch.Tensor], image: dict[str, torch.Tensor], camera: Camera
    ) -> CanonicalObject:
        body, glass = self.body_mesh(identity)
        batch = body.shape[0]
        front = body[:, -self.n_around :].mean(1, keepdim=True)
        wheels, radial = self.wheels(identity)
        pts = torch.cat([body, front, wheels], 1)
        n_wheel = wheels.shape[1]
        part = torch.cat(
            [
                torch.full((self.n_body,), _PART_BODY),
                torch.full((1,), _PART_FASCIA),
                torch.full((n_wheel,), _PART_WHEEL),
            ]
        )
        onehot = torch.nn.functional.one_hot(part, 3).float().expand(batch, -1, -1)
        # fascia triangles share the last ring with the body; mark the fascia by its centre only and
        # recover it per pixel from the interpolated fascia weight (> 0 only on fascia triangles)
        material = torch.cat([glass, torch.zeros(batch, 1), torch.zeros(batch, n_wheel)], 1)
        radius = torch.cat([torch.zeros(batch, self.n_body + 1), radial], 1)

        e = math.radians(ELEVATION_DEG)
        up = torch.tensor([0.0, -math.cos(e), -math.sin(e)])
        fwd = torch.tensor([0.0, math.sin(e), -math.cos(e)])
        cam = pts[..., 0:1] * torch.tensor([1.0, 0.0, 0.0]) + pts[..., 1:2] * up + pts[..., 2:3] * fwd
        lo, hi = cam.amin(1, keepdim=True), cam.amax(1, keepdim=True)
        centre = (lo + hi) / 2
        extent = (hi - lo)[..., :2].amax(-1, keepdim=True)  # (B, 1, 1)
        unit = FILL * (camera.size - 1) / camera.focal / extent  # world units per metre at depth 1
        lo_depth, hi_depth = self.scene.min_depth, self.scene.border_depth
        z_scale = torch.minimum(unit * DEPTH_SQUASH, 0.95 * (hi_depth - lo_depth) / (hi - lo)[..., 2:])
        xy = (cam[..., :2] - centre[..., :2]) * unit
        z = (lo_depth + hi_depth) / 2 + (cam[..., 2:] - centre[..., 2:]) * z_scale
        cam = torch.cat([xy * z, z], -1)  # x, y scale with depth so the projection is the fitted one

        attrs = torch.cat([pts, onehot, material[..., None], radius[..., None]], -1)
        maps = rasterize_mesh(cam, self.faces, attrs, camera, self.scene.border_depth)
        return finish_canonical(maps, self.albedo(identity, maps.attributes), self.scene.border_depth)

    # -- albedo --------------------------------------------------------------------------------
    def albedo(self, identity: dict[str, torch.Tensor], attrs: torch.Tensor) -> torch.Tensor:
        """Albedo ``(B, 3, S, S)`` in [0, 1] from interpolated car coordinates ``(x, y, f)``, part
        weights, glass weight and wheel radial coordinate (``attrs (B, 8, S, S)``)."""
        x, y = attrs[:, 0:1].abs(), attrs[:, 1:2]
        fascia = attrs[:, 4:5] > 0.02
        wheel = attrs[:, 5:6] > 0.5
        glass = attrs[:, 6:7] > 0.5
        radial = attrs[:, 7:8]
        width, sill = identity["dims"][:, 1, None, None, None], identity["dims"][:, 2, None, None, None]
        belt_front = identity["belt"][:, -1, 1, None, None, None]
        paint = identity["paint"][:, :, None, None].float()
        out = paint.expand(-1, -1, *x.shape[-2:]).clone()
        dark = torch.tensor([0.06, 0.06, 0.07]).view(1, 3, 1, 1)
        out = torch.where(y < sill + 0.08, dark * 2, out)  # sills and lower bumper
        out = torch.where(glass, torch.tensor([0.10, 0.13, 0.18]).view(1, 3, 1, 1) + 0.06 * (y - 1.0).clamp(0, 1), out)
        # fascia: headlights near the outer top corners, grille in the middle, dark bumper strip
        lamp = (
            fascia & (x > width / 2 * 0.55) & (x < width / 2 * 0.92) & (y > belt_front - 0.22) & (y < belt_front - 0.06)
        )
        grille = fascia & (x < width / 2 * 0.45) & (y > sill + 0.18) & (y < belt_front - 0.1)
        out = torch.where(grille, dark * 1.5, out)
        out = torch.where(lamp, torch.tensor([0.95, 0.93, 0.82]).view(1, 3, 1, 1), out)
        tyre = torch.where(radial < 0.55, torch.tensor([0.55, 0.56, 0.58]).view(1, 3, 1, 1), dark)
        out = torch.where(wheel, tyre, out)
        return out.clamp(0, 1)
