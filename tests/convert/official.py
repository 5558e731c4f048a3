"""The official networks and checkpoint files, rebuilt for the tests from the architecture facts
(REFERENCE.md section 1; the official layer lists), independently of physdis_hub.nets.

Each network is a plain ``nn.Sequential`` whose indices are the official ones, so its state dict
has the official names. :func:`write_official_checkpoint` saves them as the official trainers do:
the networks' state dicts, Adam states after a step, the epoch and a pickled
``<package>.meters.MetricsTrace`` object whose class exists only while the file is written.
"""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import torch
from torch import nn

# -- layers, in the official order ---------------------------------------------------------------------


def _conv(cin: int, cout: int, k: int, s: int, p: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=k, stride=s, padding=p, bias=False)


def _deconv(cin: int, cout: int, k: int, s: int, p: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel_size=k, stride=s, padding=p, bias=False)


def _normalized_down(zdim: int, nf: int) -> list[nn.Module]:
    """13 layers: 3 x (conv 4/2/1, GroupNorm(16 * 2^k), LeakyReLU 0.2), conv, LeakyReLU, conv 4/1/0 to zdim, ReLU."""
    layers: list[nn.Module] = []
    for k, (cin, cout) in enumerate([(3, nf), (nf, 2 * nf), (2 * nf, 4 * nf)]):
        layers += [_conv(cin, cout, 4, 2, 1), nn.GroupNorm(16 * 2**k, cout), nn.LeakyReLU(0.2)]
    return layers + [_conv(4 * nf, 8 * nf, 4, 2, 1), nn.LeakyReLU(0.2), _conv(8 * nf, zdim, 4, 1, 0), nn.ReLU()]


def eddeconv_layers(cout: int, tanh: bool, nf: int = 64, zdim: int = 256) -> list[nn.Module]:
    """Depth (cout 1, no Tanh) or albedo (cout 3, Tanh) network: 43 layers, 44 with the Tanh."""
    up: list[nn.Module] = [_deconv(zdim, 8 * nf, 4, 1, 0), nn.ReLU(), _conv(8 * nf, 8 * nf, 3, 1, 1), nn.ReLU()]
    for cin, c, groups in [(8 * nf, 4 * nf, 64), (4 * nf, 2 * nf, 32), (2 * nf, nf, 16)]:
        up += [_deconv(cin, c, 4, 2, 1), nn.GroupNorm(groups, c), nn.ReLU()]
        up += [_conv(c, c, 3, 1, 1), nn.GroupNorm(groups, c), nn.ReLU()]
    up += [nn.Upsample(scale_factor=2, mode="nearest")]
    up += [_conv(nf, nf, 3, 1, 1), nn.GroupNorm(16, nf), nn.ReLU()]
    up += [_conv(nf, nf, 5, 1, 2), nn.GroupNorm(16, nf), nn.ReLU()]
    up += [_conv(nf, cout, 5, 1, 2)] + ([nn.Tanh()] if tanh else [])
    return _normalized_down(zdim, nf) + up


def encoder_layers(nf: int = 32) -> list[nn.Module]:
    """Light/view down path: 10 layers (5 convs, each followed by ReLU); the feature is its output."""
    widths = [3, nf, 2 * nf, 4 * nf, 8 * nf]
    layers: list[nn.Module] = []
    for cin, cout in zip(widths, widths[1:]):
        layers += [_conv(cin, cout, 4, 2, 1), nn.ReLU()]
    return layers + [_conv(8 * nf, 8 * nf, 4, 1, 0), nn.ReLU()]


class Unsup3dEDDeconv(nn.Module):
    """``network.{0..42|43}``; the feature is the output of layers 0..12."""

    def __init__(self, cout: int, tanh: bool) -> None:
        super().__init__()
        self.network = nn.Sequential(*eddeconv_layers(cout, tanh))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.network(x), self.network[:13](x).flatten(1)


