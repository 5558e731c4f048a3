"""The Unsup3d networks as the paper uses them, with width as configuration.

Every network starts with the same kind of down path (four 4x4 stride-2 convolutions and one 4x4
valid convolution, 64x64 -> 1x1); its output is the part's representation. Shapes assume 64x64
inputs. All convolutions are bias-free, as in Unsup3d, so that parameter counts match the paper.
The layer lists keep one stage (conv, norm, activation) per line, as Unsup3d writes them, under
``# fmt: skip``: the formatter would put each layer on a line of its own.

Mixed precision is a property of the networks alone (:func:`set_precision`): in
``"bf16"`` a network runs its layers under ``torch.autocast`` (convolutions in
bfloat16, accumulation in float32) and returns float32 tensors, so that everything downstream (the
depth decoding, normals, the renderer's camera transforms and z-buffer, the losses) stays in float32.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(cin: int, cout: int, k: int, stride: int = 1, pad: int = 0) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, pad, bias=False)


def _up(cin: int, cout: int, k: int = 4, stride: int = 2, pad: int = 1) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, k, stride, pad, bias=False)


PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}
"""Precision name -> the dtype a network's layers compute in (:func:`set_precision`)."""


class _Network(nn.Module):
    """A network with a compute dtype: float32 (plain), or bfloat16 under autocast with float32 outputs."""

    compute_dtype: torch.dtype = torch.float32
    """Not part of the state dict: a training setting, set with :func:`set_precision`."""

    def _run(self, layers: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``layers(x)`` computed in ``compute_dtype``; the result has the dtype of ``x``."""
        if self.compute_dtype == torch.float32:
            return layers(x)
        with torch.autocast(x.device.type, dtype=self.compute_dtype):
            return layers(x).to(x.dtype)


def set_precision(module: nn.Module, precision: str) -> None:
    """Make every network inside ``module`` compute in ``precision`` (a key of :data:`PRECISIONS`).

    ``"bf16"`` runs the networks' layers under ``torch.autocast`` (on the inputs' device type):
    convolutions in bfloat16 with float32 accumulation. Parameters, gradients and the networks'
    outputs stay float32. Changes no weights; ``"fp32"`` restores the plain float32 networks.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got {precision!r}")
    for net in module.modules():
        if isinstance(net, _Network):
            net.compute_dtype = PRECISIONS[precision]


