import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from physdis_hub.config import LossConfig, ModelConfig, NetConfig
from physdis_hub.losses import (
    PerceptualLoss,
    ReconstructionLoss,
    VGG16Features,
    confidence_gain,
    depth_smoothness,
    normal_smoothness,
    nt_xent,
    photometric_loss,
)
from physdis_hub.model import PhysDisModel
from physdis_hub.render import Camera, normals_from_depth


def test_photometric_with_confidence_matches_formula() -> None:
    pred, target = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    sigma = torch.full((1, 1, 2, 2), 2.0)
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    expected = ((1 + 2) / 2 * math.sqrt(2) / 2) + math.log(2)
    assert photometric_loss(pred, target, mask, sigma).item() == pytest.approx(expected, rel=1e-5)
    assert photometric_loss(pred, target).item() == pytest.approx(2.5)


def test_perceptual_loads_local_weights_and_refuses_missing(tmp_path) -> None:
    path = tmp_path / "vgg16.safetensors"
    state = {k: v.contiguous() for k, v in VGG16Features().state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # extra keys of a full VGG16 are ignored
    save_file(state, str(path))
    loss = PerceptualLoss(str(path))
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-7)
    assert loss(x, -x).item() > 0
    with pytest.raises(FileNotFoundError, match="perceptual_weights"):
        PerceptualLoss(str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="perceptual_weights: lam_perc is 1.0"):
        ReconstructionLoss(ModelConfig(loss=LossConfig(lam_perc=1.0)))


def test_depth_smoothness_is_in_units_of_the_depth_range() -> None:
    assert depth_smoothness(torch.ones(2, 16, 16), 0.2).item() == 0
    ramp = torch.arange(16.0)[None, None, :].expand(2, 16, 16) * 0.01  # 0.01 per column, flat down rows
    # 11 horizontal differences of 0.01 inside the border, each 0.05 of a 0.2 range; none vertically
    assert depth_smoothness(ramp, 0.2).item() == pytest.approx(0.05, rel=1e-5)
    assert depth_smoothness(ramp, 0.1).item() == pytest.approx(0.1, rel=1e-5)


def test_normal_smoothness_penalises_curvature_not_slope() -> None:
    camera = Camera(32, 10.0)
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    plane = 1.0 + 0.002 * xs  # a tilted plane: slope, no curvature
    assert normal_smoothness(normals_from_depth(camera, plane[None])).item() < 1e-6
    smooth = 1.0 - 0.05 * torch.exp(-((xs - 15.5) ** 2 + (ys - 15.5) ** 2) / 60)  # a smooth bump
    corrugated = 1.0 + 0.002 * (xs + ys) * torch.where((xs + ys) % 2 == 0, 1.0, -1.0)  # slope signs flip
    n_smooth = normal_smoothness(normals_from_depth(camera, smooth[None])).item()
    n_corr = normal_smoothness(normals_from_depth(camera, corrugated[None])).item()
    assert 0 < n_smooth < n_corr / 10


def test_confidence_gain() -> None:
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    sigma = torch.tensor([[[[0.5, 0.25], [1e-3, 1e-3]]]], requires_grad=True)
    gain = confidence_gain(sigma, mask)
    assert gain.item() == pytest.approx(math.sqrt(2) * (2 + 4) / 2, rel=1e-5)
    assert not gain.requires_grad
    assert confidence_gain(None, mask).item() == 1


def _save_vgg(path, net: VGG16Features, metadata: dict[str, str] | None = None) -> str:  # type: ignore[no-untyped-def]
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path), metadata=metadata)
    return str(path)


