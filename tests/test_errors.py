"""One error hierarchy and one registry lookup with close-match suggestions."""

from __future__ import annotations

import pytest

import physdis_hub
import training
from physdis_hub.convert.reader import ConversionError
from physdis_hub.data import load_dataset
from physdis_hub.data.images import DataLayoutError
from physdis_hub.data.registry import UnknownDatasetError
from physdis_hub.errors import (
    CheckpointError,
    ChecksumMismatchError,
    ConfigFormatError,
    InputError,
    PhysdisError,
    UnknownNameError,
    lookup,
)
from physdis_hub.hub import UnknownPretrainedError, get_pretrained
from training.commands import USER_ERRORS
from training.presets import PresetError, build_preset
from training.reproduce import resolve_preset
from training.trainer import ResumeError


def test_one_hierarchy_exported_from_the_package() -> None:
    assert physdis_hub.PhysdisError is PhysdisError and physdis_hub.CheckpointError is CheckpointError
    assert training.CheckpointError is CheckpointError
    assert (
        physdis_hub.errors.ConversionError is ConversionError
    )  # one class for every converter  # the training checkpoint's error is the same class
    assert physdis_hub.hub.CheckpointError is CheckpointError
    for error, builtin in (
        (CheckpointError, RuntimeError),
        (ChecksumMismatchError, CheckpointError),
        (ConversionError, CheckpointError),
        (UnknownNameError, LookupError),
        (InputError, ValueError),
        (ConfigFormatError, ValueError),
        (UnknownPretrainedError, UnknownNameError),
        (UnknownDatasetError, KeyError),
        (DataLayoutError, ValueError),
        (PresetError, ValueError),
        (ResumeError, ValueError),
    ):
        assert issubclass(error, PhysdisError) and issubclass(error, builtin), error
        assert issubclass(error, USER_ERRORS), error  # the training commands report them as one message


def test_lookup_suggests_close_matches() -> None:
    table = {"faces": 1, "cars": 2}
    assert lookup(table, "cars", what="category") == 2
    with pytest.raises(
        UnknownNameError, match=r"^unknown category 'face'; did you mean 'faces'\?; known: cars, faces$"
    ):
        lookup(table, "face", what="category")
    with pytest.raises(ValueError, match=r"^no such thing: 'x'; known: cars, faces; try harder$"):
        lookup(table, "x", what="thing", error=ValueError, hints=["try harder"], lead="no such thing: 'x'")
    with pytest.raises(UnknownNameError, match="known: none yet"):
        lookup({}, "x", what="model")


def test_registries_use_it() -> None:
    with pytest.raises(UnknownDatasetError, match="did you mean 'utkface'"):
        load_dataset("utkfaces")
    with pytest.raises(PresetError, match=r"unknown preset 'face-cpu'; did you mean 'faces-cpu'"):
        build_preset("face-cpu")
    with pytest.raises(PresetError, match=r"--preset: unknown preset 'tinny'; did you mean 'tiny'"):
        resolve_preset("faces", "tinny", None)
    with pytest.raises(UnknownPretrainedError, match=r"no pretrained model named 'faces-loocc-l'; did you mean"):
        get_pretrained("faces-loocc-l")
