"""ResNet-18 in plain PyTorch, with the parameter names of timm's (and torchvision's) ``resnet18``.

timm cannot be a hard dependency (it imports torchvision, which does not import beside the CPU torch
wheel), so the supervised baseline uses this definition. Weights saved from ``timm.create_model(
"resnet18", pretrained=True).state_dict()`` load into it unchanged (:func:`load_resnet18_weights`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (projected when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + shortcut)


def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1))


class ResNet18(nn.Module):
    """ResNet-18 (11.7M parameters with the 1000-class head).

    Args:
        num_classes: size of ``fc``; 0 drops the head (``forward`` returns pooled features).

    ``forward``: ``(B, 3, H, W)`` (ImageNet-normalised) -> ``(B, num_classes)`` or ``(B, 512)``.
    """

    feature_dim = 512

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)
        self.fc: nn.Module = nn.Linear(512, num_classes) if num_classes > 0 else nn.Identity()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> last feature map ``(B, 512, H/32, W/32)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward_features(x).mean(dim=(2, 3)))


def load_resnet18_weights(model: ResNet18, weights: str | Path) -> ResNet18:
    """Load weights into ``model`` (in place) and return it.

    Args:
        model: a :class:`ResNet18`.
        weights: ``"timm"`` (``timm.create_model("resnet18", pretrained=True)``: needs timm, which
            needs a working torchvision, and network access or timm's cache), or a local file: a
            ``.safetensors`` or a ``torch.save``'d state dict with timm/torchvision key names.
            ``fc.*`` is skipped when the head sizes differ (e.g. a headless feature extractor).
    """
    if str(weights) == "timm":
        try:
            import timm
        except Exception as err:  # timm fails with ImportError or RuntimeError when torchvision is broken
            raise ImportError(
                f"weights='timm' needs an importable timm (pip install 'physdis-hub[timm]'); import failed: {err}"
            ) from err
        state = timm.create_model("resnet18", pretrained=True).state_dict()
    else:
        path = Path(weights)
        if not path.is_file():
            raise InputError(f"weights: {path} is not a file")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state) if isinstance(state, dict) else state
    own = model.state_dict()
    fc_mismatch = any(k.startswith("fc.") and (k not in own or own[k].shape != v.shape) for k, v in state.items())
    if fc_mismatch:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not (fc_mismatch and k.startswith("fc."))]
    if missing or unexpected:
        raise InputError(f"weights: keys do not match ResNet-18; missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model
