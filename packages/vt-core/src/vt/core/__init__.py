"""vt.core: VibeTensor's native tensor runtime.

Tensors, dtypes and devices, ops routed through the C++ dispatcher, the C ABI capsule that
native packages and plugins use, and plugin loading. Higher layers (autograd, the torch-shaped
API, CUDA) are separate packages built on this one.
"""

from __future__ import annotations

import os as _os

from vt.core import _C
from vt.core._C import (  # noqa: F401  (re-exported API)
    Tensor,
    abi_version,
    add,
    allocator_stats,
    arange,
    bfloat16,
    bool,
    device,
    div,
    dtype,
    empty,
    exp,
    float16,
    float32,
    float64,
    full,
    get_default_dtype,
    get_num_threads,
    int8,
    int16,
    int32,
    int64,
    load_library,
    mean,
    mul,
    neg,
    ones,
    promote_types,
    result_type,
    set_default_dtype,
    set_num_threads,
    sub,
    sum,
    uint8,
    zeros,
)
from vt.core import library, ops  # noqa: F401
from vt.core._creation import tensor  # noqa: F401
from vt.core._printing import get_printoptions, set_printoptions  # noqa: F401

__version__ = "0.1.0"

half = float16
float = float32  # noqa: A001  (torch's aliases)
double = float64
long = int64
int = int32  # noqa: A001
short = int16


def _dtype_from_name(name: str) -> dtype:
    """Unpickling support: dtypes pickle by name."""
    return getattr(_C, name)


def get_include() -> str:
    """The folder holding vt-core's public headers (vt/c/*.h, vt/cpp/*.hpp)."""
    return _os.path.join(_os.path.dirname(__file__), "include")


def get_lib() -> str:
    """The folder holding libvt_core.so."""
    return _os.path.join(_os.path.dirname(__file__), "lib")


def cmake_dir() -> str:
    """The folder holding vt-coreConfig.cmake, for find_package(vt-core CONFIG)."""
    return _os.path.join(_os.path.dirname(__file__), "cmake")
