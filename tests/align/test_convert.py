"""The maintainer conversion of the facenet-pytorch MTCNN weights."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from physdis_hub.align.convert import KEY_MAP, convert_state, convert_wheel
from physdis_hub.align.mtcnn import WEIGHTS

WHEEL = Path("/work/assets-cache/facenet_pytorch-2.6.0-py3-none-any.whl")


def test_dense_columns_go_from_width_height_channel_to_channel_height_width() -> None:
    weight = torch.zeros(128, 576)
    w, h, c = 2, 1, 5  # source column w * (3 * 64) + h * 64 + c
    weight[7, w * 192 + h * 64 + c] = 1.0
    out = convert_state("rnet", {"dense4.weight": weight})["rnet.body.9.weight"]
    assert out.shape == (128, 576)
    assert out[7, c * 9 + h * 3 + w] == 1.0 and out.sum() == 1.0  # torch.flatten order of (64, 3, 3)
    assert torch.equal(
        convert_state("pnet", {"conv1.bias": torch.arange(10.0)})["pnet.body.0.bias"], torch.arange(10.0)
    )


def test_unknown_source_keys_are_named() -> None:
    with pytest.raises(ValueError, match="onet: unexpected key 'dense9.weight'"):
        convert_state("onet", {"dense9.weight": torch.zeros(1)})


def test_convert_rejects_a_wheel_without_the_networks(tmp_path: Path) -> None:
    wheel = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("other/__init__.py", "")
    with pytest.raises(ValueError, match="has no facenet_pytorch/data/pnet.pt"):
        convert_wheel(wheel, tmp_path / "out.safetensors")


@pytest.mark.skipif(
    not WHEEL.is_file(), reason=f"{WHEEL} not downloaded (pip download --no-deps facenet-pytorch==2.6.0)"
)
def test_reconverting_the_wheel_gives_the_shipped_weights(tmp_path: Path) -> None:
    out = tmp_path / "mtcnn.safetensors"
    assert convert_wheel(WHEEL, out) == "ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca"
    fresh, shipped = load_file(out), load_file(WEIGHTS)
    assert fresh.keys() == shipped.keys()
    assert all(torch.equal(fresh[k], shipped[k]) for k in shipped)
    assert {k.split(".")[0] for k in shipped} == set(KEY_MAP)
