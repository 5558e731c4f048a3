"""PhysDisModel: per-parameter encoder-decoders + renderer (the paper's Fig. 2), and its public API.

``forward`` is the training pass (network convention: images in [-1, 1]). ``extract``,
``decompose`` and ``render`` are the user-facing inference API (images in [0, 1]).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import torch
from torch import nn

from .align import Alignment, DetectorConfig, align_images
from .categories import CATEGORIES, Widths, get_category
from .config import ModelConfig
from .errors import InputError
from .inputs import Images
from .nets import ConfidenceNet, DownPath, Encoder, EncoderDecoder
from .render import Renderer, Rendering
from .scene import Light, SceneParams, View, decode_depth, decode_light, decode_view
from .vocab import BATCH_SIZE, PARTS, Part, check_parts, to_network_range, to_unit_range


@dataclass
class ForwardOutput:
    """Training pass output for a batch of ``B`` images of side ``S``.

    Attributes:
        scene: predicted :class:`SceneParams` (batch ``B``).
        features: part name -> bottleneck feature ``(B, D_part)``.
        rendering: :class:`Rendering` of batch ``2B``: the scene, then the scene with flipped
            canonical depth and albedo.
        reconstruction: ``(2B, 3, S, S)`` in [-1, 1], masked by ``mask``.
        mask: ``(2B, 1, S, S)`` pixels valid in both the reconstruction and its flipped twin.
        confidence: ``((B, 2, S, S), (B, 2, S/4, S/4))`` or None when the model has no ConfidenceNet.
    """

    scene: SceneParams
    features: dict[str, torch.Tensor]
    rendering: Rendering
    reconstruction: torch.Tensor
    mask: torch.Tensor
    confidence: tuple[torch.Tensor, torch.Tensor] | None


@dataclass
class Decomposition:
    """What :meth:`PhysDisModel.decompose` returns; images in [0, 1].

    Attributes:
        scene: :class:`SceneParams` (albedo in [-1, 1], the renderer's convention).
        albedo: ``(B, 3, S, S)`` in [0, 1].
        canonical: ``(B, 3, S, S)`` shaded frontal image.
        shading: ``(B, 1, S, S)``.
        reconstruction: ``(B, 3, S, S)`` the input re-rendered from the scene (0 on background).
        mask: ``(B, 1, S, S)``.
        source: ``(B,)`` index of the input each row came from (with face alignment a photo may
            give no row or, with ``faces="all"``, several).
    """

    scene: SceneParams
    albedo: torch.Tensor
    canonical: torch.Tensor
    shading: torch.Tensor
    reconstruction: torch.Tensor
    mask: torch.Tensor
    source: torch.Tensor


def _to_unit(image: torch.Tensor) -> torch.Tensor:
    return to_unit_range(image).clamp(0, 1)


class PhysDisModel(nn.Module):
    """Physically disentangled inverse renderer.

    Args:
        config: :class:`ModelConfig`; ``ModelConfig()`` is the paper's architecture
            (29,441,536 parameters without the confidence network).

    Example:
        >>> model = PhysDisModel(ModelConfig())
        >>> feats = model.extract(torch.rand(2, 3, 64, 64), parts=["geom", "alb"])
        >>> feats.shape
        torch.Size([2, 512])
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ModelConfig()
        n = config.nets
        self.depth_net = EncoderDecoder(3, 1, n.depth_nf, n.zdim, final_tanh=False)
        self.albedo_net = EncoderDecoder(3, 3, n.albedo_nf, n.zdim)
        self.light_net = Encoder(3, 4, n.light_nf, head=n.encoder_head)
        self.view_net = Encoder(3, 6, n.view_nf, head=n.encoder_head)
        self.conf_net = ConfidenceNet(3, n.conf_nf, n.conf_zdim) if n.use_conf else None
        self.renderer = Renderer(config)

    # -- construction, saving and sharing (thin delegates to physdis_hub.hub) --------------------
    @classmethod
    def for_category(cls, category: str, widths: Widths = "paper", **changes: Any) -> PhysDisModel:
        """An untrained model of ``category`` (see :data:`physdis_hub.categories.CATEGORIES`): its
        scene ranges, confidence network and paper loss weights, at ``widths`` ``"paper"`` or ``"cpu"``;
        ``changes`` set other :class:`ModelConfig` fields.

        Example:
            >>> PhysDisModel.for_category("cars", widths="cpu").config.nets.use_conf
            False
        """
        return cls(get_category(category).model_config(widths, **changes))

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        *,
        revision: str | None = None,
        device: str | torch.device = "cpu",
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        force_download: bool = False,
        sha256: str | None = None,
    ) -> PhysDisModel:
        """Load a pretrained model: :func:`physdis_hub.load_pretrained` (registry name such as
        ``"unsup3d-celeba"``, ``"hf-hub:org/repo[@revision]"``, ``"local-dir:/path"`` or a path-like;
        strict keys, safetensors only, registry checksums; ``sha256``: an official archive's digest)."""
        from .hub.download import load_pretrained

        return load_pretrained(
            name_or_path,
            revision=revision,
            device=device,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            force_download=force_download,
            sha256=sha256,
        )

    def save_pretrained(self, directory: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write ``config.json``, ``model.safetensors`` and the model card into ``directory``; keyword
        arguments as in :func:`physdis_hub.save_pretrained`."""
        from .hub.publish import save_pretrained

        return save_pretrained(self, directory, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:
        """Commit this model to the Hub repository ``repo_id`` and return the commit sha; keyword
        arguments as in :func:`physdis_hub.push_to_hub`."""
        from .hub.publish import push_to_hub

        return push_to_hub(self, repo_id, **kwargs)

    # -- building blocks ---------------------------------------------------------------------
    def part_networks(self) -> dict[Part, EncoderDecoder | Encoder]:
        """Part name -> its network (``geom``: depth, ``alb``: albedo, ``light``, ``view``)."""
        return {"geom": self.depth_net, "alb": self.albedo_net, "light": self.light_net, "view": self.view_net}

    def part_encoders(self) -> dict[Part, DownPath]:
        """Part name -> down path, mapping ``(B, 3, S, S)`` in [-1, 1] to ``(B, D, 1, 1)``."""
        return {name: net.encoder for name, net in self.part_networks().items()}

    def _encode(self, x: torch.Tensor, parts: Sequence[Part] = PARTS) -> dict[str, torch.Tensor]:
        """Bottleneck features of ``parts`` for ``x (B, 3, S, S)`` in the networks' range [-1, 1]
        (:func:`~physdis_hub.vocab.to_network_range`); each ``(B, D)``. Private, as every method that
        takes that range: the public ones (:meth:`extract`, :meth:`decompose`) take images in [0, 1]."""
        nets = self.part_networks()
        return {p: nets[p].encode(x) for p in parts}

    def decode_scene(self, features: dict[str, torch.Tensor]) -> SceneParams:
        """Decode the four parts' features into :class:`SceneParams`."""
        cfg = self.config.scene
        return SceneParams(
            depth=decode_depth(self.depth_net.decode(features["geom"]), cfg),
            albedo=self.albedo_net.decode(features["alb"]),
            light=decode_light(self.light_net.decode(features["light"]), cfg),
            view=decode_view(self.view_net.decode(features["view"]), cfg),
        )

    def reconstruct(self, scene: SceneParams) -> tuple[Rendering, torch.Tensor, torch.Tensor]:
        """Render ``scene`` and its flipped twin (batch ``2B``) with the joint validity mask.

        Returns:
            ``(rendering, reconstruction (2B, 3, S, S) masked, mask (2B, 1, S, S))``.
        """
        rendering = self.renderer.render(SceneParams.cat([scene, scene.flipped()]))
        b = scene.batch_size
        mask = rendering.mask[:b] * rendering.mask[b:]
        mask = torch.cat([mask, mask])
        return rendering, rendering.image * mask, mask

    def forward(self, x: torch.Tensor) -> ForwardOutput:
        """Training pass (``model(x)``, what the training objective calls), in the networks' range.

        Args:
            x: ``(B, 3, S, S)`` images in [-1, 1] (:func:`~physdis_hub.vocab.to_network_range` of
                images in [0, 1]); :meth:`extract` and :meth:`decompose` take [0, 1] and convert.
        """
        self._check_network_input(x)
        features = self._encode(x)
        scene = self.decode_scene(features)
        rendering, recon, mask = self.reconstruct(scene)
        confidence = self.conf_net(x) if self.conf_net is not None else None
        return ForwardOutput(scene, features, rendering, recon, mask, confidence)

    def _check_network_input(self, x: torch.Tensor) -> None:
        s = self.config.image_size
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (3, s, s):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise InputError(f"x: expected a (B, 3, {s}, {s}) tensor in [-1, 1], got {shape}")
        if x.shape[0] == 0:
            raise InputError("x: empty batch")

    # -- inference API -----------------------------------------------------------------------
    @property
    def aligns_faces(self) -> bool:
        """Whether ``align="auto"`` aligns photographs for this model (its category's profile says so)."""
        profile = CATEGORIES.get(self.config.category)
        return bool(profile and profile.align_faces)

    def align(
        self, images: Images, align: str | bool = "auto", faces: str = "largest", detector: DetectorConfig | None = None
    ) -> Alignment:
        """The batch the model sees for ``images``, and where each row came from.

        ``align="auto"`` aligns the faces of photographs for models of a category whose profile says
        so (:attr:`CategoryProfile.align_faces`: human faces): an image larger than ``config.image_size`` is searched for faces and cropped as
        Unsup3d's demo does (:mod:`physdis_hub.align`); an image of the model's size or smaller is
        taken as a crop already and only resized (``config.resize``). Models of other categories
        never align under ``"auto"``. ``True`` aligns every image, ``False`` none. Inputs without a
        face are skipped with a warning naming them (``Alignment.missing``).
        """
        if align == "auto" and not self.aligns_faces:
            align = False
        return align_images(
            images, self.config.image_size, align=align, faces=faces, resize=self.config.resize, config=detector
        )

    def _prepare(self, images: Images, align: str | bool, faces: str) -> tuple[torch.Tensor, torch.Tensor]:
        found = self.align(images, align, faces)
        if not len(found.images):
            raise InputError(
                f"images: no face found in any of the {len(found.names)} inputs; "
                "pass align=False to use them as they are"
            )
        return to_network_range(found.images.to(next(self.parameters()).device)), found.source

    def _batches(self, x: torch.Tensor, batch_size: int, progress: bool | None, desc: str) -> Iterable[torch.Tensor]:
        """``x`` in chunks of ``batch_size`` rows; with a progress bar (``progress``, or by default
        over more than 4 chunks) that advances as the caller consumes each chunk."""
        if batch_size <= 0:
            raise InputError(f"batch_size: expected a positive int, got {batch_size}")
        chunks = x.split(batch_size)
        if progress or (progress is None and len(chunks) > 4):
            from tqdm.auto import tqdm

            return tqdm(chunks, desc=desc, unit="batch")
        return chunks

    @overload
    def extract(
        self,
        images: Images,
        parts: Sequence[Part] = ...,
        *,
        as_dict: Literal[False] = ...,
        batch_size: int = ...,
        progress: bool | None = ...,
        align: str | bool = ...,
        faces: str = ...,
        scale_parts: bool = ...,
    ) -> torch.Tensor: ...

    @overload
    def extract(
        self,
        images: Images,
        parts: Sequence[Part] = ...,
        *,
        as_dict: Literal[True],
        batch_size: int = ...,
        progress: bool | None = ...,
        align: str | bool = ...,
        faces: str = ...,
        scale_parts: bool = ...,
    ) -> dict[str, torch.Tensor]: ...

    def extract(
        self,
        images: Images,
        parts: Sequence[Part] = ("geom", "alb"),
        *,
        as_dict: bool = False,
        batch_size: int = BATCH_SIZE,
        progress: bool | None = None,
        align: str | bool = "auto",
        faces: str = "largest",
        scale_parts: bool = True,
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Representation of ``images``: the bottleneck features of ``parts``, concatenated in the
        order given. Runs only the down paths of the networks the parts need.

        A calibrated model (``config.part_scales``, set by :meth:`calibrate`; every training
        export is calibrated) divides each part by its scale, so each part weighs the same in a
        distance: raw, the encoder with the widest features would decide clusterings and nearest
        neighbours alone (the embedded default's albedo features spread 8x wider than its geometry
        features).

        Args:
            images: see :func:`physdis_hub.inputs.as_batch` (tensors, arrays, PIL, paths, lists).
            parts: subset of ``("geom", "alb", "light", "view")``.
            as_dict: return ``{part: (B, D_part)}`` instead of one tensor.
            batch_size: images per forward pass.
            progress: show a progress bar (default: only for long inputs).
            align: face alignment of photographs, ``"auto"``, True or False (see :meth:`align`).
            faces: ``"largest"`` or ``"all"`` faces of an aligned photograph.
            scale_parts: divide each part by its ``config.part_scales`` entry (no effect on an
                uncalibrated model); False gives the raw bottleneck features.

        Returns:
            ``(B, sum of D_part)`` float32 on the model's device (256 per part at paper widths), or a
            dict. With alignment, rows follow the faces found (inputs without a face are skipped
            with a warning); ``model.align(images).source`` says which input each row came from.
        """
        parts = check_parts(parts)
        x, _ = self._prepare(images, align, faces)
        encoders = self.part_encoders()
        out: dict[str, list[torch.Tensor]] = {p: [] for p in parts}
        with torch.inference_mode():
            for chunk in self._batches(x, batch_size, progress, "extract"):
                for p in parts:
                    out[p].append(encoders[p](chunk).flatten(1))
        feats = {p: torch.cat(v) for p, v in out.items()}
        scales = self.config.part_scales
        if scale_parts and scales is not None:
            feats = {p: f / scales[PARTS.index(p)] for p, f in feats.items()}
        return feats if as_dict else torch.cat([feats[p] for p in parts], dim=1)

    def calibrate(self, images: Images, **extract_options: Any) -> PhysDisModel:
        """Measure each part's feature spread on ``images`` and store it as ``config.part_scales``
        (see :meth:`extract`); returns the model itself.

        Args:
            images: what :meth:`extract` takes; at least 2 images, typically a validation split
                of the training domain (a few hundred are plenty).
            extract_options: passed to :meth:`extract` (e.g. ``batch_size``, ``align``).

        Raises:
            ValueError: fewer than 2 images, or a part whose features do not vary over them.
        """
        feats = self.extract(images, parts=PARTS, as_dict=True, scale_parts=False, **extract_options)
        n = len(next(iter(feats.values())))
        if n < 2:
            raise InputError(f"images: calibration needs at least 2 images, got {n}")
        spread = {p: float(f.double().std(0).mean()) for p, f in feats.items()}
        flat = [p for p, v in spread.items() if not v > 0]
        if flat:
            raise InputError(
                f"images: the features of {flat} do not vary over the {n} images; calibrate on varied images"
            )
        self.config = self.config.replace(part_scales=tuple(spread[p] for p in PARTS))
        return self

    def decompose(
        self,
        images: Images,
        *,
        batch_size: int = BATCH_SIZE,
        progress: bool | None = None,
        align: str | bool = "auto",
        faces: str = "largest",
    ) -> Decomposition:
        """Inverse-render ``images`` into scene parameters, canonical image, shading and reconstruction.

        ``align`` and ``faces`` as in :meth:`extract`; ``Decomposition.source`` says which input
        each row came from."""
        x, source = self._prepare(images, align, faces)
        outs = []
        with torch.inference_mode():
            for chunk in self._batches(x, batch_size, progress, "decompose"):
                scene = self.decode_scene(self._encode(chunk))
                r = self.renderer.render(scene)
                outs.append((scene, r))
        scene = SceneParams.cat([s for s, _ in outs])
        cat = lambda f: torch.cat([getattr(r, f) for _, r in outs])  # noqa: E731
        return Decomposition(
            scene=scene,
            albedo=_to_unit(scene.albedo),
            canonical=_to_unit(cat("canonical")),
            shading=cat("shading"),
            reconstruction=_to_unit(cat("image")) * cat("mask"),
            mask=cat("mask"),
            source=source,
        )

    def render(
        self, scene: SceneParams, light: Light | str | tuple[float, float] | None = None, view: View | None = None
    ) -> torch.Tensor:
        """Render ``scene`` (e.g. ``decompose(images).scene``) with an optional new light and/or view.

        Args:
            scene: :class:`SceneParams` of batch ``B``.
            light: a :class:`Light` of batch ``B``; or a direction for the scene's own light
                intensities (:meth:`Light.turned`): a name of :data:`~physdis_hub.scene.LIGHT_DIRECTIONS`
                (``"front"``, ``"left"``, ``"right"``, ``"top"``, ``"bottom"``) or ``(pitch, yaw)`` in
                degrees. A light of your own: ``Light.from_angles(ambient, diffuse, pitch, yaw)``
                (tensors ``(B,)``, radians).
            view: a :class:`View` of batch ``B`` (e.g. ``View(scene.view.rotation + turn,
                scene.view.translation)``).

        Returns:
            ``(B, 3, S, S)`` in [0, 1], 0 on background.

        Example:
            >>> scene = model.decompose(images).scene  # doctest: +SKIP
            >>> model.render(scene, light="left")  # doctest: +SKIP
            >>> model.render(scene, light=(30.0, -20.0))  # pitch, yaw in degrees  # doctest: +SKIP
        """
        if light is not None and not isinstance(light, Light):
            light = scene.light.turned(light)
        with torch.inference_mode():
            r = self.renderer.render(scene, light=light, view=view)
        return _to_unit(r.image) * r.mask
