"""LOOCC: the Leave-One-Out, Cycle Contrastive loss (paper sec. 3.2, implementation details sec. 4.3).

Three steps per batch:

1. **Physical augmentation.** Perturb the *predicted* light or view of every image by values drawn
   from an explicit :class:`torch.Generator` (:func:`sample_perturbation`, :func:`apply_perturbation`);
   depth, albedo and the other of light/view stay exactly as predicted.
2. **Cyclic encoding.** Re-render the perturbed scene with the training renderer
   (``model.renderer.render``; differentiable, so gradients flow back through the scene parameters
   into the encoder-decoders) and encode the re-rendered image with the encoders of the three
   unchanged parts (the left-out part's features of the re-rendering enter no loss).
3. **Leave-one-out contrastive term.** NT-Xent (SimCLR form, temperature 0.5) between the
   concatenated features of the three *unchanged* parts of each input and of its re-rendering:
   positives are the same image, negatives the other ``2N - 2`` rows of the batch.

Two styles (``LooccConfig.style``; docs/loocc.md has the side-by-side table and provenance): the
paper's text (``"text"``, the default) and the authors' public code (``"code"``,
tzofi/physically-disentangled-representations, ``pdr/model.py`` and ``pdr/trainer.py``). They differ in:

- Similarity: the text's NT-Xent uses cosine similarity (:func:`~physdis_hub.losses.nt_xent`). The
  code's ``SupConLoss(temperature=0.5)`` takes the dot products of the *unnormalised* bottleneck
  features and scales the loss by ``temperature / 0.07`` (its ``base_temperature``), about 7.14x
  (:func:`contrastive_loss`).
- Light intensities: both add ``U(-0.5, 0.5)`` to ambient and diffuse. The text style then clamps
  them to the configuration's ranges (``SceneConfig.amb_range`` / ``diff_range``), the only values
  the light decoder can express (the paper does not say what happens outside them); the code does
  not clamp.
- Light direction: the text perturbs pitch and yaw by ``U(-45, 45)`` degrees (``light_mode="angles"``;
  the perturbed angles are clamped to ``+-light_angle_limit_deg``, 85 by default, so that the
  direction ``normalize(tan yaw, tan pitch, 1)`` stays finite). The code adds ``U(-pi/8, pi/8)`` to
  each component of the unit direction vector and does *not* renormalise (``light_mode="vector"``):
  the vector's length then scales the diffuse term.
- View (both): pitch (rotation about x) ``+= U(-22.5, 22.5)`` degrees, yaw (about y)
  ``+= U(-45, 45)`` degrees, roll and translation unchanged; not clamped (the renderer handles any
  rotation).
- Outside this module, the code's light and view features are ``tanh(ReLU(.))`` (its encoders put
  the Tanh before the last 1x1 convolution: ``NetConfig.encoder_head="tanh-conv"``) and its
  training images are flipped horizontally with probability 0.5 (``AugmentConfig.p_hflip``);
  :func:`training.presets.build_preset` with ``loocc_style="code"`` sets all of these together.
- Variants: ``"L"`` always perturbs light; ``"LV"`` picks light or view with probability 1/2 per
  batch (one choice for the whole batch, as the paper's per-batch wording says).
- Weighting: ``total = reconstruction + 0.01 * contrastive`` (public code; the text's tau = 0.01,
  beta = 1.00 is the same weighting).
- The re-rendered image is the renderer's masked output (background 0 in [-1, 1]), the same
  convention as the reconstruction the model is trained on.

An extension that is in neither the paper nor its code, off by default (``cycle_weight=0``): a
*cycle term* asks the network of the perturbed part to read the perturbation back, i.e. the light
(or view) network applied to the re-rendered image should output the light (or view) that rendered
it (:func:`cycle_loss`). It is self-supervision with labels the renderer makes for free, and it
targets two failures measured on the CPU faces models: the light's vertical component, which a
left-right symmetric albedo can absorb (nothing else in the objective separates top-bottom shading
from albedo), and light/view estimates shrunk towards the mean (slopes 0.6-0.7 against the truth).

Distributed training: with ``gather=True`` the features of every rank are gathered so that NT-Xent
sees the whole global batch, exactly as a single process would (see :func:`gather_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from physdis_hub.config import SceneConfig
from physdis_hub.configbase import ConfigBase
from physdis_hub.losses import nt_xent
from physdis_hub.model import PhysDisModel
from physdis_hub.render import Rendering
from physdis_hub.scene import Light, SceneParams, View, encode_light, encode_view
from physdis_hub.vocab import PARTS, VARIANTS, Variant

KINDS: tuple[str, ...] = ("light", "view")
"""Scene parameters LOOCC can perturb (also the names of the parts left out)."""
STYLES: tuple[str, ...] = ("text", "code")
"""Values of :attr:`LooccConfig.style`: the paper's text, the authors' public code."""
SUPCON_BASE_TEMPERATURE = 0.07
"""``base_temperature`` of the authors' ``SupConLoss`` (its default; ``pdr/contrastive_loss.py``): the
code-style loss is scaled by ``temperature / SUPCON_BASE_TEMPERATURE``."""


@dataclass(frozen=True)
class LooccConfig(ConfigBase):
    """LOOCC settings; the defaults are the paper's (sec. 4.3)."""

    variant: Variant = "none"
    """``"none"``, ``"L"`` (always perturb light) or ``"LV"`` (light or view, chosen per batch)."""
    style: str = "text"
    """``"text"``: the paper's text (cosine NT-Xent, light angles, intensities clamped); ``"code"``: the
    authors' public code (SupConLoss on unnormalised features, light vector not renormalised,
    intensities not clamped). See the module docstring."""
    weight: float = 0.01
    """Weight of the contrastive term in the total loss."""
    temperature: float = 0.5
    """NT-Xent temperature."""
    ambient_delta: float = 0.5
    """Ambient intensity is shifted by ``U(-ambient_delta, ambient_delta)`` (then clamped to amb_range
    in the ``"text"`` style)."""
    diffuse_delta: float = 0.5
    """Diffuse intensity is shifted by ``U(-diffuse_delta, diffuse_delta)`` (then clamped to diff_range
    in the ``"text"`` style)."""
    light_mode: str = ""
    """``"angles"``: shift light pitch and yaw (paper text); ``"vector"``: shift the direction's
    components, no renormalisation (public code). Empty: the style's own (text: angles, code: vector)."""
    light_angle_deg: float = 45.0
    """``"angles"`` mode: light pitch and yaw are each shifted by ``U(-a, a)`` degrees."""
    light_angle_limit_deg: float = 85.0
    """``"angles"`` mode: perturbed light pitch and yaw are clamped to ``+-`` this many degrees."""
    light_vector_delta: float = math.pi / 8
    """``"vector"`` mode: each direction component is shifted by ``U(-d, d)`` (not renormalised)."""
    view_pitch_deg: float = 22.5
    """View pitch (rotation about x) is shifted by ``U(-p, p)`` degrees."""
    view_yaw_deg: float = 45.0
    """View yaw (rotation about y) is shifted by ``U(-y, y)`` degrees."""
    gather: bool = True
    """Under DDP, gather features from all ranks so negatives span the global batch."""
    cycle_weight: float = 0.0
    """Weight of the cycle term (:func:`cycle_loss`; not in the paper): the perturbed part's network
    must read the perturbed light or view back from the re-rendered image. 0 turns it off."""

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"LooccConfig.variant: expected one of {list(VARIANTS)}, got {self.variant!r}")
        if self.style not in STYLES:
            raise ValueError(f"LooccConfig.style: expected one of {list(STYLES)}, got {self.style!r}")
        if self.light_mode not in ("", "angles", "vector"):
            raise ValueError(f"LooccConfig.light_mode: expected '', 'angles' or 'vector', got {self.light_mode!r}")
        if self.weight < 0:
            raise ValueError(f"LooccConfig.weight: expected >= 0, got {self.weight}")
        if self.temperature <= 0:
            raise ValueError(f"LooccConfig.temperature: expected > 0, got {self.temperature}")
        for name in (
            "ambient_delta",
            "diffuse_delta",
            "light_angle_deg",
            "light_vector_delta",
            "view_pitch_deg",
            "view_yaw_deg",
            "cycle_weight",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"LooccConfig.{name}: expected >= 0, got {getattr(self, name)}")
        if not 0 < self.light_angle_limit_deg < 90:
            raise ValueError(
                f"LooccConfig.light_angle_limit_deg: expected a value in (0, 90), got {self.light_angle_limit_deg}"
            )

    @property
    def light_perturbation(self) -> str:
        """``light_mode``, or the style's own when it is empty (text: ``"angles"``, code: ``"vector"``)."""
        return self.light_mode or ("angles" if self.style == "text" else "vector")

    @property
    def enabled(self) -> bool:
        """Whether the contrastive term is part of the loss."""
        return self.variant != "none"


