"""The CLI against the Hub: ``physdis push``, and a fresh process configured only by environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from physdis_hub import load_pretrained
from physdis_hub.cli import main
from physdis_hub.hub import save_pretrained
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, sha256_file

from .helpers import IMAGES, same_weights, tiny_model

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_push_uploads_the_folder_as_is_and_prints_the_registry_pins(hub, tmp_path, capsys):
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    (folder / "optimizer.bin").write_bytes(b"pickle")  # never uploaded
    assert main(["push", f"local-dir:{folder}", "org/faces", "-m", "first"]) == 0
    out = capsys.readouterr().out
    sha = hub.head("org/faces")
    assert f"at commit {sha}" in out and f"sha256='{sha256_file(folder / WEIGHTS_NAME)}'" in out
    files = hub.files("org/faces", sha)
    assert set(files) == {".gitattributes", CONFIG_NAME, WEIGHTS_NAME, CARD_NAME}
    assert files[WEIGHTS_NAME] == (folder / WEIGHTS_NAME).read_bytes()
    assert same_weights(load_pretrained(f"hf-hub:org/faces@{sha}"), tiny_model())

    assert main(["push", str(tmp_path / "missing"), "org/faces"]) == 1
    assert "expected config.json and model.safetensors" in capsys.readouterr().err


def test_fresh_process_honours_environment(hub, tmp_path):
    """A new interpreter reads HF_ENDPOINT / HF_HOME / HF_HUB_OFFLINE at import, as users set them."""
    save_pretrained(tiny_model(), tmp_path / "ckpt")
    assert main(["push", str(tmp_path / "ckpt"), "org/faces"]) == 0
    image = tmp_path / "face.png"
    Image.fromarray((IMAGES[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(image)
    home = tmp_path / "fresh-home"
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}

    def extract(output: Path, **extra: str) -> np.ndarray:
        command = [sys.executable, "-m", "physdis_hub.cli", "extract", str(image), "--model", "hf-hub:org/faces"]
        subprocess.run([*command, "-o", str(output)], env={**env, **extra}, check=True, capture_output=True)
        return np.load(output)["features"]

    online = extract(tmp_path / "online.npz")
    assert (home / "hub" / "models--org--faces" / "snapshots").is_dir()
    requests = len(hub.requests)
    hub.stop()
    assert np.array_equal(extract(tmp_path / "offline.npz", HF_HUB_OFFLINE="1"), online)
    assert len(hub.requests) == requests
