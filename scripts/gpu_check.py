"""The CUDA path checked and timed in one short run (issue 30, item 9): ``scripts/gpu_check.sh`` runs it.

1. Renderer on CUDA against the CPU: the same weights and images through the model's forward pass
   (encoders, the differentiable renderer, the reconstruction and its mask) on both devices, TF32
   off; the reconstruction, the mask, and the gradients of a fixed weighted sum of the reconstruction
   with respect to the images and to every parameter, compared (max and 99.9th-percentile absolute
   difference, the share of reconstruction pixels that differ by more than 1e-3).
2. One paper-width training step with LOOCC-LV (preset ``faces-synthetic``: batch 64, VGG16
   perceptual loss): median seconds per step, peak memory; then the same step under bfloat16
   autocast (mixed precision), reported with its own time, memory and loss, or the error it raised.
3. ``extract`` throughput at batch 256 with the embedded ``faces-loocc-lv`` model (images per second).

Prints a small table; writes every number as JSON to ``$OUT/gpu_check.json`` when ``$OUT`` is set.
``--device cpu`` is a dry run of the same code on small sizes (a CPU-only machine checks that the script
works; its numbers compare the CPU with itself).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # training/ is imported from the clone

from physdis_hub.data import load_dataset  # noqa: E402
from physdis_hub.model import PhysDisModel  # noqa: E402
from physdis_hub.vocab import to_network_range  # noqa: E402
from training.data import collate_images  # noqa: E402
from training.loocc import sample_perturbation  # noqa: E402
from training.objective import TrainingObjective  # noqa: E402
from training.presets import build_preset  # noqa: E402

PIXEL_TOLERANCE = 1e-3
"""A reconstruction pixel 'differs' between devices when its values differ by more than this."""


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def face_batch(n: int) -> torch.Tensor:
    """``(n, 3, 64, 64)`` synthetic face images in [0, 1], rendered on the CPU."""
    data = load_dataset(
        "synthetic-faces",
        split="train",
        train_identities=-(-n // 8),
        val_identities=1,
        test_identities=1,
        images_per_identity=8,
        progress=False,
    )
    return collate_images([data[i] for i in range(n)])


def differences(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    diff = (a.detach().float().cpu() - b.detach().float().cpu()).abs().flatten()
    return {"max": float(diff.max()), "p99.9": float(torch.quantile(diff[:1_000_000], 0.999))}


def check_renderer(device: torch.device, batch: int) -> dict[str, Any]:
    """Forward pass and gradients on ``device`` against the CPU (same weights, same images)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    config = build_preset("faces-synthetic", "LV").model
    torch.manual_seed(0)
    reference = PhysDisModel(config).eval()
    images = to_network_range(face_batch(batch))
    weights = torch.rand(2 * batch, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    results = {}
    for name, dev in (("cpu", torch.device("cpu")), ("device", device)):
        model = PhysDisModel(config).eval()
        model.load_state_dict(reference.state_dict())
        model.to(dev)
        x = images.clone().to(dev).requires_grad_(True)
        out = model(x)
        (out.reconstruction * weights.to(dev)).sum().backward()
        results[name] = {
            "reconstruction": out.reconstruction.detach().cpu(),
            "mask": out.mask.detach().cpu(),
            "image_grad": x.grad.cpu(),
            "param_grads": {k: p.grad.cpu() for k, p in model.named_parameters() if p.grad is not None},
        }
    cpu, dev = results["cpu"], results["device"]
    pixel = (cpu["reconstruction"] - dev["reconstruction"]).abs()
    worst_param = max(
        (
            (
                k,
                differences(cpu["param_grads"][k], dev["param_grads"][k])["max"]
                / (cpu["param_grads"][k].abs().max().item() + 1e-12),
            )
            for k in cpu["param_grads"]
        ),
        key=lambda kv: kv[1],
    )
    return {
        "reconstruction": differences(cpu["reconstruction"], dev["reconstruction"]),
        "share_of_pixels_over_tolerance": float((pixel > PIXEL_TOLERANCE).float().mean()),
        "mask_pixels_that_differ": int((cpu["mask"] != dev["mask"]).sum()),
        "image_grad": differences(cpu["image_grad"], dev["image_grad"]),
        "image_grad_scale": float(cpu["image_grad"].abs().max()),
        "worst_parameter_grad": {"name": worst_param[0], "max_diff_over_max_abs": worst_param[1]},
    }


def time_training_step(device: torch.device, batch: int, warmup: int, repeats: int) -> dict[str, Any]:
    """Seconds and peak memory of one LOOCC-LV step at paper widths, in float32 and under bf16 autocast."""
    config = build_preset("faces-synthetic", "LV").replace(batch_size=batch)
    images = to_network_range(face_batch(batch)).to(device)
    out: dict[str, Any] = {"preset": "faces-synthetic", "variant": "LV", "batch": batch}
    for mode, autocast in (("float32", False), ("bf16-autocast", True)):
        try:
            out[mode] = time_step_mode(config, images, device, autocast, warmup, repeats)
        except Exception as err:  # reported, not hidden: mixed precision may fail on some operator
            out[mode] = {"error": f"{type(err).__name__}: {err}"}
    return out


def time_step_mode(
    config: Any, images: torch.Tensor, device: torch.device, autocast: bool, warmup: int, repeats: int
) -> dict[str, Any]:
    """One mode of :func:`time_training_step`: a fresh model, optimiser and LOOCC generator."""
    torch.manual_seed(0)
    model = PhysDisModel(config.model).to(device)
    objective = TrainingObjective(model, config.loocc, config.perceptual_weights, config.shape_init).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    generator = torch.Generator().manual_seed(0)
    losses: list[float] = []

    def step() -> None:
        perturbation = sample_perturbation(config.loocc, images.shape[0], generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            terms = objective(images, perturbation)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].float().backward()
        optimizer.step()
        losses.append(float(terms["total"].detach()))

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(step, device, warmup, repeats)
    return {
        "seconds_per_step": seconds,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
        "last_loss": losses[-1],
        "finite": all(torch.isfinite(torch.tensor(losses)).tolist()),
    }


def time_extract(device: torch.device, batch: int, repeats: int) -> dict[str, Any]:
    """Images per second of ``extract`` (geometry and albedo features) at ``batch`` images per call."""
    model = PhysDisModel.from_pretrained("faces-loocc-lv", device=device)
    images = torch.rand(batch, 3, 64, 64, generator=torch.Generator().manual_seed(0)).to(device)
    seconds = timed(lambda: model.extract(images, batch_size=batch, progress=False, align=False), device, 1, repeats)
    return {
        "model": "faces-loocc-lv",
        "batch": batch,
        "seconds_per_call": seconds,
        "images_per_second": batch / seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="cpu: a dry run on small sizes")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda: no CUDA device is visible (use --device cpu for a dry run)", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    dry = device.type == "cpu"
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if not dry else "cpu (dry run)",
        "torch": torch.__version__,
    }
    t0 = time.perf_counter()
    report["renderer"] = check_renderer(device, batch=2 if dry else 16)
    report["train_step"] = time_training_step(
        device, batch=4 if dry else 64, warmup=1 if dry else 3, repeats=1 if dry else 10
    )
    report["extract"] = time_extract(device, batch=8 if dry else 256, repeats=1 if dry else 10)
    report["seconds"] = time.perf_counter() - t0
    r, s, e = report["renderer"], report["train_step"], report["extract"]
    rows = [
        ("device", report["device"]),
        (
            "renderer: reconstruction max / p99.9 diff",
            f"{r['reconstruction']['max']:.2e} / {r['reconstruction']['p99.9']:.2e}",
        ),
        (
            "renderer: pixels over 1e-3, mask pixels differing",
            f"{r['share_of_pixels_over_tolerance']:.2e}, {r['mask_pixels_that_differ']}",
        ),
        ("renderer: image grad max diff (grad scale)", f"{r['image_grad']['max']:.2e} ({r['image_grad_scale']:.2e})"),
        (
            "renderer: worst param grad (diff / max)",
            f"{r['worst_parameter_grad']['name']}: {r['worst_parameter_grad']['max_diff_over_max_abs']:.2e}",
        ),
    ]
    for mode in ("float32", "bf16-autocast"):
        m = s[mode]
        memory = "" if m.get("peak_memory_gib") is None else f", {m['peak_memory_gib']:.2f} GiB"
        rows.append(
            (
                f"train step B{s['batch']} LOOCC-LV {mode}",
                m["error"] if "error" in m else f"{m['seconds_per_step']:.3f} s{memory}, loss {m['last_loss']:.4f}",
            )
        )
    rows.append((f"extract B{e['batch']}", f"{e['images_per_second']:.0f} images/s"))
    rows.append(("total", f"{report['seconds']:.0f} s"))
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    if os.environ.get("OUT"):
        path = Path(os.environ["OUT"]) / "gpu_check.json"
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
