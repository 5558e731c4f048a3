"""The browser demo, ``physdis app``: upload faces, see their decomposition, relight and rotate them
live, look at the mesh, download mesh, features and animation.

The work is done by plain functions (:func:`decompose_files`, :func:`face_views`,
:func:`rerender_face`, :func:`animate_face`) on a :class:`Session`, the cached decomposition of one
upload: a slider move re-renders from it with :func:`physdis_hub.animate.rerender`, without running
the encoders again. :func:`build_demo` lays them out with Gradio (the optional extra ``app``:
``pip install 'physdis-hub[app]'``) and turns every :class:`AppError` (and any other failure) into
a message on the page instead of a traceback. :func:`launch` serves it on ``127.0.0.1`` unless told
otherwise.

Example:
    >>> session = decompose_files([SAMPLES / "face_00_id12.png"])  # doctest: +SKIP
    >>> image = rerender_face(session, 0, SceneEdit(light_yaw=40.0))  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .animate import SceneEdit, rerender, write_animations
from .cli import DEFAULT_MODEL, SAMPLES
from .errors import PhysdisError
from .inputs import to_uint8
from .model import Decomposition, PhysDisModel

if TYPE_CHECKING:
    import gradio

_log = logging.getLogger(__name__)

MAX_FILES = 8
"""Most photos one upload may hold."""
MAX_FILE_BYTES = 20 * 2**20
"""Largest photo file accepted, in bytes."""
MAX_PIXELS = 40_000_000
"""Largest photo accepted, in pixels (width x height), checked from the header before decoding."""
DISPLAY_SIDE = 192
"""Side, in pixels, of every image the page shows (nearest-neighbour upscaling of the model's side)."""
PANELS: tuple[str, ...] = ("aligned crop", "albedo", "depth", "normals", "shading", "reconstruction")
"""The decomposition panels the page shows per face, in order."""


class AppError(PhysdisError, ValueError):
    """An input the demo cannot use; the message is shown on the page as it is."""


@dataclass
class Session:
    """The cached decomposition of one upload: what the sliders re-render from.

    Attributes:
        model: the model that decomposed the faces.
        model_name: its name as the user gave it.
        labels: ``B`` face labels (the file name, ``#k`` for a photo's k-th face).
        crops: ``(B, 3, S, S)`` aligned crops in [0, 1].
        decomposition: the model's :class:`Decomposition` of ``crops``.
        folder: where this session's downloads are written (a temporary folder).
        meshes: ``B`` GLB files, one per face.
        features: the ``.npz`` of every face's ``geom`` and ``alb`` features (:mod:`physdis_hub.features`).
    """

    model: PhysDisModel
    model_name: str
    labels: list[str]
    crops: torch.Tensor
    decomposition: Decomposition
    folder: Path
    meshes: list[Path]
    features: Path

    def check_face(self, index: int) -> int:
        """``index`` if it names a face of this session, else an :class:`AppError`."""
        if not isinstance(index, int) or not 0 <= index < len(self.labels):
            raise AppError(f"face: expected a face number in 0..{len(self.labels) - 1}, got {index!r}")
        return index

    def close(self) -> None:
        """Delete this session's download folder (the page does it when the browser tab goes)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def face(self, index: int) -> Decomposition:
        """The decomposition of face ``index`` alone (batch 1)."""
        i = self.check_face(index)
        dec = self.decomposition
        rows = {f.name: getattr(dec, f.name)[i : i + 1] for f in fields(Decomposition) if f.name != "scene"}
        return Decomposition(scene=dec.scene.map(lambda t: t[i : i + 1]), **rows)


@functools.lru_cache(maxsize=2)
def load_model(name: str) -> PhysDisModel:
    """The model ``name`` (:func:`physdis_hub.load_pretrained`: a registry name, ``local-dir:PATH``,
    ``hf-hub:ORG/REPO``), loaded once and kept (the two most recent)."""
    from .hub import load_pretrained

    name = name.strip()
    if not name:
        raise AppError("model: expected a model name or local-dir:PATH, got nothing")
    try:
        return load_pretrained(name).eval()
    except (PhysdisError, LookupError, OSError, ValueError) as err:
        raise AppError(f"model: cannot load {name!r}: {err}") from err


def check_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The uploaded files as paths, after the checks that need no decoding: how many, how large in
    bytes and (from the header) in pixels, and whether each is an image at all.

    Raises:
        AppError: no file, more than :data:`MAX_FILES`, a file over :data:`MAX_FILE_BYTES` or
            :data:`MAX_PIXELS`, or a file that is not an image (each named).
    """
    from PIL import Image, UnidentifiedImageError

    files = [Path(p) for p in paths or ()]
    if not files:
        raise AppError("photos: upload at least one photo, or use the sample faces")
    if len(files) > MAX_FILES:
        raise AppError(f"photos: at most {MAX_FILES} photos at a time, got {len(files)}")
    for path in files:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise AppError(f"photos: {path.name} is {size / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB")
        try:
            with Image.open(path) as im:
                width, height = im.size
        except Image.DecompressionBombError as err:
            raise AppError(
                f"photos: {path.name} is too large ({err}); the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
            ) from err
        except (UnidentifiedImageError, OSError) as err:
            raise AppError(
                f"photos: {path.name} is not an image file this demo can read ({type(err).__name__})"
            ) from err
        if width * height > MAX_PIXELS:
            raise AppError(
                f"photos: {path.name} is {width} x {height} pixels; the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
            )
    return files


def decompose_files(
    paths: Sequence[str | os.PathLike[str]],
    model_name: str = DEFAULT_MODEL,
    workdir: str | os.PathLike[str] | None = None,
) -> Session:
    """Align the faces of ``paths``, decompose them, and write their meshes and features.

    Args:
        paths: image files (at most :data:`MAX_FILES`).
        model_name: what :func:`load_model` takes.
        workdir: where the session's download folder is made (default: the system's temporary folder).

    Raises:
        AppError: a bad file (see :func:`check_files`), a model that does not load, no face found.
    """
    from .align import AlignCrops
    from .features import write_features
    from .mesh_export import depth_mesh, write_glb
    from .stream import CenterCrop, FileSource, gather_crops

    files = check_files(paths)
    model = load_model(model_name)
    size, resize = model.config.image_size, model.config.resize
    crop = AlignCrops(size, resize=resize) if model.aligns_faces else CenterCrop(size, resize)
    source = FileSource(files, crop)
    batch = gather_crops([source[i] for i in range(len(source))], "skip")
    if not batch.rows:
        why = "; ".join(f"{Path(name).name}: {error}" for name, error in batch.skipped)
        raise AppError(f"photos: no face found in any of the {len(files)} photos ({why})")
    labels = [files[item.index].name + ("" if k is None else f"#{k}") for item, k in batch.rows]
    crops = batch.crops
    device = next(model.parameters()).device
    dec = model.decompose(crops.to(device), align=False, progress=False)
    parts = model.extract(crops.to(device), parts=("geom", "alb"), as_dict=True, align=False)
    assert isinstance(parts, dict)
    folder = Path(tempfile.mkdtemp(prefix="physdis-app-", dir=workdir))
    try:
        meshes = [
            write_glb(
                depth_mesh(model.renderer.camera, dec.scene.depth[i], dec.albedo[i], model.config.render.normals),
                folder / f"face{i}.glb",
            )
            for i in range(len(labels))
        ]
        arrays = {p: f.cpu().numpy() for p, f in parts.items()}
        features = write_features(folder / "features.npz", arrays, labels, model=model_name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Session(model, model_name, labels, crops.cpu(), dec, folder, meshes, features)


def to_display(image: torch.Tensor, side: int = DISPLAY_SIDE) -> np.ndarray:
    """``(3, S, S)`` in [0, 1] -> ``(side, side, 3)`` uint8, nearest-neighbour upscaled."""
    from PIL import Image

    return np.asarray(Image.fromarray(to_uint8(image)).resize((side, side), Image.Resampling.NEAREST))


def face_views(session: Session, index: int) -> dict[str, np.ndarray]:
    """The :data:`PANELS` of face ``index``, each ``(DISPLAY_SIDE, DISPLAY_SIDE, 3)`` uint8.

    Depth and shading are shown as in the decomposition figure (:mod:`physdis_hub.figures`); normals
    as RGB ``(n + 1) / 2`` in the mesh's y-up frame facing the viewer (red: right, green: up).
    """
    from .figures import decomposition_panels

    i = session.check_face(index)
    single = session.face(i)
    crop, albedo, depth, shading, recon = decomposition_panels(session.model, session.crops[i : i + 1], single)[:5]
    with torch.inference_mode():
        _, _, normal = session.model.renderer.canonical(single.scene)
    facing = normal[0].cpu() * normal.new_tensor([1.0, -1.0, -1.0]).cpu()
    normals = ((facing + 1) / 2).permute(2, 0, 1)
    images = (crop[0], albedo[0], depth[0], normals, shading[0], recon[0])
    return {name: to_display(image) for name, image in zip(PANELS, images)}


def predicted_light(session: Session, index: int) -> tuple[float, float]:
    """``(yaw, pitch)`` in degrees of the light the model predicted for face ``index``."""
    i = session.check_face(index)
    pitch, yaw = session.decomposition.scene.light.angles()
    return float(torch.rad2deg(yaw[i])), float(torch.rad2deg(pitch[i]))


def rerender_face(session: Session, index: int, edit: SceneEdit) -> np.ndarray:
    """Face ``index`` under ``edit``, from the cached decomposition (no encoder runs):
    ``(DISPLAY_SIDE, DISPLAY_SIDE, 3)`` uint8."""
    return to_display(rerender(session.model, session.face(index).scene, edit)[0])


def animate_face(session: Session, index: int) -> Path:
    """Write (once) and return the GIF of face ``index``: :func:`physdis_hub.animate.write_animations`."""
    i = session.check_face(index)
    path = session.folder / f"face{i}.gif"
    if not path.exists():
        write_animations(session.model, session.face(i), session.folder, [f"face{i}"])
    return path


# -- the page (Gradio) ---------------------------------------------------------------------------------
LIGHT_DEGREES = 60.0
"""Range of the light direction sliders: -60..60 degrees of yaw and pitch."""
VIEW_DEGREES = 45.0
"""Range of the view sliders: -45..45 degrees of yaw and pitch added to the predicted view."""


def model_choices() -> list[str]:
    """The names the model menu offers: the registered checkpoints (:func:`physdis_hub.list_pretrained`)."""
    from .hub.registry import list_pretrained

    return [entry.name for entry in list_pretrained()]


def _message(err: BaseException) -> str:
    """What the page says about a failure: the message of an :class:`AppError` or of an error the
    package raises on purpose as it is; of anything else, its kind and message (no traceback)."""
    if isinstance(err, PhysdisError):
        return f"**Error:** {err}"
    return f"**Error:** {type(err).__name__}: {err}"


def _guarded(outputs: int, fn: Callable[..., tuple[Any, ...]]) -> Callable[..., tuple[Any, ...]]:
    """``fn`` whose last output is the page's message: "" on success; on any exception the other
    ``outputs - 1`` outputs are left as they are and the message says what went wrong."""
    import gradio as gr

    @functools.wraps(fn)
    def run(*args: Any) -> tuple[Any, ...]:
        try:
            return (*fn(*args), "")
        except Exception as err:  # every failure becomes a message on the page, never a traceback
            if not isinstance(err, PhysdisError):
                _log.exception("physdis app: %s failed", fn.__name__)  # the traceback goes to the server's log only
            return (*[gr.update()] * (outputs - 1), _message(err))

    return run


def build_demo(model_name: str = DEFAULT_MODEL, workdir: str | os.PathLike[str] | None = None) -> gradio.Blocks:
    """The page: upload or samples, model menu and ``local-dir:`` box, face menu, the :data:`PANELS`,
    light and view sliders over a live re-render, the GLB viewer, downloads, and a message line.

    Each browser session keeps its :class:`Session`, whose download folder (in ``workdir``, default
    the system's temporary folder) is deleted when the next upload replaces it or an hour after the
    session's last use.

    Its API (for ``gradio_client``): ``/decompose`` (files, model, local dir), ``/samples`` (model,
    local dir), ``/select`` (face), ``/rerender`` (face, light yaw, light pitch, strength, view yaw,
    view pitch) and ``/animate`` (face); each returns its outputs and the message ("" when all went well).
    """
    import gradio as gr

    with gr.Blocks(title="physdis-hub: physically disentangled faces") as demo:
        session = gr.State(None, time_to_live=3600, delete_callback=lambda state: state and state.close())
        gr.Markdown(
            "# physdis-hub\nUpload face photos (or use the samples): the model splits each face into depth, "
            "albedo, light and view. Move the sliders to relight and turn it: it re-renders from the cached "
            "decomposition, without running the encoders again."
        )
        with gr.Row():
            files = gr.File(label="photos", file_count="multiple", elem_id="photos")
            with gr.Column():
                model = gr.Dropdown(
                    model_choices(), value=model_name, label="model", elem_id="model", allow_custom_value=True
                )
                local = gr.Textbox(label="or a checkpoint folder (local-dir:PATH)", elem_id="local-dir")
                with gr.Row():
                    run = gr.Button("Decompose", variant="primary", elem_id="run")
                    samples = gr.Button("Use the sample faces", elem_id="samples")
        message = gr.Markdown(elem_id="message")
        face = gr.Dropdown([], label="face", elem_id="face", allow_custom_value=True)  # checked by Session.check_face
        with gr.Row():
            panels = [
                gr.Image(label=name, elem_id=name.replace(" ", "-"), height=DISPLAY_SIDE, format="png")
                for name in PANELS
            ]
        with gr.Row():
            with gr.Column():
                light_yaw = gr.Slider(-LIGHT_DEGREES, LIGHT_DEGREES, 0, step=1, label="light yaw", elem_id="light-yaw")
                light_pitch = gr.Slider(
                    -LIGHT_DEGREES, LIGHT_DEGREES, 0, step=1, label="light pitch", elem_id="light-pitch"
                )
                strength = gr.Slider(0, 2, 1, step=0.05, label="light strength (x predicted)", elem_id="light-strength")
                view_yaw = gr.Slider(-VIEW_DEGREES, VIEW_DEGREES, 0, step=1, label="view yaw", elem_id="view-yaw")
                view_pitch = gr.Slider(-VIEW_DEGREES, VIEW_DEGREES, 0, step=1, label="view pitch", elem_id="view-pitch")
            relit = gr.Image(label="re-rendered", elem_id="rerendered", height=2 * DISPLAY_SIDE, format="png")
            mesh = gr.Model3D(label="mesh (GLB)", elem_id="mesh", height=2 * DISPLAY_SIDE)
        with gr.Row():
            animate = gr.Button("Make the animation", elem_id="animate")
            animation = gr.Image(label="animation", elem_id="animation", height=DISPLAY_SIDE)
            downloads = gr.File(label="downloads", file_count="multiple", elem_id="downloads")
        sliders = [light_yaw, light_pitch, strength, view_yaw, view_pitch]

        def show(state: Session, index: int) -> tuple[Any, ...]:
            views = face_views(state, index)
            yaw, pitch = predicted_light(state, index)
            yaw, pitch = (float(np.clip(round(a), -LIGHT_DEGREES, LIGHT_DEGREES)) for a in (yaw, pitch))
            image = rerender_face(state, index, SceneEdit(light_yaw=yaw, light_pitch=pitch))
            files_out = [str(state.meshes[index]), str(state.features)]
            return (*views.values(), yaw, pitch, 1.0, 0.0, 0.0, image, str(state.meshes[index]), files_out)

        shown = [*panels, *sliders, relit, mesh, downloads]

        def start(old: Session | None, state: Session) -> tuple[Any, ...]:
            if old is not None:
                old.close()  # its downloads go with it
            menu = gr.update(choices=[(label, i) for i, label in enumerate(state.labels)], value=0)
            return (state, menu, *show(state, 0))

        def decompose(old: Session | None, paths: list[str] | None, name: str, folder: str) -> tuple[Any, ...]:
            return start(old, decompose_files(paths or [], (folder or "").strip() or name, workdir))

        def use_samples(old: Session | None, name: str, folder: str) -> tuple[Any, ...]:
            return decompose(old, [str(p) for p in sorted(SAMPLES.glob("*.png"))], name, folder)

        def select(state: Session | None, index: int | None) -> tuple[Any, ...]:
            return show(_session(state), 0 if index is None else int(index))

        def relight(state: Session | None, index: int | None, *values: float) -> tuple[Any, ...]:
            yaw, pitch, power, turn, nod = (float(v) for v in values)
            edit = SceneEdit(light_yaw=yaw, light_pitch=pitch, light_strength=power, view_yaw=turn, view_pitch=nod)
            return (rerender_face(_session(state), int(index or 0), edit),)

        def make_animation(state: Session | None, index: int | None) -> tuple[Any, ...]:
            state = _session(state)
            i = int(index or 0)
            path = animate_face(state, i)
            return str(path), [str(state.meshes[i]), str(state.features), str(path)]

        started = [session, face, *shown, message]
        run.click(_guarded(len(started), decompose), [session, files, model, local], started, api_name="decompose")
        samples.click(_guarded(len(started), use_samples), [session, model, local], started, api_name="samples")
        face.input(_guarded(len(shown) + 1, select), [session, face], [*shown, message], api_name="select")
        rerender_args = dict(fn=_guarded(2, relight), inputs=[session, face, *sliders], outputs=[relit, message])
        for i, slider in enumerate(sliders):
            slider.input(**rerender_args, api_name="rerender" if i == 0 else False)  # type: ignore[arg-type]
        animate.click(_guarded(3, make_animation), [session, face], [animation, downloads, message], api_name="animate")
    return demo


def _session(state: Session | None) -> Session:
    if state is None:
        raise AppError("no faces yet: upload photos and press Decompose, or use the sample faces")
    return state


def launch(
    model_name: str = DEFAULT_MODEL, host: str | None = "127.0.0.1", port: int | None = None, share: bool = False
) -> None:
    """Serve :func:`build_demo` until interrupted.

    Args:
        model_name: the model the page starts with.
        host: the address to bind; ``127.0.0.1`` (default) serves this machine only, ``0.0.0.0``
            every network interface; None: Gradio's choice, the environment variable
            ``GRADIO_SERVER_NAME`` (a Hugging Face Space sets it) or else ``127.0.0.1``.
        port: the port (default: Gradio's, 7860, or the next free one).
        share: also open a temporary public ``*.gradio.live`` link through Gradio's relay.
    """
    require_gradio("physdis app")
    build_demo(model_name).queue().launch(
        server_name=host, server_port=port, share=share, max_file_size=2 * MAX_FILE_BYTES, show_error=False
    )


def require_gradio(what: str) -> None:
    """Raise an :class:`AppError` saying how to install Gradio when it is missing."""
    try:
        import gradio  # noqa: F401
    except ImportError as err:
        raise AppError(f"{what} needs Gradio: pip install 'physdis-hub[app]'") from err
