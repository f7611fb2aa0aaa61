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
from ._fast_launch import fast_launch


def _torch_dtype(name: str):
    return getattr(torch, name)


def empty_like(x, dtype: str | None = None):
    if is_torch_tensor(x):
        return torch.empty_like(x, dtype=_torch_dtype(dtype) if dtype else None)
    return x.new_empty(tuple(x.shape), dtype or x.dtype_name)


def empty(shape: tuple, dtype: str, like):
    """An uninitialized contiguous array on `like`'s device."""
    if is_torch_tensor(like):  # new_empty takes like's device without building a torch.device
        return like.new_empty(shape, dtype=_torch_dtype(dtype))
    return like.new_empty(tuple(shape), dtype)


def zeros(shape: tuple, dtype: str, like):
    if is_torch_tensor(like):
        return like.new_zeros(shape, dtype=_torch_dtype(dtype))
    out = like.new_empty(tuple(shape), dtype)
    fill_(out, 0.0)
    return out


@fast_launch
@triton.jit
def _column_sums(P, OUT0, OUT1, rows, cols, stride_g, stride_p, BLOCK_R: tl.constexpr,
                 BLOCK_C: tl.constexpr):
    # Program (c, g) sums block c of the columns of partial array g into OUT<g>.
    c = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    group = tl.program_id(1)
    P += group.to(tl.int64) * stride_g
    acc = tl.zeros([BLOCK_C], dtype=tl.float32)
    for start in range(0, rows, BLOCK_R):
        r = start + tl.arange(0, BLOCK_R)
        mask = (r[:, None] < rows) & (c[None, :] < cols)
        acc += tl.sum(tl.load(P + r[:, None].to(tl.int64) * stride_p + c[None, :], mask=mask,
                              other=0.0).to(tl.float32), axis=0)
    if group == 0:
        tl.store(OUT0 + c, acc.to(OUT0.dtype.element_ty), mask=c < cols)
    else:
        tl.store(OUT1 + c, acc.to(OUT1.dtype.element_ty), mask=c < cols)


def column_sums(partial, dtypes: tuple) -> tuple:
    """Sums each (programs, n) float32 slice of a (groups, programs, n) array of per-program
    partial results over its rows, in one launch: one (n,) array of dtypes[g] per group (at most
    two: dweight and dbias)."""
    groups, rows, cols = partial.shape
    if groups != len(dtypes) or groups not in (1, 2):
        raise ValueError(f"column_sums: {groups} partial groups for dtypes {dtypes}")
    outs = tuple(empty((cols,), dtype, like=partial) for dtype in dtypes)
    # 32 columns of 128 rows per step: the fastest of the blocks swept on H200
    block_c = 32
    _column_sums[(triton.cdiv(cols, block_c), groups)](
        partial, outs[0], outs[-1], rows, cols, partial.stride(0), partial.stride(1),
        BLOCK_R=128, BLOCK_C=block_c)
    return outs


def column_sum(partial, dtype: str):
    """Sums a (programs, n) float32 array of per-program partial results over its rows."""
    return column_sums(partial.reshape(1, *partial.shape), (dtype,))[0]


@fast_launch
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
