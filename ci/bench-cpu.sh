#!/usr/bin/env bash
# Runs every CPU benchmark (vt against torch in the same process) with the venv's python:
#   VT_VENV=.venv bash ci/bench-cpu.sh
# Each prints its own ratios; nothing is compared against stored numbers (machines differ).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${VT_VENV:-.venv}/bin/python"
for bench in packages/vt-core/benchmarks/bench_*.py packages/vt-autograd/benchmarks/bench_*.py \
             packages/vt-torch/benchmarks/bench_*.py; do
    echo "==> $bench"
    "$python" "$bench"
done
