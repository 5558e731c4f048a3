"""LOOCC: NT-Xent by hand, sampling ranges, leave-one-out selection, exact re-rendering, gradients."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from physdis_hub.losses import nt_xent
from physdis_hub.model import PhysDisModel
from physdis_hub.scene import encode_light, encode_view
from training.data import collate_images
from training.loocc import (
    LooccConfig,
    Perturbation,
    apply_perturbation,
    contrastive_loss,
    loocc_loss,
    sample_perturbation,
)
from training.presets import build_preset


def hand_nt_xent(z1: list[list[float]], z2: list[list[float]], tau: float) -> float:
    """SimCLR's loss written out: mean over the 2N anchors of -log(exp(s+/tau) / sum_{k != i} exp(s_ik/tau))."""

    def cos(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b))
        return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    rows, n = z1 + z2, len(z1)
    total = 0.0
    for i, anchor in enumerate(rows):
        positive = (i + n) % (2 * n)
        denominator = sum(math.exp(cos(anchor, rows[k]) / tau) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(cos(anchor, rows[positive]) / tau) / denominator)
    return total / (2 * n)


def test_nt_xent_matches_hand_computation() -> None:
    # N = 2 in 2-d, rows a0 = (1, 0), a1 = (0, 1), b0 = (1, 1)/sqrt2, b1 = (1, -1)/sqrt2, tau = 0.5, c = 1/sqrt2.
    # a0: positive b0 (cos c), negatives a1 (0) and b1 (c)  -> -log(e^{2c} / (1 + e^{2c} + e^{2c}))
    # a1: positive b1 (cos -c), negatives a0 (0) and b0 (c) -> -log(e^{-2c} / (1 + e^{2c} + e^{-2c}))
    # b0 and b1 mirror a0 and a1; the loss is the mean over the four anchors.
    z1, z2 = [[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, -1.0]]
    c = 1 / math.sqrt(2)
    loss_a0 = -math.log(math.exp(2 * c) / (1 + 2 * math.exp(2 * c)))
    loss_a1 = -math.log(math.exp(-2 * c) / (1 + math.exp(2 * c) + math.exp(-2 * c)))
    expected = (2 * loss_a0 + 2 * loss_a1) / 4
    assert expected == pytest.approx(1.95018, abs=1e-5)
    assert hand_nt_xent(z1, z2, 0.5) == pytest.approx(expected)
    got = nt_xent(torch.tensor(z1), torch.tensor(z2), temperature=0.5).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_nt_xent_three_vectors_any_temperature() -> None:
    z1 = [[0.3, -1.2, 2.0], [1.5, 0.1, -0.4], [-0.7, 0.9, 0.2]]
    z2 = [[0.1, -1.0, 2.2], [1.0, 0.5, -0.1], [0.4, 0.4, 0.4]]
    for tau in (0.5, 0.1, 2.0):
        assert nt_xent(torch.tensor(z1), torch.tensor(z2), tau).item() == pytest.approx(
            hand_nt_xent(z1, z2, tau), rel=1e-5
        )


# -- sampling ----------------------------------------------------------------------------------


def test_sampling_ranges_and_variants() -> None:
    g = torch.Generator().manual_seed(0)
    assert sample_perturbation(LooccConfig(variant="none"), 8, g) is None
    kinds = []
    for _ in range(200):
        p = sample_perturbation(LooccConfig(variant="LV"), 16, g)
        kinds.append(p.kind)
        d = p.deltas
        if p.kind == "light":
            assert set(d) == {"ambient", "diffuse", "pitch", "yaw"}
            assert d["ambient"].abs().max() <= 0.5 and d["diffuse"].abs().max() <= 0.5
            assert d["pitch"].abs().max() <= math.radians(45) and d["yaw"].abs().max() <= math.radians(45)
        else:
            assert set(d) == {"pitch", "yaw"}
            assert d["pitch"].abs().max() <= math.radians(22.5) and d["yaw"].abs().max() <= math.radians(45)
    assert 60 < kinds.count("light") < 140  # one fair coin per batch
    assert all(sample_perturbation(LooccConfig(variant="L"), 4, g).kind == "light" for _ in range(20))
    # the ranges are used, not just respected
    many = torch.cat([sample_perturbation(LooccConfig(variant="L"), 512, g).deltas["yaw"] for _ in range(4)])
    assert many.abs().max() > math.radians(44)


