"""The part-by-factor probe on a synthetic split: the recorded factors reach the probe as arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physdis_hub.errors import InputError
from physdis_hub.model import PhysDisModel
from physdis_hub.probes import factor_report
from physdis_hub.probes.factors import OWN_GROUPS
from training.data import build_splits
from training.factor_eval import FACES_OWN_GROUPS, own_groups, synthetic_factors
from training.presets import build_preset


def test_synthetic_factors_are_what_each_image_records(tiny_splits) -> None:  # type: ignore[no-untyped-def]
    items = [tiny_splits.train[i] for i in range(len(tiny_splits.train))]
    images, factors, classes = synthetic_factors(items)
    n = len(items)
    assert images.shape == (n, 3, 64, 64)
    assert factors["light"].shape == (n, 5) and factors["view"].shape == (n, 5)
    first = items[0]["gt"]
    assert np.allclose(factors["light"][0], [first["light_ambient"], first["light_diffuse"], *first["light_direction"]])
    assert np.allclose(factors["view"][0], torch.cat([first["view_rotation"], first["view_translation"][:2]]))
    assert set(FACES_OWN_GROUPS["geom"]) | set(FACES_OWN_GROUPS["alb"]) <= set(classes)
    assert own_groups(factors) == FACES_OWN_GROUPS
    assert np.array_equal(classes["identity"], [int(item["labels"]["identity"]) for item in items])
    torch.manual_seed(0)
    report = factor_report(
        PhysDisModel(build_preset("tiny").model), images, factors, classes, own_groups=FACES_OWN_GROUPS
    )
    assert report.results["model"].groups == ["light", "view", *classes]
    with pytest.raises(InputError, match="items: expected at least one"):
        synthetic_factors([])


def test_ict_faces_are_probed_on_their_coefficients(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = build_preset("tiny", data_dir=str(tmp_path)).data
    test = build_splits(data.replace(dataset="synthetic-faces-ict")).test
    items = [test[i] for i in range(len(test))]
    images, factors, classes = synthetic_factors(items)
    assert {"shape", "expression", "albedo", "light", "view"} <= set(factors)
    assert np.array_equal(factors["shape"][3], np.asarray(items[3]["factors"]["shape"]))
    # the expression class gives way to the expression coefficients
    assert "expression" not in classes and "identity" in classes
    assert own_groups(factors) == OWN_GROUPS
