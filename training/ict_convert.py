"""Convert the ICT Face Model (ICT-FaceKit, MIT licence) into the package's compact face-area file.

    python -m training.ict_convert SOURCE --commit SHA -o physdis_hub/data/assets/ict_face.npz

SOURCE is a checkout (or ``git archive``) of the public repository ICT-VGL/ICT-FaceKit holding
``LICENSE`` and ``FaceXModel/`` (``generic_neutral_mesh.obj``, ``identityNNN.obj``, one ``.obj`` per
expression blendshape, ``vertex_indices.json``); ``--commit`` is the commit it was taken from (it is
recorded, not checked: the sha256 of every file read is recorded beside it).

What is kept (the layout is documented in :mod:`physdis_hub.data.ict`):

1. the *full face area* of ICT's table (vertices ``[0:9409]``, quads ``[0:9230]``), quads split into
   two triangles each;
2. each opening of that area other than its outer rim (the two eyes and the mouth) closed by a fan
   around one new vertex, the mean of the opening's rim (for the neutral and for every mode, so
   the fan moves with the rim);
3. the first ``--identity-modes`` identity modes that are mostly symmetric (:data:`SYMMETRIC_SHARE`) and the blendshapes of :data:`EXPRESSIONS`, each
   as its difference to the neutral mesh, made exactly symmetric (``(m + mirror(m)) / 2``, the
   mirror vertex found by position), of which one half is stored, as float16;
4. the Multi-PIE 68 landmark vertex indices.

Nothing is written when the input does not have this layout (a missing file, a polygon outside the
face area, a vertex without a mirror vertex); the error names the file and what was found.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from physdis_hub.errors import PhysdisError
from physdis_hub.hub.checkpoint import sha256_file

REPOSITORY = "https://github.com/ICT-VGL/ICT-FaceKit"
"""Where the source comes from."""
FACE_VERTICES = 9409
"""ICT's full face area: vertices ``[0:9409]``."""
FACE_POLYGONS = 9230
"""ICT's full face area: polygons ``[0:9230]``."""
IDENTITY_MODES = 30
"""Identity modes kept: the first ones whose symmetric part is most of the mode (ICT's PCA
order: the first carry most of the variance; the 30th moves a vertex by 0.02 cm on average, a
under a tenth of a pixel in a 64 x 64 image)."""
EXPRESSIONS = (
    "browDown",
    "browInnerUp",
    "browOuterUp",
    "cheekPuff",
    "cheekSquint",
    "eyeBlink",
    "eyeSquint",
    "eyeWide",
    "jawForward",
    "jawOpen",
    "mouthDimple",
    "mouthFrown",
    "mouthFunnel",
    "mouthLowerDown",
    "mouthPress",
    "mouthPucker",
    "mouthShrugLower",
    "mouthSmile",
    "mouthStretch",
    "mouthUpperUp",
    "noseSneer",
)
"""Blendshapes kept: ICT's symmetric ones and the left+right sums of its pairs, leaving out gaze
(the eyeballs are not kept), sideways jaw and mouth (asymmetric) and the lip rolls, shrug of the
upper lip and mouthClose (which only act with a mouth already open)."""
ICT_IDENTITY_MODES = 100
"""Identity modes ICT-FaceKit ships (``identity000.obj`` to ``identity099.obj``)."""
SYMMETRIC_SHARE = 0.5
"""An identity mode is kept only if its symmetric part holds at least this share of its squared
displacement: some of ICT's modes are (almost) purely left-right asymmetric, and their symmetric
part is zero, so their coefficient would change nothing in the image."""
MIRROR_TOLERANCE = 0.01
"""Largest distance (cm) between a vertex's mirror image and its mirror vertex."""


class ICTConversionError(PhysdisError, ValueError):
    """The source folder does not hold the ICT-FaceKit layout this converter reads."""


def read_obj(path: Path, want_polygons: bool = False) -> tuple[np.ndarray, list[list[int]]]:
    """Vertices ``(N, 3)`` float64 and (if ``want_polygons``) 0-based polygons of a Wavefront OBJ file."""
    if not path.is_file():
        raise ICTConversionError(f"{path}: missing (expected ICT-FaceKit's FaceXModel layout)")
    vertices, polygons = [], []
    with path.open() as fh:
        for line in fh:
            if line.startswith("v "):
                vertices.append(line.split()[1:4])
            elif want_polygons and line.startswith("f "):
                polygons.append([int(token.split("/")[0]) - 1 for token in line.split()[1:]])
    if not vertices:
        raise ICTConversionError(f"{path}: no vertices")
    return np.asarray(vertices, dtype=np.float64), polygons


