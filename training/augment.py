"""Photometric augmentation of training batches: what makes a synthetic-trained model meet photographs.

Rendered faces are clean, colourful and sharp; photographs are often grey, soft, noisy, compressed
and colour-cast. Each training image independently gets, with its own probability, a colour cast
(per-channel gains), conversion to grey, a Gaussian blur, Gaussian noise and JPEG compression, in
that order (the order a camera and a web pipeline apply them). The model reconstructs the image it
was given, so the objective stays self-consistent; the confidence map absorbs what the renderer
cannot reproduce (noise, blocking). A horizontal flip (``p_hflip``, before all of these) is the
authors' LOOCC code's only augmentation.

All draws come from one ``torch.Generator`` that the trainer checkpoints, so a resumed run augments
exactly as the uninterrupted one would have.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from physdis_hub.configbase import ConfigBase


@dataclass(frozen=True)
class AugmentConfig(ConfigBase):
    """Probabilities and ranges of the photometric augmentations (all off by default)."""

    p_color_cast: float = 0.0
    """Probability of multiplying each channel by a gain drawn from ``color_gain``."""
    color_gain: tuple[float, float] = (0.8, 1.2)
    """Range of the per-channel gains of a colour cast."""
    p_gray: float = 0.0
    """Probability of replacing the image by its luminance (ITU-R BT.601 weights) in all channels."""
    p_blur: float = 0.0
    """Probability of a Gaussian blur with a standard deviation drawn from ``blur_sigma``."""
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    """Range of the blur's standard deviation, in pixels."""
    p_noise: float = 0.0
    """Probability of adding Gaussian noise with a standard deviation drawn from ``noise_sigma``."""
    noise_sigma: tuple[float, float] = (0.005, 0.03)
    """Range of the noise's standard deviation ([0, 1] image units)."""
    p_jpeg: float = 0.0
    """Probability of a JPEG round trip at a quality drawn from ``jpeg_quality``."""
    jpeg_quality: tuple[int, int] = (30, 90)
    """Range of the JPEG quality."""
    p_hflip: float = 0.0
    """Probability of flipping the image horizontally (the authors' LOOCC code flips with 0.5,
    ``pdr/dataloaders.py``). Applied first; its draw is taken only when it is above 0, so settings
    without flips draw exactly the numbers they drew before it existed."""

    def __post_init__(self) -> None:
        for name in ("p_color_cast", "p_gray", "p_blur", "p_noise", "p_jpeg", "p_hflip"):
            p = getattr(self, name)
            if not 0 <= p <= 1:
                raise ValueError(f"AugmentConfig.{name}: expected a probability in [0, 1], got {p}")
        for name in ("color_gain", "blur_sigma", "noise_sigma", "jpeg_quality"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"AugmentConfig.{name}: expected (low, high) with 0 <= low <= high, got {(lo, hi)}")
        if not (1 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 100):
            raise ValueError(f"AugmentConfig.jpeg_quality: expected qualities in [1, 100], got {self.jpeg_quality}")

    @property
    def enabled(self) -> bool:
        """Whether any augmentation can happen."""
        return any(
            p > 0 for p in (self.p_color_cast, self.p_gray, self.p_blur, self.p_noise, self.p_jpeg, self.p_hflip)
        )


PHOTO_LIKE = AugmentConfig(p_color_cast=0.5, p_gray=0.2, p_blur=0.3, p_noise=0.3, p_jpeg=0.3)
"""The setting of the synthetic-faces presets."""

_LUMA = torch.tensor([0.299, 0.587, 0.114])


def _uniform(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _chosen(g: torch.Generator, n: int, p: float) -> torch.Tensor:
    return torch.rand(n, generator=g) < p


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image with its own separable Gaussian (edges replicated).

    Args:
        images: ``(B, C, H, W)``.
        sigma: ``(B,)`` standard deviations in pixels (> 0).
    """
    radius = int(torch.ceil(3 * sigma.max()).item())
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    k = torch.exp(-(x[None] ** 2) / (2 * sigma[:, None].to(images.dtype) ** 2))
    k = k / k.sum(1, keepdim=True)  # (B, K)
    b, c, h, w = images.shape
    flat = F.pad(images.reshape(1, b * c, h, w), (radius,) * 4, mode="replicate")
    kern = k.repeat_interleave(c, 0)  # (B*C, K)
    flat = F.conv2d(flat, kern[:, None, None, :], groups=b * c)
    flat = F.conv2d(flat, kern[:, None, :, None], groups=b * c)
    return flat.reshape(b, c, h, w)


def jpeg_round_trip(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode ``(3, H, W)`` in [0, 1] as JPEG at ``quality`` and decode it again."""
    array = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=int(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(decoded).permute(2, 0, 1).to(image.dtype)


@torch.no_grad()
def augment(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Augmented copies of ``images``.

    The same number of draws is taken from ``generator`` whatever is chosen, so the stream stays
    aligned across batches of one size (the flip's draw only when ``p_hflip`` is above 0).

    Args:
        images: ``(B, 3, H, W)`` in [0, 1], on the CPU.
        config: probabilities and ranges.
        generator: source of every random number.

    Returns:
        ``(B, 3, H, W)`` in [0, 1].
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected (B, 3, H, W) in [0, 1], got {tuple(images.shape)}")
    b, g = images.shape[0], generator
    cast, gains = _chosen(g, b, config.p_color_cast), _uniform(g, 3 * b, *config.color_gain).reshape(b, 3, 1, 1)
    gray = _chosen(g, b, config.p_gray)
    blur, sigma = _chosen(g, b, config.p_blur), _uniform(g, b, *config.blur_sigma).clamp_min(1e-3)
    noisy, noise_sd = _chosen(g, b, config.p_noise), _uniform(g, b, *config.noise_sigma)
    noise = torch.randn(images.shape, generator=g)
    jpeg, quality = _chosen(g, b, config.p_jpeg), _uniform(g, b, *config.jpeg_quality).round()
    flip = _chosen(g, b, config.p_hflip) if config.p_hflip > 0 else torch.zeros(b, dtype=torch.bool)

    out = torch.where(flip[:, None, None, None], images.flip(3), images)
    out = torch.where(cast[:, None, None, None], out * gains, out).clamp(0, 1)
    luma = (out * _LUMA.to(out.dtype)[None, :, None, None]).sum(1, keepdim=True).expand_as(out)
    out = torch.where(gray[:, None, None, None], luma, out)
    if blur.any():
        out[blur] = gaussian_blur(out[blur], sigma[blur])
    out = (out + noisy[:, None, None, None] * noise_sd[:, None, None, None] * noise).clamp(0, 1)
    for i in torch.nonzero(jpeg).flatten().tolist():
        out[i] = jpeg_round_trip(out[i], int(quality[i]))
    return out
