"""Convert Unsup3d's released checkpoints and the PDR code's checkpoints into physdis checkpoints.

Both code bases build the same five networks as ``nn.Sequential`` lists and save their state dicts
under ``netD`` (depth), ``netA`` (albedo), ``netL`` (light), ``netV`` (view) and ``netC``
(confidence, where it was used). This package builds the same layers, in the same order, split into
named ``nn.Sequential`` pieces (:mod:`physdis_hub.nets`); parameter-free layers (norm-free
activations, the upsample) keep their slots, so an official layer index ``i`` maps onto the piece
that holds position ``i`` of the concatenated pieces. A :class:`Layout` says which pieces each
official module concatenates; every mapped tensor's shape is checked against the model, and every
parameter of the model must be filled.

Only the networks are kept; optimizer states, the epoch and the pickled training bookkeeping are
dropped. The converted model computes what the official code computes (``docs/official-parity.md``):
the depth border on the left and right columns only, Unsup3d's normals, the test configurations'
border depth, and NMR's pixel-centre convention, as it was trained.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import ModelConfig, NetConfig, RenderConfig
from ..hub.checkpoint import _state_dict_problems, sha256_file
from ..hub.publish import save_pretrained
from ..model import PhysDisModel
from ..vocab import Variant
from .categories import PDR_CATEGORIES, PDR_REPO, UNSUP3D_CATEGORIES, UNSUP3D_DATA_URL, UNSUP3D_REPO, OfficialCategory
from .reader import ConversionError, read_checkpoint

NETWORKS: dict[str, str] = {
    "netD": "depth_net",
    "netA": "albedo_net",
    "netL": "light_net",
    "netV": "view_net",
    "netC": "conf_net",
}
"""Official checkpoint entry -> :class:`PhysDisModel` attribute."""

_KINDS = {"netD": "eddeconv", "netA": "eddeconv", "netL": "encoder", "netV": "encoder", "netC": "conf"}

DROPPED: tuple[str, ...] = ("epoch", "metrics_trace", "reconstruction_loss")
"""Non-network entries of official checkpoints (PDR adds ``reconstruction_loss``), dropped with
every ``optimizer*`` entry. Either code base's bookkeeping class is read (as an inert record) for
either layout, so a file given with the wrong layout is told apart by its layer names."""


@dataclass(frozen=True)
class Layout:
    """How one code base names its networks' parameters inside a checkpoint."""

    name: str
    """Name of the code base, for messages and the model card."""
    modules: Mapping[str, Mapping[str, tuple[str, ...]]]
    """Network kind (``"eddeconv"``, ``"encoder"``, ``"conf"``) -> official top-level module ->
    the pieces of our network (``nn.Sequential`` attributes) it concatenates. A module without
    layer indices (a single layer) maps onto position 0 of its piece."""
    encoder_head: str
    """:attr:`NetConfig.encoder_head` of the light and view networks."""
    license: str
    """Licence id of the converted weights."""


_CONF = {"network": ("encoder", "trunk"), "out_net1": ("full_res",), "out_net2": ("low_res",)}

UNSUP3D = Layout(
    name="Unsup3d",
    modules={
        "eddeconv": {"network": ("encoder", "decoder")},
        "encoder": {"network": ("encoder", "head")},
        "conf": _CONF,
    },
    encoder_head="conv-tanh",
    license="mit",
)
"""elliottwu/unsup3d: ``network.{i}`` everywhere; ``netC`` also ``out_net1`` / ``out_net2``."""

PDR = Layout(
    name="PDR",
    modules={
        "eddeconv": {"network_down": ("encoder",), "network_up": ("decoder",)},
        "encoder": {"network": ("encoder",), "conv": ("head",)},
        "conf": _CONF,
    },
    encoder_head="tanh-conv",
    license="unknown",
)
"""tzofi/physically-disentangled-representations: the depth/albedo layers split into
``network_down`` (Unsup3d indices < 13) and ``network_up``; light/view end their ``network`` in the
Tanh and apply a separate 1x1 ``conv`` after it."""


