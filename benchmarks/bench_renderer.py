"""Renderer share of a training step, and peak memory of a step (paper widths, B=64, 64x64).

Measured side by side in one run:
  * renderer forward+backward for the 2B = 128 depth maps of a step (image + flipped twin):
    (a) on the scene the model predicts (what the step renders), and
    (b) on face-like depth maps seen from random views (|yaw| <= 30, |pitch| <= 15 deg), which is
        harder for the rasterizer than an untrained model's nearly flat maps;
  * one full training step (five networks, rendering, losses, backward, Adam);
  * the ratio renderer / step (target <= 5%) and the process's peak RSS (target <= 4 GB).

Run: python benchmarks/bench_renderer.py [--batch 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import time
from collections.abc import Callable

import torch

from physdis_hub.config import ModelConfig
from physdis_hub.losses import ReconstructionLoss
from physdis_hub.model import PhysDisModel
from physdis_hub.scene import Light, SceneParams, View


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def face_like(batch: int, gen: torch.Generator) -> SceneParams:
    r = torch.linspace(-1, 1, 64)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    depth = 1.06 - 0.12 * (1 - (xx**2 / 0.6 + yy**2 / 0.8)).clamp(min=0).sqrt()
    depth = depth + 0.005 * torch.randn(batch, 64, 64, generator=gen)
    rot = (torch.rand(batch, 3, generator=gen) * 2 - 1) * torch.tensor([15.0, 30.0, 5.0]).mul(math.pi / 180)
    light = Light.from_angles(
        torch.full((batch,), 0.5), torch.full((batch,), 0.5), torch.zeros(batch), torch.zeros(batch)
    )
    return SceneParams(depth, torch.zeros(batch, 3, 64, 64), light, View(rot, torch.zeros(batch, 3)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    cfg = ModelConfig()  # paper widths, confidence on; perceptual off (no VGG weights offline)
    model = PhysDisModel(cfg)
    loss_fn = ReconstructionLoss(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(args.batch, 3, 64, 64, generator=gen) * 2 - 1

    def step() -> None:
        loss = loss_fn(model(x), x)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    with torch.no_grad():
        predicted = model.decode_scene(model._encode(x))

    def render_fwd_bwd(scene: SceneParams) -> None:
        leaf = scene.map(lambda t: t.detach().requires_grad_(True))
        _, recon, _ = model.reconstruct(leaf)  # 2B maps: the scene and its flipped twin
        recon.sum().backward()

    t_step = timed(step, args.repeats)
    t_pred = timed(lambda: render_fwd_bwd(predicted), args.repeats)
    t_face = timed(lambda: render_fwd_bwd(face_like(args.batch, gen)), args.repeats)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    print(f"threads={torch.get_num_threads()} batch={args.batch} maps rendered per step={2 * args.batch}")
    print(f"full training step               : {t_step * 1000:8.1f} ms")
    print(f"renderer fwd+bwd, predicted scene: {t_pred * 1000:8.1f} ms  ratio {t_pred / t_step:6.1%}  (target <= 5%)")
    print(f"renderer fwd+bwd, face-like views: {t_face * 1000:8.1f} ms  ratio {t_face / t_step:6.1%}  (target <= 5%)")
    print(f"peak RSS of the process          : {peak_gb:8.2f} GB   (target <= 4 GB)")


if __name__ == "__main__":
    main()
