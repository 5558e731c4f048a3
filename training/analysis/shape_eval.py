"""Depth and scene-parameter accuracy against synthetic ground truth, telling shape from view.

The headline is Unsup3d's: the predicted depth seen in the predicted view, against the true depth
in the true view (``side``, ``mad_deg``). A model can fit the image with a wrong view and a shape
bent to compensate (a vertical tilt of the canonical depth traded against view pitch is a gauge
freedom of the objective), so the diagnostics separate the two:

- ``side_true_view`` / ``mad_true_view``: the predicted *canonical* depth seen in the *true* view;
- ``side_deplaned`` / ``mad_deplaned``: the headline after dividing out the best-fitting plane of
  ``pred / gt`` (a least-squares plane of ``log pred - log gt`` over the object), so a tilt alone
  costs nothing;
- ``hf_ratio``: the high-frequency depth energy of the prediction over that of the truth (RMS of
  depth minus its 5x5 box blur, inside the eroded object mask): speckle makes it large, an
  over-smoothed shape small;
- ``light_{x,y}_corr`` / ``_slope`` and ``view_{yaw,pitch}_corr`` / ``_slope``: Pearson correlation
  and least-squares slope of the predicted light direction (``l_x / l_z``, ``l_y / l_z``) and view
  angles against the truth (slope 1: right scale; < 1: under-estimated);
- ``light_x_shading_slope`` and ``light_z_shading_ratio``: the light's strength split the way the
  image sees it. Shading is ``ambient + diffuse * (n_x l_x + n_y l_y + n_z l_z)``; its left-right
  part, ``diffuse * l_x``, is antisymmetric, so a flip-symmetric albedo cannot imitate it (slope of
  the prediction on the truth), while its head-on part, ``diffuse * l_z``, varies over the face
  only as ``n_z`` does and a symmetric albedo can take it up (ratio of the predicted mean to the
  true mean). The tilt is ``l_x / l_z``, so the light x slope is close to the first over the second;
- ``albedo_brightness_slope``: slope of the predicted canonical albedo's mean luminance over the
  true object on the true one: whether a darker face is read as a darker albedo (1) or as weaker
  light (near 0);
- ``yaw_shift_corr``: correlation, over the images, of the yaw error with the error of the
  horizontal translation. A head turned about a pivot behind its face also moves sideways, so an
  under-estimated yaw can be made up by a sideways shift; strongly negative: the view trades yaw
  for translation (the predicted depth is symmetric, so it cannot take up a turn itself; a pitch
  has the depth's vertical tilt to trade with instead);
- ``relief_slope``: least-squares slope of the predicted *canonical* depth on the true one (each
  image's interior centred on its mean): how deep the relief is (1: right; > 1: too deep). Shading
  and a small turn of the head see the relief only through its product with the light tilt and the
  yaw (the bas-relief ambiguity), so a relief that is too deep comes with light and yaw slopes
  below 1;
- ``light_{x,y}_id_share`` (when identity labels are given): the share of the variance of the
  predicted light tilt that lies *between* identities (one-way ANOVA eta squared). The synthetic
  light is drawn per image, independent of the person, so the truth's share is near the share a
  random split would give (``identities / images``); a large share means the light decoder spends
  its output on something about the person (e.g. a vertical shape feature the depth does not carry)
  instead of the light;
- ``albedo_light_y_corr``: correlation, over the images, of two errors: the predicted canonical
  albedo's top-bottom contrast minus the true one (:func:`vertical_contrast`, over the true object),
  and the predicted vertical light tilt minus the true one. Strongly negative: the albedo holds the
  top-bottom shading the light should explain (a darker top stands in for light from below).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from physdis_hub.model import PhysDisModel
from physdis_hub.render import Renderer
from physdis_hub.render.camera import Camera, normals_from_depth
from physdis_hub.scene import SceneParams, depth_interior, region_luminance, vertical_contrast
from physdis_hub.vocab import to_network_range


def depth_errors(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, camera: Camera) -> dict[str, float]:
    """SIDE and MAD (degrees) of ``pred`` against ``gt`` over ``mask``.

    SIDE is Unsup3d's scale-invariant depth error: the standard deviation of ``log pred - log gt``
    over the object; MAD the mean angle between the normals of the two depth maps. Both are
    averaged over the images whose mask is not empty.

    Args:
        pred, gt: ``(N, S, S)`` positive depths.
        mask: ``(N, 1, S, S)`` or ``(N, S, S)``, 1 on the object.
        camera: the camera the depths are seen from (for the normals).
    """
    m = mask.reshape(gt.shape) > 0.5
    d = pred.clamp_min(1e-6).log() - gt.clamp_min(1e-6).log()
    side = [float((di[mi] - di[mi].mean()).pow(2).mean().sqrt()) for di, mi in zip(d.double(), m) if mi.any()]
    cos = (normals_from_depth(camera, pred) * normals_from_depth(camera, gt)).sum(-1).clamp(-1, 1)
    mad = [float(torch.rad2deg(torch.acos(ci[mi])).mean()) for ci, mi in zip(cos, m) if mi.any()]
    if not side:
        raise ValueError("mask: empty for every image, nothing to compare")
    return {"side": float(np.mean(side)), "mad_deg": float(np.mean(mad))}


def remove_best_plane(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``pred`` divided by the plane ``exp(a x + b y + c)`` that best fits ``pred / gt`` in the log
    domain over ``mask`` (least squares per image; x, y the pixel coordinates).

    Args:
        pred, gt: ``(N, S, S)`` positive depths.
        mask: ``(N, 1, S, S)`` or ``(N, S, S)``.

    Returns:
        ``(N, S, S)``.
    """
    n, h, w = pred.shape
    m = (mask.reshape(n, h, w) > 0.5).double()
    ys, xs = torch.meshgrid(
        torch.linspace(-1, 1, h, dtype=torch.float64), torch.linspace(-1, 1, w, dtype=torch.float64), indexing="ij"
    )
    basis = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, h * w, 3)  # (1, HW, 3)
    diff = (pred.double().clamp_min(1e-6).log() - gt.double().clamp_min(1e-6).log()).reshape(n, h * w, 1)
    wts = m.reshape(n, h * w, 1)
    normal = (basis * wts).transpose(1, 2) @ basis + 1e-9 * torch.eye(3, dtype=torch.float64)
    coef = torch.linalg.solve(normal, (basis * wts).transpose(1, 2) @ diff)  # (N, 3, 1)
    plane = (basis @ coef).reshape(n, h, w)
    return (pred.double() * torch.exp(-plane)).to(pred.dtype)


