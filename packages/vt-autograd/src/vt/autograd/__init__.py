"""vt.autograd: reverse-mode automatic differentiation for vt tensors.

Importing it plugs the engine into vt-core's dispatcher (as its autograd layer) and gives
vt.core.Tensor its autograd attributes: requires_grad, grad, grad_fn, is_leaf, backward(),
detach(), register_hook() and the rest, with PyTorch's semantics.
"""

from __future__ import annotations

import vt.core as _core

_NEEDS_CORE = (0, 4)
if tuple(int(x) for x in _core.__version__.split(".")[:2]) != _NEEDS_CORE or not hasattr(
        _core._C, "_python_bridge_capsule"):
    raise ImportError(f"vt-autograd needs vt-core ~= {_NEEDS_CORE[0]}.{_NEEDS_CORE[1]}.0 (found "
                      f"{_core.__version__}): pip install 'vt-core~={_NEEDS_CORE[0]}.{_NEEDS_CORE[1]}.0'")

from vt.autograd import _C  # noqa: E402
from vt.autograd._tensor_api import install as _install_tensor_api

_C._init(_core._C._api_capsule(), _core._C._python_bridge_capsule())
_install_tensor_api(_core.Tensor)

from vt.autograd.function import Function, FunctionCtx, once_differentiable  # noqa: E402
from vt.autograd.grad_mode import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from vt.autograd.engine import backward, grad  # noqa: E402
from vt.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: E402

__version__ = "0.3.0"

__all__ = [
    "Function",
    "FunctionCtx",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_inference_mode_enabled",
    "is_grad_enabled",
    "no_grad",
    "once_differentiable",
    "set_grad_enabled",
]