def test_vgg_applies_the_preprocessing_its_weights_declare(tmp_path) -> None:
    torch.manual_seed(1)
    net = VGG16Features()
    image = torch.rand(2, 3, 16, 16) * 2 - 1
    rgb01 = (image + 1) / 2
    caffe_in = rgb01[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    tv_in = (rgb01 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(
        1, 3, 1, 1
    )
    caffe = VGG16Features.load(_save_vgg(tmp_path / "caffe.safetensors", net, {"input": "caffe-bgr-255"}))
    plain = VGG16Features.load(_save_vgg(tmp_path / "plain.safetensors", net))  # no "input" key: torchvision
    assert (caffe.input_convention, plain.input_convention) == ("caffe-bgr-255", "torchvision")
    with torch.no_grad():
        torch.testing.assert_close(caffe(image), net.features(caffe_in))
        torch.testing.assert_close(plain(image), net.features(tv_in))


def test_vgg_load_errors_name_the_argument(tmp_path) -> None:
    net = VGG16Features()
    with pytest.raises(ValueError, match=r"perceptual_weights: .* declares input convention 'rgb-0-1'.*caffe-bgr-255"):
        VGG16Features.load(_save_vgg(tmp_path / "odd.safetensors", net, {"input": "rgb-0-1"}))
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    state["features.14.weight"] = torch.zeros(256, 256, 1, 1)
    save_file(state, str(tmp_path / "shape.safetensors"))
    with pytest.raises(
        ValueError, match=r"wrong shapes.*features\.14\.weight \(file \(256, 256, 1, 1\), VGG16 \(256, 256, 3, 3\)\)"
    ):
        VGG16Features.load(str(tmp_path / "shape.safetensors"))
    del state["features.14.weight"]
    save_file(state, str(tmp_path / "short.safetensors"))
    with pytest.raises(KeyError, match=r"lacks VGG16 keys \['features\.14\.weight'\].*features\.\{0,2,5,7,10,12,14\}"):
        VGG16Features.load(str(tmp_path / "short.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        VGG16Features.load(str(tmp_path / "junk.safetensors"))
    with pytest.raises(ValueError, match="input_convention must be one of"):
        VGG16Features("bgr")
    with pytest.raises(ValueError, match=r"expected \(B, 3, H, W\)"):
        net(torch.zeros(1, 1, 8, 8))


CAFFE_GAIN = 255 * (0.229 + 0.224 + 0.225) / 3
"""0-255 inputs against torchvision's inputs in units of ImageNet's std: the Caffe VGG16's features are
about this many times larger."""


def _unsup3d_perceptual(vgg: VGG16Features, pred, target, mask, sigma, gain=1.0):  # type: ignore[no-untyped-def]
    """The loss as it was computed before the target's features were shared: one VGG pass on
    ``cat([pred, target])`` per prediction; features divided by ``gain``."""
    f1, f2 = (vgg(torch.cat([pred, target])) / gain).chunk(2)
    loss = (f1 - f2) ** 2 / (2 * sigma**2 + 1e-7) + torch.log(sigma + 1e-7)
    mask = F.avg_pool2d(mask, 4, 4).expand_as(loss)
    return (loss * mask).sum() / mask.sum()


def test_reconstruction_loss_runs_vgg_once_on_the_target_with_unchanged_values(tmp_path) -> None:
    torch.manual_seed(2)
    weights = _save_vgg(tmp_path / "vgg.safetensors", VGG16Features(), {"input": "caffe-bgr-255"})
    nets = NetConfig(depth_nf=16, albedo_nf=16, light_nf=8, view_nf=8, conf_nf=16, zdim=32, conf_zdim=16)
    model = PhysDisModel(ModelConfig(nets=nets, loss=LossConfig(lam_perc=1.0)))
    loss_fn = ReconstructionLoss(model.config, weights)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    out = model(x)
    batches: list[int] = []
    loss_fn.perceptual.vgg.register_forward_hook(lambda _m, args, _o: batches.append(args[0].shape[0]))
    terms = loss_fn(out, x)
    assert batches == [6, 3]  # the reconstruction and its flipped twin, then the target once
    vgg, (_, sig) = loss_fn.perceptual.vgg, out.confidence
    with torch.no_grad():
        perc = _unsup3d_perceptual(vgg, out.reconstruction[:3], x, out.mask[:3], sig[:, 0:1], CAFFE_GAIN)
        perc_flip = _unsup3d_perceptual(vgg, out.reconstruction[3:], x, out.mask[3:], sig[:, 1:2], CAFFE_GAIN)
    torch.testing.assert_close(terms["perc"].detach(), perc, rtol=1e-6, atol=0)
    torch.testing.assert_close(terms["perc_flip"].detach(), perc_flip, rtol=1e-6, atol=0)
    assert terms["perc"].detach() != terms["perc_flip"].detach()
    terms["total"].backward()
    assert all(p.grad is not None for p in model.depth_net.parameters())


def test_perceptual_loss_measures_features_in_torchvision_units(tmp_path) -> None:
    torch.manual_seed(3)
    net = VGG16Features()
    pred, target = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        for convention, gain in (("torchvision", 1.0), ("caffe-bgr-255", CAFFE_GAIN)):
            weights = _save_vgg(tmp_path / f"{convention}.safetensors", net, {"input": convention})
            loss = PerceptualLoss(weights)
            expected = ((loss.vgg(pred) - loss.vgg(target)) ** 2).mean() / gain**2
            torch.testing.assert_close(loss(pred, target)[0], expected, rtol=1e-5, atol=0)


def test_perceptual_loss_checks_the_stacking(tmp_path) -> None:
    loss = PerceptualLoss(_save_vgg(tmp_path / "vgg.safetensors", VGG16Features()))
    with pytest.raises(ValueError, match=r"stacking K predictions.*\(5, 3, 16, 16\) and \(2, 3, 16, 16\)"):
        loss(torch.zeros(5, 3, 16, 16), torch.zeros(2, 3, 16, 16))


def test_nt_xent_input_checks() -> None:
    with pytest.raises(ValueError, match="N >= 2"):
        nt_xent(torch.randn(1, 4), torch.randn(1, 4))
    with pytest.raises(ValueError, match="one shape"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 5))
    z = torch.randn(8, 16)
    assert nt_xent(z, z).item() < nt_xent(z, torch.randn(8, 16)).item()