def test_sampling_is_reproducible_from_the_generator() -> None:
    a = sample_perturbation(LooccConfig(variant="LV"), 8, torch.Generator().manual_seed(3))
    b = sample_perturbation(LooccConfig(variant="LV"), 8, torch.Generator().manual_seed(3))
    assert a.kind == b.kind and all(torch.equal(a.deltas[k], b.deltas[k]) for k in a.deltas)
    g = torch.Generator().manual_seed(5)
    state = g.get_state()
    sample_perturbation(LooccConfig(variant="none"), 8, g)
    assert torch.equal(g.get_state(), state)  # variant none draws nothing


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="variant"):
        LooccConfig(variant="V")
    with pytest.raises(ValueError, match="light_mode"):
        LooccConfig(light_mode="polar")
    with pytest.raises(ValueError, match="style"):
        LooccConfig(style="paper")
    assert LooccConfig().light_perturbation == "angles" and LooccConfig(style="code").light_perturbation == "vector"
    assert LooccConfig(style="code", light_mode="angles").light_perturbation == "angles"
    assert LooccConfig.from_dict(LooccConfig(style="code").to_dict()) == LooccConfig(style="code")
    with pytest.raises(ValueError, match="temperature"):
        LooccConfig(temperature=0)
    with pytest.raises(ValueError, match="batch_size"):
        sample_perturbation(LooccConfig(variant="L"), 0, torch.Generator())


# -- applying a perturbation to predicted scenes -------------------------------------------------


@pytest.fixture(scope="module")
def model() -> PhysDisModel:
    torch.manual_seed(0)
    return PhysDisModel(build_preset("tiny").model)


@pytest.fixture(scope="module")
def images(tiny_splits) -> torch.Tensor:  # type: ignore[no-untyped-def]
    return collate_images([tiny_splits.train[i] for i in range(6)]) * 2 - 1


def test_light_perturbation_changes_only_light(model, images) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        scene = model.decode_scene(model._encode(images))
    n = scene.batch_size
    p = Perturbation(
        "light",
        {
            "ambient": torch.full((n,), 0.1),
            "diffuse": torch.full((n,), -0.05),
            "pitch": torch.full((n,), 0.2),
            "yaw": torch.full((n,), -0.3),
        },
    )
    cfg = LooccConfig(variant="L")
    out = apply_perturbation(scene, p, model.config.scene, cfg)
    assert out.depth is scene.depth and out.albedo is scene.albedo and out.view is scene.view
    lo, hi = model.config.scene.amb_range
    assert torch.allclose(out.light.ambient, (scene.light.ambient + 0.1).clamp(lo, hi))
    lo, hi = model.config.scene.diff_range
    assert torch.allclose(out.light.diffuse, (scene.light.diffuse - 0.05).clamp(lo, hi))
    pitch0, yaw0 = scene.light.angles()
    pitch1, yaw1 = out.light.angles()
    assert torch.allclose(pitch1 - pitch0, torch.full((n,), 0.2), atol=1e-5)
    assert torch.allclose(yaw1 - yaw0, torch.full((n,), -0.3), atol=1e-5)
    assert torch.allclose(out.light.direction.norm(dim=1), torch.ones(n))


def test_light_perturbation_clamps_to_the_model_ranges(model, images) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        scene = model.decode_scene(model._encode(images))
    n = scene.batch_size
    p = Perturbation(
        "light",
        {
            "ambient": torch.full((n,), 5.0),
            "diffuse": torch.full((n,), -5.0),
            "pitch": torch.full((n,), 3.0),
            "yaw": torch.full((n,), -3.0),
        },
    )
    out = apply_perturbation(scene, p, model.config.scene, LooccConfig(variant="L"))
    assert torch.all(out.light.ambient == model.config.scene.amb_range[1])
    assert torch.all(out.light.diffuse == model.config.scene.diff_range[0])
    pitch, yaw = out.light.angles()
    assert torch.allclose(pitch, torch.full((n,), math.radians(85)), atol=1e-5)
    assert torch.allclose(yaw, torch.full((n,), -math.radians(85)), atol=1e-5)