def map_network(
    state: Mapping[str, Any], spec: Mapping[str, tuple[str, ...]], net: nn.Module, where: str
) -> dict[str, torch.Tensor]:
    """Rename one official network's state dict onto ``net``'s parameter names.

    Args:
        state: the official state dict (``network.{i}.weight``, ...).
        spec: official module -> pieces of ``net`` (see :attr:`Layout.modules`).
        net: our network, whose state dict names and shapes are the target.
        where: the checkpoint entry (``"netD"``), for messages.

    Returns:
        ``net``-relative name -> float32 tensor, exactly ``net.state_dict()``'s keys and shapes.

    Raises:
        ConversionError: an unknown module or a layer index beyond the pieces, a non-tensor or
            non-floating value, or names/shapes that do not fill ``net`` exactly.
    """
    if not isinstance(state, Mapping):
        raise ConversionError(f"{where}: expected a state dict, got {type(state).__name__}")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        module, _, rest = str(key).partition(".")
        if module not in spec:
            raise ConversionError(f"{where}: unexpected parameter {key!r}; expected names under {sorted(spec)}")
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise ConversionError(f"{where}.{key}: expected a floating-point tensor, got {_describe(value)}")
        head, _, param = rest.partition(".")
        index = int(head) if head.isdigit() else 0
        param = param if head.isdigit() else rest
        for piece in spec[module]:
            size = len(getattr(net, piece))
            if index < size:
                break
            index -= size
        else:
            layers = sum(len(getattr(net, p)) for p in spec[module])
            raise ConversionError(f"{where}.{key}: layer index beyond the {layers} layers of {module}")
        out[f"{piece}.{index}.{param}"] = value.to(torch.float32)
    problems = _state_dict_problems(out, net.state_dict())
    if problems:
        raise ConversionError(f"{where}: does not match the official architecture: {'; '.join(problems)}")
    return out


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor"
    return type(value).__name__


def convert_checkpoint(
    checkpoint: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    layout: Layout,
    category: OfficialCategory,
    variant: Variant = "none",
    license: str | None = None,
    force: bool = False,
) -> Path:
    """Convert an official checkpoint into a physdis checkpoint folder.

    Args:
        checkpoint: the official ``.pth`` file (read without running code, see :func:`read_checkpoint`).
        output: folder to write (``config.json``, ``model.safetensors``, ``README.md``); must be
            absent or empty unless ``force``. Written to a temporary sibling and renamed into place,
            so a failure leaves no partial folder.
        layout: :data:`UNSUP3D` or :data:`PDR`.
        category: the training settings (:data:`UNSUP3D_CATEGORIES`, :data:`PDR_CATEGORIES`).
        variant: :attr:`ModelConfig.variant` (LOOCC variant the weights were trained with).
        license: licence id of the weights (default: ``layout.license``).
        force: replace a non-empty ``output``.

    Returns:
        ``output`` as a Path; load it with ``load_pretrained(f"local-dir:{output}")``.

    Raises:
        ConversionError: ``output`` not empty (without ``force``), an unreadable or refused file,
            missing or unexpected networks, names or shapes that do not match the architecture.
    """
    source, output = Path(checkpoint).expanduser(), Path(output).expanduser()
    if output.exists() and (not output.is_dir() or any(output.iterdir())) and not force:
        raise ConversionError(
            f"output: {output} exists and is not an empty folder; pass --force (force=True) to replace it"
        )
    config = ModelConfig(
        nets=NetConfig(use_conf=category.use_conf, encoder_head=layout.encoder_head),
        scene=category.scene,
        render=RenderConfig(pixel_convention="center", normals="unsup3d"),
        loss=category.loss,
        variant=variant,
        category=category.category,
        training_data=category.training_data,
        license=license or layout.license,
        resize="stretch",
    )
    data = read_checkpoint(source)
    wanted = [k for k in NETWORKS if k != "netC" or category.use_conf]
    missing = [k for k in wanted if k not in data]
    unexpected = sorted(
        str(k) for k in data if k not in wanted and k not in DROPPED and not str(k).startswith("optimizer")
    )
    if missing or unexpected:
        conf = "with" if category.use_conf else "without"
        raise ConversionError(
            f"checkpoint: {source} does not hold the networks of a {layout.name} {category.name} model "
            f"({', '.join(wanted)}; {category.name} was trained {conf} the confidence network netC): "
            + "; ".join(f"{what} {keys}" for what, keys in (("missing", missing), ("unexpected", unexpected)) if keys)
        )
    model = PhysDisModel(config)
    state: dict[str, torch.Tensor] = {}
    for key in wanted:
        attr = NETWORKS[key]
        mapped = map_network(data[key], layout.modules[_KINDS[key]], getattr(model, attr), key)
        state.update({f"{attr}.{name}": tensor for name, tensor in mapped.items()})
    model.load_state_dict(state, strict=True)
    command = f"physdis convert {layout.name.lower()} {source.name} -o {output.name} --category {category.name}"
    if layout is PDR:
        command += f" --variant {variant}" + (f" --license {license}" if license else "")
    card = provenance(layout, category, source, data.get("epoch"), command)
    try:
        return save_pretrained(model.eval(), output, overwrite=force, provenance=card)
    except (OSError, ValueError) as err:
        raise ConversionError(f"output: cannot write {output}: {err}") from err


