#!/usr/bin/env bash
# The main job: sets up a fresh machine (apt packages, a venv, vt-core, vt-autograd, vt-torch),
# trains the miniGPT of examples/minigpt on CUDA when present, else CPU, then trains the same
# script under PyTorch when it is installed, and plots both loss curves.
#   bash ci/train.sh                       # defaults: 600 steps, built-in corpus, runs/minigpt
#   bash ci/train.sh --steps 2000 --data book.txt
# Extra arguments go to examples/minigpt/train.py. VT_TRAIN_COMPARE=0 skips the PyTorch run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VT_VENV:-.venv}"
source ci/setup-env.sh

install_stack() {
    local pkg
    for pkg in vt-core vt-autograd; do
        "$VENV/bin/python" -m pip install -q --no-build-isolation --no-deps "packages/$pkg" \
            -C "build-dir=$PWD/build/$pkg-release" -C cmake.build-type=Release
    done
    # vt-torch's pins on the not yet released GPU packages are satisfied by absence here.
    "$VENV/bin/python" -m pip install -q --no-build-isolation --no-deps packages/vt-torch
}

out="runs/minigpt"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    [[ "${args[i]}" == "--out" ]] && out="${args[i + 1]}"
done

step "system packages" system_packages
step "python venv ($VENV)" python_env
step "vt stack" install_stack
step "train with vt" "$VENV/bin/python" examples/minigpt/train.py --framework vt "$@"
if [[ "${VT_TRAIN_COMPARE:-1}" != 0 ]] && "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    step "train with torch" "$VENV/bin/python" examples/minigpt/train.py --framework torch "$@"
fi
step "plot" "$VENV/bin/python" examples/minigpt/plot.py --out "$out"
echo "checkpoint, metrics and sample under $out/<framework>/; loss plot: $out/loss.png"