def high_frequency_rms(depth: torch.Tensor, mask: torch.Tensor) -> float:
    """RMS of ``depth`` minus its 5x5 box blur over ``mask`` eroded by 3 pixels (mean over images).

    Args:
        depth: ``(N, S, S)``.
        mask: ``(N, 1, S, S)`` or ``(N, S, S)``.
    """
    d = depth[:, None].double()
    residual = d - F.avg_pool2d(F.pad(d, (2, 2, 2, 2), mode="replicate"), 5, 1)
    m = mask.reshape(d.shape).double()
    eroded = -F.max_pool2d(-m, 7, 1, 3)
    rms = [float((r[e > 0.5] ** 2).mean().sqrt()) for r, e in zip(residual, eroded) if (e > 0.5).any()]
    if not rms:
        raise ValueError("mask: nothing is left after erosion")
    return float(np.mean(rms))


def corr_slope(pred: torch.Tensor, true: torch.Tensor) -> tuple[float, float]:
    """Pearson correlation and least-squares slope of ``pred`` on ``true`` (same number of values);
    NaN where ``true`` (or, for the correlation, either) has no variance."""
    p, t = pred.double().flatten(), true.double().flatten()
    p, t = p - p.mean(), t - t.mean()
    denom = float((p.square().sum() * t.square().sum()).sqrt())
    corr = float((p * t).sum()) / denom if denom > 0 else float("nan")
    var = float(t.square().sum())
    return corr, (float((p * t).sum()) / var if var > 0 else float("nan"))


def parameter_agreement(pred: SceneParams, true: SceneParams) -> dict[str, float]:
    """Correlation and slope of the predicted light direction and view angles against the truth, the
    light's left-right and head-on shading strengths (``light_x_shading_slope``,
    ``light_z_shading_ratio``), and the correlation of the yaw error with the horizontal-shift error
    (``yaw_shift_corr``; NaN where either error is constant)."""
    out: dict[str, float] = {}
    p_tilt, t_tilt = pred.light.tilt(), true.light.tilt()
    pairs = {
        "light_x": (p_tilt[:, 0], t_tilt[:, 0]),
        "light_y": (p_tilt[:, 1], t_tilt[:, 1]),
        "view_yaw": (pred.view.rotation[:, 1], true.view.rotation[:, 1]),
        "view_pitch": (pred.view.rotation[:, 0], true.view.rotation[:, 0]),
    }
    for name, (p, t) in pairs.items():
        out[f"{name}_corr"], out[f"{name}_slope"] = corr_slope(p, t)
    p_shading, t_shading = (s.light.diffuse[:, None] * s.light.direction for s in (pred, true))  # (N, 3) each
    _, out["light_x_shading_slope"] = corr_slope(p_shading[:, 0], t_shading[:, 0])
    out["light_z_shading_ratio"] = float(p_shading[:, 2].double().mean() / t_shading[:, 2].double().mean())
    shift_error = pred.view.translation[:, 0] - true.view.translation[:, 0]
    out["yaw_shift_corr"], _ = corr_slope(pred.view.rotation[:, 1] - true.view.rotation[:, 1], shift_error)
    return out


