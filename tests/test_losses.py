import math

import pytest
import torch
from safetensors.torch import save_file

from physdis_hub.config import LossConfig
from physdis_hub.losses import PerceptualLoss, VGG16Features, depth_smoothness, nt_xent, photometric_loss


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
    with pytest.raises(ValueError, match="lam_perc"):
        LossConfig(lam_perc=1.0)


def test_depth_smoothness_zero_for_flat() -> None:
    assert depth_smoothness(torch.ones(2, 16, 16)).item() == 0
    assert depth_smoothness(torch.rand(2, 16, 16)).item() > 0


def test_nt_xent_input_checks() -> None:
    with pytest.raises(ValueError, match="N >= 2"):
        nt_xent(torch.randn(1, 4), torch.randn(1, 4))
    with pytest.raises(ValueError, match="one shape"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 5))
    z = torch.randn(8, 16)
    assert nt_xent(z, z).item() < nt_xent(z, torch.randn(8, 16)).item()
