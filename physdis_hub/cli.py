"""The ``physdis`` command line.

Subcommands:

- ``physdis list [PATTERN]``: registered pretrained checkpoints;
- ``physdis extract IMAGES... --model NAME -o features.npz``: features of images or folders
  (``.npz`` with ``features`` (N, D), ``names`` (N,), ``parts`` and one ``(N, d)`` array per part;
  or ``.parquet`` with the same columns, with pyarrow);
- ``physdis decompose IMAGES... --model NAME -o figures/``: one PNG figure per image (input, albedo,
  depth, shading, reconstruction, two relightings, two rotated views);
- extract and decompose align faces first (face models, photos larger than the model's input;
  :mod:`physdis_hub.align`): a file without a face is reported and skipped; ``--faces all`` takes
  every face of a photo (rows ``FILE#K``, figures ``NAME-faceK``); ``--no-align`` turns it off;
- ``physdis push FOLDER ORG/REPO``: publish a folder written by ``save_pretrained`` to the Hub;
- ``physdis probe cluster|linear|pcc --features F.npz``: evaluation probes
  (:mod:`physdis_hub.probes.cli`), which read the files ``extract`` writes;
- ``physdis convert unsup3d|pdr CHECKPOINT.pth -o DIR --category C``: an official Unsup3d or PDR
  checkpoint as a physdis checkpoint folder (:mod:`physdis_hub.convert`).

``physdis --threads N COMMAND`` sets the CPU threads (default: ``OMP_NUM_THREADS`` if set, else at
most 4; :mod:`physdis_hub._threads`).

Each subcommand is added by one function listed in :data:`SUBCOMMANDS`; extend that tuple (or
:func:`build_parser`'s result) to add more. Model names are those of
:func:`physdis_hub.load_pretrained` (registry names, ``hf-hub:org/repo[@rev]``, ``local-dir:PATH``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._threads import DEFAULT_MAX_THREADS, limit_threads
from .config import PARTS
from .probes.cli import add_probe_subcommands

# torch, numpy, PIL and the model are imported by the commands that use them, so that `physdis
# --help` and `physdis list` start in a fraction of a second (tests/packaging/test_startup.py).
if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image

    from .model import PhysDisModel

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
DEFAULT_MODEL = "faces-loocc-lv"
"""The checkpoint embedded in the package: extract/decompose/demo use it unless --model says otherwise."""
SAMPLES = Path(__file__).parent / "data" / "samples"
"""Sample images shipped with the package (synthetic faces rendered by physdis-hub, MIT)."""


# -- list --------------------------------------------------------------------------------------------
def _add_list(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the registered pretrained checkpoints")
    p.add_argument("pattern", nargs="?", help="glob on names, e.g. 'faces-*'")
    p.set_defaults(func=_run_list)


def _run_list(args: argparse.Namespace) -> None:
    from .hub.registry import list_pretrained

    entries = list_pretrained(args.pattern)
    if not entries:
        print(
            "No pretrained checkpoints are registered"
            + (f" matching {args.pattern!r}" if args.pattern else "")
            + ". Load your own with --model hf-hub:ORG/REPO[@REVISION] or --model local-dir:PATH."
        )
        return
    rows = [("NAME", "KIND", "SOURCE", "LICENSE", "SUMMARY")]
    rows += [(e.name, e.kind, e.source, e.license, e.summary) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4])


# -- shared by extract and decompose ------------------------------------------------------------------
def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="image files and/or folders of images (not recursive)")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"registry name, hf-hub:ORG/REPO[@REV] or local-dir:PATH (default: {DEFAULT_MODEL}, embedded)",
    )
    p.add_argument("--revision", help="revision of an hf-hub: model (same as @REV)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default: 64)")
    p.add_argument("--local-files-only", action="store_true", help="use the Hub cache only, no network")


def collect_images(inputs: Sequence[str]) -> list[Path]:
    """Image files named by ``inputs``: files as given, folders expanded (sorted, not recursive)."""
    images: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ValueError(f"inputs: no images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
            images += found
        elif path.is_file():
            images.append(path)
        else:
            raise ValueError(f"inputs: {item} is neither an image file nor a folder")
    return images


def _load(args: argparse.Namespace) -> PhysDisModel:
    from .hub import load_pretrained

    return load_pretrained(
        args.model, revision=args.revision, device=args.device, local_files_only=args.local_files_only
    )


# -- face alignment (extract and decompose) -----------------------------------------------------------
def _add_align_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-align", dest="align", action="store_false",
        help="use each image as it is (centre square, resized) instead of detecting and cropping the face; "
        "by default face models align photographs larger than the model's input (physdis_hub.align)",
    )  # fmt: skip
    p.add_argument(
        "--faces", choices=("largest", "all"), default="largest",  # physdis_hub.align.FACES, without torch
        help="faces of an aligned photo to use: the largest (default) or all (figures/rows NAME-faceK, NAME#K)",
    )  # fmt: skip


def _read_aligned(
    paths: list[Path], model: PhysDisModel, args: argparse.Namespace
) -> tuple[torch.Tensor, list[tuple[Path, int | None]]]:
    """The chunk's model batch ``(M, 3, S, S)`` and per row its file and, under ``--faces all``, the
    index of its face in that file (largest first; else None). Files without a face are reported
    on stderr and skipped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported below, one plain line per file
        found = model.align([str(p) for p in paths], align="auto" if args.align else False, faces=args.faces)
    for i in found.missing:
        print(f"physdis: no face found in {paths[i]}; skipped", file=sys.stderr)
    rows: list[tuple[Path, int | None]] = []
    count: dict[int, int] = {}
    for i, face in zip(found.source.tolist(), found.faces):
        k = None
        if args.faces == "all" and face is not None:
            k = count[i] = count.get(i, -1) + 1
        rows.append((paths[i], k))
    return found.images, rows


