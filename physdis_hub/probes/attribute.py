"""Interpretability probes (paper Sec. 5, Fig. 4): which scene part a prediction relies on.

- :func:`feature_attribution`: integrated gradients (captum, extra ``physdis-hub[captum]``) of a
  head's output with respect to each part's feature. Per sample, part j's contribution is
  ``sum_i |IG(z^j_i)| / sum_j' sum_i |IG(z^j'_i)|`` (paper Fig. 4); the reported percentage is the mean
  of this over samples (each sample counts equally), so the parts sum to 100.
- :func:`input_attribution`: the same, but integrated gradients with respect to the *image*, fed to each
  part's encoder as a separate copy, so pixel attributions split by part.
- :func:`gradcam_by_part`: Grad-CAM of the head's output on each part's last 4x4 activation map (the
  input of its down path's final 4x4 convolution), upsampled to the image; :func:`save_gradcam_figure`
  composes images and per-part overlays into a PNG with Pillow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from ..errors import InputError
from ..vocab import to_network_range
from ._checks import check_positive_int
from .extractors import PartsExtractor, check_images, down_path_stages
from .report import ProbeResult

Target = int | Sequence[int] | torch.Tensor | None


@dataclass
class AttributionResult(ProbeResult):
    """Share of the prediction attributed to each part.

    Attributes:
        percent: part -> mean % contribution over samples (sums to 100).
        inputs: ``"features"`` or ``"images"``: what the gradients were taken with respect to.
        n_samples: samples averaged (those with non-zero total attribution).
        n_steps: integration steps.
    """

    percent: dict[str, float] = field(default_factory=dict)
    inputs: str = "features"
    n_samples: int = 0
    n_steps: int = 50

    def summary(self) -> dict[str, Any]:
        return {**{f"{p} %": v for p, v in self.percent.items()}, "inputs": self.inputs, "N": self.n_samples}


def _targets(logits: torch.Tensor, target: Target) -> torch.Tensor:
    """``(B,)`` output index per sample: given, or the argmax of the head's output."""
    if target is None:
        return logits.argmax(1)
    t = torch.as_tensor(target, dtype=torch.long).flatten()
    t = t.expand(len(logits)) if t.numel() == 1 else t
    if t.shape != (len(logits),) or t.min() < 0 or t.max() >= logits.shape[1]:
        raise InputError(f"target: expected an index or {len(logits)} indices in [0, {logits.shape[1]})")
    return t


def _integrated_gradients(
    fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...], target: torch.Tensor, n_steps: int
) -> tuple[torch.Tensor, ...]:
    try:
        from captum.attr import IntegratedGradients
    except ImportError as err:
        raise ImportError("integrated gradients need captum: pip install 'physdis-hub[captum]'") from err
    baselines = tuple(torch.zeros_like(x) for x in inputs)
    return IntegratedGradients(fn).attribute(
        inputs, baselines=baselines, target=target, n_steps=n_steps, internal_batch_size=max(len(inputs[0]), 64)
    )


def _percentages(
    parts: Sequence[str], attributions: Sequence[torch.Tensor], inputs: str, n_steps: int
) -> AttributionResult:
    mass = torch.stack([a.detach().abs().flatten(1).sum(1) for a in attributions], dim=1).double()  # (B, P)
    total = mass.sum(1)
    ok = total > 0
    if not ok.any():
        raise InputError("head: every attribution is zero (the head's output does not depend on its inputs)")
    share = (100 * mass[ok] / total[ok, None]).mean(0)
    return AttributionResult(dict(zip(parts, share.tolist())), inputs, int(ok.sum()), n_steps)


def feature_attribution(
    head: nn.Module, features: Mapping[str, torch.Tensor], *, target: Target = None, n_steps: int = 50
) -> AttributionResult:
    """Integrated-gradients share of each part's feature in ``head``'s output.

    Args:
        head: maps the concatenated features ``(B, sum d_part)`` (in the order of ``features``) to
            outputs ``(B, C)``, e.g. a trained :class:`~physdis_hub.probes.linear.ProbeHead`.
        features: part -> ``(B, d_part)``; the integration baseline is the zero feature.
        target: output index (or one per sample); default: each sample's argmax.
        n_steps: integration steps (captum's Gauss-Legendre rule).
    """
    if not isinstance(features, Mapping) or not features:
        raise InputError("features: expected a non-empty mapping part -> (B, d) tensor")
    xs = tuple(torch.as_tensor(f).float().detach() for f in features.values())
    if any(x.ndim != 2 or len(x) != len(xs[0]) or len(x) == 0 for x in xs):
        raise InputError(f"features: expected (B, d) tensors with the same B, got {[tuple(x.shape) for x in xs]}")
    if not all(torch.isfinite(x).all() for x in xs):
        raise InputError("features: contain NaN or inf")
    n_steps = check_positive_int("n_steps", n_steps)
    fn = lambda *parts: head(torch.cat(parts, dim=1))
    head.eval()
    with torch.no_grad():
        t = _targets(fn(*xs), target)
    return _percentages(list(features), _integrated_gradients(fn, xs, t, n_steps), "features", n_steps)