@dataclass
class Perturbation:
    """Sampled offsets for one batch of ``N`` images; every tensor has ``N`` rows.

    Attributes:
        kind: ``"light"`` or ``"view"``: the scene parameter perturbed (and the part left out).
        deltas: offsets by name. Light, angles mode: ``ambient, diffuse, pitch, yaw`` ``(N,)``
            (angles in radians). Light, vector mode: ``ambient, diffuse`` ``(N,)``, ``direction`` ``(N, 3)``.
            View: ``pitch, yaw`` ``(N,)`` in radians.
    """

    kind: str
    deltas: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return next(iter(self.deltas.values())).shape[0]

    def rows(self, index: torch.Tensor | slice) -> Perturbation:
        """The offsets of a subset of the images (e.g. one rank's share of the global batch)."""
        return Perturbation(self.kind, {k: v[index] for k, v in self.deltas.items()})

    def to(self, device: torch.device | str) -> Perturbation:
        return Perturbation(self.kind, {k: v.to(device) for k, v in self.deltas.items()})

    @property
    def unchanged_parts(self) -> tuple[str, ...]:
        """The parts whose features the contrastive term pulls together (all but ``kind``)."""
        return tuple(p for p in PARTS if p != self.kind)


def _uniform(n: int, half_width: float, generator: torch.Generator, *shape: int) -> torch.Tensor:
    return (torch.rand(n, *shape, generator=generator) * 2 - 1) * half_width


