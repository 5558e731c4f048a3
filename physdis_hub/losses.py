"""Losses: photometric L1 and VGG16 perceptual terms with confidence, depth smoothness, NT-Xent.

Images are in the networks' [-1, 1] convention throughout.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .scene import depth_interior
from .vocab import to_unit_range

if TYPE_CHECKING:
    from .model import ForwardOutput

_EPS = 1e-7


def _masked_mean(loss: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return loss.mean()
    mask = mask.expand_as(loss)
    return (loss * mask).sum() / mask.sum().clamp_min(_EPS)


def photometric_loss(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, sigma: torch.Tensor | None = None
) -> torch.Tensor:
    """L1 photometric loss, with a Laplacian confidence if ``sigma`` is given.

    Per pixel ``|pred - target| * sqrt(2) / sigma + log(sigma)`` (or plain ``|pred - target|``),
    averaged over the pixels where ``mask`` is 1.

    Args:
        pred, target: ``(B, C, H, W)``.
        mask: ``(B, 1, H, W)`` or None.
        sigma: ``(B, 1, H, W)`` positive confidence, or None.

    Returns:
        Scalar.
    """
    loss = (pred - target).abs()
    if sigma is not None:
        loss = loss * math.sqrt(2) / (sigma + _EPS) + torch.log(sigma + _EPS)
    return _masked_mean(loss, mask)


INPUT_CONVENTIONS: dict[str, tuple[float, bool, tuple[float, float, float], tuple[float, float, float]]] = {
    "torchvision": (1.0, False, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "caffe-bgr-255": (255.0, True, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0)),
}
"""Input preprocessing VGG16 weights were trained with, by the name stored under the ``"input"`` key of
a weights file's safetensors metadata: ``(scale, flip_to_bgr, mean, std)``. An RGB image in [0, 1] is
multiplied by ``scale``, flipped to BGR if asked, then ``(x - mean) / std`` per channel (mean and std
in the network's channel order). ``"torchvision"``: torchvision/timm ImageNet weights (RGB, ImageNet
mean/std); ``"caffe-bgr-255"``: the original Oxford/Caffe weights as Keras ships them (BGR, 0-255,
minus the BGR pixel mean)."""

DEFAULT_INPUT_CONVENTION = "torchvision"
"""The convention of a weights file whose metadata has no ``"input"`` key (torchvision's and timm's)."""


def input_gain(convention: str) -> float:
    """How many times larger than torchvision's the network inputs of ``convention`` are for the same
    image: its ``scale / mean(std)`` over torchvision's (``"caffe-bgr-255"``: 255 / 4.43 = 57.6).

    Convolutions and ReLUs scale with their input (up to the biases), so relu3_3 features of weights
    trained on 0-255 inputs are about this many times larger than those of torchvision's weights.
    :class:`PerceptualLoss` divides by it, so that ``lam_perc`` and the confidence's starting sigma mean
    what they mean in Unsup3d, whose loss used torchvision's weights.
    """
    scale, _, _, std = INPUT_CONVENTIONS[convention]
    tv_scale, _, _, tv_std = INPUT_CONVENTIONS[DEFAULT_INPUT_CONVENTION]
    return (scale / (sum(std) / 3)) / (tv_scale / (sum(tv_std) / 3))


VGG16_RELU3_3: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256)
"""VGG16 up to relu3_3: the output channels of each 3x3 convolution (padding 1, then ReLU), ``"M"``
for a 2x2 max pool."""


class VGG16Features(nn.Module):
    """VGG16 convolutions up to relu3_3, with torchvision/timm parameter names (``features.N.*``),
    preceded by the input preprocessing the weights were trained with.

    Args:
        input_convention: a key of :data:`INPUT_CONVENTIONS`.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, input_convention: str = DEFAULT_INPUT_CONVENTION) -> None:
        super().__init__()
        if input_convention not in INPUT_CONVENTIONS:
            raise ValueError(
                f"VGG16Features: input_convention must be one of {sorted(INPUT_CONVENTIONS)}, got {input_convention!r}"
            )
        layers: list[nn.Module] = []
        cin = 3
        for item in VGG16_RELU3_3:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                cin = int(item)
        self.features = nn.Sequential(*layers)
        self.input_convention = input_convention
        scale, self.to_bgr, mean, std = INPUT_CONVENTIONS[input_convention]
        self.scale = scale
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in [-1, 1] -> relu3_3 features ``(B, 256, H/4, W/4)``."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"VGG16Features: expected (B, 3, H, W) RGB images, got {tuple(image.shape)}")
        x = to_unit_range(image) * self.scale
        if self.to_bgr:
            x = x.flip(1)
        return self.features((x - self.mean) / self.std)

    @classmethod
    def load(cls, source: str) -> VGG16Features:
        """Build from VGG16 weights named by ``source``:

        - a local ``.safetensors`` file with torchvision/timm key names; the ``"input"`` key of its
          metadata names the preprocessing (:data:`INPUT_CONVENTIONS`, default ``"torchvision"``);
        - ``"hf-hub:org/repo[@revision]"``: that Hub repository's ``model.safetensors`` (e.g.
          ``"hf-hub:timm/vgg16.tv_in1k"``), read the same way; needs the network or the Hub cache;
        - ``"timm"``: timm's pretrained vgg16 (needs timm and its cached ImageNet weights).

        Extra keys (the classifier, deeper layers) are ignored; missing keys and wrong shapes are errors.
        """
        if source == "timm":
            try:
                import timm  # type: ignore[import-untyped]
            except ImportError as err:
                raise ImportError("perceptual_weights='timm' needs timm (pip install 'physdis-hub[timm]')") from err
            state = timm.create_model("vgg16", pretrained=True).state_dict()
            return cls._from_state(state, DEFAULT_INPUT_CONVENTION, source)
        from .hub.download import HF_HUB_PREFIX

        path = _download_hub_weights(source) if source.startswith(HF_HUB_PREFIX) else Path(source)
        if path.suffix != ".safetensors" or not path.is_file():
            raise FileNotFoundError(
                "perceptual_weights: expected an existing .safetensors file of VGG16 weights, "
                f"'hf-hub:org/repo[@revision]' or 'timm', got {source!r}"
            )
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys() if k.startswith("features.")}
        except (SafetensorError, OSError) as err:
            raise ValueError(f"perceptual_weights: {source!r} is not a readable safetensors file: {err}") from err
        convention = metadata.get("input", DEFAULT_INPUT_CONVENTION)
        if convention not in INPUT_CONVENTIONS:
            raise ValueError(
                f"perceptual_weights: {source!r} declares input convention {convention!r} in its metadata; "
                f"expected one of {sorted(INPUT_CONVENTIONS)}"
            )
        return cls._from_state(state, convention, source)

    @classmethod
    def _from_state(cls, state: dict[str, torch.Tensor], convention: str, source: str) -> VGG16Features:
        net = cls(convention)
        wanted = net.state_dict()
        missing = sorted(k for k in wanted if k not in state)
        if missing:
            raise KeyError(
                f"perceptual_weights: {source!r} lacks VGG16 keys {missing[:4]}{'...' if len(missing) > 4 else ''}; "
                "expected torchvision/timm names features.{0,2,5,7,10,12,14}.{weight,bias}"
            )
        shapes = [
            f"{k} (file {tuple(state[k].shape)}, VGG16 {tuple(v.shape)})"
            for k, v in wanted.items()
            if state[k].shape != v.shape
        ]
        if shapes:
            raise ValueError(f"perceptual_weights: {source!r} has wrong shapes for VGG16: {'; '.join(shapes[:4])}")
        net.load_state_dict({k: state[k].float() for k in wanted})
        return net.requires_grad_(False).eval()


