"""Embedding a run: float16 weights that load, a card with the suite row, its baselines and the budget."""

import json

import torch

from physdis_hub.hub import load_pretrained
from training.release.embed import main
from training.train import main as train_main

SUITE = {
    "command": "python -m training.analysis.suite faces --runs R",
    "preset": "tiny",
    "header": "Synthetic faces: 2 test identities.",
    "rows": {"ours, LOOCC-LV": {"cluster_ood_acc": 0.5, "light_x_slope": 0.7}, "pixels+PCA": {"cluster_ood_acc": 0.25}},
}


def test_embed_writes_half_weights_and_a_card_with_baselines_and_budget(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert train_main(["--preset", "tiny", "--variant", "LV", "--out", str(run), "--epochs", "1", "--no-progress"]) == 0
    (tmp_path / "suite.json").write_text(json.dumps(SUITE))
    args = [str(run / "model"), "--name", "tiny-lv", "--suite", str(tmp_path / "suite.json"), "--row", "ours, LOOCC-LV"]
    assert main([*args, "--into", str(tmp_path / "weights")]) == 0
    assert "sha256" in capsys.readouterr().out
    folder = tmp_path / "weights" / "tiny-lv"
    card = (folder / "README.md").read_text()
    assert "| metric | value | pixels+PCA |" in card and "| cluster_ood_acc | 0.5 | 0.25 |" in card
    assert "Synthetic faces: 2 test identities." in card
    assert "light_x_slope" not in card  # a shape diagnostic: the suite's report, not the card
    assert "preset `tiny`" in card and "ran 1 epochs (4 steps)" in card and "exported epoch 1" in card
    assert "--epochs 1" in card  # the command that trained it
    full, half = load_pretrained(f"local-dir:{run / 'model'}"), load_pretrained(f"local-dir:{folder}")
    images = torch.rand(4, 3, 64, 64)
    a, b = full.extract(images), half.extract(images)
    assert torch.allclose(a, b, rtol=1e-2, atol=1e-2 * float(a.abs().max()))


def test_training_budget_names_the_recipe_from_the_run_config(tmp_path) -> None:
    import dataclasses

    from training.presets import build_preset
    from training.release.embed import training_budget

    config = build_preset("faces-synthetic-cpu", "LV")
    config = config.replace(loocc=dataclasses.replace(config.loocc, cycle_weight=0.5))
    config.to_json(tmp_path / "train_config.json")
    (tmp_path / "epochs.csv").write_text("epoch,step,seconds\n1,250,600\n2,500,660\n")
    (tmp_path / "eval.json").write_text(
        json.dumps({"command": "python -m training.train X", "metrics": {"best_epoch": 2}})
    )
    budget = training_budget(tmp_path)
    for part in (
        "no perceptual loss",
        "normal-smoothness depth prior 1",
        "photometric augmentation",
        "textured backdrops 0.6",
        "convex start over 200 steps",
        "LOOCC cycle term 0.5",
        "ran 2 epochs (500 steps) in 21 min",
        "exported epoch 2",
    ):
        assert part in budget, part
    plain = build_preset("tiny", "LV")
    plain.to_json(tmp_path / "train_config.json")
    assert "convex start" not in training_budget(tmp_path) and "cycle" not in training_budget(tmp_path)
