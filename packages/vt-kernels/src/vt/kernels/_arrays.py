"""Allocation and small reductions that the launchers use, for torch tensors and for foreign
CUDA arrays alike, so that the launchers themselves never import torch.

Launchers call only these helpers (never torch.empty and friends): a torch tensor gets torch
allocations; a foreign array (a `_foreign.DeviceArray`) gets arrays of its own library through
`DeviceArray.new_empty`, and the Triton kernels below fill and reduce both kinds alike.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ._compat import is_torch_tensor, torch


def _torch_dtype(name: str):
    return getattr(torch, name)


def empty_like(x, dtype: str | None = None):
    if is_torch_tensor(x):
        return torch.empty_like(x, dtype=_torch_dtype(dtype) if dtype else None)
    return x.new_empty(tuple(x.shape), dtype or x.dtype_name)


def empty(shape: tuple, dtype: str, like):
    """An uninitialized contiguous array on `like`'s device."""
    if is_torch_tensor(like):
        return torch.empty(shape, dtype=_torch_dtype(dtype), device=like.device)
    return like.new_empty(tuple(shape), dtype)


def zeros(shape: tuple, dtype: str, like):
    if is_torch_tensor(like):
        return torch.zeros(shape, dtype=_torch_dtype(dtype), device=like.device)
    out = like.new_empty(tuple(shape), dtype)
    fill_(out, 0.0)
    return out


@triton.jit
def _column_sum(P, OUT, rows, cols, stride_p, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    c = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    acc = tl.zeros([BLOCK_C], dtype=tl.float32)
    for start in range(0, rows, BLOCK_R):
        r = start + tl.arange(0, BLOCK_R)
        mask = (r[:, None] < rows) & (c[None, :] < cols)
        acc += tl.sum(tl.load(P + r[:, None].to(tl.int64) * stride_p + c[None, :], mask=mask,
                              other=0.0).to(tl.float32), axis=0)
    tl.store(OUT + c, acc.to(OUT.dtype.element_ty), mask=c < cols)


def column_sum(partial, dtype: str):
    """Sums a (programs, n) float32 array of per-program partial results over its rows."""
    rows, cols = partial.shape
    out = empty((cols,), dtype, like=partial)
    block_c = 64
    _column_sum[(triton.cdiv(cols, block_c),)](partial, out, rows, cols, partial.stride(0),
                                                BLOCK_R=32, BLOCK_C=block_c)
    return out


@triton.jit
def _fill(OUT, n, value, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    tl.store(OUT + offs, tl.full([BLOCK], value, tl.float32).to(OUT.dtype.element_ty), mask=offs < n)


def fill_(out, value: float):
    """Fills a contiguous array."""
    n = 1
    for s in out.shape:
        n *= s
    if n:
        _fill[(triton.cdiv(n, 1024),)](out, n, float(value), BLOCK=1024)
    return out
