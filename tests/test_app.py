"""The browser demo (physdis_hub.app): its plain functions, its API through gradio_client against a
server started here on 127.0.0.1, and the page itself in headless Chromium (Debian's package)
driven by Playwright, which also saves the screenshot of docs/figures/app.png."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gradio", reason="the demo needs the optional extra app (pip install 'physdis-hub[app]')")

from physdis_hub.align import SAMPLE_PHOTO  # noqa: E402
from physdis_hub.animate import SceneEdit  # noqa: E402
from physdis_hub.app import (  # noqa: E402
    MAX_FILES,
    PANELS,
    AppError,
    Session,
    animate_face,
    build_demo,
    decompose_files,
    face_views,
    load_model,
    rerender_face,
    to_display,
)
from physdis_hub.cli import DEFAULT_MODEL, SAMPLES, build_parser  # noqa: E402
from physdis_hub.features import read_features  # noqa: E402
from physdis_hub.mesh_export import GLB_MAGIC  # noqa: E402

from .converted_model import converted_unsup3d  # noqa: E402

SAMPLE_FILES = sorted(SAMPLES.glob("*.png"))
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "app.png"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    session = decompose_files(SAMPLE_FILES[:2], workdir=tmp_path_factory.mktemp("session"))
    yield session
    session.close()
    assert not session.folder.exists()


def test_a_session_holds_the_decomposition_mesh_and_features(session: Session) -> None:
    model = load_model(DEFAULT_MODEL)
    assert session.labels == [p.name for p in SAMPLE_FILES[:2]]
    assert session.crops.shape == (2, 3, 64, 64)
    for mesh in session.meshes:
        assert int.from_bytes(mesh.read_bytes()[:4], "little") == GLB_MAGIC
    features = read_features(session.features)
    want = model.extract(session.crops, parts=("geom", "alb"), align=False)
    assert list(features.names) == session.labels
    assert np.allclose(features.features, want.numpy(), atol=1e-6)


def test_the_views_and_the_rerender_come_from_the_cached_decomposition(session: Session) -> None:
    views = face_views(session, 1)
    assert list(views) == list(PANELS)
    assert all(v.shape == (192, 192, 3) and v.dtype == np.uint8 for v in views.values())
    assert np.array_equal(views["reconstruction"], to_display(session.decomposition.reconstruction[1]))
    calls: list[str] = []
    hooks = [
        net.register_forward_pre_hook(lambda *_, n=name: calls.append(n))
        for name, net in session.model.part_networks().items()
    ]
    try:
        same = rerender_face(session, 1, SceneEdit())
        relit = rerender_face(session, 1, SceneEdit(light_yaw=50.0, light_pitch=0.0))
        turned = rerender_face(session, 1, SceneEdit(view_yaw=30.0))
    finally:
        for hook in hooks:
            hook.remove()
    assert calls == [], "a re-render runs no encoder"
    assert np.abs(same.astype(int) - views["reconstruction"].astype(int)).max() <= 1
    assert np.abs(relit.astype(int) - same.astype(int)).mean() > 2
    assert np.abs(turned.astype(int) - same.astype(int)).mean() > 2
    with pytest.raises(AppError, match="face"):
        rerender_face(session, 2, SceneEdit())


def test_the_animation_is_written_once(session: Session) -> None:
    path = animate_face(session, 0)
    assert Image.open(path).n_frames == 48
    stamp = path.stat().st_mtime_ns
    assert animate_face(session, 0) == path and path.stat().st_mtime_ns == stamp


def _huge_png(path: Path) -> Path:
    Image.new("L", (8000, 6000)).save(path)  # 48 megapixels, a small file
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: [], "upload at least one photo"),
        (lambda tmp: SAMPLE_FILES * 2, f"at most {MAX_FILES} photos"),
        (lambda tmp: [_huge_png(tmp / "huge.png")], "8000 x 6000 pixels; the limit is 40 megapixels"),
        (lambda tmp: [tmp / "notes.txt"], "notes.txt is not an image file"),
        (lambda tmp: [tmp / "wall.png"], "no face found in any of the 1 photos"),
    ],
    ids=["none", "too-many", "huge", "not-an-image", "no-face"],
)
def test_bad_uploads_say_what_is_wrong(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("not a photo")
    Image.new("RGB", (300, 200), (120, 120, 120)).save(tmp_path / "wall.png")
    with pytest.raises(AppError, match=message):
        decompose_files(make(tmp_path))


def test_a_photograph_is_aligned_as_the_model_aligns_it(tmp_path: Path) -> None:
    session = decompose_files([SAMPLE_PHOTO, SAMPLE_FILES[0]], workdir=tmp_path)
    assert session.labels == [SAMPLE_PHOTO.name, SAMPLE_FILES[0].name]
    model = load_model(DEFAULT_MODEL)
    want = model.align([SAMPLE_PHOTO, SAMPLE_FILES[0]]).images
    assert torch.allclose(session.crops, want, atol=1e-5)
    assert np.array_equal(face_views(session, 0)["aligned crop"], to_display(want[0]))


def test_a_converted_unsup3d_model_from_its_folder(tmp_path: Path) -> None:
    name = converted_unsup3d(tmp_path)
    session = decompose_files(SAMPLE_FILES[:1], name, workdir=tmp_path)
    assert session.model is load_model(name) and session.model.config.resize == "stretch", "the converted model ran"
    views = face_views(session, 0)
    assert np.array_equal(views["reconstruction"], to_display(session.decomposition.reconstruction[0]))
    relit = rerender_face(session, 0, SceneEdit(light_yaw=45.0, light_pitch=0.0, light_strength=2.0))
    assert relit.shape == (192, 192, 3)
    assert Image.open(animate_face(session, 0)).n_frames == 48


def test_a_model_that_does_not_load_says_so(tmp_path: Path) -> None:
    with pytest.raises(AppError, match="model: cannot load"):
        decompose_files(SAMPLE_FILES[:1], f"local-dir:{tmp_path}")


def test_physdis_app_binds_localhost_unless_told() -> None:
    args = build_parser().parse_args(["app"])
    assert (args.host, args.port, args.share) == ("127.0.0.1", None, False)


# -- a server on 127.0.0.1 ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    demo = build_demo(workdir=tmp_path_factory.mktemp("sessions"))
    port = _free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def _pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_the_api_decomposes_relights_and_animates(server: str, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    out = client.predict([handle_file(str(p)) for p in SAMPLE_FILES[:2]], DEFAULT_MODEL, "", api_name="/decompose")
    assert out[-1] == "", out[-1]
    # the session (a gr.State) stays on the server: face menu, panels, sliders, re-render, mesh, files, message
    assert len(out) == 1 + len(PANELS) + 5 + 4
    panels, (light_yaw, light_pitch, strength, view_yaw, view_pitch) = out[1:7], out[7:12]
    assert all(_pixels(p).shape == (192, 192, 3) for p in panels)
    assert (strength, view_yaw, view_pitch) == (1.0, 0.0, 0.0)
    shown, glb = out[12], out[13]
    assert Path(glb).suffix == ".glb" and [Path(f).suffix for f in out[14]] == [".glb", ".npz"]
    again, message = client.predict(0, light_yaw, light_pitch, 1.0, 0, 0, api_name="/rerender")
    assert message == "" and np.array_equal(_pixels(again), _pixels(shown))
    moved, _ = client.predict(
        0, light_yaw + 45 if light_yaw < 0 else light_yaw - 45, light_pitch, 1.0, 0, 0, api_name="/rerender"
    )
    assert np.abs(_pixels(moved) - _pixels(shown)).mean() > 2
    animation, files, message = client.predict(1, api_name="/animate")
    assert message == "" and Image.open(animation).n_frames == 48
    assert [Path(f).suffix for f in files] == [".glb", ".npz", ".gif"]
    (tmp_path / "notes.txt").write_text("not a photo")
    bad = client.predict([handle_file(str(tmp_path / "notes.txt"))], DEFAULT_MODEL, "", api_name="/decompose")
    assert bad[-1] == "**Error:** photos: notes.txt is not an image file this demo can read (UnidentifiedImageError)"
    fresh = Client(server, verbose=False)
    assert fresh.predict(0, 0, 0, 1.0, 0, 0, api_name="/rerender")[1].startswith("**Error:** no faces yet")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium chromium-driver")
def test_the_page_in_chromium(server: str, tmp_path: Path) -> None:
    from playwright import sync_api  # in the dev extra: only a missing browser skips this test

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-unsafe-swiftshader",
    ]  # WebGL in software: the mesh viewer
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(server)
            page.locator("#photos input[type=file]").set_input_files([str(SAMPLE_FILES[0])])
            with page.expect_response(lambda r: r.url.endswith(".glb"), timeout=60_000) as glb:
                page.locator("#run").click()
            assert glb.value.ok and glb.value.body()[:4] == b"glTF", "the mesh viewer fetched the GLB"
            image = page.locator("#rerendered img")
            image.wait_for(timeout=60_000)
            before = image.get_attribute("src")
            assert page.locator("#message").inner_text().strip() == ""
            page.locator("#light-yaw input[type=range]").fill("45")
            page.wait_for_function(
                "src => { const i = document.querySelector('#rerendered img'); return i && i.src !== src; }",
                arg=before,
                timeout=30_000,
            )
            page.locator("#mesh canvas").wait_for(timeout=30_000)
            page.locator("#animate").click()
            page.locator("#animation img").wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # the 3D viewer's first frames
            for name in PANELS:
                assert page.locator(f"#{name.replace(' ', '-')} img").count() == 1, name
            shot = tmp_path / "app.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    assert Image.open(SCREENSHOT).size[0] == 1400


def test_to_display_upscales_without_blending() -> None:
    image = torch.zeros(3, 2, 2)
    image[:, 0, 0] = 1
    shown = to_display(image, side=4)
    assert shown[:2, :2].min() == 255 and shown[2:, :].max() == 0 and shown[:, 2:].max() == 0