def _download_hub_weights(source: str) -> Path:
    """``model.safetensors`` of the Hub repository named by ``"hf-hub:org/repo[@revision]"``, downloaded
    or from the Hub cache."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    from .hub.download import parse_model_name

    try:
        parsed = parse_model_name(source)
    except ValueError as err:
        raise ValueError(f"perceptual_weights: {err}") from err
    try:
        return Path(hf_hub_download(parsed.target, "model.safetensors", revision=parsed.revision))
    except (EntryNotFoundError, OSError) as err:
        raise FileNotFoundError(
            f"perceptual_weights: could not get model.safetensors of Hub repository {parsed.target!r} "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). Offline, use a local "
            ".safetensors file (training.perceptual.BUNDLED_VGG16 ships one)."
        ) from err


class PerceptualLoss(nn.Module):
    """Squared-error loss on VGG16 relu3_3 features with a Gaussian confidence (Unsup3d's form):
    ``(f1 - f2)^2 / (2 sigma^2) + log(sigma)``, masked by the average-pooled pixel mask.

    The features are divided by the weights' :func:`input_gain` first, i.e. measured in the units of
    torchvision's weights: without it the bundled Caffe-convention VGG16 starts an untrained faces
    model at a perceptual term of about 5e5 (against about 160 with it, and 0.4 for the photometric
    term), which a softplus sigma takes thousands of steps to absorb while it drowns every other term.

    Args:
        weights: what :meth:`VGG16Features.load` accepts.
    """

    def __init__(self, weights: str) -> None:
        super().__init__()
        self.vgg = VGG16Features.load(weights)
        self.feature_scale = 1.0 / input_gain(self.vgg.input_convention)

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
        sigma: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss of each of ``K`` predictions of one target; the target's features are computed once.

        Args:
            pred: ``(K * B, 3, H, W)``: K predictions of ``target`` stacked along the batch (e.g. a
                reconstruction and its flipped twin, K = 2).
            target: ``(B, 3, H, W)``.
            mask: ``(K * B, 1, H, W)`` or None.
            sigma: ``(K * B, 1, H/4, W/4)`` positive confidence, or None.

        Returns:
            ``(K,)``: the masked mean loss of each prediction.
        """
        b = target.shape[0]
        if pred.ndim != 4 or pred.shape[1:] != target.shape[1:] or b == 0 or pred.shape[0] % b:
            raise ValueError(
                f"PerceptualLoss: expected pred (K*B, C, H, W) stacking K predictions of target (B, C, H, W), "
                f"got {tuple(pred.shape)} and {tuple(target.shape)}"
            )
        k = pred.shape[0] // b
        diff = (self.vgg(pred).unflatten(0, (k, b)) - self.vgg(target)) * self.feature_scale
        loss = (diff**2).flatten(0, 1)
        if sigma is not None:
            loss = loss / (2 * sigma**2 + _EPS) + torch.log(sigma + _EPS)
        if mask is not None:
            s = mask.shape[-1] // loss.shape[-1]
            mask = F.avg_pool2d(mask, s, s)
        masks = [None] * k if mask is None else mask.chunk(k)
        return torch.stack([_masked_mean(part, m) for part, m in zip(loss.chunk(k), masks)])


def depth_smoothness(depth: torch.Tensor, depth_range: float) -> torch.Tensor:
    """Unsup3d's depth smoothness: mean absolute difference between vertical neighbours plus that
    between horizontal neighbours, in units of the depth range.

    Unsup3d takes it before the 2-pixel border is set; here the border is already set (a constant
    without gradient), so only neighbours inside it count.

    Args:
        depth: ``(B, H, W)`` canonical depth.
        depth_range: ``max_depth - min_depth`` of the scene configuration.

    Returns:
        Scalar.
    """
    inner = depth_interior(depth) / depth_range
    return (inner[:, 1:] - inner[:, :-1]).abs().mean() + (inner[:, :, 1:] - inner[:, :, :-1]).abs().mean()


def normal_smoothness(normal: torch.Tensor) -> torch.Tensor:
    """Depth prior: mean ``1 - cos`` between the canonical normals of vertical and of horizontal
    neighbours, away from the border.

    It penalises curvature, not slope, so a smooth face shape costs little while the corrugated
    shape-from-shading solution (normals whose slope signs flip from pixel to pixel, which frontal
    light cannot tell apart from a smooth surface) costs a lot. Normals within 3 pixels of the edge
    see the constant 2-pixel depth border and are left out.

    Args:
        normal: ``(B, H, W, 3)`` unit normals.

    Returns:
        Scalar in [0, 2].
    """
    n = normal[:, 3:-3, 3:-3]
    return (2 - (n[:, 1:] * n[:, :-1]).sum(-1).mean() - (n[:, :, 1:] * n[:, :, :-1]).sum(-1).mean()) / 2


def confidence_gain(sigma: torch.Tensor | None, mask: torch.Tensor) -> torch.Tensor:
    """Mean factor ``sqrt(2) / sigma`` by which the confidence scales the photometric gradient,
    over the masked pixels, without gradient (1 without a confidence map).

    A learned confidence shrinks sigma and so multiplies the photometric pull on the depth (by ~25
    in trained faces models); a prior weighted by this gain keeps its size relative to that pull.

    Args:
        sigma: ``(B, 1, H, W)`` or None.
        mask: ``(B, 1, H, W)``.
    """
    if sigma is None:
        return torch.ones((), device=mask.device)
    return _masked_mean(math.sqrt(2) / (sigma.detach() + _EPS), mask)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, *, normalize: bool = True) -> torch.Tensor:
    """NT-Xent (SimCLR) loss between two views of a batch.

    Row ``i`` of ``z1`` and row ``i`` of ``z2`` are positives; every other row of the ``2N`` rows is
    a negative. Cosine similarities are divided by ``temperature``; the loss is the mean over all
    ``2N`` anchors of ``-log(exp(s_pos) / sum_{k != anchor} exp(s_k))``.

    Args:
        z1, z2: ``(N, D)``, N >= 2.
        temperature: divides the similarities.
        normalize: False uses the dot products of the rows as given instead of cosine similarities
            (the form of SupConLoss, which LOOCC's ``"code"`` style uses).

    Returns:
        Scalar.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"nt_xent: expected two (N, D) tensors of one shape, got {tuple(z1.shape)}, {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"nt_xent: needs N >= 2 samples for negatives, got N={z1.shape[0]}")
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    if normalize:
        z = F.normalize(z, dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(sim, target)


class ReconstructionLoss(nn.Module):
    """Unsup3d's reconstruction objective for a :class:`~physdis_hub.model.ForwardOutput`, plus a
    normal-smoothness prior.

    ``L = l1 + lam_flip * l1_flip + lam_perc * (perc + lam_flip * perc_flip)
    + lam_depth_smooth * depth_smooth + lam_normal_smooth * gain * normal_smooth``, where ``gain`` is :func:`confidence_gain` of the photometric
    confidence.

    Args:
        config: the model configuration (loss weights and the depth range).
        perceptual_weights: VGG16 weights for the perceptual term (see :meth:`VGG16Features.load`);
            required when ``config.loss.lam_perc > 0``.
    """

    def __init__(self, config: ModelConfig, perceptual_weights: str | None = None) -> None:
        super().__init__()
        self.config = config.loss
        self.depth_range = config.scene.max_depth - config.scene.min_depth
        if self.config.perceptual_on and not perceptual_weights:
            raise ValueError(
                f"perceptual_weights: lam_perc is {self.config.lam_perc}, so VGG16 weights are needed (a local "
                ".safetensors file, 'hf-hub:REPO' or 'timm'); got none. Set lam_perc=0 to train without the "
                "perceptual term."
            )
        self.perceptual = (
            PerceptualLoss(perceptual_weights) if self.config.perceptual_on and perceptual_weights else None
        )

    def forward(self, out: ForwardOutput, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss terms (``"total"`` among them) for ``target (B, 3, H, W)`` in [-1, 1]."""
        cfg = self.config
        b = target.shape[0]
        recon, mask = out.reconstruction, out.mask
        sig_px, sig_perc = out.confidence if out.confidence is not None else (None, None)

        def channel(sig: torch.Tensor | None, k: int) -> torch.Tensor | None:
            return None if sig is None else sig[:, k : k + 1]

        terms = {
            "l1": photometric_loss(recon[:b], target, mask[:b], channel(sig_px, 0)),
            "l1_flip": photometric_loss(recon[b:], target, mask[b:], channel(sig_px, 1)),
        }
        total = terms["l1"] + cfg.lam_flip * terms["l1_flip"]
        if self.perceptual is not None:
            sigma = None if sig_perc is None else torch.cat([sig_perc[:, 0:1], sig_perc[:, 1:2]])
            terms["perc"], terms["perc_flip"] = self.perceptual(recon, target, mask, sigma)
            total = total + cfg.lam_perc * (terms["perc"] + cfg.lam_flip * terms["perc_flip"])
        if cfg.lam_depth_smooth > 0:
            terms["depth_smooth"] = depth_smoothness(out.scene.depth, self.depth_range)
            total = total + cfg.lam_depth_smooth * terms["depth_smooth"]
        if cfg.lam_normal_smooth > 0:
            terms["normal_smooth"] = normal_smoothness(out.rendering.normal[:b])
            gain = confidence_gain(channel(sig_px, 0), mask[:b])
            total = total + cfg.lam_normal_smooth * gain * terms["normal_smooth"]
        terms["total"] = total
        return terms
