#!/usr/bin/env bash
# LOOCC over seeds on synthetic-faces-ict (issue 31, item 4): no LOOCC, LOOCC-L and LOOCC-LV, the
# last two in the paper's text style and in the authors' code style, SEEDS seeds each, all at one
# budget, two runs at a time: preset faces-synthetic-cpu, one epoch over a seeded subset of IMAGES
# training images (scripts/loocc_seeds_train.py; 3200 images = 100 steps of batch 32), the preset's
# convex start shortened to CONVEX_STEPS steps (the preset's 200 would last the whole run).
# Our cycle term is off in every run (--loocc cycle_weight=0), so L and LV are the paper's variants.
# Each finished run is evaluated at once by scripts/loocc_seeds_eval.py (JSON per run); at the end
# the tables are aggregated.
#
#   scripts/loocc_seeds.sh [ROOT]          # ROOT: runs/h31exp (default)
#
# Environment: PY (python; default: python), IMAGES (3200), CONVEX_STEPS (20), SEEDS ("1 2 3"), WORKERS (2),
# PRESET (faces-synthetic-cpu) and DATASET (synthetic-faces-ict; cars: cars-synthetic-cpu and
# synthetic-cars, whose generator records body shape and paint), ARMS ("none L-text LV-text L-code LV-code"),
# DATA (where the rendered data cache lives; default ROOT/data; render it once before, as
# results/2026-12-06-loocc-claim-over-seeds.md shows, so that the runs do not each render it), OUT (CSV folder of the aggregate; default
# ROOT/tables).
#
# Re-runnable: a run with result.json is skipped (a set -e does not reach into a function run under
# "||", so each step returns on failure itself); a run with last.ckpt but no best result is
# resumed (--resume). Logs: ROOT/<arm>-s<seed>.train.log and ROOT/<arm>-s<seed>/eval.log.
set -euo pipefail
ROOT=${1:-runs/h31exp}
# the reported runs computed in float32 (before the CPU presets adopted bf16 networks)
PRECISION=${PRECISION:-fp32}
PY=${PY:-python}
IMAGES=${IMAGES:-3200}
CONVEX_STEPS=${CONVEX_STEPS:-20}
SEEDS=${SEEDS:-"1 2 3"}
WORKERS=${WORKERS:-2}
PRESET=${PRESET:-faces-synthetic-cpu}
DATASET=${DATASET:-synthetic-faces-ict}
ARMS=${ARMS:-"none L-text LV-text L-code LV-code"}
DATA=${DATA:-$ROOT/data}
OUT=${OUT:-$ROOT/tables}
export OMP_NUM_THREADS=1

jobs_list=()
for seed in $SEEDS; do
  for arm in $ARMS; do jobs_list+=("$arm:$seed"); done
done

one_run() {  # one_run ARM SEED: train (or resume), then evaluate
  local arm=$1 seed=$2 variant style dir
  variant=${arm%%-*}
  style=text
  [[ $arm == *-code ]] && style=code
  dir=$ROOT/$arm-s$seed
  [[ -f $dir/result.json ]] && return 0
  local resume=()
  [[ -f $dir/last.ckpt ]] && resume=(--resume)
  if [[ ! -f $dir/trained ]]; then
    "$PY" scripts/loocc_seeds_train.py --max-train-images "$IMAGES" --preset "$PRESET" \
      --dataset "$DATASET" --data-dir "$DATA" --variant "$variant" --loocc-style "$style" \
      --loocc cycle_weight=0 --shape-init steps="$CONVEX_STEPS" --seed "$seed" --epochs 1 --threads 1 \
      --precision "$PRECISION" \
      --no-progress --out "$dir" "${resume[@]}" >>"$dir.train.log" 2>&1 || return 1
    touch "$dir/trained"
  fi
  "$PY" scripts/loocc_seeds_eval.py run "$dir" --json "$dir/result.json.tmp" >"$dir/eval.log" 2>&1 || return 1
  mv "$dir/result.json.tmp" "$dir/result.json"
}

worker() {  # take the next unclaimed job (mkdir is atomic) until none is left
  local job
  for job in "${jobs_list[@]}"; do
    mkdir "$ROOT/claims/$job" 2>/dev/null || continue
    one_run "${job%%:*}" "${job##*:}" || echo "failed: $job" >&2
  done
}

rm -rf "$ROOT/claims"
mkdir -p "$ROOT/claims"
for ((k = 0; k < WORKERS; k++)); do worker & done
wait
mkdir -p "$ROOT/json"
for f in "$ROOT"/*/result.json; do cp "$f" "$ROOT/json/$(basename "$(dirname "$f")").json"; done
"$PY" scripts/loocc_seeds_eval.py aggregate "$ROOT/json" --out "$OUT" --markdown "$OUT/tables.md"
