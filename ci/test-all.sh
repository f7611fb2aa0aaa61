#!/usr/bin/env bash
# Sets up everything on a fresh Debian machine (apt packages, a venv, every package built)
# and runs the C++ and Python tests of every package. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VT_VENV:-.venv}"
export VT_VENV="$VENV"
# Dependency order; folders not listed here still run, after these.
ORDER=(vt-core vt-cuda vt-autograd vt-kernels vt-fabric vt-torch vt-node)

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
    "$VENV/bin/python" -m pip install -q \
        "scikit-build-core>=0.10" "nanobind>=2" "cmake>=3.26" ninja hatchling \
        numpy pytest hypothesis safetensors build packaging scipy-openblas32 "torch==2.13.0"
}

package_order() {
    local listed=" ${ORDER[*]} " pkg dir
    for pkg in "${ORDER[@]}"; do
        if [[ -d "packages/$pkg" ]]; then echo "$pkg"; fi
    done
    for dir in packages/*/; do
        pkg=$(basename "$dir")
        if [[ "$listed" != *" $pkg "* ]]; then echo "$pkg"; fi
    done
}

total_start=$SECONDS
step "system packages" system_packages
step "python venv ($VENV)" python_env
step "dependency pins" "$VENV/bin/python" ci/check_pins.py
for pkg in $(package_order); do
    step "$pkg" bash ci/test-package "$pkg"
done
step "lines per package" bash ci/count-lines
echo "all tests passed in $((SECONDS - total_start))s"
