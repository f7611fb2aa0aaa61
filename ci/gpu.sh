#!/usr/bin/env bash
# Every GPU test and benchmark in one command, for a machine with an NVIDIA GPU, torch and
# triton (the reference GPU machine): ci/gpu.sh [tests|bench|all] [pytest selection args...]
# Results of the benchmarks go to ${OUT:-packages/vt-kernels/benchmarks/results}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-all}"; shift || true
python="${PYTHON:-python3}"
export PYTHONPATH="$PWD/packages/vt-kernels/src${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$python" -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__)'

if [[ "$what" == tests || "$what" == all ]]; then
    echo "==> vt-kernels GPU tests"
    # Compiling kernels (a CPU job) dominates: one pytest process per core.
    "$python" ci/pytest_shards.py -j "${JOBS:-$(nproc)}" packages/vt-kernels/tests "$@" || status=$?
fi
if [[ "$what" == bench || "$what" == all ]]; then
    echo "==> vt-kernels benchmarks"
    "$python" packages/vt-kernels/benchmarks/run.py --out "${OUT:-packages/vt-kernels/benchmarks/results}" "$@"
fi
exit "${status:-0}"
