#!/usr/bin/env bash
# Create (or update) a virtual environment for this clone: torch first, from PyTorch's CPU wheel
# index, then physdis-hub itself, editable, with the extras asked for (or a built wheel of it).
#
#   scripts/setup.sh VENV [EXTRAS]     e.g. scripts/setup.sh .venv       (the demo)
#                                           scripts/setup.sh .venv dev   (the tests)
#   scripts/setup.sh VENV WHEEL.whl    the wheel instead of the clone (.ci/run's wheel check)
#
# Environment:
#   PYTHON           interpreter for the new environment (default: python3)
#   TORCH_INDEX_URL  where torch comes from (default: https://download.pytorch.org/whl/cpu);
#                    a CUDA build: https://download.pytorch.org/whl/cu128; "default": pip's own
#                    configured index (on a machine with a local wheel mirror; also the
#                    fallback when the CPU index cannot be reached)
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
venv=$1
root="$(cd "$(dirname "$0")/.." && pwd)"
case ${2:-} in
    *.whl) package=("$2") ;;
    "") package=(-e "$root") ;;
    *) package=(-e "$root[$2]") ;;
esac
index=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}

[[ -x "$venv/bin/python" ]] || "${PYTHON:-python3}" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q)
# A machine that cannot reach the CPU index (an offline mirror, a closed CI) falls back to pip's own
# configured index, and says so.
if [[ $index != default ]] && ! "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$index/" 2>/dev/null; then
    echo "setup.sh: $index not reachable; installing torch from pip's configured index" >&2
    index=default
fi
if [[ $index == default ]]; then
    "${pip[@]}" "torch==2.13.0"
else
    "${pip[@]}" "torch==2.13.0" --index-url "$index"
fi
"${pip[@]}" "${package[@]}"
"$venv/bin/python" -c "import torch, physdis_hub; print('torch', torch.__version__, '| physdis_hub', physdis_hub.__version__)"
