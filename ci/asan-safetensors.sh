#!/usr/bin/env bash
# Builds vt-core with AddressSanitizer and UBSan in its own build folder and runs the
# safetensors fuzz driver (packages/vt-core/tests/fuzz/safetensors_fuzz.cpp) under them.
# Not part of CI (it takes minutes); run it after touching the reader:
#   bash ci/asan-safetensors.sh [ITERATIONS [SEED]]     (default 20000 mutated inputs)
#   bash ci/asan-safetensors.sh path/to/crash.safetensors ...   (replay files)
# Needs cmake >= 3.26 and ninja (the project's venv has both) and a C++20 compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD="${VT_ASAN_BUILD_DIR:-build/asan-safetensors}"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S packages/vt-core -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVT_BUILD_PYTHON=OFF -DVT_BUILD_TESTS=OFF \
    -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_C_FLAGS="$SAN" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$BUILD" --target vt_core
BUILD="$(cd "$BUILD" && pwd)"
"${CXX:-c++}" -std=c++20 -g -O1 $SAN -Ipackages/vt-core/include \
    packages/vt-core/tests/fuzz/safetensors_fuzz.cpp -o "$BUILD/safetensors_fuzz" \
    -L"$BUILD" -lvt_core -Wl,-rpath,"$BUILD"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$BUILD/safetensors_fuzz" "$@"
