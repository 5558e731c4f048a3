"""Part-by-factor probe: planted factors land in the right cells, summaries, baselines, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from physdis_hub.config import ModelConfig, NetConfig
from physdis_hub.model import PhysDisModel
from physdis_hub.probes.cli import main
from physdis_hub.probes.factors import OWN_GROUPS, factor_probe, factor_report, split_indices

IDS, PER_ID = 20, 20
DIMS = {"shape": 5, "expression": 3, "albedo": 4, "light": 4, "view": 6}


def planted(seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Factors of 400 images (20 identities x 20) and part features built from them: geom mixes the
    shape and expression factors, alb the albedo, light the light, view the view, each through a
    random linear map into 12 dimensions, plus small noise. Shape is per identity, so geom carries
    identity; everything else is per image."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(IDS), PER_ID)
    factors = {
        "shape": rng.normal(size=(IDS, DIMS["shape"]))[ids],
        "expression": rng.normal(size=(len(ids), DIMS["expression"])),
        "albedo": rng.normal(size=(len(ids), DIMS["albedo"])),
        "light": rng.normal(size=(len(ids), DIMS["light"])),
        "view": rng.normal(size=(len(ids), DIMS["view"])),
    }

    def embed(*groups: str) -> np.ndarray:
        z = np.concatenate([factors[g] for g in groups], axis=1)
        return z @ rng.normal(size=(z.shape[1], 12)) + 0.01 * rng.normal(size=(len(ids), 12))

    parts = {
        "geom": embed("shape", "expression"),
        "alb": embed("albedo"),
        "light": embed("light"),
        "view": embed("view"),
    }
    return parts, factors, ids


def test_planted_factors_fill_the_diagonal_only() -> None:
    parts, factors, ids = planted()
    r = factor_probe(parts, factors, {"identity": ids})
    assert r.parts == ["geom", "alb", "light", "view"]
    assert r.groups == ["shape", "expression", "albedo", "light", "view", "identity"]
    assert r.kinds["identity"] == "accuracy" and r.kinds["shape"] == "r2"
    for part, owned in OWN_GROUPS.items():
        for group in DIMS:
            expected_high = group in owned
            assert (r.score(part, group) > 0.95) == expected_high, (part, group, r.score(part, group))
            if not expected_high:
                assert r.score(part, group) < 0.1
    # identity: carried by the part whose factor is per identity (shape), near chance elsewhere
    assert r.score("geom", "identity") > 0.6  # expression varies per image: a linear classifier of 20 ids
    assert max(r.score(p, "identity") for p in ("alb", "light", "view")) < 0.2
    assert r.chance["identity"] < 0.2
    assert r.informativeness > 0.95 and r.leakage < 0.03
    assert r.mean_abs_pcc is not None and r.mean_abs_pcc < 0.15  # independent factors: weakly correlated parts
    assert (r.n_train, r.n_test) == (300, 100)


def test_one_leaking_cell_is_found_where_it_is_and_counted_once() -> None:
    parts, factors, ids = planted()
    clean = factor_probe(parts, factors, {"identity": ids})
    # the light features now also carry the view (the view features still carry no light)
    leaky = dict(parts, light=np.concatenate([parts["light"], parts["view"]], axis=1))
    r = factor_probe(leaky, factors, {"identity": ids})
    assert r.score("light", "view") > 0.95 and r.score("view", "light") < 0.1  # not transposed
    # 4 parts x 5 owned groups = 20 cells, 5 of them own: the leakage is the mean of 15 cells
    assert r.leakage - clean.leakage == pytest.approx(
        (r.score("light", "view") - clean.score("light", "view")) / 15, abs=2e-3
    )
    assert r.informativeness == pytest.approx(clean.informativeness, abs=0.01)


def test_summaries_follow_the_owners_present_and_markdown_shows_the_matrix() -> None:
    parts, factors, ids = planted()
    pixels = np.concatenate(list(parts.values()), axis=1)
    r = factor_probe({"pixels": pixels}, factors, {"identity": ids})
    assert r.parts == ["pixels"] and r.informativeness is None and r.leakage is None and r.mean_abs_pcc is None
    assert min(r.matrix[0][:5]) > 0.95  # everything is in the concatenation
    text = factor_probe(parts, factors, {"identity": ids}).to_markdown()
    assert "| part | shape (r2) |" in text and "identity (accuracy)" in text and "| informativeness |" in text
    assert json.loads(r.to_json())["groups"][-1] == "identity"


def test_split_is_fixed_and_disjoint() -> None:
    train, test = split_indices(400, 0.25, seed=0)
    assert len(test) == 100 and not set(train) & set(test) and len(train) + len(test) == 400
    assert np.array_equal(test, split_indices(400, 0.25, seed=0)[1])
    assert not np.array_equal(test, split_indices(400, 0.25, seed=1)[1])


def test_bad_inputs_name_the_argument() -> None:
    parts, factors, ids = planted()
    with pytest.raises(ValueError, match=r"parts\['alb'\]"):
        factor_probe(dict(parts, alb=parts["alb"][:10]), factors)
    with pytest.raises(ValueError, match=r"factors\['light'\]"):
        factor_probe(parts, dict(factors, light=factors["light"][:10]))
    with pytest.raises(ValueError, match="at least one factor group"):
        factor_probe(parts)
    with pytest.raises(ValueError, match="give each group once"):
        factor_probe(parts, factors, {"shape": ids})
    with pytest.raises(ValueError, match="alpha"):
        factor_probe(parts, factors, alpha=0)
    with pytest.raises(ValueError, match="test_fraction"):
        factor_probe(parts, factors, test_fraction=1.0)


def test_report_has_the_model_and_both_baselines() -> None:
    torch.manual_seed(0)
    nets = NetConfig(
        depth_nf=16, albedo_nf=16, light_nf=4, view_nf=4, conf_nf=16, zdim=16, conf_zdim=16, use_conf=False
    )
    model = PhysDisModel(ModelConfig(nets=nets))
    g = torch.Generator().manual_seed(0)
    brightness = torch.rand(40, generator=g) * 0.8 + 0.2
    images = brightness[:, None, None, None] * torch.rand(40, 3, 64, 64, generator=g)
    report = factor_report(model, images, {"light": brightness.numpy()}, {"identity": np.arange(40) % 4})
    assert list(report.results) == ["model", "untrained", "pixels"]
    assert report.results["model"].parts == ["geom", "alb", "light", "view"]
    assert report.results["pixels"].parts == ["pixels"]
    assert report.results["pixels"].score("pixels", "light") > 0.5  # brightness is linear in the pixels
    assert "| model |" in report.to_markdown() and "| pixels |" in report.to_markdown()


def test_cli_reads_parts_and_factor_files(tmp_path, capsys) -> None:
    parts, factors, ids = planted()
    feats, facs, out = tmp_path / "f.npz", tmp_path / "factors.npz", tmp_path / "r.json"
    np.savez(feats, **parts)
    np.savez(facs, identity=ids, **factors)
    assert main(["probe", "factors", "--features", str(feats), "--factors", str(facs), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| part | shape (r2) |") and "identity (accuracy)" in printed
    result = json.loads(out.read_text())
    assert result["informativeness"] > 0.95 and result["kinds"]["identity"] == "accuracy"
    with pytest.raises(SystemExit, match="--classes"):
        main(["probe", "factors", "--features", str(feats), "--factors", str(facs), "--classes", "age"])


@pytest.mark.parametrize("d", [6, 40])  # primal (fewer features than samples) and dual
def test_ridge_matches_the_closed_form(d: int) -> None:
    from physdis_hub.probes.factors import _Ridge

    rng = np.random.default_rng(1)
    x, y, x_test = rng.normal(size=(20, d)), rng.normal(size=(20, 3)), rng.normal(size=(5, d))
    for alpha in (0.1, 10.0):
        xc, yc = x - x.mean(0), y - y.mean(0)  # the intercept, written as centring
        w = np.linalg.solve(xc.T @ xc + alpha * np.eye(d), xc.T @ yc)
        expected = (x_test - x.mean(0)) @ w + y.mean(0)
        # _Ridge fits on features the probe has centred already (standardised on the training split)
        got = _Ridge(xc).predict(y, x_test - x.mean(0), alpha)
        assert np.allclose(got, expected, atol=1e-8)


def test_the_penalty_is_chosen_per_cell_or_fixed() -> None:
    parts, factors, ids = planted()
    chosen = factor_probe(parts, factors, {"identity": ids})
    assert len(chosen.alphas) == 4 and all(len(row) == 6 for row in chosen.alphas)
    fixed = factor_probe(parts, factors, {"identity": ids}, alpha=3.0)
    assert {a for row in fixed.alphas for a in row} == {3.0}
