"""Defining ops from Python and giving them kernels, torch.library-style.

Ops defined here live in the same dispatcher as the C++ ones, so they are visible to every
layer (autograd, Python overrides) and to native callers through the C ABI.
"""

from __future__ import annotations

from typing import Callable

from vt.core import _C

LAYER_AUTOGRAD = _C.LAYER_AUTOGRAD
LAYER_PYTHON = _C.LAYER_PYTHON


def define(schema: str) -> str:
    """Defines an op, e.g. define("mylib::scale(Tensor x, float f=2.0) -> Tensor")."""
    return _C._define_op(schema)


def impl(qualified_name: str, device: str = "cpu", fn: Callable | None = None):
    """Registers fn as the op's kernel for a device type ("cpu", "cuda" or "any").

    Usable as a decorator: @impl("mylib::scale", "cpu").
    """

    def register(f: Callable) -> Callable:
        _C._register_python_kernel(qualified_name, device, f)
        return f

    return register(fn) if fn is not None else register


def impl_layer(qualified_name: str | None, fn: Callable | None = None):
    """Registers the Python wrapper layer for one op (or every op when the name is None).

    The layer runs for calls whose tensors carry the Python layer bit (see set_layer_mask) or
    while the layer is included on the thread; fn(op, *args) receives an op handle whose
    call_below(LAYER_PYTHON, *args, **kwargs) redispatches to the layers and kernel below.
    """

    def register(f: Callable) -> Callable:
        _C._register_python_layer(qualified_name, f)
        return f

    return register(fn) if fn is not None else register


def set_layer_mask(tensor: _C.Tensor, mask: int) -> None:
    """Sets which wrapper layers (bit 1 << LAYER_*) calls on this tensor visit."""
    _C._set_layer_mask(tensor, mask)


class include_layers:
    """Context manager that makes every call on this thread visit the given layers."""

    def __init__(self, mask: int):
        self._mask = mask
        self._previous = 0

    def __enter__(self):
        self._previous = _C._set_included_layers(self._mask)
        return self

    def __exit__(self, *exc):
        _C._set_included_layers(self._previous)
        return False
