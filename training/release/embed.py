"""Embed a trained checkpoint in the package as a default that loads with no network.

``python -m training.release.embed OUT/LV/model --name faces-loocc-lv --suite OUT/suite.json --row "ours, LOOCC-LV"``
(``OUT``: a local ``training.reproduce`` folder, scored by ``training.analysis.suite``) stores the weights in float16 (half the size; they are cast back to float32
on load) with config.json and a model card whose evaluation table is the suite's row for this model,
under ``physdis_hub/hub/weights/<name>/``, and prints the registry entry to add to
``physdis_hub.hub.registry._BUILTIN`` (sha256 of both files).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from physdis_hub._checkout import InstalledPackageError, require_source_checkout
from physdis_hub.hub import load_pretrained, save_pretrained
from physdis_hub.hub.checkpoint import CONFIG_NAME, WEIGHTS_NAME, sha256_file
from physdis_hub.hub.registry import EMBEDDED_WEIGHTS

from ..analysis.suite import COLUMNS
from ..export import EVAL_FILE
from ..logs import EPOCHS_CSV, read_csv
from ..trainer import CONFIG_FILE


def training_budget(run_dir: Path) -> str:
    """How the run in ``run_dir`` was trained, from its own records (``train_config.json``,
    ``epochs.csv``, ``eval.json``): recipe, epochs, steps, minutes, the exported epoch, the command."""
    files = [run_dir / name for name in (CONFIG_FILE, EPOCHS_CSV, EVAL_FILE)]
    if not all(f.is_file() for f in files):
        return ""
    config, run = json.loads(files[0].read_text()), json.loads(files[2].read_text())
    epochs = read_csv(files[1])
    if not epochs:
        return ""
    nets, data = config["model"]["nets"], config["data"]
    identities = data["options"].get("train_identities")
    images = (
        f"{identities} training identities x {data['options']['images_per_identity']} images"
        if identities
        else data["dataset"]
    )
    loss, augment = config["model"]["loss"], config.get("augment", {})
    shape_init, loocc = config.get("shape_init", {}), config.get("loocc", {})
    recipe = "".join(
        [
            ", no perceptual loss" if loss["lam_perc"] == 0 else f", perceptual loss {loss['lam_perc']:g}",
            f", normal-smoothness depth prior {loss['lam_normal_smooth']:g}" if loss.get("lam_normal_smooth") else "",
            ", photometric augmentation" if any(v for k, v in augment.items() if k.startswith("p_")) else "",
            f", textured backdrops {data['options']['background_texture']:g}"
            if data["options"].get("background_texture")
            else "",
            f", convex start over {shape_init['steps']} steps" if shape_init.get("steps") else "",
            f", LOOCC cycle term {loocc['cycle_weight']:g}" if loocc.get("cycle_weight") else "",
        ]
    )
    minutes = sum(float(e["seconds"]) for e in epochs) / 60
    return (
        f"Training: preset `{config['preset']}` (nf {nets['depth_nf']} networks, {nets['zdim']}-d features, {images}, "
        f"batch {config['batch_size']}, lr {config['optim']['lr']:g}{recipe}); ran {len(epochs)} epochs "
        f"({epochs[-1]['step']} steps) in {minutes:.0f} min and exported epoch {run['metrics']['best_epoch']:.0f} "
        f"(best validation loss). Last command: `{run['command']}`."
    )


def card_metrics(row: dict[str, float]) -> dict[str, float]:
    """The metrics of a suite row that a model card shows: the suite's headline :data:`COLUMNS`, in
    their order. The shape diagnostics (``SHAPE_COLUMNS``) explain a training run; they stay in the
    suite's own report, out of the card."""
    return {name: row[name] for name, _ in COLUMNS if name in row}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.release.embed", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="folder written by save_pretrained")
    parser.add_argument("--name", required=True, help="registry name, e.g. faces-loocc-lv")
    parser.add_argument(
        "--suite", type=Path, required=True, help="suite.json written by python -m training.analysis.suite"
    )
    parser.add_argument("--row", required=True, help="the suite row of this model, e.g. 'ours, LOOCC-LV'")
    parser.add_argument(
        "--into", type=Path, default=Path(str(EMBEDDED_WEIGHTS)), help="parent folder (default: the package's)"
    )
    args = parser.parse_args(argv)
    try:
        require_source_checkout(args.into / args.name)
    except InstalledPackageError as err:
        parser.error(str(err))

    suite = json.loads(args.suite.read_text())
    if args.row not in suite["rows"]:
        parser.error(f"--row: {args.row!r} is not in {args.suite}; rows: {list(suite['rows'])}")
    model = load_pretrained(f"local-dir:{args.model}")
    baselines = {name: card_metrics(row) for name, row in suite["rows"].items() if not name.startswith("ours")}
    notes = " ".join(filter(None, [suite.get("header", ""), training_budget(args.model.parent)]))
    eval_results = {
        "metrics": card_metrics(suite["rows"][args.row]),
        "command": suite["command"],
        "baselines": baselines,
        "notes": notes,
    }
    target = args.into / args.name
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_pretrained(model.half(), Path(tmp) / args.name, eval_results=eval_results)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
    for path in (target / CONFIG_NAME, target / WEIGHTS_NAME):
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB  sha256 {sha256_file(path)}")
    print(
        "registry entry:\n"
        f'PretrainedEntry(name="{args.name}", kind="embedded", sha256="{sha256_file(target / WEIGHTS_NAME)}",\n'
        f'                config_sha256="{sha256_file(target / CONFIG_NAME)}", ...)'
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
