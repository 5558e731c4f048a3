import typing

import pytest
import torch
import tqdm.std

from physdis_hub.config import ModelConfig
from physdis_hub.errors import UnknownNameError
from physdis_hub.losses import ReconstructionLoss
from physdis_hub.model import PhysDisModel

from .helpers import face_like_scene, small_config


def test_forward_shapes_and_dtypes(small_cfg) -> None:
    model = PhysDisModel(small_cfg)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    out = model(x)
    assert out.reconstruction.shape == (6, 3, 64, 64) and out.reconstruction.dtype == torch.float32
    assert out.mask.shape == (6, 1, 64, 64)
    assert torch.equal(out.mask[:3], out.mask[3:])
    assert {k: v.shape for k, v in out.features.items()} == {p: (3, 256) for p in ("geom", "alb", "light", "view")}
    assert out.scene.depth.shape == (3, 64, 64) and out.confidence is None
    loss = ReconstructionLoss(small_cfg)(out, x)
    assert set(loss) == {"l1", "l1_flip", "total"} and torch.isfinite(loss["total"])


def test_forward_rejects_bad_input(small_cfg) -> None:
    model = PhysDisModel(small_cfg)
    with pytest.raises(ValueError, match=r"x: expected a \(B, 3, 64, 64\)"):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="x: empty batch"):
        model(torch.rand(0, 3, 64, 64))


def test_extract_runs_only_down_paths_and_matches_forward(small_cfg) -> None:
    model = PhysDisModel(small_cfg).eval()
    images = torch.rand(4, 3, 64, 64)
    feats = model.extract(images, parts=["alb", "geom"], as_dict=True)
    full = model(images * 2 - 1).features
    for part in ("alb", "geom"):
        torch.testing.assert_close(feats[part], full[part])
    cat = model.extract(images, parts=["alb", "geom"])
    torch.testing.assert_close(cat, torch.cat([full["alb"], full["geom"]], 1))
    with pytest.raises(ValueError, match="parts"):
        model.extract(images, parts=["shape"])


def test_decompose_and_render_round_trip(small_cfg) -> None:
    model = PhysDisModel(small_cfg).eval()
    dec = model.decompose(torch.rand(2, 3, 64, 64))
    assert dec.reconstruction.shape == (2, 3, 64, 64)
    assert 0 <= dec.reconstruction.min() and dec.reconstruction.max() <= 1
    again = model.render(dec.scene)
    torch.testing.assert_close(again, dec.reconstruction)


def test_extract_is_typed_per_as_dict() -> None:
    """Type checkers see a Tensor for ``as_dict=False`` and a dict for ``as_dict=True``."""
    overloads = typing.get_overloads(PhysDisModel.extract)
    annotations = [(f.__annotations__["as_dict"], f.__annotations__["return"]) for f in overloads]
    assert annotations == [("Literal[False]", "torch.Tensor"), ("Literal[True]", "dict[str, torch.Tensor]")]


def test_render_takes_a_light_by_name_or_angles(small_cfg) -> None:
    model = PhysDisModel(small_cfg).eval()
    scene = model.decompose(torch.rand(2, 3, 64, 64), align=False).scene
    left = model.render(scene, light="left")
    torch.testing.assert_close(left, model.render(scene, light=scene.light.turned("left")))
    torch.testing.assert_close(left, model.render(scene, light=(0.0, 45.0)))
    assert not torch.allclose(left, model.render(scene, light="right"))
    with pytest.raises(UnknownNameError, match="did you mean 'left'"):
        model.render(scene, light="lefft")


def test_extract_progress_bar_advances_with_the_work(small_cfg) -> None:
    """The bar is open while the batches are encoded (a list of the chunks would run it to the end,
    and close it, before the first forward pass)."""
    model = PhysDisModel(small_cfg).eval()
    seen: list[int] = []

    def record(*_: object) -> None:
        bars = [bar for bar in list(tqdm.std.tqdm._instances) if bar.desc == "extract"]
        seen.append(bars[0].total if bars else 0)

    model.depth_net.encoder.register_forward_hook(record)
    model.extract(torch.rand(10, 3, 64, 64), parts=["geom"], batch_size=2, progress=True, align=False)
    assert seen == [5] * 5


def test_true_scene_reconstructs_its_image(small_cfg) -> None:
    """An object rendered from its scene parameters is reconstructed from those parameters, and,
    since it is left-right symmetric, from the flipped canonical depth and albedo as well."""
    model = PhysDisModel(small_cfg)
    scene = face_like_scene(2, yaw_deg=20.0, pitch_deg=-8.0)
    scene.albedo = (scene.albedo + scene.albedo.flip(-1)) / 2  # symmetric object
    image = model.renderer.render(scene).image
    _, recon, mask = model.reconstruct(scene)
    torch.testing.assert_close(recon[:2], image * mask[:2], atol=1e-6, rtol=0)
    torch.testing.assert_close(recon[2:], image * mask[2:], atol=2e-4, rtol=0)
    assert mask[:2].mean() > 0.8


@pytest.mark.parametrize(
    ("batch", "lr", "steps", "ratio"),
    [(4, 3e-3, 15, 0.8), pytest.param(8, 1e-3, 150, 0.5, marks=pytest.mark.slow)],
    ids=["15-steps", "150-steps"],
)
def test_tiny_model_overfits_a_batch(batch: int, lr: float, steps: int, ratio: float) -> None:
    """The reconstruction loss of one batch falls under training: by 20% in 15 steps (seconds),
    by half in 150 (minutes on a shared CPU: marked slow)."""
    torch.manual_seed(0)
    cfg = small_config()
    model = PhysDisModel(cfg)
    loss_fn = ReconstructionLoss(cfg)
    scene = face_like_scene(batch, yaw_deg=10.0)
    scene.albedo = scene.albedo * torch.linspace(0.3, 1.0, batch).view(batch, 1, 1, 1)
    rendering = model.renderer.render(scene)
    target = (rendering.image + (1 - rendering.mask) * -0.5).detach()  # grey background
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(target), target)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last <= ratio * first, (first, last)


def test_calibrate_weighs_every_part_the_same_and_raw_features_stay_available(small_cfg) -> None:
    model = PhysDisModel(small_cfg).eval()
    images = torch.rand(12, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    raw = model.extract(images, parts=["geom", "alb"], as_dict=True, align=False)
    assert model.config.part_scales is None  # uncalibrated: extract gives the raw features
    assert model.calibrate(images, align=False) is model
    assert model.config.part_scales is not None and len(model.config.part_scales) == 4
    scaled = model.extract(images, parts=["geom", "alb"], as_dict=True, align=False)
    for part in ("geom", "alb"):
        assert float(scaled[part].std(0).mean()) == pytest.approx(1.0, rel=1e-5)
        torch.testing.assert_close(scaled[part] * raw[part].std(0).mean(), raw[part], rtol=1e-4, atol=1e-6)
    unscaled = model.extract(images, parts=["geom", "alb"], align=False, scale_parts=False)
    torch.testing.assert_close(unscaled, torch.cat([raw["geom"], raw["alb"]], 1))
    assert ModelConfig.from_dict(model.config.to_dict()) == model.config  # survives save and load
    with pytest.raises(ValueError, match="at least 2 images, got 1"):
        PhysDisModel(small_cfg).calibrate(images[:1], align=False)
