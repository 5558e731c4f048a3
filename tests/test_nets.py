import pytest
import torch

from physdis_hub.config import ModelConfig, NetConfig
from physdis_hub.model import PhysDisModel
from physdis_hub.nets import ConfidenceNet, Encoder, EncoderDecoder


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