class DownPath(nn.Sequential):
    """A 64x64 -> 1x1 down path (see :func:`down_path`): an ``nn.Sequential`` that also gives the
    activation at every resolution."""

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activation at every resolution of ``x (B, cin, 64, 64)``.

        A stage ends where the next convolution starts, so the result is ``[(B, nf, 32, 32),
        (B, 2nf, 16, 16), (B, 4nf, 8, 8), (B, 8nf, 4, 4), (B, zdim, 1, 1)]``: the inputs of the 2nd
        to 5th convolutions (after their normalisation and activation), then the output.
        """
        stages: list[torch.Tensor] = []
        for i, layer in enumerate(self):
            if isinstance(layer, nn.Conv2d) and i > 0:
                stages.append(x)
            x = layer(x)
        return stages + [x]


def down_path(cin: int, nf: int, zdim: int, *, normalized: bool) -> DownPath:
    """64x64 -> 1x1 down path.

    ``normalized=True`` is the encoder-decoder flavour (GroupNorm after the first three convolutions,
    LeakyReLU(0.2), ReLU on the bottleneck); ``False`` is the plain encoder (ReLU everywhere).

    Input ``(B, cin, 64, 64)``, output ``(B, zdim, 1, 1)``, non-negative.
    """
    layers: list[nn.Module] = []
    widths = [cin, nf, 2 * nf, 4 * nf, 8 * nf]
    for i in range(4):
        layers.append(_conv(widths[i], widths[i + 1], 4, 2, 1))
        if normalized and i < 3:
            layers.append(nn.GroupNorm(16 * 2**i, widths[i + 1]))
        layers.append(nn.LeakyReLU(0.2, inplace=True) if normalized else nn.ReLU(inplace=True))
    layers += [_conv(8 * nf, zdim, 4), nn.ReLU(inplace=True)]
    return DownPath(*layers)


def _up_block(cin: int, cout: int, groups: int) -> list[nn.Module]:
    """Transposed conv (x2) then a 3x3 conv, each followed by GroupNorm + ReLU."""
    return [
        _up(cin, cout), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True),
        _conv(cout, cout, 3, 1, 1), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True),
    ]  # fmt: skip


class EncoderDecoder(_Network):
    """Depth or albedo network: down path to a ``zdim`` bottleneck, then back up to 64x64.

    Args:
        cin: input channels (3).
        cout: output channels (1 for depth, 3 for albedo).
        nf: base width (paper: 64).
        zdim: bottleneck size (paper: 256), the size of the part's feature.
        final_tanh: end in a Tanh (Unsup3d: albedo yes, depth no; the depth decode bounds it).
            Parameter-free, so it does not change the state dict.
    """

    def __init__(self, cin: int, cout: int, nf: int = 64, zdim: int = 256, *, final_tanh: bool = True) -> None:
        super().__init__()
        self.encoder = down_path(cin, nf, zdim, normalized=True)
        self.decoder = nn.Sequential(
            _up(zdim, 8 * nf, 4, 1, 0), nn.ReLU(inplace=True),  # 1 -> 4
            _conv(8 * nf, 8 * nf, 3, 1, 1), nn.ReLU(inplace=True),
            *_up_block(8 * nf, 4 * nf, 64),  # 4 -> 8
            *_up_block(4 * nf, 2 * nf, 32),  # 8 -> 16
            *_up_block(2 * nf, nf, 16),  # 16 -> 32
            nn.Upsample(scale_factor=2, mode="nearest"),  # 32 -> 64
            _conv(nf, nf, 3, 1, 1), nn.GroupNorm(16, nf), nn.ReLU(inplace=True),
            _conv(nf, nf, 5, 1, 2), nn.GroupNorm(16, nf), nn.ReLU(inplace=True),
            _conv(nf, cout, 5, 1, 2), *([nn.Tanh()] if final_tanh else []),
        )  # fmt: skip

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, cin, 64, 64)`` -> bottleneck feature ``(B, zdim)``."""
        return self._run(self.encoder, x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bottleneck ``(B, zdim)`` -> map ``(B, cout, 64, 64)`` (in [-1, 1] with ``final_tanh``)."""
        return self._run(self.decoder, z[:, :, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, cin, 64, 64)`` -> ``(B, cout, 64, 64)`` (in [-1, 1] with ``final_tanh``)."""
        return self.decode(self.encode(x))


class Encoder(_Network):
    """Light or view network: plain down path to ``8 * nf`` features, then a 1x1 conv head.

    Args:
        cin: input channels (3).
        cout: number of outputs (4 for light, 6 for view).
        nf: base width (paper: 32, so the feature is 256-d).
        head: ``"conv-tanh"`` (Unsup3d: conv then Tanh, outputs in [-1, 1]) or ``"tanh-conv"`` (the
            PDR code: the Tanh ends the down path, so the feature is in [0, 1), and the conv's
            outputs are unbounded). Parameter-free either way: the state dict is the same.
    """

    def __init__(self, cin: int, cout: int, nf: int = 32, *, head: str = "conv-tanh") -> None:
        super().__init__()
        if head not in ("conv-tanh", "tanh-conv"):
            raise ValueError(f"head: expected 'conv-tanh' or 'tanh-conv', got {head!r}")
        tanh_first = head == "tanh-conv"
        down = down_path(cin, nf, 8 * nf, normalized=False)
        self.encoder = DownPath(*down, *([nn.Tanh()] if tanh_first else []))
        self.head = nn.Sequential(_conv(8 * nf, cout, 1), *([] if tanh_first else [nn.Tanh()]))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, cin, 64, 64)`` -> feature ``(B, 8 * nf)``."""
        return self._run(self.encoder, x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Feature ``(B, 8 * nf)`` -> outputs ``(B, cout)`` (in [-1, 1] with the ``"conv-tanh"`` head)."""
        return self._run(self.head, z[:, :, None, None]).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, cin, 64, 64)`` -> ``(B, cout)`` (in [-1, 1] with the ``"conv-tanh"`` head)."""
        return self.decode(self.encode(x))


class ConfidenceNet(_Network):
    """Confidence maps (sigma > 0) for the photometric and perceptual losses.

    Returns two tensors: ``(B, 2, 64, 64)`` for the photometric loss and ``(B, 2, 16, 16)`` for the
    perceptual loss; channel 0 is for the reconstruction, channel 1 for the flipped reconstruction.
    """

    def __init__(self, cin: int = 3, nf: int = 64, zdim: int = 128) -> None:
        super().__init__()
        self.encoder = down_path(cin, nf, zdim, normalized=True)
        self.trunk = nn.Sequential(
            _up(zdim, 8 * nf, 4, 1, 0), nn.ReLU(inplace=True),  # 1 -> 4
            _up(8 * nf, 4 * nf), nn.GroupNorm(64, 4 * nf), nn.ReLU(inplace=True),  # 4 -> 8
            _up(4 * nf, 2 * nf), nn.GroupNorm(32, 2 * nf), nn.ReLU(inplace=True),  # 8 -> 16
        )  # fmt: skip
        self.full_res = nn.Sequential(
            _up(2 * nf, nf), nn.GroupNorm(16, nf), nn.ReLU(inplace=True),  # 16 -> 32
            _up(nf, nf), nn.GroupNorm(16, nf), nn.ReLU(inplace=True),  # 32 -> 64
            _conv(nf, 2, 5, 1, 2), nn.Softplus(),
        )  # fmt: skip
        self.low_res = nn.Sequential(_conv(2 * nf, 2, 3, 1, 1), nn.Softplus())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, cin, 64, 64)`` -> (``(B, 2, 64, 64)``, ``(B, 2, 16, 16)``), both positive."""
        h = self._run(self.trunk, self._run(self.encoder, x))
        return self._run(self.full_res, h), self._run(self.low_res, h)
