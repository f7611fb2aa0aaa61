#!/usr/bin/env bash
# Shared set-up for a fresh Debian machine, sourced by ci/test-all.sh and ci/train.sh:
# step (named, timed steps), system_packages (apt), python_env (a venv with build and test tools).
# Expects VENV to be set by the caller.

current=""
# Name the failed step: set -e alone exits without saying where.
trap 'rc=$?; ((rc == 0)) || echo "FAILED: $current (exit $rc)" >&2' EXIT

step() {
    current="$1"; shift
    local start=$SECONDS
    echo "==> $current"
    "$@"
    echo "<== $current: $((SECONDS - start))s"
}

apt_install() {
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

system_packages() {
    local wanted=()
    [[ -f /usr/include/gtest/gtest.h ]] || wanted+=(googletest libgtest-dev)
    command -v c++ >/dev/null || wanted+=(build-essential)
    # Debian splits venv support (ensurepip) out of python3.
    python3 -c 'import ensurepip' 2>/dev/null || wanted+=(python3-venv)
    if ((${#wanted[@]})); then
        apt_install "${wanted[@]}"
    else
        echo "system packages present"
    fi
}

python_env() {
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    # pip >= 23.1 is needed for -C config settings in ci/test-package.
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # torch is the test reference; its CPU wheel comes from pip's configured find-links.
    # tqdm and matplotlib serve the training job and the examples. triton is the one torch 2.11
    # pins on the GPU machine; its CPU interpreter (vt-kernels tests) fails on numpy >= 2.4.
    # nvidia-cutlass-dsl compiles the CuTeDSL kernels for sm_90a without a GPU.
    "$VENV/bin/python" -m pip install -q \
        "scikit-build-core>=0.10" "nanobind>=2" "cmake>=3.26" ninja hatchling \
        "numpy<2.4" pytest hypothesis safetensors build packaging scipy-openblas32 "torch==2.13.0" \
        "triton==3.6.0" "nvidia-cutlass-dsl==4.8.1" \
        tqdm matplotlib
}
