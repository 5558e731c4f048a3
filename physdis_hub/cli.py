"""The ``physdis`` command line.

Subcommands:

- ``physdis list [PATTERN]``: registered pretrained checkpoints, with their source and licence
  (Unsup3d's released models ``unsup3d-*`` are downloaded from their URL on first use);
- ``physdis extract IMAGES... --model NAME -o features.npz``: features of images, folders, ``.txt``
  file lists or a ``dataset:NAME[:SPLIT]`` (``.npz`` with ``features`` (N, D), ``names`` (N,),
  ``parts`` and one ``(N, d)`` array per part; or ``.parquet`` with the same columns, with pyarrow;
  or, for an output without suffix, a resumable shard folder: :mod:`physdis_hub.stream`,
  :mod:`physdis_hub.features`);
- ``physdis decompose IMAGES... --model NAME -o figures/ [--mesh]``: one PNG figure per image (input,
  albedo, depth, shading, reconstruction, two relightings, two rotated views), and with ``--mesh``
  the canonical depth as OBJ and GLB meshes (:mod:`physdis_hub.mesh_export`), and with ``--animate``
  a GIF (or MP4) per image, rotating and relit (:mod:`physdis_hub.animate`);
- extract and decompose align faces first (face models, photos larger than the model's input;
  :mod:`physdis_hub.align`): a file without a face is reported and skipped; ``--faces all`` takes
  every face of a photo (figures ``NAME-faceK``, rows ``FILE#K``); ``--no-align`` turns it off;
- ``physdis push FOLDER ORG/REPO``: publish a folder written by ``save_pretrained`` to the Hub;
- ``physdis probe cluster|linear|pcc --features F.npz [--labels labels.csv]``: evaluation probes
  (:mod:`physdis_hub.probes.cli`), which read the files and shard folders ``extract`` writes.
- ``physdis convert unsup3d|pdr CHECKPOINT.pth -o DIR --category C``: an official Unsup3d or PDR
  checkpoint as a physdis checkpoint folder (:mod:`physdis_hub.convert`);
- ``physdis app [--host H] [--port P] [--share]``: the browser demo (:mod:`physdis_hub.app`, extra ``app``).

``physdis --threads N COMMAND`` sets the CPU threads (default: ``OMP_NUM_THREADS`` if set, else at
most 4; :mod:`physdis_hub._threads`).

Each subcommand is added by one function listed in :data:`SUBCOMMANDS`; extend that tuple (or
:func:`build_parser`'s result) to add more. Model names are those of
:func:`physdis_hub.load_pretrained` (registry names, ``hf-hub:org/repo[@rev]``, ``local-dir:PATH``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._threads import DEFAULT_MAX_THREADS, limit_threads
from .errors import InputError, PhysdisError
from .features import SHARD_FORMATS
from .probes.cli import add_probe_subcommands
from .vocab import BATCH_SIZE, VARIANTS, add_parts_argument

# torch, numpy, PIL and the model are imported by the commands that use them, so that `physdis
# --help` and `physdis list` start in a fraction of a second (tests/packaging/test_startup.py).
if TYPE_CHECKING:
    from .model import PhysDisModel
    from .stream import Preprocess

__all__ = ["DEFAULT_MODEL", "build_parser", "main"]
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
    p.add_argument("inputs", nargs="+", help="image files, folders of images (not recursive), .txt file lists")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"registry name, hf-hub:ORG/REPO[@REV] or local-dir:PATH (default: {DEFAULT_MODEL}, embedded)",
    )
    p.add_argument("--revision", help="revision of an hf-hub: model (same as @REV)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"images per forward pass (default: {BATCH_SIZE})"
    )
    p.add_argument("--local-files-only", action="store_true", help="use the Hub cache only, no network")
    p.add_argument(
        "--sha256",
        metavar="HEX",
        help="an official model's archive digest (unsup3d-*): pin it before the first download, or "
        "accept an archive that differs from the one recorded",
    )
    p.add_argument("--force-download", action="store_true", help="download the model again even when it is cached")


def _load(args: argparse.Namespace) -> PhysDisModel:
    from .hub import load_pretrained

    return load_pretrained(
        args.model,
        revision=args.revision,
        device=args.device,
        local_files_only=args.local_files_only,
        sha256=args.sha256,
        force_download=args.force_download,
    )


# -- face alignment (extract and decompose) -----------------------------------------------------------
def _add_align_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-align",
        dest="align",
        action="store_false",
        help="use each image as it is (centre square, resized) instead of detecting and cropping the face; "
        "by default face models align photographs larger than the model's input (physdis_hub.align)",
    )
    p.add_argument(
        "--faces",
        choices=("largest", "all"),
        default="largest",  # physdis_hub.align.FACES, without torch
        help="faces of an aligned photo to use: the largest (default) or all (figures/rows NAME-faceK, NAME#K)",
    )


def _add_on_error_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",  # physdis_hub.stream.ON_ERROR, without torch
        help="an undecodable image: stop naming it (raise, default) or skip it and list it (skip)",
    )


def _crop_hook(model: PhysDisModel, args: argparse.Namespace) -> Preprocess:
    """What turns each decoded input into the model's crops: the face aligner for face models (unless
    ``--no-align``), else the model's centre crop."""
    from .align import AlignCrops
    from .stream import CenterCrop

    size, resize = model.config.image_size, model.config.resize
    if args.align and model.aligns_faces:
        return AlignCrops(size, faces=args.faces, resize=resize)
    return CenterCrop(size, resize)


