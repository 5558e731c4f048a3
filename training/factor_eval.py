"""The part-by-factor probe on a synthetic test split: a model beside its untrained twin and raw pixels.

Reads the factors each synthetic image records and hands them to
:func:`physdis_hub.probes.factor_report` as plain arrays (:func:`synthetic_factors`):

- continuous: ``light`` = ambient, diffuse and the direction's x and y ``(N, 4)``; ``view`` =
  rotation and translation ``(N, 6)``;
- classes: ``identity`` and every attribute label the generator records (faces: ``nose``,
  ``skin``, ``hair``, ``expression``).

The parts' own groups for the faces' labels (:data:`FACES_OWN_GROUPS`): geom -> nose class and
expression, alb -> skin tone and hair colour, light -> light, view -> view. A generator that records
more factors (shape and expression coefficients, albedo parameters) adds groups here.

Run::

    python -m training.factor_eval --model faces-loocc-lv --preset faces-synthetic-cpu [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from physdis_hub.data.synthetic import scene_from_ground_truth
from physdis_hub.errors import InputError
from physdis_hub.hub import load_pretrained
from physdis_hub.probes import factor_report

from .data import build_splits
from .presets import build_preset

FACES_OWN_GROUPS: dict[str, tuple[str, ...]] = {
    "geom": ("nose", "expression"),
    "alb": ("skin", "hair"),
    "light": ("light",),
    "view": ("view",),
}
"""Part -> the recorded faces factors it should carry."""


def synthetic_factors(
    items: Sequence[dict[str, Any]],
) -> tuple[torch.Tensor, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(images (N, 3, S, S) in [0, 1], continuous factors, class labels)`` of synthetic data set items."""
    if not items:
        raise InputError("items: expected at least one synthetic sample, got none")
    images = torch.stack([item["image"] for item in items])
    gt = {k: torch.stack([item["gt"][k] for item in items]) for k in items[0]["gt"]}
    scene = scene_from_ground_truth(gt)
    light = scene.light
    factors = {
        "light": torch.cat([light.ambient[:, None], light.diffuse[:, None], light.direction[:, :2]], 1).numpy(),
        "view": torch.cat([scene.view.rotation, scene.view.translation], 1).numpy(),
    }
    classes = {name: np.array([int(item["labels"][name]) for item in items]) for name in items[0]["labels"]}
    return images, factors, classes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.factor_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="registry name, hf-hub:..., or a model folder")
    parser.add_argument("--preset", default="faces-synthetic-cpu", help="whose test split to probe")
    parser.add_argument("--data-dir", help="cache folder of the synthetic set")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of the untrained weights")
    parser.add_argument("--json", help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    model = load_pretrained(args.model).eval()
    test = build_splits(build_preset(args.preset, data_dir=args.data_dir).data).test
    images, factors, classes = synthetic_factors([test[i] for i in range(len(test))])
    report = factor_report(model, images, factors, classes, seed=args.seed, own_groups=FACES_OWN_GROUPS)
    print(report.to_markdown())
    for name, result in report.results.items():
        print(f"\n#### {name}\n\n{result.to_markdown()}")
    if args.json:
        Path(args.json).write_text(report.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
