"""vt.core: VibeTensor's native tensor runtime.

Tensors, dtypes and devices, ops routed through the C++ dispatcher, the C ABI capsule that
native packages and plugins use, and plugin loading. Higher layers (autograd, the torch-shaped
API, CUDA) are separate packages built on this one.
"""

from __future__ import annotations

import os as _os

from vt.core import _C

# Every public name of the native module (ops, dtypes, Tensor, device, ...) is vt.core's.
globals().update({name: getattr(_C, name) for name in dir(_C) if not name.startswith("_")})
Tensor = _C.Tensor
dtype = _C.dtype
device = _C.device
# The core half of inference mode, for vt.autograd.inference_mode.
_set_inference_mode = _C._set_inference_mode
_is_inference_mode_enabled = _C._is_inference_mode_enabled

from vt.core import library, ops, safetensors  # noqa: F401
from vt.core._creation import tensor  # noqa: F401
from vt.core._printing import get_printoptions, set_printoptions  # noqa: F401

__version__ = "0.4.0"

# torch's dtype aliases
half = _C.float16
float = _C.float32  # noqa: A001
double = _C.float64
long = _C.int64
int = _C.int32  # noqa: A001
short = _C.int16


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
