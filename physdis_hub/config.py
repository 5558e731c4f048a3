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
from .errors import ConfigFormatError
from .vocab import PARTS, VARIANTS, Variant

CONFIG_FORMAT_VERSION = 6
"""Layout version of the ``config.json`` that :meth:`ModelConfig.to_dict` writes (key
``format_version``). Format 6 is the one published schema: the formats before it (1 to 5, files
without the key are format 1) were never published on the Hub and are refused with how to
re-export them (:func:`check_format`); a newer format is refused with how to upgrade."""

IMAGE_SIZE = 64
"""Side of the square images the Unsup3d networks are built for (:attr:`ModelConfig.image_size`)."""

REEXPORT_HINT = (
    "re-export it with this physdis-hub: `physdis convert unsup3d|pdr CHECKPOINT -o OUT --category C` for a converted "
    "official checkpoint, `python -m training.export RUN_DIR` for a run trained with this version"
)
"""How to turn a checkpoint of an older config format into one this package reads."""


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
    decoded depth). Converted official models use ``"left-right"``. See ``docs/official-parity.md``."""
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

    def __post_init__(self) -> None:
        if not 0 < self.min_depth < self.max_depth:
            raise ValueError(f"SceneConfig: expected 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}")
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

    @property
    def depth_margin(self) -> float:
        """Margin beyond the depth range that marks background pixels: (max - min) / 2."""
        return (self.max_depth - self.min_depth) / 2


@dataclass(frozen=True)
class RenderConfig(ConfigBase):
    """Renderer settings."""

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
    ``"unsup3d"``."""

    def __post_init__(self) -> None:
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

    def __post_init__(self) -> None:
        for name in ("lam_flip", "lam_perc", "lam_depth_smooth", "lam_normal_smooth"):
            if getattr(self, name) < 0:
                raise ValueError(f"LossConfig.{name}: loss weights must be >= 0, got {getattr(self, name)}")

    @property
    def perceptual_on(self) -> bool:
        """Whether the perceptual term is part of the loss."""
        return self.lam_perc > 0


@dataclass(frozen=True)
class ModelConfig(ConfigBase):
    """Everything that defines a physdis model; saved as config.json beside the weights."""

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

    @property
    def image_size(self) -> int:
        """Side of the square images the networks take: :data:`IMAGE_SIZE` (not a setting)."""
        return IMAGE_SIZE

    # -- serialisation (the rest is ConfigBase's) -----------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists), stamped with ``format_version``."""
        return {"format_version": CONFIG_FORMAT_VERSION, **super().to_dict()}

    @classmethod
    def from_dict(cls, data: Any, where: str | None = "config") -> ModelConfig:
        """Build from :meth:`to_dict` output of this format (see :func:`check_format`). Unknown keys
        are errors, so a typo never passes silently."""
        return super().from_dict(check_format(data), where)


def check_format(data: Any) -> dict[str, Any]:
    """``data``, a ``config.json`` dict of format :data:`CONFIG_FORMAT_VERSION`, without its
    ``format_version`` key.

    Raises:
        ConfigFormatError: ``data`` is of an older format (one line: how to re-export it) or of a
            newer one (how to upgrade).
        ValueError: ``data`` is not an object or its ``format_version`` is not a positive int.
    """
    if not isinstance(data, dict):
        raise ValueError(f"config: expected an object, got {type(data).__name__}")
    version = data.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"config.format_version: expected a positive int, got {version!r}")
    if version < CONFIG_FORMAT_VERSION:
        raise ConfigFormatError(
            f"config.format_version: {version} is an unpublished development format that this physdis-hub "
            f"no longer reads (it reads {CONFIG_FORMAT_VERSION}); {REEXPORT_HINT}"
        )
    if version > CONFIG_FORMAT_VERSION:
        raise ConfigFormatError(
            f"config.format_version: {version} was written by a newer physdis-hub (this one reads "
            f"{CONFIG_FORMAT_VERSION}); upgrade with `pip install -U physdis-hub`"
        )
    return {k: v for k, v in data.items() if k != "format_version"}