def _no_face_error(count: int) -> InputError:
    return InputError(f"inputs: no face found in any of the {count} images; --no-align takes them as they are")


def _chunks(count: int, size: int, desc: str) -> Iterable[range]:
    """Input indices ``0 .. count - 1`` in batches of ``size``, with a progress bar over several that
    advances as each batch is consumed."""
    if size <= 0:
        raise InputError(f"--batch-size: expected a positive int, got {size}")
    chunks = [range(i, min(i + size, count)) for i in range(0, count, size)]
    from tqdm.auto import tqdm

    return tqdm(chunks, desc=desc, unit="batch", disable=None if len(chunks) > 1 else True)


# -- extract -----------------------------------------------------------------------------------------
def _add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="extract features of images to .npz / .parquet, or to a resumable shard folder",
        description="Inputs: image files, folders (not recursive), .txt file lists (one path per line, "
        "relative to the list), or one dataset:NAME[:SPLIT] (a registered data set, default split test). "
        "An output without .npz/.parquet suffix is a shard folder (index.json + shard files), resumable "
        "after a kill and written by all processes under torchrun.",
    )
    _add_model_arguments(p)
    _add_align_arguments(p)
    add_parts_argument(p, "parts to extract, in order", default=("geom", "alb"))
    p.add_argument("-o", "--output", required=True, type=Path, help="output .npz or .parquet file, or a shard folder")
    p.add_argument("--workers", type=int, default=2, help="DataLoader processes decoding images (default: 2; 0: none)")
    p.add_argument(
        "--shard-size", type=int, default=10_000, help="images per shard of a folder output (default: 10000)"
    )
    p.add_argument("--shard-format", choices=SHARD_FORMATS, default="npz", help="shard files (default: npz)")
    _add_on_error_argument(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_extract)


def _run_extract(args: argparse.Namespace) -> None:
    import torch

    from .features import require_pyarrow
    from .stream import Rank, StreamOptions, extract_to_file, extract_to_folder, make_source

    single = args.output.suffix in (".npz", ".parquet")
    if args.output.suffix and not single:
        raise InputError(f"--output: expected a .npz or .parquet file name or a folder (no suffix), got {args.output}")
    if args.output.suffix == ".parquet" or args.shard_format == "parquet":
        require_pyarrow("--output")
    for name in ("batch_size", "shard_size"):
        if getattr(args, name) <= 0:
            raise InputError(f"--{name.replace('_', '-')}: expected a positive int, got {getattr(args, name)}")
    if args.workers < 0:
        raise InputError(f"--workers: expected an int >= 0, got {args.workers}")
    rank = Rank.from_env()
    if rank.world_size > 1 and single:
        raise InputError(
            f"--output: under torchrun (WORLD_SIZE={rank.world_size}) write a shard folder, not {args.output}"
        )
    if rank.world_size > 1 and torch.device(args.device).type == "cuda":
        args.device = f"cuda:{rank.local_rank}"
    source = make_source(args.inputs)
    model = _load(args)
    source.preprocess = _crop_hook(model, args)
    model_id = args.model + (f"@{args.revision}" if args.revision else "")
    options = StreamOptions(
        tuple(args.parts),
        args.batch_size,
        args.workers,
        args.on_error,
        progress=False if args.no_progress or rank.rank else None,
    )
    if single:
        rows, skipped = extract_to_file(model, source, args.output, model_id=model_id, options=options)
        _report_skipped(skipped)
        if not rows:
            args.output.unlink(missing_ok=True)
            raise _no_face_error(len(source))
        dim = sum(model.config.nets.feature_dims[p] for p in args.parts)
        print(f"wrote {rows} x {dim} features ({' '.join(args.parts)}) to {args.output}")
        return
    if rank.world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.device(args.device).type == "cuda" else "gloo")
    try:
        index = extract_to_folder(
            model,
            source,
            args.output,
            model_id=model_id,
            options=options,
            shard_size=args.shard_size,
            fmt=args.shard_format,
            rank=rank,
        )
    finally:
        if rank.world_size > 1:
            torch.distributed.destroy_process_group()
    if index is not None:
        from .features import INDEX_NAME

        _report_skipped([(s["name"], s["error"]) for s in index["skipped"]])
        dim = sum(index["dims"].values())
        print(
            f"wrote {index['num_rows']} x {dim} features ({' '.join(args.parts)}) in {len(index['shards'])} "
            f"shards to {args.output}/{INDEX_NAME}"
        )


