"""Tensor attributes torch has and vt.core leaves to this layer: .T, .mT, .data, new_* factories,
*_as helpers. Installed on vt.core.Tensor, the one tensor type of the stack."""

from __future__ import annotations

import vt.core as _core
from vt.autograd import no_grad
from vt.torch import _comparison

Tensor = _core.Tensor


def _matrix_transpose(self):
    if self.dim() < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.dim()}-D tensor.")
    return self.transpose(-2, -1)


def _data_get(self):
    return self.detach()


def _data_set(self, value) -> None:
    if tuple(value.shape) != tuple(self.shape) or value.dtype != self.dtype:
        raise RuntimeError(f"data set to a tensor of shape {tuple(value.shape)} and dtype {value.dtype}; "
                           f"vt keeps a tensor's shape and dtype, expected {tuple(self.shape)} and {self.dtype}")
    with no_grad():
        self.copy_(value)


def _install() -> None:
    Tensor.T = property(lambda self: self.permute(*reversed(range(self.dim()))))
    Tensor.mT = property(_matrix_transpose)
    Tensor.data = property(_data_get, _data_set)
    Tensor.view_as = lambda self, other: self.view(*other.shape)
    Tensor.expand_as = lambda self, other: self.expand(*other.shape)
    Tensor.reshape_as = lambda self, other: self.reshape(*other.shape)
    Tensor.type_as = lambda self, other: self.to(other.dtype)
    Tensor.__deepcopy__ = _deepcopy
    Tensor.new_zeros = _new_sized(_core.zeros, "new_zeros")
    Tensor.new_ones = _new_sized(_core.ones, "new_ones")
    Tensor.new_empty = _new_sized(_core.empty, "new_empty")
    Tensor.new_full = _new_full
    Tensor.new_tensor = _new_tensor
    Tensor.equal = lambda self, other: _comparison.equal(self, other)


def _deepcopy(self, memo):
    if id(self) not in memo:
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.")
        copy = self.detach().clone()
        memo[id(self)] = copy.requires_grad_() if self.requires_grad else copy
    return memo[id(self)]


def _flag(t, requires_grad: bool):
    return t.requires_grad_() if requires_grad else t


# The new_* factories: self's dtype and device unless given. layout and pin_memory are torch's
# keywords for what vt tensors always are (strided; pinning only matters to CUDA copies).
def _new_sized(factory, name: str):
    def new(self, *args, size=None, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False):
        return _flag(factory(*args, size=size, dtype=dtype or self.dtype, device=device or self.device),
                     requires_grad)

    new.__name__ = new.__qualname__ = name
    return new


def _new_full(self, size, fill_value, *, dtype=None, layout=None, device=None, pin_memory=False,
              requires_grad=False):
    return _flag(_core.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device),
                 requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return _flag(_core.tensor(data, dtype=dtype or self.dtype, device=device or self.device), requires_grad)


_install()
