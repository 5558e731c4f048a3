"""Converting official checkpoints: the converted model computes what the official networks compute.

Checkpoints are written in the official layout with random weights (tests/convert/official.py): the
networks' state dicts, Adam states, the epoch and a pickled ``MetricsTrace`` whose class is gone
when the converter reads the file.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from physdis_hub import PARTS, ModelConfig, PhysDisModel, load_pretrained, push_to_hub
from physdis_hub.cli import main
from physdis_hub.config import CONFIG_FORMAT_VERSION
from physdis_hub.convert import ConversionError, convert_pdr, convert_unsup3d, read_checkpoint
from physdis_hub.hub import push_directory
from physdis_hub.hub.checkpoint import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, sha256_file
from physdis_hub.probes import cluster_probe
from physdis_hub.scene import Light

from ..hub.conftest import hub  # noqa: F401  (the Hub-protocol server fixture)
from .official import official_forward, official_networks, write_official_checkpoint

FACES = {
    "min_depth": 0.9,
    "max_depth": 1.1,
    "border_depth": 0.7 * 1.1 + 0.3 * 0.9,
    "min_amb_light": 0.0,
    "max_amb_light": 1.0,
    "min_diff_light": 0.0,
    "max_diff_light": 1.0,
    "xyz_rotation_range": 60,
    "xy_translation_range": 0.1,
    "z_translation_range": 0,
    "rot_center_depth": 1.0,
    "fov": 10,
    "use_conf_map": True,
    "lam_perc": 1,
    "lam_flip": 0.5,
    "lam_depth_sm": 0,
}
CARS = {
    **FACES,
    "border_depth": 1.08,
    "min_diff_light": 0.5,
    "use_conf_map": False,
    "lam_perc": 0.01,
    "lam_flip": 1,
    "lam_depth_sm": 0.1,
}
TRAINING = {
    ("unsup3d", "celeba"): FACES,
    ("unsup3d", "synface"): FACES,
    ("unsup3d", "cat"): {**FACES, "z_translation_range": 0.1},
    ("unsup3d", "syncar"): CARS,
    ("pdr", "faces"): FACES,
    ("pdr", "cars"): CARS,
}
"""The training configurations' values (Unsup3d experiments/train_{celeba,synface,cat,syncar}.yml,
PDR experiments/train_{utkface,syncar}.yml) with Unsup3d's code defaults for what they leave unset."""
OFFICIAL = {case: {**values, "border_depth": 0.7 * 1.1 + 0.3 * 0.9} for case, values in TRAINING.items()}
"""The test configurations' values (experiments/test_*.yml of both code bases): the training's,
except that none sets border_depth, so it is model.py's default 0.7 * max + 0.3 * min (1.04; the
cars were trained with 1.08)."""
PARITY = 1e-4
"""Largest difference to the official computation allowed, relative to the official values' size."""

IMAGES = torch.rand(5, 3, 64, 64, generator=torch.Generator().manual_seed(3))


def convert(code: str, checkpoint: Path, output: Path, category: str, **kwargs: object) -> Path:
    function = convert_unsup3d if code == "unsup3d" else convert_pdr
    return function(checkpoint, output, category=category, **kwargs)  # type: ignore[operator]


def ID(case: tuple[str, str]) -> str:
    return "-".join(case)