def sample_perturbation(config: LooccConfig, batch_size: int, generator: torch.Generator) -> Perturbation | None:
    """Draw the offsets for one batch (on the CPU, from ``generator`` only).

    Draw the offsets for the *global* batch and give each rank its rows, so that every rank's
    generator stays in step and a multi-process run matches a single-process one.

    Args:
        config: :class:`LooccConfig`.
        batch_size: ``N``, the number of images.
        generator: CPU :class:`torch.Generator`; its state is part of every checkpoint.

    Returns:
        A :class:`Perturbation`, or None for variant ``"none"`` (the generator is not advanced).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size}")
    if not config.enabled:
        return None
    if config.variant == "L":
        kind = "light"
    else:
        kind = KINDS[int(torch.randint(2, (1,), generator=generator))]
    if kind == "view":
        return Perturbation(
            "view",
            {
                "pitch": _uniform(batch_size, math.radians(config.view_pitch_deg), generator),
                "yaw": _uniform(batch_size, math.radians(config.view_yaw_deg), generator),
            },
        )
    deltas = {
        "ambient": _uniform(batch_size, config.ambient_delta, generator),
        "diffuse": _uniform(batch_size, config.diffuse_delta, generator),
    }
    if config.light_perturbation == "angles":
        deltas["pitch"] = _uniform(batch_size, math.radians(config.light_angle_deg), generator)
        deltas["yaw"] = _uniform(batch_size, math.radians(config.light_angle_deg), generator)
    else:
        deltas["direction"] = _uniform(batch_size, config.light_vector_delta, generator, 3)
    return Perturbation("light", deltas)


def apply_perturbation(
    scene: SceneParams, perturbation: Perturbation, scene_config: SceneConfig, config: LooccConfig
) -> SceneParams:
    """The scene with its light or view offset by ``perturbation``; everything else is the same object.

    Args:
        scene: predicted :class:`SceneParams` of batch ``N`` (gradients are kept).
        perturbation: offsets for the same ``N`` images, on the scene's device (:meth:`Perturbation.to`).
        scene_config: the model's ranges (``"text"`` style: light intensities are clamped to them).
        config: :class:`LooccConfig` (style, light mode and angle limit).

    Returns:
        :class:`SceneParams` sharing ``depth``, ``albedo`` and the unperturbed part with ``scene``.
    """
    if perturbation.batch_size != scene.batch_size:
        raise ValueError(f"perturbation: has {perturbation.batch_size} rows, the scene has {scene.batch_size} images")
    d = perturbation.deltas
    if perturbation.kind == "view":
        offset = torch.stack([d["pitch"], d["yaw"], torch.zeros_like(d["yaw"])], dim=1)
        return scene.with_view(View(scene.view.rotation + offset, scene.view.translation))
    if perturbation.kind != "light":
        raise ValueError(f"perturbation.kind: expected one of {KINDS}, got {perturbation.kind!r}")
    light = scene.light
    ambient, diffuse = light.ambient + d["ambient"], light.diffuse + d["diffuse"]
    if config.style == "text":
        ambient, diffuse = ambient.clamp(*scene_config.amb_range), diffuse.clamp(*scene_config.diff_range)
    if "direction" in d:
        return scene.with_light(Light(ambient, diffuse, light.direction + d["direction"]))
    limit = math.radians(config.light_angle_limit_deg)
    pitch, yaw = light.angles()
    pitch = (pitch + d["pitch"]).clamp(-limit, limit)
    yaw = (yaw + d["yaw"]).clamp(-limit, limit)
    return scene.with_light(Light.from_angles(ambient, diffuse, pitch, yaw))


class _GatherRows(torch.autograd.Function):
    """All-gather along dim 0; the backward pass returns ``world_size *`` this rank's slice.

    Exact when every rank applies the same function to the gathered tensor (true for NT-Xent over
    the gathered batch): the gradient of the sum of the ``W`` identical per-rank losses with respect
    to this rank's rows is ``W`` times the local one, and DDP then averages over the ``W`` ranks.
    Needs no collective in the backward pass (gloo has no reduce-scatter).
    """

    @staticmethod
    def forward(ctx, rows: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        import torch.distributed as dist

        world, rank = dist.get_world_size(), dist.get_rank()
        parts = [torch.empty_like(rows) for _ in range(world)]
        dist.all_gather(parts, rows.contiguous())
        ctx.world, ctx.rank, ctx.n = world, rank, rows.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n] * ctx.world


def gather_rows(rows: torch.Tensor) -> torch.Tensor:
    """Concatenate ``rows (n, D)`` of every rank (rank order) into ``(W * n, D)``; identity without DDP.

    Every rank must pass the same ``n``.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return rows
    return _GatherRows.apply(rows)


