"""vt.torch: PyTorch's Python API over the VibeTensor stack (`import vt.torch as torch`).

Tensors, dtypes, devices and ops come from vt.core, gradients from vt.autograd; this package
adds torch's spelling where it differs (factories with requires_grad, Tensor.T, .data, ...), and
the nn and optim packages.
"""

from __future__ import annotations

import builtins as _builtins
import importlib as _importlib

import vt.autograd as _autograd  # noqa: F401  (installs the engine before any op runs)
import vt.core as _core
from vt.core import *  # noqa: F401,F403  (the op library, dtypes and their aliases)
from vt.core import Tensor, device, dtype  # noqa: F401

from vt.torch import _tensor  # noqa: F401,E402  (torch-only Tensor attributes)
from vt.torch._aten_forms import binary_cross_entropy_with_logits, embedding  # noqa: F401,E402
from vt.torch._comparison import allclose, equal, isclose  # noqa: F401,E402
from vt.torch._factories import (  # noqa: F401,E402
    arange, empty, empty_like, eye, full, full_like, linspace, ones, ones_like, rand, rand_like,
    randint, randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like,
)
from vt.autograd import (  # noqa: F401,E402
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled,
)
from vt.torch import autograd, nn, optim  # noqa: F401,E402
from vt.torch import testing  # noqa: F401,E402
from vt.torch import cuda  # noqa: F401,E402
library = _importlib.import_module("vt.torch.library")  # the star import bound vt.core.library
from vt.torch import _pickle, utils  # noqa: F401,E402  (tensor pickling, torch.utils.data/dlpack)
# vt.core's star import binds `safetensors` to vt.core.safetensors; torch's name is ours.
safetensors = _importlib.import_module("vt.torch.safetensors")
from vt.torch.serialization import load, save  # noqa: F401,E402

__version__ = "0.3.0"


def is_tensor(obj) -> _builtins.bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> _builtins.int:
    return input.numel()


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with a numpy array, as torch.from_numpy."""
    return _core.from_dlpack(array)