def test_light_vector_mode_of_the_public_code(model, images) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        scene = model.decode_scene(model._encode(images))
    cfg = LooccConfig(variant="L", style="code")
    assert cfg.light_perturbation == "vector"  # the code style's own light perturbation
    p = sample_perturbation(cfg, scene.batch_size, torch.Generator().manual_seed(0))
    assert set(p.deltas) == {"ambient", "diffuse", "direction"}
    assert p.deltas["direction"].abs().max() <= math.pi / 8
    # the public code adds U(+-0.5) to both intensities and U(+-pi/8) to each direction component,
    # and neither renormalises the vector nor clamps the intensities to the decoder's ranges
    wide = {
        **p.deltas,
        "ambient": torch.full((scene.batch_size,), 0.5),
        "diffuse": torch.full((scene.batch_size,), -0.5),
    }
    out = apply_perturbation(scene, Perturbation("light", wide), model.config.scene, cfg)
    assert torch.equal(out.light.direction, scene.light.direction + p.deltas["direction"])
    assert torch.equal(out.light.ambient, scene.light.ambient + 0.5)
    assert torch.equal(out.light.diffuse, scene.light.diffuse - 0.5)
    assert (out.light.direction.norm(dim=1) - 1).abs().max() > 0.01  # not unit any more
    # the text style clamps the same intensities to the ranges
    text = apply_perturbation(
        scene, Perturbation("light", wide), model.config.scene, LooccConfig(variant="L", light_mode="vector")
    )
    assert torch.all(text.light.ambient <= model.config.scene.amb_range[1])
    assert torch.all(text.light.diffuse >= model.config.scene.diff_range[0])


def authors_supcon(features: list[list[list[float]]], temperature: float, base_temperature: float) -> float:
    """SupConLoss of pdr/contrastive_loss.py without labels, written out from reading it: ``features``
    is ``[bsz][n_views][D]``; the anchors are all ``bsz * n_views`` rows (view-major), logits are raw
    dot products over ``temperature``, each anchor's positives are the other views of its sample
    (self excluded from numerator and denominator), and the loss is
    ``-(temperature / base_temperature) * mean log-probability of the positives``, averaged over anchors."""
    bsz, views = len(features), len(features[0])
    rows = [features[i][v] for v in range(views) for i in range(bsz)]
    total = 0.0
    for a, anchor in enumerate(rows):
        logits = [sum(x * y for x, y in zip(anchor, other)) / temperature for other in rows]
        log_denominator = math.log(sum(math.exp(v) for k, v in enumerate(logits) if k != a))
        positives = [k for k in range(len(rows)) if k != a and k % bsz == a % bsz]
        mean_log_prob = sum(logits[k] - log_denominator for k in positives) / len(positives)
        total += -(temperature / base_temperature) * mean_log_prob
    return total / len(rows)


def test_code_style_loss_is_the_authors_supcon_on_unnormalised_features() -> None:
    g = torch.Generator().manual_seed(3)
    z, z_aug = torch.rand(5, 7, generator=g) * 2, torch.rand(5, 7, generator=g) * 2  # norms far from 1
    features = torch.stack([z, z_aug], dim=1).double().tolist()
    for temperature in (0.5, 0.9):
        cfg = LooccConfig(variant="L", style="code", temperature=temperature)
        got = contrastive_loss(z.double(), z_aug.double(), cfg).item()
        assert got == pytest.approx(authors_supcon(features, temperature, 0.07), rel=1e-10)
    text = contrastive_loss(z.double(), z_aug.double(), LooccConfig(variant="L")).item()
    assert text == pytest.approx(hand_nt_xent(z.double().tolist(), z_aug.double().tolist(), 0.5), rel=1e-10)
    # the code's loss grows with the feature norms; the text's is blind to them
    code = LooccConfig(variant="L", style="code")
    assert contrastive_loss(3 * z, 3 * z_aug, code) != pytest.approx(contrastive_loss(z, z_aug, code).item())
    assert contrastive_loss(3 * z, 3 * z_aug, LooccConfig()).item() == pytest.approx(text, rel=1e-5)


def test_view_perturbation_changes_only_pitch_and_yaw(model, images) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        scene = model.decode_scene(model._encode(images))
    p = sample_perturbation(LooccConfig(variant="LV"), scene.batch_size, torch.Generator().manual_seed(1))
    while p.kind != "view":
        p = sample_perturbation(LooccConfig(variant="LV"), scene.batch_size, torch.Generator().manual_seed(2))
    out = apply_perturbation(scene, p, model.config.scene, LooccConfig(variant="LV"))
    assert out.depth is scene.depth and out.albedo is scene.albedo and out.light is scene.light
    assert torch.equal(out.view.translation, scene.view.translation)
    delta = out.view.rotation - scene.view.rotation
    assert torch.allclose(delta[:, 0], p.deltas["pitch"]) and torch.allclose(delta[:, 1], p.deltas["yaw"])
    assert torch.equal(delta[:, 2], torch.zeros_like(delta[:, 2]))
    assert delta[:, 0].abs().max() <= math.radians(22.5) and delta[:, 1].abs().max() <= math.radians(45)