@dataclass
class LooccOutput:
    """What :func:`loocc_loss` returns.

    Attributes:
        loss: scalar NT-Xent over the (gathered) batch, unweighted.
        cycle: scalar :func:`cycle_loss`, unweighted; None when ``config.cycle_weight`` is 0.
        augmented: ``(N, 3, S, S)`` re-rendered images in [-1, 1] (masked).
        features: part -> ``(N, D_part)`` features of the re-rendered images, for the three parts the
            contrastive term uses (:attr:`Perturbation.unchanged_parts`).
        scene: the perturbed :class:`SceneParams`.
    """

    loss: torch.Tensor
    augmented: torch.Tensor
    features: dict[str, torch.Tensor]
    scene: SceneParams
    cycle: torch.Tensor | None = None


def loocc_loss(
    model: PhysDisModel,
    scene: SceneParams,
    features: dict[str, torch.Tensor],
    perturbation: Perturbation,
    config: LooccConfig,
    gather: Callable[[torch.Tensor], torch.Tensor] = gather_rows,
    rendering: Rendering | None = None,
) -> LooccOutput:
    """The LOOCC contrastive term for one batch.

    Args:
        model: the model being trained (its renderer and encoders are used).
        scene: predicted :class:`SceneParams` of the inputs, batch ``N``.
        features: part -> ``(N, D_part)`` features of the inputs (from ``model.forward``).
        perturbation: offsets for the ``N`` images (:func:`sample_perturbation`).
        config: :class:`LooccConfig`.
        gather: how rows are collected across ranks (identity when ``config.gather`` is False).
        rendering: the rendering of ``scene`` in its first ``N`` rows (``model.forward``'s, whose
            flipped twin follows them). When given, a light perturbation keeps its geometry
            (:meth:`~physdis_hub.render.Renderer.relight`) instead of rasterizing the unchanged
            depth and view again: the same re-rendering, without the rasterizer's cost.

    Returns:
        :class:`LooccOutput`.
    """
    missing = [p for p in PARTS if p not in features]
    if missing:
        raise ValueError(f"features: missing parts {missing}; expected all of {list(PARTS)}")
    perturbed = apply_perturbation(scene, perturbation, model.config.scene, config)
    if perturbation.kind == "light" and rendering is not None:
        unchanged = rendering.rows(slice(0, scene.batch_size))
        augmented = model.renderer.relight(unchanged, perturbed.albedo, perturbed.light).image
    else:
        augmented = model.renderer.render(perturbed).image
    keep = perturbation.unchanged_parts
    aug_features = model._encode(augmented, keep)
    z = torch.cat([features[p] for p in keep], dim=1)
    z_aug = torch.cat([aug_features[p] for p in keep], dim=1)
    if config.gather:
        z, z_aug = gather(z), gather(z_aug)
    loss = contrastive_loss(z, z_aug, config)
    cycle = cycle_loss(model, augmented, perturbed, perturbation.kind) if config.cycle_weight > 0 else None
    return LooccOutput(loss, augmented, aug_features, perturbed, cycle)