def input_attribution(
    head: nn.Module, extractor: PartsExtractor, images: torch.Tensor, *, target: Target = None, n_steps: int = 32
) -> AttributionResult:
    """Integrated-gradients share of each part, with gradients taken with respect to the image.

    Each part's encoder gets its own copy of the image, so the pixel attributions separate by part;
    the baseline is the black image.

    Args:
        head: maps ``extractor``'s output ``(B, D)`` to ``(B, C)``.
        extractor: :class:`~physdis_hub.probes.extractors.PartsExtractor`.
        images: ``(B, 3, 64, 64)`` in [0, 1].
        target, n_steps: as in :func:`feature_attribution`.
    """
    images = check_images("images", images).detach()
    n_steps = check_positive_int("n_steps", n_steps)
    encoders = [extractor.encoders[p] for p in extractor.parts]

    def fn(*copies: torch.Tensor) -> torch.Tensor:
        return head(torch.cat([enc(to_network_range(x)).flatten(1) for enc, x in zip(encoders, copies)], dim=1))

    head.eval()
    extractor.eval()
    copies = tuple(images for _ in encoders)
    with torch.no_grad():
        t = _targets(fn(*copies), target)
    return _percentages(extractor.parts, _integrated_gradients(fn, copies, t, n_steps), "images", n_steps)


def gradcam_by_part(
    head: nn.Module, extractor: PartsExtractor, images: torch.Tensor, *, target: Target = None
) -> dict[str, torch.Tensor]:
    """Grad-CAM per part on the last 4x4 activation of each part's down path.

    Args:
        head: maps ``extractor``'s output ``(B, D)`` to ``(B, C)``.
        extractor: :class:`~physdis_hub.probes.extractors.PartsExtractor` over Unsup3d down paths.
        images: ``(B, 3, 64, 64)`` in [0, 1].
        target: output index (or one per sample); default: each sample's argmax.

    Returns:
        part -> ``(B, 64, 64)`` maps in [0, 1] (each map divided by its maximum; all-zero maps stay 0).
    """
    images = check_images("images", images).detach()
    head.eval()
    extractor.eval()
    x = to_network_range(images)
    maps, feats = {}, []
    for p in extractor.parts:
        stages = down_path_stages(extractor.encoders[p], x)
        maps[p] = stages[3]
        feats.append(stages[4].flatten(1))
    logits = head(torch.cat(feats, dim=1))
    score = logits.gather(1, _targets(logits.detach(), target)[:, None]).sum()
    grads = torch.autograd.grad(score, list(maps.values()))
    out = {}
    for (p, a), g in zip(maps.items(), grads):
        cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True)).detach()
        cam = nn.functional.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
        peak = cam.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
        out[p] = cam / peak
    return out


_JET = np.array([[0, 0, 0.5], [0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0], [0.5, 0, 0]])


def heatmap(values: np.ndarray) -> np.ndarray:
    """Jet colour map: ``(H, W)`` in [0, 1] -> ``(H, W, 3)`` uint8 (dark blue low, dark red high)."""
    v = np.clip(values, 0, 1) * (len(_JET) - 1)
    lo = np.floor(v).astype(int).clip(0, len(_JET) - 2)
    frac = (v - lo)[..., None]
    return ((_JET[lo] * (1 - frac) + _JET[lo + 1] * frac) * 255).round().astype(np.uint8)


def save_gradcam_figure(
    images: torch.Tensor,
    cams: Mapping[str, torch.Tensor],
    path: str | Path,
    *,
    percent: Mapping[str, float] | None = None,
    scale: int = 2,
    alpha: float = 0.5,
) -> Path:
    """Write a PNG: one row per image, columns = the image and its Grad-CAM overlay for each part.

    Args:
        images: ``(B, 3, H, W)`` in [0, 1].
        cams: part -> ``(B, H, W)`` in [0, 1] (from :func:`gradcam_by_part`).
        path: output file (``.png``).
        percent: optional part -> % contribution, written in the column titles.
        scale: integer upscaling of every tile.
        alpha: weight of the heat map in the overlay.

    Returns:
        ``path``.
    """
    images = check_images("images", images)
    scale = check_positive_int("scale", scale)
    b, _, h, w = images.shape
    for p, cam in cams.items():
        if tuple(cam.shape) != (b, h, w):
            raise InputError(f"cams[{p!r}]: expected shape {(b, h, w)}, got {tuple(cam.shape)}")
    rgb = (images.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).astype(np.float64)
    titles = ["input"] + [p if percent is None else f"{p} {percent[p]:.1f}%" for p in cams]
    th, tw, header, gap = h * scale, w * scale, 14, 2
    canvas = Image.new("RGB", ((tw + gap) * len(titles), header + (th + gap) * b), "white")
    draw = ImageDraw.Draw(canvas)
    for col, title in enumerate(titles):
        draw.text((col * (tw + gap) + 2, 1), title, fill="black")
    for row in range(b):
        tiles = [rgb[row]] + [(1 - alpha) * rgb[row] + alpha * heatmap(c[row].cpu().numpy()) for c in cams.values()]
        for col, tile in enumerate(tiles):
            img = Image.fromarray(tile.round().astype(np.uint8)).resize((tw, th), Image.NEAREST)  # type: ignore[attr-defined]
            canvas.paste(img, (col * (tw + gap), header + row * (th + gap)))
    path = Path(path)
    canvas.save(path, format="PNG")
    return path
