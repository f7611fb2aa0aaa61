#!/usr/bin/env bash
# Sets up everything on a fresh Debian machine (apt packages, a venv, every package built)
# and runs the C++ and Python tests of every package. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VT_VENV:-.venv}"
export VT_VENV="$VENV"
# Dependency order; folders not listed here still run, after these.
ORDER=(vt-core vt-cuda vt-autograd vt-kernels vt-fabric vt-torch vt-node)

source ci/setup-env.sh

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
