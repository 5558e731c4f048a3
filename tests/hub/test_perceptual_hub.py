"""perceptual_weights="hf-hub:..." against the local Hub-protocol server (timm's VGG16 repo layout)."""

from __future__ import annotations

import io

import pytest
import torch
from huggingface_hub import HfApi
from safetensors.torch import save

from physdis_hub.losses import PerceptualLoss, VGG16Features


def timm_like_vgg16(seed: int) -> dict[str, torch.Tensor]:
    """A state dict laid out like timm's vgg16 model.safetensors: ``features.N.*`` for all 13 convs,
    then ``pre_logits.*`` and ``head.fc.*`` (small stand-ins for the classifier)."""
    torch.manual_seed(seed)
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    state, cin, index = {}, 3, 0  # index in the Sequential: each conv is followed by a ReLU
    for item in cfg:
        if item == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(int(item), cin, 3, 3) * 0.05
        state[f"features.{index}.bias"] = torch.randn(int(item)) * 0.1
        cin, index = int(item), index + 2
    state["pre_logits.fc1.weight"] = torch.randn(8, 512, 1, 1)
    state["head.fc.weight"] = torch.randn(10, 8)
    return state


def test_loads_timm_vgg16_from_the_hub(hub) -> None:
    state = timm_like_vgg16(0)
    api = HfApi()
    api.create_repo("timm/vgg16.tv_in1k")
    api.upload_file(
        path_or_fileobj=io.BytesIO(save(state)), path_in_repo="model.safetensors", repo_id="timm/vgg16.tv_in1k"
    )

    net = VGG16Features.load("hf-hub:timm/vgg16.tv_in1k")
    assert net.input_convention == "torchvision"  # timm's files carry no "input" metadata
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key
    loss = PerceptualLoss("hf-hub:timm/vgg16.tv_in1k@main")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0 and loss(x, x.flip(-1)).item() > 0

    with pytest.raises(
        FileNotFoundError, match=r"perceptual_weights: could not get model.safetensors of Hub repository 'timm/vgg99'"
    ):
        VGG16Features.load("hf-hub:timm/vgg99")
    with pytest.raises(ValueError, match=r"perceptual_weights: name: expected 'hf-hub:org/repo'"):
        VGG16Features.load("hf-hub:vgg16")
