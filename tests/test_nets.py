import pytest
import torch

from physdis_hub.config import ModelConfig, NetConfig
from physdis_hub.model import PhysDisModel
from physdis_hub.nets import ConfidenceNet, Encoder, EncoderDecoder, set_precision


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_parameter_counts() -> None:
    model = PhysDisModel(ModelConfig())
    counts = {
        "depth": count(model.depth_net),
        "albedo": count(model.albedo_net),
        "light": count(model.light_net),
        "view": count(model.view_net),
        "conf": count(model.conf_net),
    }
    assert counts == {
        "depth": 12_979_648,
        "albedo": 12_982_848,
        "light": 1_739_264,
        "view": 1_739_776,
        "conf": 7_678_208,
    }
    assert count(model) - counts["conf"] == 29_441_536
    assert count(model.depth_net.encoder) == 4_853_632


@pytest.mark.parametrize("nf", [16, 32])
def test_shapes_at_other_widths(nf: int) -> None:
    x = torch.randn(2, 3, 64, 64)
    ed = EncoderDecoder(3, 3, nf, 256)
    assert ed.encode(x).shape == (2, 256)
    assert ed(x).shape == (2, 3, 64, 64)
    assert ed(x).abs().max() <= 1
    enc = Encoder(3, 6, nf)
    assert enc.encode(x).shape == (2, 8 * nf)
    assert enc(x).shape == (2, 6)
    full, low = ConfidenceNet(3, nf, 64)(x)
    assert full.shape == (2, 2, 64, 64) and low.shape == (2, 2, 16, 16)
    assert (full > 0).all() and (low > 0).all()


def test_encode_decode_compose_to_forward() -> None:
    x = torch.randn(2, 3, 64, 64)
    ed, enc = EncoderDecoder(3, 1, 16, 256).eval(), Encoder(3, 4, 32).eval()
    torch.testing.assert_close(ed.decode(ed.encode(x)), ed(x))
    torch.testing.assert_close(enc.decode(enc.encode(x)), enc(x))


def test_feature_dims_follow_config() -> None:
    assert NetConfig().feature_dims == {"geom": 256, "alb": 256, "light": 256, "view": 256}
    with pytest.raises(ValueError, match="depth_nf"):
        NetConfig(depth_nf=20)


def test_bf16_networks_compute_in_bfloat16_and_return_float32() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    nets = {"ed": EncoderDecoder(3, 1, 16, 32), "enc": Encoder(3, 6, 8), "conf": ConfidenceNet(3, 16, 16)}
    fp32 = {name: net(x) for name, net in nets.items()}
    model = torch.nn.ModuleDict(nets)
    set_precision(model, "bf16")
    assert {net.compute_dtype for net in nets.values()} == {torch.bfloat16}
    for name, net in nets.items():
        ref, out = fp32[name], net(x)
        for r, o in zip(ref if isinstance(ref, tuple) else (ref,), out if isinstance(out, tuple) else (out,)):
            assert o.dtype == torch.float32  # the renderer and the losses downstream stay float32
            assert not torch.equal(o, r)  # bfloat16 arithmetic ran
            assert (o - r).abs().mean() < 0.05 * r.abs().mean(), name  # measured 0.7-3 %
    loss = sum(o.square().mean() for o in (nets["ed"](x), nets["enc"](x), *nets["conf"](x)))
    loss.backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in model.parameters())
    set_precision(model, "fp32")
    assert all(torch.equal(nets[name](x), fp32[name]) for name in ("ed", "enc"))  # weights untouched


def test_set_precision_refuses_an_unknown_precision() -> None:
    net = Encoder(3, 6, 8)
    with pytest.raises(ValueError, match=r"precision: expected one of \['fp32', 'bf16'\], got 'fp16'"):
        set_precision(net, "fp16")
    assert net.compute_dtype == torch.float32