def boundary_loops(polygons: list[list[int]]) -> list[list[int]]:
    """Closed loops of the edges that belong to one polygon only, each as its vertex sequence."""
    count = Counter(tuple(sorted((p[i], p[(i + 1) % len(p)]))) for p in polygons for i in range(len(p)))
    nxt: dict[int, list[int]] = {}
    for a, b in (e for e, n in count.items() if n == 1):
        nxt.setdefault(a, []).append(b)
        nxt.setdefault(b, []).append(a)
    if any(len(v) != 2 for v in nxt.values()):
        raise ICTConversionError("face area: a boundary vertex is not on exactly one boundary loop")
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        seen.add(start)
        while True:
            a, b = nxt[cur]
            prev, cur = cur, (b if a == prev else a)
            if cur == start:
                break
            loop.append(cur)
            seen.add(cur)
        loops.append(loop)
    return loops


def triangles(polygons: list[list[int]]) -> np.ndarray:
    """Fan-split polygons (triangles and quads) into ``(F, 3)`` triangles."""
    return np.asarray([[p[0], p[i], p[i + 1]] for p in polygons for i in range(1, len(p) - 1)], dtype=np.int64)


def mirror_map(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Index of each point's mirror point about ``X = 0`` and the largest mismatch (cm)."""
    dist, index = cKDTree(points).query(points * [-1.0, 1.0, 1.0])
    worst = int(np.argmax(dist))
    if dist[worst] > MIRROR_TOLERANCE or np.any(index[index] != np.arange(len(points))):
        raise ICTConversionError(
            f"face area: vertex {worst} has no mirror vertex within {MIRROR_TOLERANCE} cm (nearest {dist[worst]:.4f})"
        )
    return index, float(dist.max())


def convert(
    source: Path,
    commit: str,
    identity_modes: int = IDENTITY_MODES,
    expressions: tuple[str, ...] = EXPRESSIONS,
    face_vertices: int = FACE_VERTICES,
    face_polygons: int = FACE_POLYGONS,
) -> dict[str, np.ndarray]:
    """The arrays of the face-area file (:data:`physdis_hub.data.ict.KEYS`, in that order) from an ICT-FaceKit folder.

    Args:
        source: folder holding ``LICENSE`` and ``FaceXModel/``.
        commit: the repository commit ``source`` was taken from (recorded).
        identity_modes: identity modes kept (the first ones).
        expressions: blendshape names; a name without its own file is the sum of ``<name>_L`` and ``<name>_R``.
        face_vertices, face_polygons: size of the face area (ICT's first vertices and polygons).
    """
    model, licence = source / "FaceXModel", source / "LICENSE"
    if not licence.is_file():
        raise ICTConversionError(f"{licence}: missing (the licence text is recorded with the data)")
    read: list[Path] = [licence]
    neutral_path = model / "generic_neutral_mesh.obj"
    neutral_all, polygons_all = read_obj(neutral_path, want_polygons=True)
    read.append(neutral_path)
    if len(neutral_all) < face_vertices or len(polygons_all) < face_polygons:
        raise ICTConversionError(
            f"{neutral_path}: expected at least {face_vertices} vertices and {face_polygons} polygons, "
            f"got {len(neutral_all)} and {len(polygons_all)}"
        )
    polygons = polygons_all[:face_polygons]
    outside = max(max(p) for p in polygons)
    if outside >= face_vertices:
        raise ICTConversionError(
            f"{neutral_path}: face-area polygons use vertex {outside} beyond the area's {face_vertices}"
        )
    loops = sorted(boundary_loops(polygons), key=len, reverse=True)[1:]  # the longest is the outer rim
    n_total = face_vertices + len(loops)

    def face_area(points: np.ndarray) -> np.ndarray:
        """Face-area rows plus one row per opening (its rim's mean)."""
        rims = [points[loop].mean(0) for loop in loops]
        return np.concatenate([points[:face_vertices], np.asarray(rims).reshape(-1, 3)])

    def delta(name: str) -> np.ndarray:
        path = model / f"{name}.obj"
        pair = [model / f"{name}_L.obj", model / f"{name}_R.obj"]
        if path.is_file():
            parts = [path]
        elif all(p.is_file() for p in pair):
            parts = pair
        else:
            raise ICTConversionError(f"{path}: missing, and no {pair[0].name} + {pair[1].name} pair either")
        total = np.zeros((n_total, 3))
        for part in parts:
            points, _ = read_obj(part)
            if len(points) != len(neutral_all):
                raise ICTConversionError(
                    f"{part}: expected {len(neutral_all)} vertices like the neutral mesh, got {len(points)}"
                )
            total += face_area(points - neutral_all)
            read.append(part)
        return total

    neutral = face_area(neutral_all)
    mirror, asymmetry = mirror_map(neutral)
    flip = np.array([-1.0, 1.0, 1.0])

    def symmetric(points: np.ndarray) -> np.ndarray:
        return (points + points[..., mirror, :] * flip) / 2

    keep = np.flatnonzero((neutral[:, 0] > 0) | (mirror == np.arange(n_total)))  # one half and the midline
    row = np.full(n_total, -1)
    row[keep] = np.arange(len(keep))
    half_of = np.where(row >= 0, row, row[mirror])
    x_sign = np.where(row >= 0, 1, -1)
    id_modes, id_names = [], []
    for k in range(ICT_IDENTITY_MODES):
        if len(id_modes) == identity_modes:
            break
        mode = delta(f"identity{k:03d}")
        if np.square(symmetric(mode)).sum() >= SYMMETRIC_SHARE * np.square(mode).sum():
            id_modes.append(symmetric(mode))
            id_names.append(f"identity{k:03d}")
    if len(id_modes) < identity_modes:
        raise ICTConversionError(
            f"{model}: only {len(id_modes)} mostly symmetric identity modes, {identity_modes} asked for"
        )
    id_modes = np.stack(id_modes)
    ex_modes = np.stack([symmetric(delta(name)) for name in expressions])
    faces = np.concatenate(
        [triangles(polygons)]
        + [
            np.stack([loop, np.roll(loop, -1), np.full(len(loop), face_vertices + i)], -1)
            for i, loop in enumerate(loops)
        ]
    )
    index_path = model / "vertex_indices.json"
    if not index_path.is_file():
        raise ICTConversionError(f"{index_path}: missing")
    landmarks = np.asarray(json.loads(index_path.read_text())["idx_to_landmark_verts"], dtype=np.int64)
    read.append(index_path)
    if landmarks.shape != (68,) or landmarks.max() >= face_vertices:
        raise ICTConversionError(
            f"{index_path}: expected 68 landmark vertices inside the face area, got {landmarks.shape}"
        )
    provenance = {
        "repository": REPOSITORY,
        "commit": commit,
        "files": {str(p.relative_to(source)): sha256_file(p) for p in read},
        "license": licence.read_text(),
        "face_vertices": face_vertices,
        "face_polygons": face_polygons,
        "openings_closed": [len(loop) for loop in loops],
        "largest_mirror_mismatch_cm": asymmetry,
        "identity_modes": id_names,
        "identity_mode_rms_cm": [round(float(np.sqrt(np.square(m).sum(-1).mean())), 5) for m in id_modes],
        "expressions": list(expressions),
        "converter": "training/ict_convert.py",
    }
    arrays = {
        "neutral": symmetric(neutral).astype(np.float32),
        "faces": faces.astype(np.int16),
        "half_of": half_of.astype(np.int16),
        "x_sign": x_sign.astype(np.int8),
        "identity_modes": id_modes[:, keep].astype(np.float16),
        "expression_modes": ex_modes[:, keep].astype(np.float16),
        "expression_names": np.asarray(expressions),
        "landmarks": landmarks.astype(np.int16),
        "provenance": np.asarray(json.dumps(provenance, indent=1, sort_keys=True)),
    }
    return arrays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="ICT-FaceKit folder holding LICENSE and FaceXModel/")
    parser.add_argument("--commit", required=True, help="the commit SOURCE was taken from (recorded)")
    parser.add_argument("--identity-modes", type=int, default=IDENTITY_MODES)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        arrays = convert(args.source, args.commit, args.identity_modes)
    except ICTConversionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    np.savez_compressed(args.output, **arrays)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB, sha256 {sha256_file(args.output)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
