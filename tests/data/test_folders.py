"""Unsup3d syncar folders and video face tracks on fixture trees."""

from __future__ import annotations

import pytest

from physdis_hub.data import DataLayoutError, FaceTracks, SynCar

from .conftest import write_image


def test_syncar_reads_each_split_folder_recursively(tmp_path) -> None:
    write_image(tmp_path / "train" / "a" / "0001.png", (128, 128))
    write_image(tmp_path / "train" / "b" / "0002.png", (128, 128))
    write_image(tmp_path / "val" / "0003.jpg", (128, 96))
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    train = SynCar(tmp_path, "train")
    assert len(train) == 2 and train[1]["labels"] == {} and train[1]["image"].shape == (3, 64, 64)
    assert len(SynCar(tmp_path, "val")) == 1
    with pytest.raises(DataLayoutError, match=r"missing folder .*test(.|\n)*train/\*\*/\*.png"):
        SynCar(tmp_path, "test")
    (tmp_path / "test").mkdir()
    with pytest.raises(DataLayoutError, match="no image under"):
        SynCar(tmp_path, "test")


@pytest.fixture
def tracks_root(tmp_path):
    for person, tracks in {"alice": ["t1", "t2"], "bob": ["s01e01_003"]}.items():
        for t in tracks:
            for f in range(3):
                write_image(tmp_path / person / t / f"{f:04d}.jpg", (50, 60), seed=f)
    return tmp_path


def test_tracks_label_identity_and_track(tracks_root) -> None:
    ds = FaceTracks(tracks_root)
    assert len(ds) == 9 and ds.identities == ["alice", "bob"]
    assert ds.tracks == [("alice", "t1"), ("alice", "t2"), ("bob", "s01e01_003")]
    assert ds.track_identity.tolist() == [0, 0, 1]
    labels = [ds[i]["labels"] for i in range(9)]
    assert [int(l["track"]) for l in labels] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [int(l["identity"]) for l in labels] == [0] * 6 + [1] * 3


def test_tracks_malformed_entries(tracks_root) -> None:
    write_image(tracks_root / "bob" / "stray.jpg")
    (tracks_root / "carol" / "t9").mkdir(parents=True)
    with pytest.warns(UserWarning, match="skipped 2 malformed"):
        ds = FaceTracks(tracks_root)
    assert ds.identities == ["alice", "bob"]
    with pytest.raises(DataLayoutError, match=r"outside any track folder(.|\n)*<identity>/<track_id>/<frame>.jpg"):
        FaceTracks(tracks_root, on_malformed="raise")
    with pytest.raises(ValueError, match="only split 'all'"):
        FaceTracks(tracks_root, split="train")


def test_tracks_missing_or_empty(tmp_path) -> None:
    with pytest.raises(DataLayoutError, match="no such folder"):
        FaceTracks(tmp_path / "none")
    with pytest.raises(DataLayoutError, match="no <identity>/<track_id>/<frame> image"):
        FaceTracks(tmp_path)