class Unsup3dEncoder(nn.Module):
    """``network.{0..11}``: the down path, a 1x1 conv (index 10) and Tanh (index 11)."""

    def __init__(self, cout: int) -> None:
        super().__init__()
        self.network = nn.Sequential(*encoder_layers(), _conv(256, cout, 1, 1, 0), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.network(x).flatten(1), self.network[:10](x).flatten(1)


class PDREDDeconv(nn.Module):
    """``network_down.{0..12}`` and ``network_up.{0..29|30}``; the feature is network_down's output."""

    def __init__(self, cout: int, tanh: bool) -> None:
        super().__init__()
        layers = eddeconv_layers(cout, tanh)
        self.network_down, self.network_up = nn.Sequential(*layers[:13]), nn.Sequential(*layers[13:])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.network_down(x)
        return self.network_up(feature), feature.flatten(1)


class PDREncoder(nn.Module):
    """``network.{0..10}`` ends in the Tanh (index 10) and is the feature; ``conv`` (1x1) follows."""

    def __init__(self, cout: int) -> None:
        super().__init__()
        self.network = nn.Sequential(*encoder_layers(), nn.Tanh())
        self.conv = _conv(256, cout, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.network(x)
        return self.conv(feature).flatten(1), feature.flatten(1)


class ConfNet(nn.Module):
    """``network.{0..20}`` (down path, then three transposed convs to 16x16), ``out_net1.{0..7}``
    (to 64x64, Softplus) and ``out_net2.{0,1}`` (16x16, Softplus)."""

    def __init__(self, nf: int = 64, zdim: int = 128) -> None:
        super().__init__()
        trunk = [_deconv(zdim, 8 * nf, 4, 1, 0), nn.ReLU()]
        trunk += [_deconv(8 * nf, 4 * nf, 4, 2, 1), nn.GroupNorm(64, 4 * nf), nn.ReLU()]
        trunk += [_deconv(4 * nf, 2 * nf, 4, 2, 1), nn.GroupNorm(32, 2 * nf), nn.ReLU()]
        self.network = nn.Sequential(*_normalized_down(zdim, nf), *trunk)
        self.out_net1 = nn.Sequential(
            _deconv(2 * nf, nf, 4, 2, 1),
            nn.GroupNorm(16, nf),
            nn.ReLU(),
            _deconv(nf, nf, 4, 2, 1),
            nn.GroupNorm(16, nf),
            nn.ReLU(),
            _conv(nf, 2, 5, 1, 2),
            nn.Softplus(),
        )
        self.out_net2 = nn.Sequential(_conv(2 * nf, 2, 3, 1, 1), nn.Softplus())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.network(x)
        return self.out_net1(h), self.out_net2(h)


def official_networks(code: str, use_conf: bool, seed: int) -> dict[str, nn.Module]:
    """``{"netD", "netA", "netL", "netV"[, "netC"]}`` of ``code`` ("unsup3d" or "pdr"), random weights
    (GroupNorm affine parameters randomised too, so a swapped weight and bias would show)."""
    torch.manual_seed(seed)
    ed, enc = (Unsup3dEDDeconv, Unsup3dEncoder) if code == "unsup3d" else (PDREDDeconv, PDREncoder)
    nets: dict[str, nn.Module] = {"netD": ed(1, tanh=False), "netA": ed(3, tanh=True), "netL": enc(4), "netV": enc(6)}
    if use_conf:
        nets["netC"] = ConfNet()
    for net in nets.values():
        for m in net.modules():
            if isinstance(m, nn.GroupNorm):
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.uniform_(m.bias, -0.2, 0.2)
    return {k: v.eval() for k, v in nets.items()}


# -- the forward pass, as the official model.py and renderer compute it ------------------------------------
# Written from a reading of elliottwu/unsup3d (unsup3d/model.py Unsup3D.forward, lines 128-183;
# unsup3d/renderer/renderer.py and utils.py; demo/demo.py lines 143-179 do the same); the PDR fork's
# pdr/model.py and pdr/renderer/renderer.py compute these steps identically. Deliberately independent
# of physdis_hub: plain tensor arithmetic in the official order, float32 as the official code runs.

NORMAL_EPS = 1e-7
"""``EPS`` of unsup3d/renderer/renderer.py, added to a normal's length before dividing by it."""


def _rescale(t: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """model.py's ``depth_rescaler`` / ``amb_light_rescaler`` / ``diff_light_rescaler``: [-1, 1] -> [lo, hi]."""
    return (1 + t) / 2 * hi + (1 - t) / 2 * lo


def official_depth(raw: torch.Tensor, scene: dict[str, float]) -> torch.Tensor:
    """``(B, 1, H, W)`` netD output -> ``(B, H, W)`` canonical depth (model.py lines 132-144): minus the
    per-image mean, tanh, rescaled, then the border mask: zeros ``(1, H, W - 4)`` padded by 2 with ones
    along the last (width) dimension only, so only the left and right 2 columns become border_depth."""
    b, _, h, w = raw.shape
    depth = raw.squeeze(1)
    depth = depth - depth.view(b, -1).mean(1).view(b, 1, 1)
    depth = _rescale(depth.tanh(), scene["min_depth"], scene["max_depth"])
    border = nn.functional.pad(torch.zeros(1, h, w - 4), (2, 2), mode="constant", value=1)
    return depth * (1 - border) + border * scene["border_depth"]


def official_intrinsics(size: int, fov: float) -> torch.Tensor:
    """``K`` of renderer.py lines 33-40: ``fx = fy = (S - 1) / 2 / tan(fov / 2)``, ``cx = cy = (S - 1) / 2``."""
    f = (size - 1) / 2 / math.tan(fov / 2 * math.pi / 180)
    c = (size - 1) / 2
    return torch.tensor([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]], dtype=torch.float32)


def official_normals(depth: torch.Tensor, fov: float) -> torch.Tensor:
    """``(B, H, W)`` depth -> ``(B, H, W, 3)`` normals, renderer.py ``get_normal_from_depth`` (lines
    118-130): lift pixel ``(x=col, y=row)`` by ``inv(K)`` times depth, cross the horizontal and
    vertical central differences, put ``(0, 0, 1)`` on the outer ring, divide by length + 1e-7."""
    b, h, w = depth.shape
    inv_k = torch.inverse(official_intrinsics(w, fov)).unsqueeze(0)
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    grid = torch.stack([cols, rows, torch.ones_like(rows)], -1).float().repeat(b, 1, 1, 1)
    points = grid.matmul(inv_k.transpose(2, 1)) * depth.unsqueeze(-1)
    tu = points[:, 1:-1, 2:] - points[:, 1:-1, :-2]
    tv = points[:, 2:, 1:-1] - points[:, :-2, 1:-1]
    normal = tu.cross(tv, dim=3)
    up = torch.tensor([0.0, 0.0, 1.0])
    normal = torch.cat([up.repeat(b, h - 2, 1, 1), normal, up.repeat(b, h - 2, 1, 1)], 2)
    normal = torch.cat([up.repeat(b, 1, w, 1), normal, up.repeat(b, 1, w, 1)], 1)
    return normal / ((normal**2).sum(3, keepdim=True) ** 0.5 + NORMAL_EPS)


def official_forward(nets: dict[str, nn.Module], x: torch.Tensor, scene: dict[str, float]) -> dict[str, torch.Tensor]:
    """Everything the official forward pass computes before the reconstruction, for ``x (B, 3, 64, 64)``
    in [-1, 1], and the four part features.

    ``scene`` holds the configuration's values: min_depth, max_depth, border_depth, min/max_amb_light,
    min/max_diff_light, xyz_rotation_range, xy/z_translation_range, fov.

    Returns:
        ``depth (B, H, W)``, ``albedo (B, 3, H, W)``, ``ambient``/``diffuse (B,)``, ``direction (B, 3)``,
        ``rotation``/``translation (B, 3)``, ``normal (B, H, W, 3)``, ``shading (B, 1, H, W)``
        (``ambient + diffuse * max(0, n . d)``), ``canonical (B, 3, H, W)``, and ``geom``, ``alb``,
        ``light``, ``view`` features.
    """
    with torch.no_grad():
        raw_depth, f_geom = nets["netD"](x)
        albedo, f_alb = nets["netA"](x)
        light, f_light = nets["netL"](x)
        view, f_view = nets["netV"](x)
    depth = official_depth(raw_depth, scene)
    ambient = _rescale(light[:, :1], scene["min_amb_light"], scene["max_amb_light"])
    diffuse = _rescale(light[:, 1:2], scene["min_diff_light"], scene["max_diff_light"])
    direction = torch.cat([light[:, 2:], torch.ones(len(x), 1)], 1)
    direction = direction / ((direction**2).sum(1, keepdim=True)) ** 0.5
    normal = official_normals(depth, scene["fov"])
    diffuse_shading = (normal * direction.view(-1, 1, 1, 3)).sum(3).clamp(min=0).unsqueeze(1)
    shading = ambient.view(-1, 1, 1, 1) + diffuse.view(-1, 1, 1, 1) * diffuse_shading
    view = torch.cat(
        [
            view[:, :3] * math.pi / 180 * scene["xyz_rotation_range"],
            view[:, 3:5] * scene["xy_translation_range"],
            view[:, 5:] * scene["z_translation_range"],
        ],
        1,
    )
    return {
        "depth": depth,
        "albedo": albedo,
        "ambient": ambient[:, 0],
        "diffuse": diffuse[:, 0],
        "direction": direction,
        "rotation": view[:, :3],
        "translation": view[:, 3:],
        "normal": normal,
        "shading": shading,
        "canonical": (albedo / 2 + 0.5) * shading * 2 - 1,
        "geom": f_geom,
        "alb": f_alb,
        "light": f_light,
        "view": f_view,
    }


# -- the checkpoint file -----------------------------------------------------------------------------------


def _bookkeeping_class(package: str) -> tuple[type, dict[str, types.ModuleType]]:
    """A ``MetricsTrace`` class living at ``<package>.meters.MetricsTrace`` (modules to insert)."""
    root, meters = types.ModuleType(package), types.ModuleType(f"{package}.meters")

    class MetricsTrace:
        def __init__(self) -> None:
            self.data = {"train": [{"loss": 0.31, "speed": 812.5}], "val": [{"loss": 0.33, "speed": 1640.2}]}

    MetricsTrace.__module__, MetricsTrace.__qualname__ = meters.__name__, "MetricsTrace"
    meters.MetricsTrace = MetricsTrace  # type: ignore[attr-defined]
    root.meters = meters  # type: ignore[attr-defined]
    return MetricsTrace, {package: root, meters.__name__: meters}


def write_official_checkpoint(path: Path, code: str, nets: dict[str, nn.Module], epoch: int, legacy: bool) -> Path:
    """``torch.save`` the official dict: state dicts, Adam states (after one step on random
    gradients, as after training), ``epoch``, ``metrics_trace`` (and PDR's ``reconstruction_loss``).

    ``legacy`` writes PyTorch's pre-1.6 format (what Unsup3d's PyTorch 1.2 wrote). The bookkeeping
    class's modules are in ``sys.modules`` only while saving, so a reader must cope without them.
    """
    package = "unsup3d" if code == "unsup3d" else "pdr"
    cls, modules = _bookkeeping_class(package)
    entry: dict[str, object] = {name: net.state_dict() for name, net in nets.items()}
    for name, net in nets.items():
        params = list(net.parameters())
        optimizer = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), weight_decay=5e-4)
        grads = [torch.randn_like(p) for p in params]
        for p, g in zip(params, grads):
            p.grad = g
        weights = [p.detach().clone() for p in params]
        optimizer.step()
        with torch.no_grad():  # keep the weights the test compares against; only the state is wanted
            for p, w in zip(params, weights):
                p.copy_(w)
                p.grad = None
        entry[name.replace("net", "optimizer")] = optimizer.state_dict()
    assert not any(name in sys.modules for name in modules), "a real official package is importable"
    sys.modules.update(modules)
    try:
        entry["metrics_trace"] = cls()
        entry["epoch"] = epoch
        if code == "pdr":
            entry["reconstruction_loss"] = 0.0412
        torch.save(entry, path, _use_new_zipfile_serialization=not legacy)
    finally:
        for name in modules:
            del sys.modules[name]
    return path
