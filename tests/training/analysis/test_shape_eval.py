import math

import numpy as np
import pytest
import torch

from physdis_hub.config import ModelConfig
from physdis_hub.render import Camera
from physdis_hub.scene import Light, SceneParams, View
from training.analysis.shape_eval import (
    depth_errors,
    high_frequency_rms,
    identity_share,
    null_depth_scores,
    parameter_agreement,
    ratios_to_null,
    relief_slope,
    remove_best_plane,
)

CAMERA = Camera(64, ModelConfig().scene.fov_deg)


def _bump(n: int = 3) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    scale = torch.linspace(0.03, 0.06, n)[:, None, None]
    return 1.0 - scale * torch.exp(-((xs - 31.5) ** 2 + (ys - 31.5) ** 2) / 200)


def test_depth_errors_are_zero_for_the_truth_and_scale_invariant() -> None:
    gt, mask = _bump(), torch.ones(3, 1, 64, 64)
    assert depth_errors(gt, gt, mask, CAMERA) == pytest.approx(
        {"side": 0.0, "mad_deg": 0.0}, abs=0.02
    )  # acos in float32
    # SIDE ignores a global scale; MAD does not see it either (normals of a scaled map are the same up to fov)
    assert depth_errors(gt * 1.3, gt, mask, CAMERA)["side"] == pytest.approx(0.0, abs=1e-7)
    flat = depth_errors(torch.full_like(gt, 1.0), gt, mask, CAMERA)
    assert flat["side"] == pytest.approx(gt.log().flatten(1).std(1, unbiased=False).mean().item(), rel=1e-4)
    null = null_depth_scores(gt, mask, CAMERA)
    assert null["side"] > 0.005 and null["mad_deg"] > 2
    assert ratios_to_null({"side": null["side"] / 2, "mad_deg": null["mad_deg"]}, null) == pytest.approx(
        {"side_vs_null": 0.5, "mad_vs_null": 1.0}
    )
    with pytest.raises(ValueError, match="mask"):
        depth_errors(gt, gt, torch.zeros(3, 1, 64, 64), CAMERA)


def test_remove_best_plane_undoes_a_tilt_exactly() -> None:
    gt, mask = _bump(), torch.ones(3, 1, 64, 64)
    mask[:, :, :10] = 0  # the fit sees only the object
    xs = torch.linspace(-1, 1, 64)
    tilted = gt * torch.exp(0.02 * xs[None, :, None] - 0.01 * xs[None, None, :] + 0.05)
    assert depth_errors(tilted, gt, mask, CAMERA)["side"] > 0.005
    flat = remove_best_plane(tilted, gt, mask)
    assert torch.allclose(flat, gt, atol=1e-6)


def test_high_frequency_rms_sees_speckle() -> None:
    gt, mask = _bump(), torch.ones(3, 1, 64, 64)
    speckled = gt + 0.003 * torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert high_frequency_rms(speckled, mask) > 5 * high_frequency_rms(gt, mask)
    with pytest.raises(ValueError, match="erosion"):
        high_frequency_rms(gt, torch.zeros(3, 1, 64, 64))


def test_parameter_agreement_measures_correlation_and_scale() -> None:
    g = torch.Generator().manual_seed(0)
    n = 50
    yaw, pitch = torch.rand(n, generator=g) - 0.5, torch.rand(n, generator=g) - 0.5
    lx, ly = torch.rand(n, generator=g) - 0.5, torch.rand(n, generator=g) - 0.5

    def scene(k: float) -> SceneParams:
        direction = torch.stack([k * lx, ly, torch.ones(n)], 1)
        light = Light(torch.full((n,), 0.3), torch.full((n,), 0.6), direction / direction.norm(dim=1, keepdim=True))
        view = View(torch.stack([pitch, k * yaw, torch.zeros(n)], 1), torch.zeros(n, 3))
        return SceneParams(torch.ones(n, 64, 64), torch.zeros(n, 3, 64, 64), light, view)

    scores = parameter_agreement(scene(0.5), scene(1.0))
    assert scores["light_x_corr"] == pytest.approx(1.0) and scores["light_x_slope"] == pytest.approx(0.5)
    assert scores["view_yaw_corr"] == pytest.approx(1.0) and scores["view_yaw_slope"] == pytest.approx(0.5)
    assert scores["light_y_slope"] == pytest.approx(1.0) and scores["view_pitch_slope"] == pytest.approx(1.0)
    assert math.isnan(parameter_agreement(scene(1.0), scene(0.0))["view_yaw_slope"])  # no variance in the truth
    assert math.isnan(scores["yaw_shift_corr"])  # no translation error at all


