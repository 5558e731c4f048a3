"""Image-folder layouts: Unsup3d's syncar (one folder per split) and face tracks from videos
(one folder per identity and track, for per-track clustering)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .images import (
    IMAGE_SUFFIXES,
    DataLayoutError,
    ImageListDataset,
    check_on_malformed,
    report_malformed,
)

SYNCAR_LAYOUT = """\
<root>/
    train/**/*.png     any depth of sub-folders; .png, .jpg, .jpeg or .bmp
    val/**/*.png
    test/**/*.png
"""

TRACKS_LAYOUT = """\
<root>/
    <identity>/<track_id>/<frame>.jpg      one folder per person, one sub-folder per face track,
                                           cropped face images (.jpg, .jpeg, .png or .bmp)
"""


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class SynCar(ImageListDataset):
    """Unsup3d's synthetic cars (ShapeNet renders): images only, no labels (``labels`` is empty).

    Args:
        root: see :data:`SYNCAR_LAYOUT`.
        split: ``"train"``, ``"val"`` or ``"test"``.
        size: output side (largest centred square, resized).

    Raises:
        DataLayoutError: the split folder is missing or holds no image.
    """

    def __init__(self, root: str | Path, split: str = "train", size: int = 64) -> None:
        if split not in ("train", "val", "test"):
            raise InputError(f"split: expected 'train', 'val' or 'test', got {split!r}")
        folder = Path(root) / split
        if not folder.is_dir():
            raise DataLayoutError("syncar", f"missing folder {folder}", SYNCAR_LAYOUT)
        paths = _images_under(folder)
        if not paths:
            raise DataLayoutError("syncar", f"no image under {folder}", SYNCAR_LAYOUT)
        super().__init__(paths, {}, size)


class FaceTracks(ImageListDataset):
    """Face tracks from videos, with labels ``identity`` (index into :attr:`identities`) and
    ``track`` (index into :attr:`tracks`), for clustering per track (average the features of a
    track's frames, then cluster the tracks; the track's identity is the label).

    Args:
        root: see :data:`TRACKS_LAYOUT`.
        split: only ``"all"`` (the protocol clusters every track).
        size: output side (largest centred square, resized).
        on_malformed: ``"skip"`` (warn; see :attr:`malformed`) or ``"raise"`` for files directly under
            an identity folder (not in a track) and empty track folders.

    Raises:
        DataLayoutError: the root is missing or holds no track.
    """

    def __init__(self, root: str | Path, split: str = "all", size: int = 64, on_malformed: str = "skip") -> None:
        if split != "all":
            raise InputError(f"split: face tracks have only split 'all', got {split!r}")
        check_on_malformed(on_malformed)
        root = Path(root)
        if not root.is_dir():
            raise DataLayoutError("tracks", f"no such folder: {root}", TRACKS_LAYOUT)
        self.malformed: list[tuple[str, str]] = []
        self.identities: list[str] = []
        self.tracks: list[tuple[str, str]] = []
        paths, identity, track = [], [], []
        for person in sorted(p for p in root.iterdir() if p.is_dir()):
            person_tracks = 0
            for entry in sorted(person.iterdir()):
                if not entry.is_dir():
                    self.malformed.append((f"{person.name}/{entry.name}", "a file outside any track folder"))
                    continue
                frames = sorted(p for p in entry.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
                if not frames:
                    self.malformed.append((f"{person.name}/{entry.name}", "a track folder without images"))
                    continue
                if person_tracks == 0:
                    self.identities.append(person.name)
                person_tracks += 1
                self.tracks.append((person.name, entry.name))
                paths += frames
                identity += [len(self.identities) - 1] * len(frames)
                track += [len(self.tracks) - 1] * len(frames)
        report_malformed("tracks", self.malformed, on_malformed, TRACKS_LAYOUT)
        if not paths:
            raise DataLayoutError("tracks", f"no <identity>/<track_id>/<frame> image under {root}", TRACKS_LAYOUT)
        self.track_identity = np.array([self.identities.index(p) for p, _ in self.tracks], dtype=np.int64)
        """``(n_tracks,)`` identity of each track."""
        super().__init__(
            paths, {"identity": np.array(identity, dtype=np.int64), "track": np.array(track, dtype=np.int64)}, size
        )
