"""Clustering probe at the paper's CelebA scale: 6,000 x 512 features (geom + alb), Ward HAC + metrics.

Times, separately and in total (target <= 30 s on 2 CPU cores):
  * ``cluster_probe``: Ward clustering into 10 clusters and cluster accuracy / weighted F1 / NMI;
  * ``attribute_cluster_probe``: the 40-attribute protocol (one 2-cluster Ward run, scored 40 times);
  * ``part_correlation`` over four 6,000 x 256 parts.
Features are synthetic: 10 Gaussian classes in 512-d plus 40 random binary attributes.

Run: PYTHONPATH=. python benchmarks/bench_probes.py [--n 6000] [--dim 512]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from physdis_hub.probes import attribute_cluster_probe, cluster_probe, part_correlation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--dim", type=int, default=512)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, args.n)
    features = (rng.normal(scale=0.2, size=(10, args.dim))[labels] + rng.normal(size=(args.n, args.dim))).astype(
        np.float32
    )
    attributes = rng.integers(0, 2, size=(args.n, 40))

    start = time.perf_counter()
    result = cluster_probe(features, labels)
    t_cluster = time.perf_counter() - start
    print(f"cluster_probe           {args.n} x {args.dim}, 10 clusters: {t_cluster:6.2f} s")
    print(result.to_markdown())

    start = time.perf_counter()
    attr = attribute_cluster_probe(features, attributes)
    t_attr = time.perf_counter() - start
    print(f"attribute_cluster_probe {args.n} x {args.dim}, 40 attributes: {t_attr:6.2f} s")
    print(attr.to_markdown())

    parts = dict(zip(("geom", "alb", "light", "view"), np.split(rng.normal(size=(args.n, 1024)), 4, axis=1)))
    start = time.perf_counter()
    pcc = part_correlation(parts)
    t_pcc = time.perf_counter() - start
    print(f"part_correlation        4 parts x {args.n} x 256: {t_pcc:6.2f} s (mean |PCC| {pcc.mean_abs_pcc:.4f})")
    total = t_cluster + t_attr + t_pcc
    print(f"total {total:.2f} s (target <= 30 s): {'OK' if total <= 30 else 'SLOW'}")


if __name__ == "__main__":
    main()