def _report_skipped(skipped: list[tuple[str, str]]) -> None:
    """One stderr line per skipped input, as ``decompose`` reports them."""
    from .stream import NO_FACE

    for name, why in skipped:
        print(
            f"physdis: {why} in {name}; skipped" if why == NO_FACE else f"physdis: skipped {name} ({why})",
            file=sys.stderr,
        )


# -- decompose ---------------------------------------------------------------------------------------
def _add_decompose(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decompose", help="write a decomposition figure (PNG) per image")
    _add_model_arguments(p)
    _add_align_arguments(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="output folder for the PNG figures")
    p.add_argument("--scale", type=int, default=2, help="upscaling of each panel (default: 2)")
    p.add_argument(
        "--mesh",
        action="store_true",
        help="also write NAME.obj (+ .mtl, _albedo.png) and NAME.glb: the canonical depth as a textured mesh",
    )
    p.add_argument(
        "--animate",
        action="store_true",
        help="also write NAME.gif: the face rotating (yaw, then pitch) and relit by a circling light",
    )
    p.add_argument(
        "--animation-format",
        choices=("gif", "mp4"),
        default="gif",  # physdis_hub.animate.ANIMATION_FORMATS, without torch
        help="file format of --animate: gif (default) or mp4 (needs imageio-ffmpeg)",
    )
    _add_on_error_argument(p)
    p.set_defaults(func=_run_decompose)


def _run_decompose(args: argparse.Namespace) -> None:
    if args.scale <= 0:
        raise InputError(f"--scale: expected a positive int, got {args.scale}")
    from .inputs import collect_images
    from .stream import FileSource, gather_crops

    images = collect_images(args.inputs)
    if args.animate and args.animation_format == "mp4":
        from .animate import require_mp4

        require_mp4("--animation-format")
    model = _load(args)
    source = FileSource(images, _crop_hook(model, args))
    stems = _figure_stems(images)
    from .animate import write_animations
    from .figures import decomposition_panels, labelled_grid
    from .mesh_export import write_meshes

    created = not args.output.exists()
    written = 0
    try:
        for chunk in _chunks(len(source), args.batch_size, "decompose"):
            batch = gather_crops([source[i] for i in chunk], args.on_error)
            _report_skipped(batch.skipped)
            if not batch.rows:
                continue
            dec = model.decompose(batch.crops.to(next(model.parameters()).device), align=False)
            panels = decomposition_panels(model, batch.crops, dec)
            names = [stems[it.index] if k is None else f"{stems[it.index]}-face{k}" for it, k in batch.rows]
            args.output.mkdir(parents=True, exist_ok=True)
            for i, name in enumerate(names):
                row = [panel[i : i + 1] for panel in panels]
                labelled_grid(row, side=row[0].shape[-1] * args.scale).save(args.output / f"{name}.png")
            if args.mesh:
                write_meshes(model, dec, args.output, names)
            if args.animate:
                write_animations(model, dec, args.output, names, fmt=args.animation_format)
            written += len(names)
        if not written:
            raise _no_face_error(len(images))
    except BaseException:
        if created and args.output.is_dir() and not any(args.output.iterdir()):
            args.output.rmdir()
        raise
    extras = [
        what
        for flag, what in ((args.mesh, "OBJ + GLB meshes"), (args.animate, f"{args.animation_format} animations"))
        if flag
    ]
    print(f"wrote {written} figures{''.join(' and ' + e for e in extras)} to {args.output}")


def _figure_stems(images: Sequence[Path]) -> list[str]:
    """The figure name of each input: its file stem. Inputs that share a stem are told apart by the
    file name (``face.jpg``, ``face.png``), else by the folder before it (``anna_0001.jpg``,
    ``bob_0001.jpg``); what still clashes (one file given twice) is numbered (``img``, ``img-1``)."""
    stems = [p.stem for p in images]
    groups: dict[str, list[int]] = {}
    for i, stem in enumerate(stems):
        groups.setdefault(stem, []).append(i)
    for group in groups.values():
        if len(group) < 2:
            continue
        for names in ([images[i].name for i in group], [f"{images[i].parent.name}_{images[i].name}" for i in group]):
            if len(set(names)) == len(names):
                for i, name in zip(group, names):
                    stems[i] = name
                break
    used: set[str] = set()
    for i, stem in enumerate(stems):
        unique, n = stem, 1
        while unique in used:
            unique, n = f"{stem}-{n}", n + 1
        stems[i] = unique
        used.add(unique)
    return stems


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
    p.add_argument(
        "-o", "--output", type=Path, default=Path("physdis-demo"), help="output folder (default: physdis-demo)"
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model to run (default: {DEFAULT_MODEL}, embedded)")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> None:
    common = {
        "inputs": [str(SAMPLES)],
        "model": args.model,
        "revision": None,
        "device": "cpu",
        "batch_size": BATCH_SIZE,
        "local_files_only": False,
        "sha256": None,
        "force_download": False,
        "align": True,
        "faces": "largest",
    }
    _run_decompose(
        argparse.Namespace(
            **common,
            output=args.output / "figures",
            scale=2,
            mesh=False,
            animate=False,
            animation_format="gif",
            on_error="raise",
        )
    )
    _run_extract(
        argparse.Namespace(
            **common,
            output=args.output / "features.npz",
            parts=["geom", "alb"],
            workers=0,
            shard_size=10_000,
            shard_format="npz",
            on_error="raise",
            no_progress=False,
        )
    )


# -- app ---------------------------------------------------------------------------------------------
def _add_app(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "app",
        help="the browser demo: upload faces, relight and rotate them live, see the mesh (needs the app extra)",
        description="Serves the demo page (physdis_hub.app, Gradio: pip install 'physdis-hub[app]') until Ctrl-C. "
        "It binds 127.0.0.1, this machine only, unless --host says otherwise.",
    )
    p.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"the model the page starts with (default: {DEFAULT_MODEL}, embedded)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; 0.0.0.0: every interface)")
    p.add_argument("--port", type=int, help="port (default: 7860, or the next free one)")
    p.add_argument(
        "--share", action="store_true", help="also open a temporary public *.gradio.live link (Gradio's relay)"
    )
    p.set_defaults(func=_run_app)


def _run_app(args: argparse.Namespace) -> None:
    from .app import launch

    launch(args.model, host=args.host, port=args.port, share=args.share)


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
            q.add_argument(
                "--variant",
                default="LV",
                choices=VARIANTS,
                help="LOOCC variant of the training (default: LV, as published)",
            )
            q.add_argument("--license", help="licence id of the weights (default: unknown)")
    p.set_defaults(func=_run_convert)


def _run_convert(args: argparse.Namespace) -> None:
    from .convert import convert_pdr, convert_unsup3d
    from .hub.download import LOCAL_DIR_PREFIX

    if args.source == "unsup3d":
        out = convert_unsup3d(args.checkpoint, args.output, category=args.category, force=args.force)
    else:
        out = convert_pdr(
            args.checkpoint,
            args.output,
            category=args.category,
            variant=args.variant,
            license=args.license,
            force=args.force,
        )
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
    _add_app,
)
"""Functions that each add one subcommand: a subparser whose ``func`` default runs it and returns
the exit status (None means 0)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``physdis`` argument parser with every subcommand of :data:`SUBCOMMANDS`."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="physdis", description="Physically disentangled image representations.")
    parser.add_argument("--version", action="version", version=f"physdis-hub {__version__}")
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"CPU threads (default: OMP_NUM_THREADS if set, else at most {DEFAULT_MAX_THREADS})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``physdis`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    An error the package raises on purpose (:class:`~physdis_hub.errors.PhysdisError`: bad input,
    a checkpoint that cannot be loaded, an unknown name) or a file-system error is printed as one
    line and gives status 1; anything else is a bug and keeps its traceback.

    Example:
        >>> main(["extract", "photos/", "--model", "local-dir:ckpt", "-o", "features.npz"])  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    try:
        limit_threads(args.threads)
        return args.func(args) or 0
    except (PhysdisError, OSError) as err:  # what the package refuses on purpose; the file system's errors
        print(f"physdis: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