def test_light_strength_split_sees_a_weaker_tilt_made_up_by_stronger_diffuse_light() -> None:
    g = torch.Generator().manual_seed(2)
    n = 40
    lx = (0.2 + 0.4 * torch.rand(n, generator=g)) * torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    zeros, ambient = torch.zeros(n), torch.full((n,), 0.3)
    view = View(torch.zeros(n, 3), torch.zeros(n, 3))

    def scene(light: Light) -> SceneParams:
        return SceneParams(torch.ones(n, 64, 64), torch.zeros(n, 3, 64, 64), light, view)

    true = Light.from_tilt(ambient, torch.full((n,), 0.5), torch.stack([lx, zeros], 1))
    half = Light.from_tilt(ambient, torch.ones(n), torch.stack([lx / 2, zeros], 1))
    # the same left-right shading, diffuse * l_x, from half the tilt and a stronger diffuse light
    traded = Light(ambient, true.diffuse * true.direction[:, 0] / half.direction[:, 0], half.direction)
    scores = parameter_agreement(scene(traded), scene(true))
    assert scores["light_x_slope"] == pytest.approx(0.5)
    assert scores["light_x_shading_slope"] == pytest.approx(1.0)
    # diffuse' l_z' = 0.5 * l_x / l_x' * l_z' = 0.5 * 2 * l_z: twice the true head-on shading
    assert scores["light_z_shading_ratio"] == pytest.approx(2.0)
    same = parameter_agreement(scene(true), scene(true))
    assert same["light_x_shading_slope"] == pytest.approx(1.0) and same["light_z_shading_ratio"] == pytest.approx(1.0)


def test_yaw_shift_corr_sees_a_turn_traded_for_a_sideways_shift() -> None:
    g = torch.Generator().manual_seed(1)
    n = 200
    yaw, noise = torch.rand(n, generator=g) - 0.5, torch.randn(n, 2, generator=g)
    light = Light(torch.full((n,), 0.3), torch.full((n,), 0.6), torch.tensor([0.0, 0.0, 1.0]).expand(n, 3))

    def scene(yaw_scale: float, shift: torch.Tensor) -> SceneParams:
        view = View(
            torch.stack([torch.zeros(n), yaw_scale * yaw, torch.zeros(n)], 1),
            torch.stack([shift, torch.zeros(n), torch.zeros(n)], 1),
        )
        return SceneParams(torch.ones(n, 64, 64), torch.zeros(n, 3, 64, 64), light, view)

    true = scene(1.0, 0.01 * noise[:, 0])
    traded = scene(0.7, 0.01 * noise[:, 0] + 0.05 * 0.3 * yaw)  # the missing turn made up by a shift
    assert parameter_agreement(traded, true)["yaw_shift_corr"] == pytest.approx(-1.0)
    independent = scene(0.7, 0.01 * noise[:, 1])  # a wrong yaw and an unrelated shift error
    assert abs(parameter_agreement(independent, true)["yaw_shift_corr"]) < 0.2


def test_relief_slope_measures_the_depth_of_the_relief_and_ignores_offsets() -> None:
    gt = _bump()
    assert relief_slope(gt, gt) == pytest.approx(1.0)
    deeper = 1.0 + 1.5 * (gt - 1.0) + torch.tensor([0.01, -0.02, 0.0])[:, None, None]  # 1.5x relief, shifted
    assert relief_slope(deeper, gt) == pytest.approx(1.5)
    assert relief_slope(2.0 - gt, gt) == pytest.approx(-1.0)  # the hollow face
    border = gt.clone()
    border[:, :2] = 5.0  # the 2-pixel border is not part of the shape
    assert relief_slope(border, gt) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="flat"):
        relief_slope(gt, torch.ones_like(gt))


def test_identity_share_separates_per_person_values_from_per_image_noise() -> None:
    g = torch.Generator().manual_seed(0)
    identity = np.repeat(np.arange(20), 25)
    per_person = torch.randn(20, generator=g)[torch.from_numpy(identity)]
    per_image = torch.randn(500, generator=g)
    assert identity_share(per_person, identity) == pytest.approx(1.0)
    assert identity_share(per_image, identity) < 0.1  # about 20 / 500 by chance
    half = identity_share(per_person + per_image, identity)
    assert 0.3 < half < 0.7
    with pytest.raises(ValueError, match="identity: expected"):
        identity_share(per_image, identity[:10])
    with pytest.raises(ValueError, match="values: constant"):
        identity_share(torch.ones(500), identity)
