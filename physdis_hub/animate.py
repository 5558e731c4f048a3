"""Re-rendering a decomposition under a new light and view, and animations of it, on the CPU.

A :class:`SceneEdit` says how to change a decomposed scene (light direction and strength, extra
view yaw and pitch); :func:`rerender` renders it with the model's own renderer, without running
the encoders again (the browser demo's sliders, :mod:`physdis_hub.app`). :func:`animation_frames`
renders a sequence of edits for every face of a decomposition: a rotation sweep (yaw out and back,
then pitch out and back) followed by a light sweep (the light circles the optical axis at a fixed
tilt, keeping the predicted intensities), the CPU counterpart of Unsup3d's ``--render_video``.
:func:`write_animation` stores frames as a GIF (Pillow) or an MP4 (``imageio-ffmpeg``, optional).

Example:
    >>> model = load_pretrained("faces-loocc-lv")  # doctest: +SKIP
    >>> dec = model.decompose(["face.jpg"])  # doctest: +SKIP
    >>> write_animations(model, dec, "out/", ["face"])  # doctest: +SKIP
    [PosixPath('out/face.gif')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from PIL import Image

from .errors import InputError
from .inputs import to_uint8
from .model import Decomposition, PhysDisModel
from .scene import Light, SceneParams, View

ANIMATION_FORMATS: tuple[str, ...] = ("gif", "mp4")
"""File formats of :func:`write_animation`: GIF (Pillow, always there) and MP4 (needs ``imageio-ffmpeg``)."""


@dataclass(frozen=True)
class SceneEdit:
    """A change to a decomposed scene; angles in degrees.

    Attributes:
        light_yaw: the light's yaw (positive: from the image's right); None keeps each image's predicted yaw.
        light_pitch: the light's pitch (positive: from below); None keeps the predicted pitch.
        light_strength: factor on the predicted diffuse intensity (the ambient term is kept); >= 0.
        view_yaw: yaw added to the predicted view (0: the reconstruction's pose).
        view_pitch: pitch added to the predicted view.
    """

    light_yaw: float | None = None
    light_pitch: float | None = None
    light_strength: float = 1.0
    view_yaw: float = 0.0
    view_pitch: float = 0.0

    def __post_init__(self) -> None:
        for name in ("light_yaw", "light_pitch"):
            value = getattr(self, name)
            if value is not None and not -89.0 <= value <= 89.0:
                raise InputError(f"{name}: expected degrees in [-89, 89] (the light must face the object), got {value}")
        if not (math.isfinite(self.light_strength) and self.light_strength >= 0):
            raise InputError(f"light_strength: expected a finite factor >= 0, got {self.light_strength}")
        for name in ("view_yaw", "view_pitch"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(f"{name}: expected finite degrees, got {getattr(self, name)}")

    def apply(self, scene: SceneParams) -> SceneParams:
        """``scene`` (batch ``B``) with this edit's light and view; depth and albedo unchanged."""
        pitch, yaw = scene.light.angles()
        if self.light_pitch is not None:
            pitch = torch.full_like(pitch, math.radians(self.light_pitch))
        if self.light_yaw is not None:
            yaw = torch.full_like(yaw, math.radians(self.light_yaw))
        light = Light.from_angles(scene.light.ambient, scene.light.diffuse * self.light_strength, pitch, yaw)
        turn = scene.view.rotation.new_tensor([math.radians(self.view_pitch), math.radians(self.view_yaw), 0.0])
        return scene.with_light(light).with_view(View(scene.view.rotation + turn, scene.view.translation))


def rerender(model: PhysDisModel, scene: SceneParams, edit: SceneEdit = SceneEdit()) -> torch.Tensor:
    """Render ``scene`` (from :meth:`PhysDisModel.decompose`) under ``edit``; no encoder runs.

    Returns:
        ``(B, 3, S, S)`` in [0, 1] on the CPU, 0 on background.
    """
    return model.render(edit.apply(scene)).detach().float().cpu()


def sweep_edits(frames: int = 24, yaw: float = 30.0, pitch: float = 15.0, light_tilt: float = 40.0) -> list[SceneEdit]:
    """The edits of one animation: ``frames`` of rotation sweep, then ``frames`` of light sweep.

    The rotation sweep turns the view yaw ``0 -> +yaw -> 0 -> -yaw -> 0`` over its first half and
    the pitch the same way over its second half (a sine each); the light sweep moves the light once
    around the optical axis, ``light_tilt`` degrees off it, starting from the right.

    Args:
        frames: frames per sweep (>= 4).
        yaw, pitch: the largest view yaw and pitch added, degrees.
        light_tilt: the light's angle off the optical axis, degrees in [0, 89).

    Returns:
        ``2 * frames`` edits.
    """
    if frames < 4:
        raise InputError(f"frames: expected at least 4 frames per sweep, got {frames}")
    if not 0 <= light_tilt < 89:
        raise InputError(f"light_tilt: expected degrees in [0, 89), got {light_tilt}")
    half = frames // 2
    turn = [math.sin(2 * math.pi * k / half) for k in range(half)]
    nod = [math.sin(2 * math.pi * k / (frames - half)) for k in range(frames - half)]
    edits = [SceneEdit(view_yaw=yaw * t) for t in turn] + [SceneEdit(view_pitch=pitch * t) for t in nod]
    tan_tilt = math.tan(math.radians(light_tilt))
    for k in range(frames):
        phi = 2 * math.pi * k / frames
        # A direction tan(tilt) off the axis: (tan(yaw), tan(pitch)) on a circle of that radius.
        x, y = tan_tilt * math.cos(phi), tan_tilt * math.sin(phi)
        edits.append(SceneEdit(light_yaw=math.degrees(math.atan(x)), light_pitch=math.degrees(math.atan(y))))
    return edits


def animation_frames(model: PhysDisModel, dec: Decomposition | SceneParams, edits: Sequence[SceneEdit]) -> torch.Tensor:
    """Render every edit for every image of ``dec``.

    Args:
        model: the model that decomposed the images.
        dec: its :meth:`~PhysDisModel.decompose` result (or the scene of one) for ``B`` images.
        edits: ``T`` edits, e.g. :func:`sweep_edits`.

    Returns:
        ``(B, T, 3, S, S)`` in [0, 1] on the CPU.
    """
    if not edits:
        raise InputError("edits: expected at least one SceneEdit, got none")
    scene = dec.scene if isinstance(dec, Decomposition) else dec
    return torch.stack([rerender(model, scene, edit) for edit in edits], dim=1)


def write_animation(frames: torch.Tensor, path: str | Path, fps: int = 12, scale: int = 2) -> Path:
    """Write ``frames (T, 3, S, S)`` in [0, 1] as a looping animation; the format is ``path``'s suffix.

    Args:
        frames: the frames, e.g. one row of :func:`animation_frames`.
        path: ``*.gif`` (Pillow) or ``*.mp4`` (H.264 through ``imageio-ffmpeg``: ``pip install imageio-ffmpeg``).
        fps: frames per second.
        scale: nearest-neighbour upscaling of each frame (an MP4's side is rounded up to a multiple of 16
            by the encoder's padding, so ``S * scale`` a multiple of 16 keeps it exact).

    Returns:
        ``path``.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ANIMATION_FORMATS:
        raise InputError(f"path: expected a name ending in {', '.join('.' + f for f in ANIMATION_FORMATS)}, got {path}")
    if frames.ndim != 4 or frames.shape[1] != 3 or frames.shape[0] == 0:
        raise InputError(f"frames: expected (T, 3, S, S) with T >= 1, got {tuple(frames.shape)}")
    if fps <= 0 or scale <= 0:
        raise InputError(f"fps, scale: expected positive ints, got {fps} and {scale}")
    if fmt == "mp4":
        require_mp4("path")
    pixels = to_uint8(frames)
    pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    if fmt == "mp4":
        _write_mp4(pixels, path, fps)
        return path
    images = [Image.fromarray(p) for p in pixels]
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path


def require_mp4(argument: str = "fmt") -> ModuleType:
    """The ``imageio_ffmpeg`` module, or an InputError naming ``argument`` that says how to install it."""
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise InputError(
            f"{argument}: writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); gif needs nothing"
        ) from err
    return imageio_ffmpeg


def _write_mp4(pixels: np.ndarray, path: Path, fps: int) -> None:
    height, width = pixels.shape[1:3]
    writer = require_mp4("path").write_frames(str(path), (width, height), fps=fps, quality=8, macro_block_size=16)
    writer.send(None)
    try:
        for frame in pixels:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()


def write_animations(
    model: PhysDisModel,
    dec: Decomposition,
    folder: str | Path,
    names: Sequence[str],
    fmt: str = "gif",
    frames: int = 24,
    scale: int = 2,
) -> list[Path]:
    """Write ``NAME.gif`` (or ``.mp4``) per image of ``dec``: the rotation and light sweeps of
    :func:`sweep_edits`, at 12 frames per second.

    Args:
        model: the model that decomposed the images.
        dec: its :meth:`~PhysDisModel.decompose` result for ``B`` images.
        folder: output folder (created).
        names: ``B`` file stems.
        fmt: one of :data:`ANIMATION_FORMATS`.
        frames: frames per sweep.
        scale: upscaling of each frame.

    Returns:
        The written paths, one per image.
    """
    if fmt not in ANIMATION_FORMATS:
        raise InputError(f"fmt: expected one of {ANIMATION_FORMATS}, got {fmt!r}")
    if fmt == "mp4":
        require_mp4()
    if len(names) != dec.albedo.shape[0]:
        raise InputError(f"names: expected {dec.albedo.shape[0]} names, one per image, got {len(names)}")
    video = animation_frames(model, dec, sweep_edits(frames))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_animation(video[i], folder / f"{name}.{fmt}", scale=scale) for i, name in enumerate(names)]