def test_zero_perturbation_rerenders_the_reconstruction_exactly(model, images) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        out = model(images)
        n = images.shape[0]
        zeros = torch.zeros(n)
        for p in (
            Perturbation("view", {"pitch": zeros, "yaw": zeros}),
            Perturbation("light", {"ambient": zeros, "diffuse": zeros, "pitch": zeros, "yaw": zeros}),
        ):
            result = loocc_loss(model, out.scene, out.features, p, LooccConfig(variant="LV"))
            assert torch.allclose(result.augmented, out.rendering.image[:n], atol=1e-6)
            # the reconstruction the model is trained on is this image under the joint (flip) mask
            assert torch.allclose(result.augmented * out.mask[:n], out.reconstruction[:n], atol=1e-6)
            # the re-rendering is encoded by the encoders of the three unchanged parts only
            assert set(result.features) == set(p.unchanged_parts)
            for q in p.unchanged_parts:
                assert torch.equal(result.features[q], model._encode(result.augmented, [q])[q])


def test_rerendering_differs_only_through_the_perturbed_parameter(model, images) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        scene = model.decode_scene(model._encode(images))
        base = model.renderer.render(scene)
        n = scene.batch_size
        light = Perturbation(
            "light",
            {
                "ambient": torch.full((n,), 0.2),
                "diffuse": torch.full((n,), 0.3),
                "pitch": torch.full((n,), 0.5),
                "yaw": torch.full((n,), 0.5),
            },
        )
        relit = model.renderer.render(apply_perturbation(scene, light, model.config.scene, LooccConfig(variant="L")))
        # new light: same geometry seen from the same view (depth, mask, normals), new shading
        assert torch.equal(relit.depth, base.depth) and torch.equal(relit.mask, base.mask)
        assert torch.equal(relit.normal, base.normal)
        assert not torch.allclose(relit.shading, base.shading)
        view = Perturbation("view", {"pitch": torch.full((n,), 0.3), "yaw": torch.full((n,), 0.6)})
        posed = model.renderer.render(apply_perturbation(scene, view, model.config.scene, LooccConfig(variant="LV")))
        # new view: the same canonical (frontal) image and shading, seen from elsewhere
        assert torch.equal(posed.canonical, base.canonical) and torch.equal(posed.shading, base.shading)
        assert not torch.allclose(posed.image, base.image)


def _perturbation_of_kind(cfg: LooccConfig, n: int, kind: str) -> Perturbation:
    """The first perturbation of ``kind`` drawn from a generator seeded 0."""
    g = torch.Generator().manual_seed(0)
    p = sample_perturbation(cfg, n, g)
    while p is not None and p.kind != kind:
        p = sample_perturbation(cfg, n, g)
    assert p is not None
    return p


@pytest.mark.parametrize("kind", ["light", "view"])
def test_loss_is_nt_xent_over_the_three_unchanged_parts(model, images, kind) -> None:  # type: ignore[no-untyped-def]
    cfg = LooccConfig(variant="LV")
    p = _perturbation_of_kind(cfg, images.shape[0], kind)
    with torch.no_grad():
        out = model(images)
        result = loocc_loss(model, out.scene, out.features, p, cfg)
    keep = [q for q in ("geom", "alb", "light", "view") if q != kind]
    assert p.unchanged_parts == tuple(keep)
    z = torch.cat([out.features[q] for q in keep], 1).double().tolist()
    z_aug = torch.cat([result.features[q] for q in keep], 1).double().tolist()
    assert result.loss.item() == pytest.approx(hand_nt_xent(z, z_aug, 0.5), rel=1e-4)


@pytest.mark.parametrize("kind", ["light", "view"])
def test_contrastive_gradients_reach_all_four_encoders(model, images, kind) -> None:  # type: ignore[no-untyped-def]
    cfg = LooccConfig(variant="LV")
    p = _perturbation_of_kind(cfg, images.shape[0], kind)
    model.zero_grad(set_to_none=True)
    out = model(images)
    loocc_loss(model, out.scene, out.features, p, cfg).loss.backward()
    for part, encoder in model.part_encoders().items():
        grads = [q.grad for q in encoder.parameters()]
        assert all(gr is not None for gr in grads), part
        assert sum(float(gr.abs().sum()) for gr in grads) > 0, part
    model.zero_grad(set_to_none=True)


