"""Pickling (and copy.copy) of tensors, and pickling of devices, so they cross process boundaries
(DataLoader workers, multiprocessing queues) and round-trip through `pickle`.

A tensor pickles as its dtype name, shape, device, requires_grad and its raw bytes in C order;
unpickling calls only `_rebuild_tensor`, which checks every field before copying the bytes in.
Views come back as fresh contiguous tensors (storage sharing between pickled views is not kept).
"""

from __future__ import annotations

import copyreg
import ctypes
import math

import vt.core as _core

Tensor = _core.Tensor

# The dtypes a pickle may name; anything else is refused on load.
_DTYPES = {d.name: d for d in (
    _core.bool, _core.uint8, _core.int8, _core.int16, _core.int32, _core.int64,
    _core.float16, _core.bfloat16, _core.float32, _core.float64)}


def _tensor_bytes(t: Tensor) -> bytes:
    host = t.detach().cpu().contiguous()
    if host.nbytes == 0:
        return b""
    return ctypes.string_at(host.data_ptr(), host.nbytes)


def _rebuild_tensor(dtype_name: str, shape: tuple, device: str, requires_grad: bool, raw: bytes) -> Tensor:
    """The inverse of Tensor.__reduce_ex__; validates its input because pickles may be hostile."""
    if not (isinstance(shape, tuple) and all(type(s) is int for s in shape)):
        raise TypeError(f"unpickling a tensor: shape must be a tuple of ints, got {shape!r}")
    if not (isinstance(raw, bytes) and isinstance(device, str) and isinstance(requires_grad, bool)):
        raise TypeError("unpickling a tensor: expected bytes data, a device string and a bool requires_grad, "
                        f"got {type(raw).__name__}, {type(device).__name__}, {type(requires_grad).__name__}")
    if dtype_name not in _DTYPES:
        raise ValueError(f"unpickling a tensor: unknown dtype {dtype_name!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"unpickling a tensor: negative size in shape {list(shape)}")
    dtype = _DTYPES[dtype_name]
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"unpickling a tensor of shape {list(shape)} and dtype {dtype}: "
                         f"expected {expected} bytes of data, got {len(raw)}")
    t = _core.empty(shape, dtype=dtype)
    if expected:
        ctypes.memmove(t.data_ptr(), raw, expected)
    if device != "cpu":
        t = t.to(_core.device(device))
    return t.requires_grad_() if requires_grad else t


def _rebuild_subclass(cls: type, tensor_args: tuple, state: dict) -> Tensor:
    """Tensor subclasses come back as `cls` over the rebuilt data, with their instance attributes."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"unpickling a tensor subclass: {cls!r} is not a Tensor subclass")
    if not isinstance(state, dict):
        raise TypeError(f"unpickling a tensor subclass: state must be a dict, got {type(state).__name__}")
    base = _rebuild_tensor(*tensor_args)
    obj = Tensor.__new__(cls)
    Tensor.__init__(obj, base)
    if base.requires_grad and not obj.requires_grad:
        obj.requires_grad_()
    obj.__dict__.update(state)
    return obj


def _reduce_ex(self: Tensor, protocol: int):
    # Like torch, a non-leaf comes back as a new leaf: the autograd graph does not travel.
    args = (self.dtype.name, tuple(self.shape), str(self.device),
            bool(self.requires_grad), _tensor_bytes(self))
    if type(self) is Tensor:
        return _rebuild_tensor, args
    return _rebuild_subclass, (type(self), args, dict(getattr(self, "__dict__", {})))


def _shallow_copy(self: Tensor) -> Tensor:
    """copy.copy: like torch, a new leaf over the same memory (__reduce_ex__ alone would copy the data)."""
    alias = Tensor.__new__(type(self))
    Tensor.__init__(alias, self.detach())
    if self.requires_grad:
        alias.requires_grad_()
    if hasattr(self, "__dict__"):
        alias.__dict__.update(self.__dict__)
    return alias


def _reduce_device(d) -> tuple:
    return _core.device, (str(d),)


def install() -> None:
    Tensor.__reduce_ex__ = _reduce_ex
    Tensor.__copy__ = _shallow_copy
    copyreg.pickle(_core.device, _reduce_device)


install()
