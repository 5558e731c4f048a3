"""The cars category: body classes give different shapes; wheels and glass show in the albedo."""

from __future__ import annotations

import numpy as np
import torch

from physdis_hub.data.cars import BODY_CLASSES, SyntheticCars
from physdis_hub.render import Camera


def _canonical(cat: SyntheticCars, ident: dict) -> object:  # type: ignore[type-arg]
    tensors = {
        k: torch.as_tensor(v).float() if np.asarray(v).dtype.kind == "f" else torch.as_tensor(v)
        for k, v in ident.items()
    }
    return cat.canonical(tensors, {}, Camera(64, 10.0))


def test_body_classes_differ_in_silhouette_and_depth() -> None:
    cat = SyntheticCars()
    ident = cat.sample_identities(np.random.default_rng(0), 60)
    firsts = [int(np.flatnonzero(ident["body"] == b)[0]) for b in range(len(BODY_CLASSES))]
    canon = _canonical(cat, {k: v[firsts] for k, v in ident.items()})
    for i in range(3):
        for j in range(i + 1, 3):
            assert (canon.object_mask[i] ^ canon.object_mask[j]).sum() > 20
    assert canon.object_mask[:, 40:, :].any()
    # the paint colour covers much of the car; glass and tyres are darker
    on = canon.object_mask[0]
    paint = torch.as_tensor(ident["paint"][firsts[0]]).float()
    close = ((canon.albedo[0][:, on] - paint[:, None]).abs().max(0).values < 1e-4).float().mean()
    assert 0.2 < close < 0.9


def test_cars_have_no_per_image_factors() -> None:
    assert SyntheticCars().sample_image_factors(np.random.default_rng(0), 5) == {}


def test_cars_record_their_shape_and_paint_as_factors() -> None:
    cat = SyntheticCars()
    ident = cat.sample_identities(np.random.default_rng(1), 7)
    factors = cat.factors(ident, {})
    assert {k: v.shape for k, v in factors.items()} == {"shape": (7, 16), "albedo": (7, 3)}
    assert {k: len(v) for k, v in cat.factor_names.items()} == {"shape": 16, "albedo": 3}
    assert np.allclose(factors["albedo"], ident["paint"])
    names = cat.factor_names["shape"]
    assert np.allclose(factors["shape"][:, names.index("width")], ident["dims"][:, 1])
    assert np.allclose(factors["shape"][:, names.index("roof_height_2")], ident["roof"][:, 2, 1])
    # every column varies between cars (the roof's fixed ends are left out)
    many = cat.factors(cat.sample_identities(np.random.default_rng(2), 200), {})
    assert (many["shape"].std(0) > 1e-4).all() and (many["albedo"].std(0) > 1e-3).all()
