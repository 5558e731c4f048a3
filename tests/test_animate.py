"""Re-rendering and animations (physdis_hub.animate): edits change only the light and view they
name, the sweeps follow their definition, the files read back to the rendered frames, and
``decompose --animate`` writes one per face for the embedded default and for a converted Unsup3d
model."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from physdis_hub import PhysDisModel, load_pretrained
from physdis_hub.animate import (
    ANIMATION_FORMATS,
    SceneEdit,
    animation_frames,
    rerender,
    sweep_edits,
    write_animation,
    write_animations,
)
from physdis_hub.cli import DEFAULT_MODEL, SAMPLES, build_parser, main
from physdis_hub.inputs import as_batch

from .converted_model import converted_unsup3d
from .helpers import face_like_scene, small_config

SAMPLE_FILES = sorted(SAMPLES.glob("*.png"))


@pytest.fixture(scope="module")
def model() -> PhysDisModel:
    torch.manual_seed(0)
    return PhysDisModel(small_config()).eval()


def test_the_empty_edit_renders_the_reconstruction(model: PhysDisModel) -> None:
    dec = model.decompose(torch.rand(2, 3, 64, 64), align=False)
    assert torch.allclose(rerender(model, dec.scene), dec.reconstruction, atol=1e-5)


def test_an_edit_sets_the_light_and_turns_the_view_it_names_only(model: PhysDisModel) -> None:
    scene = face_like_scene(2, yaw_deg=5.0)
    edited = SceneEdit(light_yaw=30.0, light_pitch=-20.0, light_strength=0.5, view_yaw=10.0).apply(scene)
    pitch, yaw = edited.light.angles()
    assert torch.allclose(yaw, torch.full((2,), math.radians(30.0)), atol=1e-6)
    assert torch.allclose(pitch, torch.full((2,), math.radians(-20.0)), atol=1e-6)
    assert torch.allclose(edited.light.diffuse, scene.light.diffuse * 0.5)
    assert torch.equal(edited.light.ambient, scene.light.ambient)
    assert torch.allclose(edited.view.rotation - scene.view.rotation, torch.tensor([0.0, math.radians(10.0), 0.0]))
    assert torch.equal(edited.depth, scene.depth) and torch.equal(edited.albedo, scene.albedo)
    kept = SceneEdit(light_pitch=10.0).apply(scene)
    assert torch.allclose(kept.light.angles()[1], scene.light.angles()[1], atol=1e-6), "None keeps the predicted yaw"


def test_without_diffuse_light_the_direction_does_not_matter(model: PhysDisModel) -> None:
    scene = face_like_scene(1)
    left, right = (rerender(model, scene, SceneEdit(light_yaw=y, light_strength=0.0)) for y in (-40.0, 40.0))
    assert torch.equal(left, right)
    left, right = (rerender(model, scene, SceneEdit(light_yaw=y)) for y in (-40.0, 40.0))
    assert (left - right).abs().max() > 0.05


@pytest.mark.parametrize(
    "changes",
    [
        {"light_yaw": 90.0},
        {"light_pitch": -120.0},
        {"light_strength": -1.0},
        {"light_strength": math.nan},
        {"view_yaw": math.inf},
    ],
)
def test_bad_edits_name_the_field(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        SceneEdit(**changes)


def test_the_sweeps_turn_out_and_back_then_circle_the_light_at_its_tilt() -> None:
    edits = sweep_edits(frames=8, yaw=30.0, pitch=15.0, light_tilt=40.0)
    assert len(edits) == 16
    rotation, light = edits[:8], edits[8:]
    assert [round(e.view_yaw, 6) for e in rotation[:4]] == [0.0, 30.0, 0.0, -30.0]
    assert [round(e.view_pitch, 6) for e in rotation[4:]] == [0.0, 15.0, 0.0, -15.0]
    assert all(e.light_yaw is None and e.light_pitch is None for e in rotation)
    for e in light:
        assert e.view_yaw == e.view_pitch == 0.0
        # the direction normalize(tan(yaw), tan(pitch), 1) lies 40 degrees off the optical axis
        d = np.array([math.tan(math.radians(e.light_yaw)), math.tan(math.radians(e.light_pitch)), 1.0])
        assert math.degrees(math.acos(d[2] / np.linalg.norm(d))) == pytest.approx(40.0)
    with pytest.raises(ValueError, match="frames"):
        sweep_edits(frames=2)
    with pytest.raises(ValueError, match="light_tilt"):
        sweep_edits(light_tilt=89.0)


def test_a_gif_reads_back_to_the_frames(model: PhysDisModel, tmp_path: Path) -> None:
    scene = face_like_scene(1)
    frames = animation_frames(model, scene, sweep_edits(frames=8))
    assert frames.shape == (1, 16, 3, 64, 64)
    assert torch.allclose(frames[0, 0], model.render(scene)[0], atol=1e-5), (
        "the rotation sweep starts at the predicted view"
    )
    path = write_animation(frames[0], tmp_path / "a.gif", fps=10, scale=2)
    gif = Image.open(path)
    assert gif.info["duration"] == 100 and gif.info["loop"] == 0
    read = [np.asarray(f.convert("RGB"), dtype=np.float32) / 255 for f in ImageSequence.Iterator(gif)]
    assert len(read) == 16 and read[0].shape == (128, 128, 3)
    want = frames[0].permute(0, 2, 3, 1).numpy().repeat(2, axis=1).repeat(2, axis=2)
    assert np.abs(np.stack(read) - want).mean() < 0.02, "GIF palettes quantise, but only a little"


def test_an_mp4_reads_back_to_the_frames(model: PhysDisModel, tmp_path: Path) -> None:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="MP4 output needs the optional imageio-ffmpeg")
    frames = animation_frames(model, face_like_scene(1), sweep_edits(frames=8))[0]
    path = write_animation(frames, tmp_path / "a.mp4", fps=10, scale=2)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert tuple(meta["size"]) == (128, 128)
    read = [np.frombuffer(f, np.uint8).reshape(128, 128, 3) / 255 for f in reader]
    want = frames.permute(0, 2, 3, 1).numpy().repeat(2, axis=1).repeat(2, axis=2)
    assert len(read) == 16
    assert np.abs(np.stack(read) - want).mean() < 0.05, "H.264 is lossy, but not by much at this quality"


def test_bad_animation_arguments_write_nothing(model: PhysDisModel, tmp_path: Path) -> None:
    frames = torch.rand(3, 3, 8, 8)
    with pytest.raises(ValueError, match="path"):
        write_animation(frames, tmp_path / "a.avi")
    with pytest.raises(ValueError, match="frames"):
        write_animation(frames[:, :1], tmp_path / "a.gif")
    with pytest.raises(ValueError, match="fps"):
        write_animation(frames, tmp_path / "a.gif", fps=0)
    dec = model.decompose(torch.rand(1, 3, 64, 64), align=False)
    with pytest.raises(ValueError, match="names"):
        write_animations(model, dec, tmp_path / "out", ["a", "b"])
    with pytest.raises(ValueError, match="fmt"):
        write_animations(model, dec, tmp_path / "out", ["a"], fmt="webm")
    assert not any(tmp_path.iterdir())


def _assert_outputs(folder: Path, names: list[str], frames: int = 48) -> None:
    for name in names:
        assert (folder / f"{name}.png").is_file() and (folder / f"{name}.glb").is_file()
        gif = Image.open(folder / f"{name}.gif")
        assert gif.n_frames == frames and gif.size == (128, 128)


def test_decompose_animate_with_mesh_for_the_embedded_default(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(
            ["decompose", *map(str, SAMPLE_FILES[:2]), "--model", DEFAULT_MODEL, "--animate", "--mesh", "-o", str(out)]
        )
        == 0
    )
    _assert_outputs(out, [p.stem for p in SAMPLE_FILES[:2]])
    # The animation of a face is that of its own decomposition.
    model = load_pretrained(DEFAULT_MODEL)
    dec = model.decompose(as_batch([SAMPLE_FILES[0]], 64), align=False)
    first = np.asarray(Image.open(out / f"{SAMPLE_FILES[0].stem}.gif").convert("RGB"), dtype=np.float32) / 255
    want = dec.reconstruction[0].permute(1, 2, 0).numpy().repeat(2, axis=0).repeat(2, axis=1)
    assert np.abs(first - want).mean() < 0.02


def test_decompose_animate_for_a_converted_unsup3d_model(tmp_path: Path) -> None:
    """A model converted from the official network layout (random weights) animates like ours."""
    name = converted_unsup3d(tmp_path)
    out = tmp_path / "out"
    args = ["decompose", str(SAMPLE_FILES[0]), "--model", name, "--animate", "--mesh", "-o", str(out)]
    assert main(args) == 0
    _assert_outputs(out, [SAMPLE_FILES[0].stem])


def test_decompose_animate_mp4_without_imageio_ffmpeg_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # what `import imageio_ffmpeg` meets when absent
    out = tmp_path / "out"
    args = ["decompose", str(SAMPLE_FILES[0]), "--animate", "--animation-format", "mp4", "-o", str(out)]
    assert main(args) == 1
    assert (
        "--animation-format: writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg)" in capsys.readouterr().err
    )
    assert not out.exists()


def test_the_cli_formats_are_the_writers() -> None:
    """cli.py lists the formats without importing torch; they must stay those of the writer."""
    args = build_parser().parse_args(["decompose", "x.png", "-o", "out", "--animate"])
    assert (args.animate, args.animation_format) == (True, "gif")
    actions = build_parser()._subparsers._group_actions[0].choices["decompose"]._actions  # type: ignore[union-attr]
    assert tuple(next(a for a in actions if a.dest == "animation_format").choices) == ANIMATION_FORMATS
