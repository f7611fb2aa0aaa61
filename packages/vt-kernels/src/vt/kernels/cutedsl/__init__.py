"""CuTeDSL backends ("cutedsl") of the memory-bound kernels: rms_norm, layer_norm, softmax,
log_softmax, cross_entropy, rotary, gelu, swiglu, geglu, embedding, adamw, sgd, sample and
attention_decode.

When nvidia-cutlass-dsl is installed, each kernel registers a stand-in that imports its module
(and cutlass, which takes seconds) the first time the registry asks for this backend; the module
then registers the real implementation in its place. Without the library nothing registers and
the registry keeps using the Triton and reference backends.
"""

from __future__ import annotations

import importlib
import importlib.util

from .. import _registry
from .._compat import is_torch_tensor

# kernel -> the module of this package that implements it
MODULES = {
    "rms_norm": "rms_norm", "layer_norm": "layer_norm", "softmax": "softmax",
    "log_softmax": "softmax", "cross_entropy": "cross_entropy", "rotary": "rotary",
    "gelu": "activations", "swiglu": "activations", "geglu": "activations",
    "embedding": "embedding", "adamw": "optim", "sgd": "optim", "sample": "sampling",
    "attention_decode": "attention_decode",
}
# kernel -> the function of its module that says where this backend measured faster
PREFERENCES = {"cross_entropy": "_faster", "sample": "_faster", "rms_norm": "_faster",
               "layer_norm": "_faster"}

_failures: dict[str, str] = {}  # module -> why it did not import


def installed() -> bool:
    try:
        return importlib.util.find_spec("cutlass") is not None
    except (ImportError, ValueError):
        return False


def load(module: str):
    """The imported backend module (its import registers the real impls), or None."""
    if module in _failures:
        return None
    try:
        return importlib.import_module(f"{__name__}.{module}")
    except (ImportError, OSError) as exc:  # e.g. its native libraries do not load
        _failures[module] = f"nvidia-cutlass-dsl does not import: {type(exc).__name__}: {exc}"
        return None


def _real(kernel: str):
    return _registry._table(kernel)["cutedsl"]


def _stand_in(kernel: str) -> None:
    module = MODULES[kernel]

    def supports(*args, **kwargs):
        if load(module) is None:
            return _failures[module]
        return _real(kernel).supports(*args, **kwargs)

    def loaded():
        if load(module) is None:
            raise NotImplementedError(f"{kernel} (cutedsl): {_failures[module]}")
        return _real(kernel)

    def forward(*args, **kwargs):
        return loaded().forward(*args, **kwargs)

    def backward(*args, **kwargs):
        return loaded().backward(*args, **kwargs)

    _registry.register(kernel, "cutedsl", forward, backward, supports)


def _preference(kernel: str) -> None:
    module, name = MODULES[kernel], PREFERENCES[kernel]

    def when(first, *args, **kwargs):
        # These kernels take CUDA torch tensors only: other inputs need not import anything.
        if not (is_torch_tensor(first) and first.device.type == "cuda"):
            return False
        loaded = load(module)
        return loaded is not None and getattr(loaded, name)(first, *args, **kwargs)

    _registry.prefer_when(kernel, "cutedsl", when)


if installed():
    for _kernel in MODULES:
        _stand_in(_kernel)
    for _kernel in PREFERENCES:
        _preference(_kernel)
