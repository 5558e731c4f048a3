"""Cross-part Pearson correlation statistic."""

from __future__ import annotations

import numpy as np
import pytest

from physdis_hub.probes.disentangle import cross_correlation, part_correlation


def test_independent_parts_score_near_zero():
    rng = np.random.default_rng(0)
    parts = {p: rng.normal(size=(4000, 64)) for p in ("geom", "alb", "light", "view")}
    r = part_correlation(parts)
    assert len(r.pairs) == 6
    assert r.mean_abs_pcc == pytest.approx(np.sqrt(2 / (np.pi * 4000)), rel=0.1)  # E|r| under independence
    assert r.mean_abs_pcc < 0.02


def test_a_linear_copy_of_a_correlated_part_scores_near_one():
    rng = np.random.default_rng(0)
    factor = rng.normal(size=(1000, 1))
    geom = factor @ rng.uniform(0.5, 2.0, size=(1, 32)) + 0.02 * rng.normal(size=(1000, 32))
    alb = geom @ rng.uniform(0.0, 1.0, size=(32, 48)) + 3.0  # a linear (affine) copy with 48 dims
    light = rng.normal(size=(1000, 16))
    r = part_correlation({"geom": geom, "alb": alb, "light": light})
    assert r.pairs["geom-alb"] > 0.99
    assert r.pairs["geom-light"] < 0.05 and r.pairs["alb-light"] < 0.05


def test_per_dimension_affine_maps_and_permutations_leave_the_statistic_unchanged():
    rng = np.random.default_rng(1)
    p = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    q = p[:, ::-1] * np.array([2.0, -1.0, 0.5, 3.0, -4.0, 1.0]) + 7.0
    r = part_correlation({"p": p, "q": q})
    assert r.mean_abs_pcc == pytest.approx(np.abs(np.corrcoef(p, rowvar=False)).mean())


def test_matches_numpy_corrcoef_and_drops_constant_dimensions():
    rng = np.random.default_rng(2)
    p, q = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    p_dead = np.concatenate([p, np.zeros((50, 2))], axis=1)  # two dead ReLU units
    full = np.corrcoef(p, q, rowvar=False)[:3, 3:]
    assert np.allclose(cross_correlation(p_dead, q), full)
    r = part_correlation({"geom": p_dead, "alb": q})
    assert r.constant_dims == {"geom": 2, "alb": 0}
    assert r.mean_abs_pcc == pytest.approx(np.abs(full).mean())


def test_hand_computed_pair():
    p = np.array([[1.0], [2.0], [3.0]])
    q = np.array([[1.0, 3.0], [2.0, 1.0], [3.0, 2.0]])  # r = 1 and r = -0.5
    assert part_correlation({"p": p, "q": q}).mean_abs_pcc == pytest.approx((1 + 0.5) / 2)


@pytest.mark.parametrize(
    "parts, match",
    [
        ({"geom": np.ones((5, 2))}, "parts: expected a mapping of at least 2 part"),
        ({"geom": np.ones((5, 2)), "alb": np.eye(5)}, r"parts\['geom'\]: every dimension is constant"),
        ({"geom": np.eye(5), "alb": np.eye(4)}, r"parts\['alb'\]: 4 samples"),
        ({"geom": np.eye(5), "alb": np.full((5, 5), np.nan)}, r"parts\['alb'\]: 5 row\(s\) contain NaN"),
        ({"geom": np.ones((1, 2)), "alb": np.ones((1, 2))}, "need at least 2 samples"),
    ],
)
def test_degenerate_inputs_raise(parts, match):
    with pytest.raises(ValueError, match=match):
        part_correlation(parts)
