"""Softmax and log-softmax along one dimension: registry kernels "softmax" and "log_softmax", whose
implementations are the same functions with a `log` flag.

Rows up to 32768 elements stay in registers (one read, one write). Longer rows take an online
softmax: one read keeps a running max and a rescaled running sum per lane, a second read writes.
Math in float32; the output has the input's dtype. The backward works from the saved output, as
torch's does. A row of only -inf gives NaN, like torch.
"""

from __future__ import annotations

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty_like
from ._checks import check_float, check_same_device, check_shape
from ._compat import compiling, needs_autograd, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import as_rows, reference_reason, row_launch, triton_reason

KERNELS = {False: "softmax", True: "log_softmax"}  # by the `log` flag
# The longest row kept in registers (32 values per thread at 32 warps): one read beats the online
# path's two as long as the row does not spill.
_MAX_SINGLE_PASS = 32768


# ---------------------------------------------------------------------------------------------
# Triton kernels


@fast_launch
@triton.jit
def _softmax_fwd(X, Y, stride_x, stride_y, N, LOG: tl.constexpr, BLOCK: tl.constexpr,
                 SINGLE_PASS: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    X += row * stride_x
    Y += row * stride_y
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = cols < N
        x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
        shifted = x - tl.max(x, axis=0)
        e = tl.exp(shifted)
        total = tl.sum(e, axis=0)
        if LOG:
            y = shifted - tl.log(total)
        else:
            y = e * (1.0 / total)
        tl.store(Y + cols, y.to(Y.dtype.element_ty), mask=mask)
    else:
        lane_max = tl.full([BLOCK], float("-inf"), tl.float32)
        lane_sum = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            x = tl.load(X + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
            new_max = tl.maximum(lane_max, x)
            # A lane that has seen only -inf keeps a zero sum (and avoids -inf - -inf = NaN).
            pivot = tl.where(new_max == float("-inf"), 0.0, new_max)
            lane_sum = lane_sum * tl.exp(lane_max - pivot) + tl.exp(x - pivot)
            lane_max = new_max
        row_max = tl.max(lane_max, axis=0)
        total = tl.sum(lane_sum * tl.exp(lane_max - row_max), axis=0)
        log_total = tl.log(total)
        inv_total = 1.0 / total
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            shifted = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32) - row_max
            if LOG:
                y = shifted - log_total
            else:
                y = tl.exp(shifted) * inv_total
            tl.store(Y + cols, y.to(Y.dtype.element_ty), mask=mask)


@fast_launch
@triton.jit
def _softmax_bwd(Y, DY, DX, stride_y, stride_dy, stride_dx, N, LOG: tl.constexpr,
                 BLOCK: tl.constexpr, SINGLE_PASS: tl.constexpr):
    # softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy).
    row = tl.program_id(0).to(tl.int64)
    Y += row * stride_y
    DY += row * stride_dy
    DX += row * stride_dx
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = cols < N
        y = tl.load(Y + cols, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(DY + cols, mask=mask, other=0.0).to(tl.float32)
        if LOG:
            dx = dy - tl.exp(y) * tl.sum(dy, axis=0)
        else:
            dx = y * (dy - tl.sum(dy * y, axis=0))
        tl.store(DX + cols, dx.to(DX.dtype.element_ty), mask=mask)
    else:
        acc = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            dy = tl.load(DY + cols, mask=mask, other=0.0).to(tl.float32)
            if LOG:
                acc += dy
            else:
                acc += dy * tl.load(Y + cols, mask=mask, other=0.0).to(tl.float32)
        row_sum = tl.sum(acc, axis=0)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            y = tl.load(Y + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + cols, mask=mask, other=0.0).to(tl.float32)
            if LOG:
                dx = dy - tl.exp(y) * row_sum
            else:
                dx = y * (dy - row_sum)
            tl.store(DX + cols, dx.to(DX.dtype.element_ty), mask=mask)


def _triton_forward(x, log):
    m, n = x.shape
    block, warps, single = row_launch(n, _MAX_SINGLE_PASS)
    y = empty_like(x)
    if m and n:
        _softmax_fwd[(m,)](x, y, x.stride(0), y.stride(0), n, LOG=bool(log), BLOCK=block,
                           SINGLE_PASS=single, num_warps=warps)
    return y


def _triton_backward(y, dy, log):
    m, n = y.shape
    block, warps, single = row_launch(n, _MAX_SINGLE_PASS)
    dx = empty_like(y)
    if m and n:
        _softmax_bwd[(m,)](y, dy, dx, y.stride(0), dy.stride(0), dx.stride(0), n, LOG=bool(log),
                           BLOCK=block, SINGLE_PASS=single, num_warps=warps)
    return dx


def _triton_supports(x, log):
    return triton_reason(x)


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_forward(x, log):
    fn = torch.log_softmax if log else torch.softmax
    return fn(x.float(), dim=-1).to(x.dtype)


def _reference_backward(y, dy, log):
    yf, dyf = y.float(), dy.float()
    if log:
        dx = dyf - yf.exp() * dyf.sum(-1, keepdim=True)
    else:
        dx = yf * (dyf - (dyf * yf).sum(-1, keepdim=True))
    return dx.to(y.dtype)


def _reference_supports(x, log):
    return reference_reason(x)


for _kernel in KERNELS.values():
    _registry.register(_kernel, "triton", _triton_forward, _triton_backward, _triton_supports)
    _registry.register(_kernel, "reference", _reference_forward, _reference_backward,
                       _reference_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class SoftmaxFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, log, impl):
            y = impl.forward(x, log)
            ctx.save_for_backward(y)
            ctx.impl = impl
            ctx.log = log
            return y

        @staticmethod
        def backward(ctx, dy):
            y, = ctx.saved_tensors
            return ctx.impl.backward(y, as_rows(dy), ctx.log), None, None


def _normalize_dim(op, dim, ndim):
    rank = max(ndim, 1)  # a 0-d tensor takes dim 0 or -1, as in torch
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


def _apply(op, x, dim, log):
    check_float(op, "x", x)
    dim = _normalize_dim(op, dim, x.dim())
    work = x.reshape(1) if x.dim() == 0 else x
    last = work.dim() - 1
    if dim != last:
        if not hasattr(work, "transpose"):
            raise NotImplementedError(f"{op}: dim={dim} of a foreign array needs a transposed copy, "
                                      "which vt.kernels does not make; pass the reduced dim last")
        work = work.transpose(dim, last)  # as_rows copies the strided rows once
    rows = as_rows(work)
    impl = _registry.select(KERNELS[log], rows, log)
    if needs_autograd(x):
        y = SoftmaxFunction.apply(rows, log, impl)
    else:
        y = impl.forward(rows, log)
    y = y.view(work.shape)
    if dim != last:
        y = y.transpose(dim, last)
    return y.reshape(x.shape) if x.dim() == 0 else y


@foreign_arrays
def softmax(x, dim: int = -1):
    """Softmax along `dim` (float32 math, output in x's dtype)."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.softmax(x, dim)
    return _apply("softmax", x, dim, False)


@foreign_arrays
def log_softmax(x, dim: int = -1):
    """Log-softmax along `dim` (float32 math, output in x's dtype)."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.log_softmax(x, dim)
    return _apply("log_softmax", x, dim, True)


def _check_rows(op, **arrays):
    check_same_device(op, **arrays)
    names = list(arrays)
    for name in names:
        check_float(op, name, arrays[name])
    for name in names[1:]:
        check_shape(op, name, arrays[name], tuple(arrays[names[0]].shape))


@foreign_arrays
def softmax_forward(x2d):
    """Softmax of each row of a 2-D array (unit stride along the last dim), without autograd."""
    check_float("softmax", "x", x2d)
    return _registry.select(KERNELS[False], x2d, False).forward(x2d, False)


@foreign_arrays
def softmax_backward(y2d, dy2d):
    """dx from softmax_forward's output y and the output gradient dy."""
    _check_rows("softmax", y=y2d, dy=dy2d)
    return _registry.select(KERNELS[False], y2d, False).backward(y2d, dy2d, False)


@foreign_arrays
def log_softmax_forward(x2d):
    """Log-softmax of each row of a 2-D array (unit stride along the last dim), without autograd."""
    check_float("log_softmax", "x", x2d)
    return _registry.select(KERNELS[True], x2d, True).forward(x2d, True)


@foreign_arrays
def log_softmax_backward(y2d, dy2d):
    """dx from log_softmax_forward's output y and the output gradient dy."""
    _check_rows("log_softmax", y=y2d, dy=dy2d)
    return _registry.select(KERNELS[True], y2d, True).backward(y2d, dy2d, True)