@pytest.fixture(scope="module", params=list(TRAINING), ids=ID)
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(code, category, official networks, checkpoint file, converted folder); Unsup3d files in the
    pre-1.6 format its PyTorch 1.2 wrote, PDR files in the zip format."""
    code, category = request.param
    nets = official_networks(code, TRAINING[request.param]["use_conf_map"], seed=len(category))
    tmp = tmp_path_factory.mktemp(f"{code}-{category}")
    checkpoint = write_official_checkpoint(tmp / "checkpoint030.pth", code, nets, epoch=30, legacy=code == "unsup3d")
    folder = convert(code, checkpoint, tmp / "converted", category)
    yield code, category, nets, checkpoint, folder
    checkpoint.unlink()  # 450 MB each: do not keep them in pytest's retained temp folders


def test_the_reference_networks_are_the_official_ones() -> None:
    """Parameter counts measured on the public definitions (REFERENCE.md section 1) and the
    official layer counts (the highest index + 1 of each Sequential)."""
    counts = {"netD": 12_979_648, "netA": 12_982_848, "netL": 1_739_264, "netV": 1_739_776, "netC": 7_678_208}
    for code in ("unsup3d", "pdr"):
        nets = official_networks(code, use_conf=True, seed=0)
        assert {k: sum(p.numel() for p in v.parameters()) for k, v in nets.items()} == counts
    unsup3d, pdr = official_networks("unsup3d", True, 0), official_networks("pdr", True, 0)
    assert [len(unsup3d[k].network) for k in ("netD", "netA", "netL", "netC")] == [43, 44, 12, 21]
    assert [len(pdr["netD"].network_down), len(pdr["netD"].network_up), len(pdr["netL"].network)] == [13, 30, 11]


def relative_difference(ours: torch.Tensor, official: torch.Tensor) -> float:
    """``max |ours - official| / max |official|`` (shapes must agree)."""
    assert ours.shape == official.shape, (tuple(ours.shape), tuple(official.shape))
    return float((ours - official).abs().max() / official.abs().max())


def computed(model: PhysDisModel, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """What ``model`` computes for ``images`` in [0, 1], under the names of :func:`official_forward`."""
    scene = model.decompose(images).scene
    with torch.inference_mode():
        rendering = model.renderer.render(scene)
    return {
        "depth": scene.depth,
        "albedo": scene.albedo,
        "ambient": scene.light.ambient,
        "diffuse": scene.light.diffuse,
        "direction": scene.light.direction,
        "rotation": scene.view.rotation,
        "translation": scene.view.translation,
        "normal": rendering.normal,
        "shading": rendering.shading,
        "canonical": rendering.canonical,
        **model.extract(images, parts=PARTS, as_dict=True),
    }


def test_scene_and_features_equal_the_official_computation(converted) -> None:
    """Canonical depth, albedo, light, view, normals, shading, canonical image and the four features
    equal the official forward pass (tests/convert/official.py) within 1e-4 relative."""
    code, category, nets, _, folder = converted
    model = load_pretrained(f"local-dir:{folder}")
    ref = official_forward(nets, IMAGES * 2 - 1, OFFICIAL[code, category])
    ours = computed(model, IMAGES)
    assert ours.keys() == ref.keys()
    differences = {name: relative_difference(value, ref[name]) for name, value in ours.items()}
    assert max(differences.values()) <= PARITY, differences
    # The weights are not degenerate: the parts really vary with the image.
    for name in ("depth", "albedo", "direction", "rotation", "normal", "shading", *PARTS):
        assert ref[name].std(0).mean() > 1e-4, name
    if "netC" in nets:
        with torch.no_grad():
            for a, b in zip(model.conf_net(IMAGES * 2 - 1), nets["netC"](IMAGES * 2 - 1)):
                torch.testing.assert_close(a, b)
    else:
        assert model.conf_net is None


@pytest.mark.parametrize("converted", [("unsup3d", "celeba"), ("pdr", "cars")], indirect=True, ids=ID)
def test_the_earlier_conventions_do_not_pass_the_parity_check(converted) -> None:
    """The depth border ring on all four sides, copied border normals and the training's border
    depth (cars) each move the result beyond the parity tolerance, so the check above sees them."""
    code, category, nets, _, folder = converted
    model = load_pretrained(f"local-dir:{folder}")
    ref = official_forward(nets, IMAGES * 2 - 1, OFFICIAL[code, category])
    earlier = {
        "depth": {"scene": model.config.scene.replace(border_edges="all")},
        "normal": {"render": model.config.render.replace(normals="replicate")},
    }
    if code == "pdr":
        earlier["depth"] = {"scene": model.config.scene.replace(border_depth=TRAINING[code, category]["border_depth"])}
    for name, change in earlier.items():
        other = PhysDisModel(model.config.replace(**change))
        other.load_state_dict(model.state_dict())
        assert relative_difference(computed(other.eval(), IMAGES)[name], ref[name]) > PARITY, change


def test_config_holds_the_official_settings(converted) -> None:
    code, category, _, checkpoint, folder = converted
    expected = OFFICIAL[code, category]
    config = ModelConfig.from_json(folder / CONFIG_NAME)
    assert config.scene.border_edges == "left-right" and config.render.normals == "unsup3d"
    scene, nets, loss = config.scene, config.nets, config.loss
    assert (scene.min_depth, scene.max_depth, scene.border_depth) == (
        expected["min_depth"],
        expected["max_depth"],
        expected["border_depth"],
    )
    assert scene.amb_range == (expected["min_amb_light"], expected["max_amb_light"])
    assert scene.diff_range == (expected["min_diff_light"], expected["max_diff_light"])
    assert (scene.rot_range_deg, scene.xy_translation_range, scene.z_translation_range) == (
        expected["xyz_rotation_range"],
        expected["xy_translation_range"],
        expected["z_translation_range"],
    )
    assert (scene.rot_center_depth, scene.fov_deg) == (expected["rot_center_depth"], expected["fov"])
    assert nets.use_conf == expected["use_conf_map"]
    assert nets.encoder_head == ("conv-tanh" if code == "unsup3d" else "tanh-conv")
    assert (loss.lam_perc, loss.lam_flip, loss.lam_depth_smooth) == (
        expected["lam_perc"],
        expected["lam_flip"],
        expected["lam_depth_sm"],
    )
    assert config.render.pixel_convention == "center" and config.resize == "stretch"
    assert config.variant == ("none" if code == "unsup3d" else "LV")
    assert config.license == ("mit" if code == "unsup3d" else "unknown")
    assert sorted(p.name for p in folder.iterdir()) == sorted([CARD_NAME, CONFIG_NAME, WEIGHTS_NAME])
    card = (folder / CARD_NAME).read_text()
    assert sha256_file(checkpoint) in card and "epoch 30" in card
    assert f"--category {category}" in card and "### Inputs" in card
    if code == "unsup3d":
        assert f"pretrained_{category}.zip" in card and "MIT licence" in card


@pytest.mark.parametrize("converted", [("pdr", "cars"), ("unsup3d", "celeba")], indirect=True, ids=ID)
def test_cli_writes_the_same_checkpoint(converted, tmp_path, capsys) -> None:
    code, category, _, checkpoint, folder = converted
    out = tmp_path / "cli"
    assert main(["convert", code, str(checkpoint), "-o", str(out), "--category", category]) == 0
    assert f"local-dir:{out}" in capsys.readouterr().out
    assert (out / WEIGHTS_NAME).read_bytes() == (folder / WEIGHTS_NAME).read_bytes()
    assert (out / CONFIG_NAME).read_text() == (folder / CONFIG_NAME).read_text()


@pytest.mark.parametrize("converted", [("pdr", "faces"), ("unsup3d", "celeba")], indirect=True, ids=ID)
def test_converted_model_goes_through_the_api(converted) -> None:
    code, category, _, _, folder = converted
    model = load_pretrained(f"local-dir:{folder}")
    dec = model.decompose(IMAGES)
    assert dec.mask.sum() > 0 and torch.isfinite(dec.reconstruction).all()
    light = Light.from_angles(dec.scene.light.ambient, dec.scene.light.diffuse, torch.zeros(5), torch.full((5,), 0.7))
    relit = model.render(dec.scene, light=light)
    assert relit.shape == (5, 3, 64, 64) and not torch.equal(relit, dec.reconstruction)
    # Two groups of images (dark and bright) cluster apart on the extracted features.
    images = torch.cat([IMAGES * 0.3, IMAGES * 0.3 + 0.7])
    features = model.extract(images, parts=["geom", "alb"])
    result = cluster_probe(features.numpy(), np.repeat([0, 1], 5))
    assert result.accuracy == 1.0


@pytest.mark.parametrize("converted", [("unsup3d", "syncar")], indirect=True, ids=ID)
def test_push_to_hub_and_load_back_bit_identical(converted, hub) -> None:  # noqa: F811
    code, category, _, _, folder = converted
    model = load_pretrained(f"local-dir:{folder}")
    state = model.state_dict()
    sha = push_to_hub(model, f"org/{code}-{category}")
    # push_directory keeps the converted folder's card (provenance and inputs) as it is.
    card_sha = push_directory(folder, f"org/{code}-{category}-card")
    for name in (f"hf-hub:org/{code}-{category}@{sha}", f"hf-hub:org/{code}-{category}-card@{card_sha}"):
        loaded = load_pretrained(name)
        assert loaded.config == model.config
        assert loaded.state_dict().keys() == state.keys()
        assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
        assert torch.equal(loaded.extract(IMAGES, parts=PARTS), model.extract(IMAGES, parts=PARTS))
    assert hub.files(f"org/{code}-{category}-card", card_sha)[CARD_NAME] == (folder / CARD_NAME).read_bytes()


# -- refusals ---------------------------------------------------------------------------------------


class Payload:
    """Unpickling this runs ``os.system``: a checkpoint carrying it must be refused before that."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_pickle_payload_is_refused_and_never_runs(tmp_path, capsys, legacy) -> None:
    marker = tmp_path / "payload-ran"
    checkpoint = tmp_path / "evil.pth"
    entry = {"netD": torch.nn.Conv2d(3, 4, 4).state_dict(), "epoch": 30, "metrics_trace": Payload(marker)}
    torch.save(entry, checkpoint, _use_new_zipfile_serialization=not legacy)
    refused = r"refused: its pickle asks for posix\.system.*nothing from the file was run"
    with pytest.raises(ConversionError, match=refused):
        read_checkpoint(checkpoint)
    out = tmp_path / "out"
    assert main(["convert", "unsup3d", str(checkpoint), "-o", str(out), "--category", "celeba"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "posix.system" in err
    assert not marker.exists() and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["evil.pth"]  # no temporary folder left either


def save_call(path: Path, qualified: str, args: tuple) -> None:
    """``torch.save`` a checkpoint whose ``metrics_trace`` unpickles as the call ``qualified(*args)``;
    the module of ``qualified`` exists only while saving."""
    module, name = qualified.rsplit(".", 1)
    modules = {module.split(".")[0]: types.ModuleType(module.split(".")[0]), module: types.ModuleType(module)}

    def target(*_: object) -> None:
        raise AssertionError("only the pickler sees this function")

    target.__module__, target.__qualname__ = module, name
    setattr(modules[module], name, target)

    class Call:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return target, args

    sys.modules.update(modules)
    try:
        torch.save({"epoch": 1, "metrics_trace": Call()}, path)
    finally:
        for key in modules:
            del sys.modules[key]


def test_an_allowed_name_gives_nothing_callable(tmp_path) -> None:
    """The allowed bookkeeping names are bound to an inert class: a file that calls one with
    arguments fails to load (nothing runs); any other name of the official packages is refused."""
    save_call(tmp_path / "call.pth", "unsup3d.meters.MetricsTrace", ("rm -rf /",))
    inert = r"not a readable torch checkpoint \(TypeError: TrainingRecord\(\) takes no arguments"
    with pytest.raises(ConversionError, match=inert):
        read_checkpoint(tmp_path / "call.pth")
    save_call(tmp_path / "other.pth", "unsup3d.utils.xmkdir", (str(tmp_path / "made"),))
    with pytest.raises(ConversionError, match=r"asks for unsup3d\.utils\.xmkdir"):
        read_checkpoint(tmp_path / "other.pth")
    assert not (tmp_path / "made").exists()


@pytest.mark.parametrize("converted", [("unsup3d", "syncar")], indirect=True, ids=ID)
def test_refuses_a_non_empty_output_unless_forced(converted, tmp_path) -> None:
    code, category, _, checkpoint, folder = converted
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConversionError, match="not an empty folder; pass --force"):
        convert_unsup3d(checkpoint, out, category="syncar")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    convert_unsup3d(checkpoint, out, category="syncar", force=True)
    assert (out / WEIGHTS_NAME).read_bytes() == (folder / WEIGHTS_NAME).read_bytes()
    assert not (out / "keep.txt").exists()


@pytest.mark.parametrize("converted", [("pdr", "cars"), ("unsup3d", "celeba")], indirect=True, ids=ID)
def test_refuses_checkpoints_that_do_not_match(converted, tmp_path, capsys) -> None:
    """Wrong category (netC present or missing), wrong code base (layer names), no checkpoint:
    each is one clear line and leaves no output folder."""
    code, category, _, checkpoint, _ = converted
    out = tmp_path / "out"
    other = "pdr" if code == "unsup3d" else "unsup3d"
    wrong_category = {"unsup3d": ("syncar", r"unexpected \['netC'\]"), "pdr": ("faces", r"missing \['netC'\]")}[code]
    wrong_code = {
        "unsup3d": ("faces", "netD: unexpected parameter 'network.0.weight'"),
        "pdr": ("syncar", "netD: unexpected parameter 'network_down.0.weight'"),
    }[code]
    with pytest.raises(ConversionError, match=wrong_category[1]):
        convert(code, checkpoint, out, wrong_category[0])
    with pytest.raises(ConversionError, match=wrong_code[1]):
        convert(other, checkpoint, out, wrong_code[0])
    assert main(["convert", code, str(tmp_path / "absent.pth"), "-o", str(out), "--category", category]) == 1
    assert "is not a file" in capsys.readouterr().err
    assert not out.exists() and not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_refuses_other_widths_naming_the_shapes(tmp_path) -> None:
    checkpoint = tmp_path / "narrow.pth"
    nets = official_networks("unsup3d", use_conf=True, seed=0)
    state = {name: net.state_dict() for name, net in nets.items()}
    state["netL"] = {k: v[: v.shape[0] // 2] if k == "network.0.weight" else v for k, v in state["netL"].items()}
    torch.save({**state, "epoch": 1}, checkpoint)
    shapes = r"netL: does not match .*wrong shapes: encoder\.0\.weight \(file 16x3x4x4, model 32x3x4x4\)"
    with pytest.raises(ConversionError, match=shapes):
        convert_unsup3d(checkpoint, tmp_path / "out", category="celeba")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("converted", [("pdr", "faces")], indirect=True, ids=ID)
def test_conversion_keeps_only_the_networks(converted) -> None:
    code, category, nets, checkpoint, folder = converted
    data = read_checkpoint(checkpoint)
    assert {"optimizerD", "optimizerA", "optimizerL", "optimizerV", "optimizerC", "epoch", "metrics_trace"} <= set(data)
    assert vars(data["metrics_trace"])["data"]["train"][0]["loss"] == 0.31
    weights = json.loads((folder / CONFIG_NAME).read_text())
    assert weights["format_version"] == CONFIG_FORMAT_VERSION
    n_official = sum(p.numel() for net in nets.values() for p in net.parameters())
    assert sum(p.numel() for p in load_pretrained(f"local-dir:{folder}").parameters()) == n_official
