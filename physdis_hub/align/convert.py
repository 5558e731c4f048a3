"""Maintainer script: convert the MTCNN weights of the ``facenet-pytorch`` wheel to the
``mtcnn.safetensors`` shipped beside :mod:`physdis_hub.align.mtcnn`.

Usage (the wheel is fetched with ``pip download --no-deps facenet-pytorch==2.6.0 -d DIR``; the
package itself is never installed or imported)::

    python -m physdis_hub.align.convert DIR/facenet_pytorch-2.6.0-py3-none-any.whl [-o OUT.safetensors]

The wheel's ``facenet_pytorch/data/{p,r,o}net.pt`` are plain state dicts, read with
``torch.load(weights_only=True)`` (no code runs). Conversion renames the keys to this package's
networks and reorders the columns of the first fully connected layer of R-net and O-net: the source
flattens the last feature map in (width, height, channel) order, :class:`torch.nn.Flatten` in
(channel, height, width) order. No value changes.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import torch

from .._checkout import InstalledPackageError, require_source_checkout
from ..errors import InputError
from ..hub.checkpoint import sha256_file
from .mtcnn import MTCNN, WEIGHTS

KEY_MAP = {
    "pnet": {
        "conv1": "body.0",
        "prelu1": "body.1",
        "conv2": "body.3",
        "prelu2": "body.4",
        "conv3": "body.5",
        "prelu3": "body.6",
        "conv4_1": "score",
        "conv4_2": "offset",
    },
    "rnet": {
        "conv1": "body.0",
        "prelu1": "body.1",
        "conv2": "body.3",
        "prelu2": "body.4",
        "conv3": "body.6",
        "prelu3": "body.7",
        "dense4": "body.9",
        "prelu4": "body.10",
        "dense5_1": "score",
        "dense5_2": "offset",
    },
    "onet": {
        "conv1": "body.0",
        "prelu1": "body.1",
        "conv2": "body.3",
        "prelu2": "body.4",
        "conv3": "body.6",
        "prelu3": "body.7",
        "conv4": "body.9",
        "prelu4": "body.10",
        "dense5": "body.12",
        "prelu5": "body.13",
        "dense6_1": "score",
        "dense6_2": "offset",
        "dense6_3": "landmarks",
    },
}
"""Source layer name -> this package's module path, per network."""

FLATTENED = {"rnet": ("dense4", 64, 3), "onet": ("dense5", 128, 3)}
"""First dense layer after the convolutions: (name, channels, spatial side) of its input."""


def convert_state(name: str, source: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One network's source state dict -> ``{f"{name}.{module}.{param}": tensor}``."""
    out = {}
    for key, value in source.items():
        layer, param = key.rsplit(".", 1)
        if layer not in KEY_MAP[name]:
            raise InputError(
                f"{name}: unexpected key {key!r} in the source weights; expected layers {list(KEY_MAP[name])}"
            )
        if name in FLATTENED and layer == FLATTENED[name][0] and param == "weight":
            _, c, s = FLATTENED[name]
            value = value.reshape(-1, s, s, c).permute(0, 3, 2, 1).reshape(value.shape[0], -1)
        out[f"{name}.{KEY_MAP[name][layer]}.{param}"] = value.contiguous()
    return out


def convert_wheel(wheel: Path, output: Path = WEIGHTS) -> str:
    """Read the three networks from ``wheel``, write them to ``output`` (safetensors); returns the
    wheel's sha256. The result loads strictly into :class:`~physdis_hub.align.mtcnn.MTCNN`."""
    from safetensors.torch import save_file

    state: dict[str, torch.Tensor] = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in KEY_MAP:
            member = f"facenet_pytorch/data/{name}.pt"
            if member not in zf.namelist():
                raise InputError(f"wheel: {wheel} has no {member}; expected a facenet-pytorch wheel")
            state.update(convert_state(name, torch.load(io.BytesIO(zf.read(member)), weights_only=True)))
    MTCNN().load_state_dict(state)  # strict: every key and shape must match
    save_file(state, str(output), metadata={"source": wheel.name})
    return sha256_file(wheel)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m physdis_hub.align.convert", description=__doc__.split("\n\n")[0])
    p.add_argument("wheel", type=Path, help="facenet_pytorch-2.6.0-py3-none-any.whl")
    p.add_argument("-o", "--output", type=Path, default=WEIGHTS, help=f"output file (default: {WEIGHTS})")
    args = p.parse_args(argv)
    try:
        require_source_checkout(args.output)
    except InstalledPackageError as err:
        p.error(str(err))
    sha = convert_wheel(args.wheel, args.output)
    print(f"wrote {args.output} from {args.wheel.name} (sha256 {sha})")


if __name__ == "__main__":
    main()