def test_perturbation_rows_and_batch_checks(model, images) -> None:  # type: ignore[no-untyped-def]
    p = sample_perturbation(LooccConfig(variant="L"), 8, torch.Generator().manual_seed(0))
    half = p.rows(slice(1, None, 2))
    assert half.batch_size == 4 and torch.equal(half.deltas["yaw"], p.deltas["yaw"][1::2])
    with torch.no_grad():
        scene = model.decode_scene(model._encode(images))
    with pytest.raises(ValueError, match="perturbation"):
        apply_perturbation(scene, p, model.config.scene, LooccConfig(variant="L"))
    with pytest.raises(ValueError, match="perturbation.kind"):
        apply_perturbation(
            scene, dataclasses.replace(p.rows(slice(0, 6)), kind="albedo"), model.config.scene, LooccConfig()
        )


@pytest.mark.parametrize("kind", ["light", "view"])
def test_reusing_the_rendering_changes_nothing(model, images, kind) -> None:  # type: ignore[no-untyped-def]
    # a light perturbation relights the forward pass's rendering instead of rasterizing again
    cfg = LooccConfig(variant="LV")
    p = _perturbation_of_kind(cfg, images.shape[0], kind)
    results = []
    for rendering in (False, True):
        model.zero_grad(set_to_none=True)
        out = model(images)
        result = loocc_loss(model, out.scene, out.features, p, cfg, rendering=out.rendering if rendering else None)
        result.loss.backward()
        results.append((result, [q.grad.clone() for q in model.parameters() if q.grad is not None]))
    (plain, plain_grads), (reused, reused_grads) = results
    assert torch.equal(reused.augmented, plain.augmented)
    torch.testing.assert_close(reused.loss, plain.loss, rtol=0, atol=0)
    for got, want in zip(reused_grads, plain_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    model.zero_grad(set_to_none=True)


# -- the cycle term (an extension, off by default) -------------------------------------------------


def test_cycle_term_is_off_by_default(model, images) -> None:  # type: ignore[no-untyped-def]
    cfg = LooccConfig(variant="LV")
    with torch.no_grad():
        out = model(images)
        result = loocc_loss(model, out.scene, out.features, _perturbation_of_kind(cfg, images.shape[0], "light"), cfg)
    assert cfg.cycle_weight == 0 and result.cycle is None
    with pytest.raises(ValueError, match="cycle_weight"):
        LooccConfig(cycle_weight=-1)


@pytest.mark.parametrize("kind", ["light", "view"])
def test_cycle_term_reads_the_perturbation_back(model, images, kind) -> None:  # type: ignore[no-untyped-def]
    cfg = LooccConfig(variant="LV", cycle_weight=1.0)
    p = _perturbation_of_kind(cfg, images.shape[0], kind)
    with torch.no_grad():
        out = model(images)
        result = loocc_loss(model, out.scene, out.features, p, cfg)
        net = model.part_networks()[kind]
        scene_cfg = model.config.scene
        target = (
            encode_light(result.scene.light, scene_cfg)
            if kind == "light"
            else encode_view(result.scene.view, scene_cfg)
        )
        expected = (net(result.augmented) - target).abs().mean()
    assert result.cycle is not None
    torch.testing.assert_close(result.cycle, expected)


@pytest.mark.parametrize("kind", ["light", "view"])
def test_cycle_gradients_reach_only_the_perturbed_part(model, images, kind) -> None:  # type: ignore[no-untyped-def]
    cfg = LooccConfig(variant="LV", cycle_weight=1.0)
    p = _perturbation_of_kind(cfg, images.shape[0], kind)
    model.zero_grad(set_to_none=True)
    out = model(images)
    result = loocc_loss(model, out.scene, out.features, p, cfg)
    assert result.cycle is not None
    result.cycle.backward()
    for part, net in model.part_networks().items():
        grads = [q.grad for q in net.parameters() if q.grad is not None]
        moved = sum(float(g.abs().sum()) for g in grads)
        assert (moved > 0) == (part == kind), part
    model.zero_grad(set_to_none=True)