def _no_face_error(count: int) -> ValueError:
    return ValueError(f"inputs: no face found in any of the {count} images; --no-align takes them as they are")


def _chunks(images: list[Path], size: int, desc: str) -> list[list[Path]]:
    if size <= 0:
        raise ValueError(f"--batch-size: expected a positive int, got {size}")
    chunks = [images[i : i + size] for i in range(0, len(images), size)]
    from tqdm.auto import tqdm

    return list(tqdm(chunks, desc=desc, unit="batch", disable=None if len(chunks) > 1 else True))


# -- extract -----------------------------------------------------------------------------------------
def _add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract features of images to .npz (or .parquet)")
    _add_model_arguments(p)
    _add_align_arguments(p)
    p.add_argument("--parts", nargs="+", default=["geom", "alb"], choices=PARTS, help="parts, in order")
    p.add_argument("-o", "--output", required=True, type=Path, help="output .npz or .parquet file")
    p.set_defaults(func=_run_extract)


def _run_extract(args: argparse.Namespace) -> None:
    import torch

    if args.output.suffix not in (".npz", ".parquet"):
        raise ValueError(f"--output: expected a .npz or .parquet file name, got {args.output}")
    if args.output.suffix == ".parquet":
        _require_pyarrow()
    images = collect_images(args.inputs)
    model = _load(args)
    chunks, names = [], []
    for chunk in _chunks(images, args.batch_size, "extract"):
        batch, rows = _read_aligned(chunk, model, args)
        if rows:
            chunks.append(model.extract(batch, parts=args.parts, batch_size=args.batch_size, as_dict=True, align=False))
            names += [str(path) if k is None else f"{path}#{k}" for path, k in rows]
    if not names:
        raise _no_face_error(len(images))
    parts = {p: torch.cat([c[p] for c in chunks]).cpu().numpy() for p in args.parts}
    write_features(args.output, parts, names)
    dim = sum(a.shape[1] for a in parts.values())
    print(f"wrote {len(names)} x {dim} features ({' '.join(args.parts)}) to {args.output}")


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as err:
        raise ValueError("--output: .parquet needs pyarrow (pip install 'physdis-hub[parquet]'); or use .npz") from err


