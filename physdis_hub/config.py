"""Configuration dataclasses: one per component, every field documented, serialised to config.json.

A :class:`ModelConfig` fully defines a model: network widths, image size, the physical ranges that
decode network outputs into scene parameters, the renderer convention and the loss weights. It is
what travels beside ``model.safetensors`` on the Hub.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .configbase import ConfigBase
from .vocab import BACKENDS, VARIANTS, Backend, Variant
from .vocab import PARTS as PARTS  # re-exported: the part names were defined here before vocab.py

CONFIG_FORMAT_VERSION = 6
"""Layout version of the ``config.json`` that :meth:`ModelConfig.to_dict` writes (key
``format_version``). Files without the key are format 1; :func:`migrate_config` brings any older
format up to this one, so published checkpoints keep loading after fields change."""


ENCODER_HEADS: tuple[str, ...] = ("conv-tanh", "tanh-conv")
"""Values of :attr:`NetConfig.encoder_head`."""

PIXEL_CONVENTIONS: tuple[str, ...] = ("integer", "center")
"""Values of :attr:`RenderConfig.pixel_convention`."""

BORDER_EDGES: tuple[str, ...] = ("all", "left-right")
"""Values of :attr:`SceneConfig.border_edges`."""

NORMAL_CONVENTIONS: tuple[str, ...] = ("replicate", "unsup3d")
"""Values of :attr:`RenderConfig.normals`."""


@dataclass(frozen=True)
class NetConfig(ConfigBase):
    """Widths of the five Unsup3d networks. The paper's values are the defaults."""

    depth_nf: int = 64
    """Base width of the depth (geometry) encoder-decoder."""
    albedo_nf: int = 64
    """Base width of the albedo encoder-decoder."""
    light_nf: int = 32
    """Base width of the light encoder; its bottleneck has ``8 * light_nf`` channels."""
    view_nf: int = 32
    """Base width of the view encoder; its bottleneck has ``8 * view_nf`` channels."""
    conf_nf: int = 64
    """Base width of the confidence network."""
    zdim: int = 256
    """Bottleneck size of the depth and albedo encoder-decoders (the geom/alb feature size)."""
    conf_zdim: int = 128
    """Bottleneck size of the confidence network."""
    use_conf: bool = True
    """Build the confidence network (faces: on; cars: off, then the losses use unit confidence)."""
    depth_final_tanh: bool = False
    """End the depth network in a Tanh before the depth decode. Unsup3d's depth network has no
    output activation (the decode's ``tanh(raw - mean)`` bounds it); format-1 checkpoints of this
    package had one, and keep it through the config migration so they compute what they were
    trained to compute."""
    encoder_head: str = "conv-tanh"
    """Order of the light and view networks' output head: ``"conv-tanh"`` (Unsup3d: a 1x1 conv on
    the bottleneck, then Tanh, so outputs lie in [-1, 1]) or ``"tanh-conv"`` (the PDR paper's code:
    Tanh on the bottleneck, which is then the part's feature, then the 1x1 conv, unbounded outputs).
    Parameter-free, so it does not change the state dict."""

    def __post_init__(self) -> None:
        if self.encoder_head not in ENCODER_HEADS:
            raise ValueError(
                f"NetConfig.encoder_head: expected one of {list(ENCODER_HEADS)}, got {self.encoder_head!r}"
            )
        for name in ("depth_nf", "albedo_nf", "light_nf", "view_nf", "conf_nf", "zdim", "conf_zdim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"NetConfig.{name}: expected a positive int, got {value!r}")
        for name in ("depth_nf", "albedo_nf", "conf_nf"):
            if getattr(self, name) % 16:
                raise ValueError(
                    f"NetConfig.{name}: GroupNorm uses 16 groups per nf, so nf must be a multiple of 16; "
                    f"got {getattr(self, name)}"
                )

    @property
    def feature_dims(self) -> dict[str, int]:
        """Size of each part's bottleneck feature."""
        return {"geom": self.zdim, "alb": self.zdim, "light": 8 * self.light_nf, "view": 8 * self.view_nf}


@dataclass(frozen=True)
class SceneConfig(ConfigBase):
    """Physical ranges that decode network outputs (in [-1, 1]) into scene parameters."""

    min_depth: float = 0.9
    """Canonical depth for a network output of -1."""
    max_depth: float = 1.1
    """Canonical depth for a network output of +1."""
    border_depth: float = 0.7 * 1.1 + 0.3 * 0.9
    """Depth given to the 2-pixel border of the canonical depth map (cars: 1.08)."""
    border_edges: str = "all"
    """Which edges of the canonical depth map get the 2-pixel ``border_depth`` border: ``"all"``
    (a ring on all four sides, what this package's own models were trained with) or
    ``"left-right"`` (the left and right 2 columns only, as Unsup3d's and the PDR code's
    ``model.py`` do: their border mask pads the width only; the top and bottom rows keep the
    decoded depth). Converted official models use ``"left-right"``; files of format 5 and older
    mean ``"all"``. See ``docs/official-parity.md``."""
    amb_range: tuple[float, float] = (0.0, 1.0)
    """Range of the ambient light intensity."""
    diff_range: tuple[float, float] = (0.0, 1.0)
    """Range of the diffuse light intensity (cars: (0.5, 1.0))."""
    rot_range_deg: float = 60.0
    """Maximum absolute rotation about x, y and z, in degrees."""
    xy_translation_range: float = 0.1
    """Maximum absolute translation along x and y."""
    z_translation_range: float = 0.0
    """Maximum absolute translation along z."""
    rot_center_depth: float = 1.0
    """Depth of the point on the optical axis that views rotate about."""
    fov_deg: float = 10.0
    """Horizontal and vertical field of view of the perspective camera, in degrees."""
    center_depth: bool = True
    """Subtract each image's mean raw depth-network output before the tanh (Unsup3d's decode).
    With the border fixed at ``border_depth`` this ties the object's relief to how much of the image
    the background covers: the map's mean is pinned to the middle of the range, so a background at
    the border depth must be balanced by an object that much nearer, however deep the object
    really is (the synthetic faces' true depths sit at a mean raw value of +0.09, out of reach).
    ``False``: no centring; the fixed border alone sets the depth offset. Measured on synthetic
    faces (README, Results): without it the relief grows deeper still (1.5x the truth's) and SIDE
    worsens, so every preset keeps ``True``. Files of format 4 and older mean ``True``."""

    def __post_init__(self) -> None:
        if not 0 < self.min_depth < self.max_depth:
            raise ValueError(
                f"SceneConfig: expected 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}"
            )
        for name in ("amb_range", "diff_range"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"SceneConfig.{name}: expected (low, high) with low <= high, got {(lo, hi)}")
        if not 0 < self.fov_deg < 180:
            raise ValueError(f"SceneConfig.fov_deg: expected a value in (0, 180), got {self.fov_deg}")
        if self.border_edges not in BORDER_EDGES:
            raise ValueError(
                f"SceneConfig.border_edges: expected one of {list(BORDER_EDGES)}, got {self.border_edges!r}"
            )
        if not isinstance(self.center_depth, bool):
            raise ValueError(f"SceneConfig.center_depth: expected true or false, got {self.center_depth!r}")

    @property
    def depth_margin(self) -> float:
        """Margin beyond the depth range that marks background pixels: (max - min) / 2."""
        return (self.max_depth - self.min_depth) / 2


@dataclass(frozen=True)
class RenderConfig(ConfigBase):
    """Renderer settings."""

    backend: Backend = "torch"
    """``"torch"`` (ours, CPU and CUDA) or ``"nmr"`` (neural_renderer, CUDA only, optional)."""
    pixel_convention: str = "integer"
    """Where the depth rasterizer samples pixel ``(r, c)``: ``"integer"`` at image point ``(c, r)``,
    matching the intrinsics ``cx = cy = (S - 1) / 2``; ``"center"`` at ``(c + 0.5, r + 0.5)``, as
    neural_renderer (NMR) does and so as Unsup3d trained its models, which then render as they
    were trained. Everything else (unprojection, normals, the sampling grid) uses integer pixel
    coordinates in both conventions, as Unsup3d does."""
    normals: str = "replicate"
    """How canonical normals are computed from the central differences of the depth map's 3D
    points (:func:`physdis_hub.render.normals_from_depth`): ``"replicate"`` (the outer pixel ring
    copies its inner neighbour; unit length; this package's own models) or ``"unsup3d"`` (the
    official ``get_normal_from_depth``: the outer ring is ``(0, 0, 1)`` and every normal is divided
    by its length plus ``1e-7``, which for 64x64 maps leaves them up to 0.3% shorter than
    unit length and the diffuse shading up to 0.3% darker). Converted official models use
    ``"unsup3d"``; files of format 5 and older mean ``"replicate"``."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"RenderConfig.backend: expected one of {list(BACKENDS)}, got {self.backend!r}")
        if self.pixel_convention not in PIXEL_CONVENTIONS:
            raise ValueError(
                f"RenderConfig.pixel_convention: expected one of {list(PIXEL_CONVENTIONS)}, "
                f"got {self.pixel_convention!r}"
            )
        if self.normals not in NORMAL_CONVENTIONS:
            raise ValueError(f"RenderConfig.normals: expected one of {list(NORMAL_CONVENTIONS)}, got {self.normals!r}")


@dataclass(frozen=True)
class LossConfig(ConfigBase):
    """Weights of the reconstruction loss terms.

    Where the VGG16 weights of the perceptual term come from is a property of the training
    machine, not of the model: it is :attr:`training.config.TrainConfig.perceptual_weights`, and
    never part of a published ``config.json``.
    """

    lam_flip: float = 0.5
    """Weight of the losses of the reconstruction from the flipped canonical depth and albedo."""
    lam_perc: float = 0.0
    """Weight of the VGG16 relu3_3 perceptual loss (Unsup3d faces: 1, cars: 0.01)."""
    lam_depth_smooth: float = 0.0
    """Weight of Unsup3d's depth smoothness term: mean absolute difference of neighbouring
    canonical depths divided by ``max_depth - min_depth`` (cars: 0.1)."""
    lam_normal_smooth: float = 0.0
    """Weight of the normal-smoothness prior (mean ``1 - cos`` between neighbouring canonical
    normals), scaled by the confidence map's mean photometric gain so that its pull on the depth
    keeps its size however confident the model becomes (see :func:`physdis_hub.losses.normal_smoothness`)."""
    lam_light_albedo: float = 0.0
    """Weight of the light-albedo independence prior: the squared batch correlation between the
    light's pitch and the canonical albedo's top-bottom contrast (see
    :func:`physdis_hub.losses.light_pitch_dependence`; not in Unsup3d or the paper)."""
    lam_light_depth: float = 0.0
    """Weight of the same prior on the canonical depth: the squared batch correlation between the
    light's pitch and the top-bottom contrast of the canonical depth's interior."""

    def __post_init__(self) -> None:
        for name in ("lam_flip", "lam_perc", "lam_depth_smooth", "lam_normal_smooth", "lam_light_albedo",
                     "lam_light_depth"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"LossConfig.{name}: loss weights must be >= 0, got {getattr(self, name)}")

    @property
    def perceptual_on(self) -> bool:
        """Whether the perceptual term is part of the loss."""
        return self.lam_perc > 0


@dataclass(frozen=True)
class ModelConfig(ConfigBase):
    """Everything that defines a physdis model; saved as config.json beside the weights."""

    image_size: int = 64
    """Side of the square images the networks take (the networks are built for 64)."""
    nets: NetConfig = field(default_factory=NetConfig)
    """Network widths."""
    scene: SceneConfig = field(default_factory=SceneConfig)
    """Physical ranges."""
    render: RenderConfig = field(default_factory=RenderConfig)
    """Renderer settings."""
    loss: LossConfig = field(default_factory=LossConfig)
    """Reconstruction loss weights."""
    variant: Variant = "none"
    """LOOCC variant the weights were trained with: ``"none"``, ``"L"`` or ``"LV"``."""
    category: str = "faces"
    """Object category the model was trained on (``"faces"``, ``"cars"``, ...)."""
    training_data: str = ""
    """Free text: the data set the weights were trained on."""
    license: str = "mit"
    """Licence of the weights (an SPDX-like id, as on the Hub)."""
    resize: str = "center-crop"
    """How inputs of another size are brought to ``image_size``: ``"center-crop"`` (crop the largest
    centred square, then resize) or ``"stretch"`` (resize without keeping the aspect ratio)."""
    part_scales: tuple[float, float, float, float] | None = None
    """Spread of each part's bottleneck features, in the order of :data:`physdis_hub.vocab.PARTS`
    (geom, alb, light, view): the mean over feature dimensions of their standard deviation over the
    images the model was calibrated on (:meth:`PhysDisModel.calibrate`; training exports calibrate
    on the validation split). :meth:`PhysDisModel.extract` divides each part by its scale, so every
    part requested weighs the same in distances (clustering, nearest neighbours) whatever scale its
    encoder settled at during training. None (an uncalibrated model): raw features."""

    def __post_init__(self) -> None:
        if self.image_size != 64:
            raise ValueError(
                f"ModelConfig.image_size: the Unsup3d networks are defined for 64x64 images, got {self.image_size}"
            )
        if self.variant not in VARIANTS:
            raise ValueError(f"ModelConfig.variant: expected one of {list(VARIANTS)}, got {self.variant!r}")
        if self.resize not in ("center-crop", "stretch"):
            raise ValueError(f"ModelConfig.resize: expected 'center-crop' or 'stretch', got {self.resize!r}")
        if self.part_scales is not None and (
            len(self.part_scales) != len(PARTS) or not all(math.isfinite(v) and v > 0 for v in self.part_scales)
        ):
            raise ValueError(
                f"ModelConfig.part_scales: expected None or {len(PARTS)} finite positive numbers "
                f"(one per part of {list(PARTS)}), got {self.part_scales!r}"
            )

    # -- serialisation (the rest is ConfigBase's) -----------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists), stamped with ``format_version``."""
        return {"format_version": CONFIG_FORMAT_VERSION, **super().to_dict()}

    @classmethod
    def from_dict(cls, data: Any, where: str | None = "config") -> ModelConfig:
        """Build from :meth:`to_dict` output of this or an older format (see :func:`migrate_config`).
        Unknown keys are errors, so a typo never passes silently."""
        return super().from_dict(migrate_config(data), where)


def _format_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 -> 2: the depth network ended in a Tanh (Unsup3d's has none), and the loss held
    the training machine's VGG16 weights path, which has no place in a published config."""
    nets = {"depth_final_tanh": True, **data.get("nets", {})}
    loss = {k: v for k, v in data.get("loss", {}).items() if k != "perceptual_weights"}
    return {**data, "nets": nets, "loss": loss}


def _adds_keys_with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Format 2 -> 3, 3 -> 4, 4 -> 5 and 5 -> 6: each adds keys whose defaults mean what the older
    files meant (format 3: ``part_scales``, absent = an uncalibrated model with raw features; format 4:
    ``loss.lam_light_albedo`` and ``loss.lam_light_depth``, absent = no independence prior; format 5:
    ``scene.center_depth``, absent = Unsup3d's mean-centred depth decode; format 6:
    ``scene.border_edges`` and ``render.normals``, absent = the border ring and replicated border
    normals every earlier model was trained with), so an older file is a
    valid newer one. The version still moved so that an older physdis-hub refuses a
    file with the new keys by saying it is newer, not that the keys are unknown."""
    return data


_MIGRATIONS = {
    1: _format_1_to_2,
    2: _adds_keys_with_defaults,
    3: _adds_keys_with_defaults,
    4: _adds_keys_with_defaults,
    5: _adds_keys_with_defaults,
}
"""Format N -> the step that rewrites a format-N dict as format N + 1."""


def migrate_config(data: Any) -> dict[str, Any]:
    """Bring a ``config.json`` dict of any known format to :data:`CONFIG_FORMAT_VERSION`.

    The result has no ``format_version`` key (it is the current one). A format newer than this
    package knows is refused with what to do.
    """
    if not isinstance(data, dict):
        raise ValueError(f"config: expected an object, got {type(data).__name__}")
    version = data.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"config.format_version: expected a positive int, got {version!r}")
    if version > CONFIG_FORMAT_VERSION:
        raise ValueError(
            f"config.format_version: {version} was written by a newer physdis-hub (this one reads up to "
            f"{CONFIG_FORMAT_VERSION}); upgrade with `pip install -U physdis-hub`"
        )
    data = {k: v for k, v in data.items() if k != "format_version"}
    for step in range(version, CONFIG_FORMAT_VERSION):
        data = _MIGRATIONS[step](data)
    return data
