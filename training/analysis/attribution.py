"""Which part does an identity probe rely on? The attribution figure of a shipped checkpoint.

``python -m training.analysis.attribution --model faces-loocc-lv --data-dir CACHE --out docs/figures/attribution_faces.png``
(``CACHE``: the synthetic data cache given to ``training.train --data-dir``) trains a linear
identity head on all four parts' features (geom, alb, light, view) of the synthetic test identities
under the training light and view ranges, then explains its predictions on the same identities under
novel light and view: integrated gradients give each part's share of the decision (paper Fig. 4),
Grad-CAM per part shows where in the image each part's evidence lies. A disentangled representation
should put identity in geometry and albedo, not in light or view.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from physdis_hub.hub import load_pretrained
from physdis_hub.model import PhysDisModel
from physdis_hub.probes.attribute import feature_attribution, gradcam_by_part, save_gradcam_figure
from physdis_hub.probes.extractors import PartsExtractor
from physdis_hub.probes.linear import linear_probe
from physdis_hub.vocab import PARTS, to_network_range

from ..presets import build_preset
from .suite import SuiteData, load_split


@torch.no_grad()
def part_features(model: PhysDisModel, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Part -> ``(N, D)`` bottleneck features of ``images (N, 3, S, S)`` in [0, 1]."""
    chunks = [model._encode(to_network_range(c), PARTS) for c in images.split(256)]
    return {p: torch.cat([c[p] for c in chunks]) for p in PARTS}


def first_of_each_identity(data: SuiteData, count: int) -> torch.Tensor:
    """Indices of the first image of ``count`` different identities."""
    _, first = np.unique(data.identity, return_index=True)
    return torch.from_numpy(np.sort(first)[:count])


def attribution_figure(
    model: PhysDisModel, test: SuiteData, ood: SuiteData, out: Path, *, rows: int = 6, epochs: int = 100
) -> dict[str, object]:
    """Fit the head on ``test``, explain it on ``ood``, write the Grad-CAM figure to ``out``.

    Returns:
        ``{"probe_accuracy": ..., "percent": {part: %}, "figure": str(out)}``.
    """
    model.eval()
    train, held = part_features(model, test.images), part_features(model, ood.images)
    concat = lambda feats: torch.cat([feats[p] for p in PARTS], 1).numpy()
    probe = linear_probe(concat(train), test.identity, concat(held), ood.identity, n_train=None, epochs=epochs)
    head = probe.trained
    assert head is not None  # linear_probe always returns its head
    percent = feature_attribution(head, held).percent
    pick = first_of_each_identity(ood, rows)
    cams = gradcam_by_part(head, PartsExtractor.from_model(model, PARTS), ood.images[pick])
    out.parent.mkdir(parents=True, exist_ok=True)
    save_gradcam_figure(ood.images[pick], cams, out, percent=percent)
    return {"probe_accuracy": probe.accuracy, "percent": percent, "figure": str(out)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.analysis.attribution", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--model", default="faces-loocc-lv", help="registry name, hf-hub:..., or local-dir:...")
    parser.add_argument("--preset", default="faces-synthetic-cpu", help="synthetic preset whose test identities to use")
    parser.add_argument("--data-dir", help="synthetic data cache (as given to training.reproduce)")
    parser.add_argument("--out", type=Path, default=Path("docs/figures/attribution_faces.png"))
    parser.add_argument("--rows", type=int, default=6, help="images in the figure")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error(f"--rows: expected a positive int, got {args.rows}")
    torch.manual_seed(0)
    try:
        config = build_preset(args.preset, data_dir=args.data_dir)
        test, ood = load_split(config, "test"), load_split(config, "test-ood")
    except ValueError as err:  # PresetError is a ValueError: unknown preset, or real data
        parser.error(f"--preset: {err}")
    result = attribution_figure(load_pretrained(args.model), test, ood, args.out, rows=args.rows)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
