#!/usr/bin/env bash
# The CUDA path checked and timed on a lent GPU machine (<= 8 min on one H100): renderer output and
# gradients against the CPU, one paper-width LOOCC-LV training step (float32 and bf16 autocast), extract
# throughput at batch 256. Prints a table; writes $OUT/gpu_check.json when $OUT is set.
# Usage: scripts/gpu_check.sh [--device cpu]   (cpu: a dry run of the same code on small sizes)
# CI never runs it (it needs a GPU). See docs/gpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
exec timeout 480 "$PYTHON" scripts/gpu_check.py "$@"
