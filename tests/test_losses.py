import math

import pytest
import torch
from safetensors.torch import save_file

from physdis_hub.config import LossConfig, ModelConfig
from physdis_hub.losses import (
    PerceptualLoss,
    ReconstructionLoss,
    VGG16Features,
    confidence_gain,
    depth_smoothness,
    normal_smoothness,
    nt_xent,
    photometric_loss,
)
from physdis_hub.render import Camera, normals_from_depth


def test_photometric_with_confidence_matches_formula() -> None:
    pred, target = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    sigma = torch.full((1, 1, 2, 2), 2.0)
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    expected = ((1 + 2) / 2 * math.sqrt(2) / 2) + math.log(2)
    assert photometric_loss(pred, target, mask, sigma).item() == pytest.approx(expected, rel=1e-5)
    assert photometric_loss(pred, target).item() == pytest.approx(2.5)


def test_perceptual_loads_local_weights_and_refuses_missing(tmp_path) -> None:
    path = tmp_path / "vgg16.safetensors"
    state = {k: v.contiguous() for k, v in VGG16Features().state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # extra keys of a full VGG16 are ignored
    save_file(state, str(path))
    loss = PerceptualLoss(str(path))
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-7)
    assert loss(x, -x).item() > 0
    with pytest.raises(FileNotFoundError, match="perceptual_weights"):
        PerceptualLoss(str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="perceptual_weights: lam_perc is 1.0"):
        ReconstructionLoss(ModelConfig(loss=LossConfig(lam_perc=1.0)))


def test_depth_smoothness_is_in_units_of_the_depth_range() -> None:
    assert depth_smoothness(torch.ones(2, 16, 16), 0.2).item() == 0
    ramp = torch.arange(16.0)[None, None, :].expand(2, 16, 16) * 0.01  # 0.01 per column, flat down rows
    # 11 horizontal differences of 0.01 inside the border, each 0.05 of a 0.2 range; none vertically
    assert depth_smoothness(ramp, 0.2).item() == pytest.approx(0.05, rel=1e-5)
    assert depth_smoothness(ramp, 0.1).item() == pytest.approx(0.1, rel=1e-5)


def test_normal_smoothness_penalises_curvature_not_slope() -> None:
    camera = Camera(32, 10.0)
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    plane = 1.0 + 0.002 * xs  # a tilted plane: slope, no curvature
    assert normal_smoothness(normals_from_depth(camera, plane[None])).item() < 1e-6
    smooth = 1.0 - 0.05 * torch.exp(-((xs - 15.5) ** 2 + (ys - 15.5) ** 2) / 60)  # a smooth bump
    corrugated = 1.0 + 0.002 * (xs + ys) * torch.where((xs + ys) % 2 == 0, 1.0, -1.0)  # slope signs flip
    n_smooth = normal_smoothness(normals_from_depth(camera, smooth[None])).item()
    n_corr = normal_smoothness(normals_from_depth(camera, corrugated[None])).item()
    assert 0 < n_smooth < n_corr / 10


def test_confidence_gain() -> None:
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    sigma = torch.tensor([[[[0.5, 0.25], [1e-3, 1e-3]]]], requires_grad=True)
    gain = confidence_gain(sigma, mask)
    assert gain.item() == pytest.approx(math.sqrt(2) * (2 + 4) / 2, rel=1e-5)
    assert not gain.requires_grad
    assert confidence_gain(None, mask).item() == 1


def test_nt_xent_input_checks() -> None:
    with pytest.raises(ValueError, match="N >= 2"):
        nt_xent(torch.randn(1, 4), torch.randn(1, 4))
    with pytest.raises(ValueError, match="one shape"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 5))
    z = torch.randn(8, 16)
    assert nt_xent(z, z).item() < nt_xent(z, torch.randn(8, 16)).item()