def identity_share(values: torch.Tensor, identity: torch.Tensor | np.ndarray) -> float:
    """Between-identity share of the variance of ``values (N,)`` (eta squared of a one-way ANOVA on
    the labels ``identity (N,)``): 1 when each identity has one value, about ``K / N`` for ``K``
    identities when the values ignore them.

    Raises:
        ValueError: shapes differ, or ``values`` do not vary.
    """
    v = values.double().flatten()
    labels = torch.as_tensor(np.asarray(identity)).flatten()
    if labels.shape != v.shape:
        raise ValueError(f"identity: expected {tuple(v.shape)} labels, one per value, got {tuple(labels.shape)}")
    _, inverse = labels.unique(return_inverse=True)
    total = float((v - v.mean()).square().sum())
    if total == 0:
        raise ValueError("values: constant, the share of their variance is undefined")
    counts = torch.zeros(int(inverse.max()) + 1, dtype=torch.float64).index_add_(0, inverse, torch.ones_like(v))
    means = torch.zeros_like(counts).index_add_(0, inverse, v) / counts
    return float((counts * (means - v.mean()).square()).sum()) / total


def relief_slope(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Least-squares slope of canonical depths ``pred`` on ``true`` (both ``(N, S, S)``), over their
    interiors (:func:`physdis_hub.scene.depth_interior`) with each image's mean removed."""
    p, t = (depth_interior(d).double().flatten(1) for d in (pred, true))
    p, t = p - p.mean(1, keepdim=True), t - t.mean(1, keepdim=True)
    var = float(t.square().sum())
    if var == 0:
        raise ValueError("true: every canonical depth is flat, the relief slope is undefined")
    return float((p * t).sum()) / var


@torch.no_grad()
def predict_scenes(model: PhysDisModel, images: torch.Tensor, batch_size: int = 128) -> SceneParams:
    """The model's scene parameters of ``images (N, 3, S, S)`` in [0, 1], on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    scenes = [
        model.decode_scene(model._encode(to_network_range(c.to(device)))).to("cpu") for c in images.split(batch_size)
    ]
    model.train(was_training)
    return SceneParams.cat(scenes)


@torch.no_grad()
def shape_scores(
    model: PhysDisModel,
    images: torch.Tensor,
    true: SceneParams,
    view_depth: torch.Tensor,
    view_mask: torch.Tensor,
    identity: np.ndarray | None = None,
) -> dict[str, float]:
    """Every score of the module docstring for ``model`` on ``images``.

    Args:
        model: the model (its renderer and camera are used, on the CPU).
        images: ``(N, 3, S, S)`` in [0, 1].
        true: the ground-truth scene parameters (batch ``N``).
        view_depth: ``(N, S, S)`` true depth in the true view.
        view_mask: ``(N, 1, S, S)`` true object mask in the true view.
        identity: ``(N,)`` identity labels; adds the ``light_{x,y}_id_share`` diagnostics.
    """
    pred = predict_scenes(model, images)
    renderer = Renderer(model.config)  # on the CPU, where the predictions and the truth are
    camera = renderer.camera
    vd = renderer.view_depth(pred.depth, pred.view)
    mask = view_mask * renderer.object_mask(vd)
    out = depth_errors(vd, view_depth, mask, camera)
    tv = renderer.view_depth(pred.depth, true.view)
    tv_scores = depth_errors(tv, view_depth, view_mask * renderer.object_mask(tv), camera)
    out["side_true_view"], out["mad_true_view"] = tv_scores["side"], tv_scores["mad_deg"]
    flat = depth_errors(remove_best_plane(vd, view_depth, mask), view_depth, mask, camera)
    out["side_deplaned"], out["mad_deplaned"] = flat["side"], flat["mad_deg"]
    out["hf_ratio"] = high_frequency_rms(vd, mask) / high_frequency_rms(view_depth, mask)
    out.update(parameter_agreement(pred, true))
    out["relief_slope"] = relief_slope(pred.depth, true.depth)
    obj = true.depth < true.depth.amax((1, 2), keepdim=True)  # nearer than the background plane
    contrast_error = vertical_contrast(pred.albedo.double(), obj) - vertical_contrast(true.albedo.double(), obj)
    out["albedo_light_y_corr"], _ = corr_slope(contrast_error, pred.light.tilt()[:, 1] - true.light.tilt()[:, 1])
    pred_brightness, true_brightness = (region_luminance(s.albedo.double(), obj) for s in (pred, true))
    _, out["albedo_brightness_slope"] = corr_slope(pred_brightness, true_brightness)
    if identity is not None:
        out["light_x_id_share"], out["light_y_id_share"] = (
            identity_share(t, identity) for t in pred.light.tilt().unbind(1)
        )
    return out


def null_depth_scores(view_depth: torch.Tensor, view_mask: torch.Tensor, camera: Camera) -> dict[str, float]:
    """SIDE / MAD of a constant depth (the mean true depth over the objects), the baseline to beat."""
    null = torch.full_like(view_depth, float(view_depth[view_mask.reshape(view_depth.shape) > 0.5].mean()))
    return depth_errors(null, view_depth, view_mask, camera)


def ratios_to_null(scores: Mapping[str, float], null: Mapping[str, float]) -> dict[str, float]:
    """``side / null side`` and ``mad / null mad`` (the issue's targets are <= 0.7)."""
    return {"side_vs_null": scores["side"] / null["side"], "mad_vs_null": scores["mad_deg"] / null["mad_deg"]}