def write_features(path: Path, parts: dict[str, np.ndarray], names: list[str]) -> None:
    """Write per-part features ``{part: (N, d)}``, their concatenation ``features (N, D)`` (in the
    order of ``parts``) and the images' ``names`` atomically to ``.npz`` or ``.parquet``."""
    import numpy as np

    arrays: dict[str, Any] = {"features": np.concatenate(list(parts.values()), axis=1), **parts}
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            columns = {
                k: pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), v.shape[1]) for k, v in arrays.items()
            }
            table = pa.table({"name": names, **columns}, metadata={"parts": json.dumps(list(parts))})
            pq.write_table(table, tmp)
        else:
            with open(tmp, "wb") as f:
                np.savez(f, names=np.array(names), parts=np.array(list(parts)), **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# -- decompose ---------------------------------------------------------------------------------------
FIGURE_LABELS = (
    "input", "albedo", "depth", "shading", "reconstruction",
    "light yaw -45", "light yaw +45", "view yaw -30", "view yaw +30",
)  # fmt: skip


def _add_decompose(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decompose", help="write a decomposition figure (PNG) per image")
    _add_model_arguments(p)
    _add_align_arguments(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="output folder for the PNG figures")
    p.add_argument("--scale", type=int, default=2, help="upscaling of each panel (default: 2)")
    p.set_defaults(func=_run_decompose)


def _run_decompose(args: argparse.Namespace) -> None:
    if args.scale <= 0:
        raise ValueError(f"--scale: expected a positive int, got {args.scale}")
    images = collect_images(args.inputs)
    model = _load(args)
    args.output.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for chunk in _chunks(images, args.batch_size, "decompose"):
        batch, rows = _read_aligned(chunk, model, args)
        panels = decomposition_panels(model, batch) if rows else []
        for i, (path, k) in enumerate(rows):
            name = _unique(path.stem if k is None else f"{path.stem}-face{k}", used)
            _figure([panel[i] for panel in panels], args.scale).save(args.output / f"{name}.png")
    if not used:
        raise _no_face_error(len(images))
    print(f"wrote {len(used)} figures to {args.output}")


def decomposition_panels(model: PhysDisModel, images: torch.Tensor) -> list[torch.Tensor]:
    """The figure's panels for ``images (B, 3, S, S)`` in [0, 1]: one ``(B, 3, S, S)`` tensor in [0, 1]
    per :data:`FIGURE_LABELS` entry. Depth is normalised per image (near = bright); relightings keep
    the predicted intensities and turn the light to yaw -45/+45 degrees; views add -30/+30 degrees of yaw."""
    import torch

    from .scene import Light, View

    dec = model.decompose(images.to(next(model.parameters()).device), align=False)
    scene = dec.scene
    depth = scene.depth[:, None]
    inner = depth[..., 2:-2, 2:-2].flatten(1)
    lo, hi = inner.amin(1)[:, None, None, None], inner.amax(1)[:, None, None, None]
    near = ((hi - depth) / (hi - lo).clamp(min=1e-6)).clamp(0, 1)
    shading = dec.shading / dec.shading.flatten(1).amax(1).clamp(min=1)[:, None, None, None]
    zeros = torch.zeros_like(scene.light.ambient)
    panels = [images, dec.albedo, near, shading, dec.reconstruction]
    for yaw in (-45.0, 45.0):
        light = Light.from_angles(scene.light.ambient, scene.light.diffuse, zeros, zeros + math.radians(yaw))
        panels.append(model.render(scene, light=light))
    for yaw in (-30.0, 30.0):
        turn = scene.view.rotation.new_tensor([0.0, math.radians(yaw), 0.0])
        panels.append(model.render(scene, view=View(scene.view.rotation + turn, scene.view.translation)))
    return [p.detach().cpu().expand(-1, 3, -1, -1).clamp(0, 1) for p in panels]


def _figure(panels: list[torch.Tensor], scale: int) -> Image.Image:
    import numpy as np
    from PIL import Image, ImageDraw

    side, label_h = panels[0].shape[-1] * scale, 14
    fig = Image.new("RGB", (side * len(panels), side + label_h), "white")
    draw = ImageDraw.Draw(fig)
    for k, (panel, label) in enumerate(zip(panels, FIGURE_LABELS)):
        array = (panel.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        fig.paste(Image.fromarray(array).resize((side, side), Image.Resampling.NEAREST), (k * side, label_h))
        draw.text((k * side + 2, 1), label, fill="black")
    return fig


def _unique(stem: str, used: set[str]) -> str:
    name, n = stem, 1
    while name in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    return name


# -- push --------------------------------------------------------------------------------------------
def _add_push(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="publish a folder written by save_pretrained to the Hub")
    p.add_argument("folder", help="checkpoint folder (config.json, model.safetensors, README.md)")
    p.add_argument("repo_id", help="Hub repository ORG/NAME (created if needed)")
    p.add_argument("--revision", help="branch to commit to (created from main if needed)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("-m", "--message", default="Upload physdis-hub model", help="commit message")
    p.add_argument("--token", help="Hub token (default: HF_TOKEN or the stored login)")
    p.set_defaults(func=_run_push)


def _run_push(args: argparse.Namespace) -> None:
    from .hub import push_directory
    from .hub.checkpoint import CONFIG_NAME, WEIGHTS_NAME, sha256_file
    from .hub.download import LOCAL_DIR_PREFIX

    folder = Path(args.folder.removeprefix(LOCAL_DIR_PREFIX)).expanduser()
    sha = push_directory(
        folder,
        args.repo_id,
        revision=args.revision,
        commit_message=args.message,
        private=args.private,
        token=args.token,
    )
    print(f"pushed {folder} to {args.repo_id} at commit {sha}")
    print(f"load it with: hf-hub:{args.repo_id}@{sha}")
    print(f"registry pins: revision={sha!r}, sha256={sha256_file(folder / WEIGHTS_NAME)!r}, ", end="")
    print(f"config_sha256={sha256_file(folder / CONFIG_NAME)!r}")


# -- demo ------------------------------------------------------------------------------------------
def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="decompose and extract the bundled sample faces (no network needed)")
    p.add_argument("-o", "--output", type=Path, default=Path("physdis-demo"), help="output folder (default: physdis-demo)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model to run (default: {DEFAULT_MODEL}, embedded)")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> None:
    common = {"inputs": [str(SAMPLES)], "model": args.model, "revision": None, "device": "cpu", "batch_size": 64,
              "local_files_only": False, "align": True, "faces": "largest"}  # fmt: skip
    _run_decompose(argparse.Namespace(**common, output=args.output / "figures", scale=2))
    _run_extract(argparse.Namespace(**common, output=args.output / "features.npz", parts=["geom", "alb"]))


# -- convert -----------------------------------------------------------------------------------------
def _add_convert(sub: argparse._SubParsersAction) -> None:
    from .convert import PDR_CATEGORIES, UNSUP3D_CATEGORIES

    p = sub.add_parser("convert", help="convert an official Unsup3d or PDR checkpoint into a physdis checkpoint")
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, categories, what in (
        ("unsup3d", UNSUP3D_CATEGORIES, "one of Unsup3d's released checkpoints (pretrained_*/checkpoint*.pth)"),
        ("pdr", PDR_CATEGORIES, "a checkpoint of the PDR paper's code (results/*/checkpoint*.pth)"),
    ):
        q = sources.add_parser(name, help=f"convert {what}")
        q.add_argument("checkpoint", type=Path, help=f"{what}; read without running code from it")
        q.add_argument("-o", "--output", required=True, type=Path, help="folder to write (absent or empty)")
        q.add_argument("--category", required=True, choices=sorted(categories), help="what the model was trained on")
        q.add_argument("--force", action="store_true", help="replace a non-empty output folder")
        if name == "pdr":
            q.add_argument("--variant", default="LV", choices=("none", "L", "LV"),
                           help="LOOCC variant of the training (default: LV, as published)")  # fmt: skip
            q.add_argument("--license", help="licence id of the weights (default: unknown)")
    p.set_defaults(func=_run_convert)


def _run_convert(args: argparse.Namespace) -> None:
    from .convert import convert_pdr, convert_unsup3d
    from .hub.download import LOCAL_DIR_PREFIX

    if args.source == "unsup3d":
        out = convert_unsup3d(args.checkpoint, args.output, category=args.category, force=args.force)
    else:
        out = convert_pdr(args.checkpoint, args.output, category=args.category, variant=args.variant,
                          license=args.license, force=args.force)  # fmt: skip
    print(f"converted {args.checkpoint} ({args.source}, {args.category}) to {out}")
    print(f"load it with: {LOCAL_DIR_PREFIX}{out}")


# -- entry point -------------------------------------------------------------------------------------
SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], object], ...] = (
    _add_list,
    _add_extract,
    _add_decompose,
    _add_push,
    add_probe_subcommands,
    _add_demo,
    _add_convert,
)
"""Functions that each add one subcommand: a subparser whose ``func`` default runs it and returns
the exit status (None means 0)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``physdis`` argument parser with every subcommand of :data:`SUBCOMMANDS`."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="physdis", description="Physically disentangled image representations.")
    parser.add_argument("--version", action="version", version=f"physdis-hub {__version__}")
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help=f"CPU threads (default: OMP_NUM_THREADS if set, else at most {DEFAULT_MAX_THREADS})",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``physdis`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Example:
        >>> main(["extract", "photos/", "--model", "local-dir:ckpt", "-o", "features.npz"])  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    try:
        limit_threads(args.threads)
        return args.func(args) or 0
    except Exception as err:
        from .hub.checkpoint import CheckpointError

        if not isinstance(err, (ValueError, LookupError, OSError, CheckpointError)):
            raise
        print(f"physdis: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