def contrastive_loss(z: torch.Tensor, z_aug: torch.Tensor, config: LooccConfig) -> torch.Tensor:
    """The contrastive term of ``config.style`` between rows of ``z (N, D)`` and ``z_aug (N, D)``.

    ``"text"``: :func:`~physdis_hub.losses.nt_xent` (cosine similarity over ``temperature``).
    ``"code"``: the authors' ``SupConLoss(temperature)`` without labels on the pairs ``(z_i, z_aug_i)``:
    the same cross-entropy over the ``2N`` anchors, but on dot products of the unnormalised features,
    times ``temperature / SUPCON_BASE_TEMPERATURE``.

    Returns:
        Scalar.
    """
    if config.style == "text":
        return nt_xent(z, z_aug, config.temperature)
    scale = config.temperature / SUPCON_BASE_TEMPERATURE
    return scale * nt_xent(z, z_aug, config.temperature, normalize=False)


def cycle_loss(model: PhysDisModel, augmented: torch.Tensor, perturbed: SceneParams, kind: str) -> torch.Tensor:
    """Mean L1, in the network's output space [-1, 1], between what the ``kind`` network reads from the
    re-rendered images and the perturbed parameters that rendered them.

    Both the images and the target are detached: only the light (or view) network learns from this
    term, as from labelled examples; it does not reshape depth or albedo to make reading easier.
    Targets the decoder cannot express are clamped (:func:`~physdis_hub.scene.encode_light`).

    Args:
        model: the model being trained.
        augmented: ``(N, 3, S, S)`` re-rendered images in [-1, 1].
        perturbed: the perturbed :class:`SceneParams` that rendered them.
        kind: ``"light"`` or ``"view"``: the perturbed part.

    Returns:
        Scalar loss.
    """
    cfg = model.config.scene
    if kind == "light":
        target = encode_light(perturbed.light, cfg)
    elif kind == "view":
        target = encode_view(perturbed.view, cfg)
    else:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    net = model.part_networks()[kind]
    return (net(augmented.detach()) - target.detach()).abs().mean()