def provenance(layout: Layout, category: OfficialCategory, source: Path, epoch: Any, command: str) -> str:
    """The model card's Markdown on where converted weights come from and what inputs they expect."""
    epoch_text = f", epoch {epoch}" if isinstance(epoch, int) else ""
    if layout is UNSUP3D:
        origin = (
            f"Unsup3d's released checkpoint `{category.released}` (in "
            f"{UNSUP3D_DATA_URL}/pretrained_{category.name}.zip, which "
            f"`pretrained/download_pretrained_{category.name}.sh` of {UNSUP3D_REPO} downloads). Authors: Shangzhe Wu, "
            "Christian Rupprecht, Andrea Vedaldi, *Unsupervised Learning of Probably Symmetric Deformable 3D "
            "Objects from Images in the Wild*, CVPR 2020. Code and released weights: MIT licence."
        )
    else:
        origin = (
            f"a checkpoint of the PDR code ({PDR_REPO}), configuration `{category.training_config}`. "
            "That repository states no licence and released no weights; the licence of these weights is "
            "that of whoever trained them."
        )
    return "\n".join(
        [
            "### Provenance",
            "",
            f"Converted from {origin}",
            "",
            f"- Source file: `{source.name}` (sha256 `{sha256_file(source)}`{epoch_text})",
            f"- Converted with: `{command}`",
            f"- Settings of `{category.training_config}`, with the test configurations' border depth "
            f"({category.scene.border_depth:.4g}); only the networks were kept (optimizer states and "
            "training bookkeeping dropped); computes as the official code does: the depth border on the left "
            "and right columns only (`scene.border_edges: left-right`), Unsup3d's normals "
            "(`render.normals: unsup3d`), and neural_renderer's pixel-centre convention "
            "(`render.pixel_convention: center`), as the networks were trained.",
            "",
            "### Inputs",
            "",
            category.inputs,
        ]
    )


def convert_unsup3d(
    checkpoint: str | os.PathLike[str], output: str | os.PathLike[str], *, category: str, force: bool = False
) -> Path:
    """Convert one of Unsup3d's released checkpoints (``--category`` celeba, synface, cat or syncar).

    Example:
        >>> convert_unsup3d("pretrained_celeba/checkpoint030.pth", "celeba", category="celeba")  # doctest: +SKIP
        PosixPath('unsup3d-celeba')
    """
    settings = _category(UNSUP3D_CATEGORIES, category)
    return convert_checkpoint(checkpoint, output, layout=UNSUP3D, category=settings, force=force)


def convert_pdr(
    checkpoint: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    category: str,
    variant: Variant = "LV",
    license: str | None = None,
    force: bool = False,
) -> Path:
    """Convert a checkpoint of the PDR paper's code (``--category`` faces or cars).

    ``variant`` is the LOOCC variant it was trained with: ``"LV"`` for the published configurations
    (``cyclic: true``, light or view changed at random), ``"L"`` for light only, ``"none"`` without.
    """
    return convert_checkpoint(
        checkpoint,
        output,
        layout=PDR,
        category=_category(PDR_CATEGORIES, category),
        variant=variant,
        license=license,
        force=force,
    )


def _category(table: Mapping[str, OfficialCategory], name: str) -> OfficialCategory:
    if name not in table:
        raise ConversionError(f"category: expected one of {sorted(table)}, got {name!r}")
    return table[name]
