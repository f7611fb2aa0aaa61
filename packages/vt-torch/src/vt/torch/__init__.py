"""vt.torch: PyTorch's Python API over the VibeTensor stack (`import vt.torch as torch`).

Tensors, dtypes, devices and ops come from vt.core, gradients from vt.autograd; this package
adds torch's spelling where it differs (factories with requires_grad, Tensor.T, .data, ...), and
the nn and optim packages.
"""

from __future__ import annotations

import builtins as _builtins

import vt.autograd as _autograd  # noqa: F401  (installs the engine before any op runs)
import vt.core as _core
from vt.core import *  # noqa: F401,F403  (the op library, dtypes and their aliases)
from vt.core import Tensor, device, dtype  # noqa: F401

from vt.torch import _tensor  # noqa: F401,E402  (torch-only Tensor attributes)
from vt.torch._factories import (  # noqa: F401,E402
    arange, empty, empty_like, eye, full, full_like, linspace, ones, ones_like, rand, rand_like,
    randint, randn, randn_like, tensor, zeros, zeros_like,
)
from vt.autograd import (  # noqa: F401,E402
    enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled,
)
from vt.torch import autograd, nn, optim  # noqa: F401,E402

__version__ = "0.1.0"


def is_tensor(obj) -> _builtins.bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> _builtins.int:
    return t.numel()


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with a numpy array, as torch.from_numpy."""
    return _core.from_dlpack(array)


def isclose(a: Tensor, b: Tensor, rtol: _builtins.float = 1e-5, atol: _builtins.float = 1e-8,
            equal_nan: _builtins.bool = False) -> Tensor:
    close = ((a - b).abs() <= (b.abs() * rtol + atol)).logical_or(a == b)
    if equal_nan:
        close = close.logical_or(a.isnan().logical_and(b.isnan()))
    return close


def allclose(a: Tensor, b: Tensor, rtol: _builtins.float = 1e-5, atol: _builtins.float = 1e-8,
             equal_nan: _builtins.bool = False) -> _builtins.bool:
    return _builtins.bool(isclose(a, b, rtol, atol, equal_nan).all().item())
