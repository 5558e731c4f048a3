"""The part-by-factor probe on a synthetic test split: a model beside its untrained twin and raw pixels.

Reads the factors each synthetic image records and hands them to
:func:`physdis_hub.probes.factor_report` as plain arrays (:func:`synthetic_factors`):

- continuous: every factor group the generator records (``item["factors"]``): ``light`` (ambient,
  diffuse, direction ``(N, 5)``) and ``view`` (pitch, yaw, roll, translation x, y ``(N, 5)``) for
  every synthetic set; ``synthetic-faces-ict``'s ``shape`` and ``expression`` coefficients and
  ``albedo`` parameters; the cars' ``shape`` (dimensions, belt line, roof) and ``albedo`` (paint);
- classes: ``identity`` and every attribute label the generator records (faces: ``nose``,
  ``skin``, ``hair``, ``expression``), except a label named like a continuous group (ICT's
  expression class: its coefficients are probed instead).

Which groups each part should carry (:func:`own_groups`): the probe's defaults
(:data:`physdis_hub.probes.factors.OWN_GROUPS`: geom -> shape and expression, alb -> albedo, those
recorded) where the generator records shape and albedo factors (ICT faces; cars: body dimensions and
paint); otherwise the handcrafted faces' labels (:data:`FACES_OWN_GROUPS`: geom -> nose class and
expression, alb -> skin tone and hair colour).

Run::

    python -m training.factor_eval --model faces-loocc-lv --preset faces-synthetic-cpu [--json out.json]
    python -m training.factor_eval --model faces-loocc-lv --dataset synthetic-faces-ict
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from physdis_hub.errors import InputError
from physdis_hub.hub import load_pretrained
from physdis_hub.probes import factor_report
from physdis_hub.probes.factors import OWN_GROUPS

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
    factors = {g: np.stack([np.asarray(item["factors"][g]) for item in items]) for g in items[0]["factors"]}
    classes = {
        name: np.array([int(item["labels"][name]) for item in items])
        for name in items[0]["labels"]
        if name not in factors
    }
    return images, factors, classes


def own_groups(factors: dict[str, np.ndarray]) -> dict[str, tuple[str, ...]]:
    """Part -> the groups it should carry, for the factor groups a generator records (see the module)."""
    if "shape" in factors and "albedo" in factors:
        return {part: tuple(g for g in owned if g in factors) for part, owned in OWN_GROUPS.items()}
    return FACES_OWN_GROUPS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.factor_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="registry name, hf-hub:..., or a model folder")
    parser.add_argument("--preset", default="faces-synthetic-cpu", help="whose test split to probe")
    parser.add_argument(
        "--dataset", help="another synthetic data set with the preset's options (e.g. synthetic-faces-ict)"
    )
    parser.add_argument("--data-dir", help="cache folder of the synthetic set")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of the untrained weights")
    parser.add_argument("--json", help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    model = load_pretrained(args.model).eval()
    data = build_preset(args.preset, data_dir=args.data_dir).data
    if args.dataset:
        data = data.replace(dataset=args.dataset)
    test = build_splits(data).test
    images, factors, classes = synthetic_factors([test[i] for i in range(len(test))])
    report = factor_report(model, images, factors, classes, seed=args.seed, own_groups=own_groups(factors))
    print(report.to_markdown())
    for name, result in report.results.items():
        print(f"\n#### {name}\n\n{result.to_markdown()}")
    if args.json:
        Path(args.json).write_text(report.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
