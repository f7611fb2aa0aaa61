"""RMSNorm over the last dimension, with an optional fused residual add.

y = h / sqrt(mean(h^2) + eps) * weight, where h = x, or h = x + residual (rounded to x's dtype
and returned, so a transformer block reads its input once). Statistics in float32.
"""

from __future__ import annotations

import triton
import triton.language as tl

from . import _registry
from ._checks import check_float, check_nonempty_rows, check_same_device, check_shape, dtype_name
from ._arrays import column_sum, empty, empty_like
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._compat import compiling, needs_autograd, torch
from ._launch import (as_rows, backward_programs, pipeline_stages, reference_reason, row_launch,
                      triton_reason)
from ._norm_grads import norm_param_grads

KERNEL = "rms_norm"


# ---------------------------------------------------------------------------------------------
# Triton kernels


@fast_launch
@triton.jit
def _rms_norm_fwd(X, R, W, Y, H, RSTD, stride_x, stride_r, stride_y, stride_h, N, eps,
                  HAS_RESIDUAL: tl.constexpr, HAS_WEIGHT: tl.constexpr, BLOCK: tl.constexpr,
                  SINGLE_PASS: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    X += row * stride_x
    Y += row * stride_y
    if HAS_RESIDUAL:
        R += row * stride_r
        H += row * stride_h
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = cols < N
        x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
        if HAS_RESIDUAL:
            h = (x + tl.load(R + cols, mask=mask, other=0.0).to(tl.float32)).to(H.dtype.element_ty)
            tl.store(H + cols, h, mask=mask)
            x = h.to(tl.float32)
        rstd = tl.rsqrt(tl.sum(x * x, axis=0) / N + eps)
        y = x * rstd
        if HAS_WEIGHT:
            y = y * tl.load(W + cols, mask=mask).to(tl.float32)
        tl.store(Y + cols, y.to(Y.dtype.element_ty), mask=mask)
    else:
        acc = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
            if HAS_RESIDUAL:
                h = (x + tl.load(R + cols, mask=mask, other=0.0).to(tl.float32)).to(H.dtype.element_ty)
                tl.store(H + cols, h, mask=mask)
                x = h.to(tl.float32)
            acc += x * x
        rstd = tl.rsqrt(tl.sum(acc, axis=0) / N + eps)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            if HAS_RESIDUAL:
                x = tl.load(H + cols, mask=mask, other=0.0).to(tl.float32)
            else:
                x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
            y = x * rstd
            if HAS_WEIGHT:
                y = y * tl.load(W + cols, mask=mask).to(tl.float32)
            tl.store(Y + cols, y.to(Y.dtype.element_ty), mask=mask)
    tl.store(RSTD + row, rstd)


@fast_launch
@triton.jit
def _rms_norm_bwd(DY, X, W, RSTD, DH, DX, DW_PARTIAL, stride_dy, stride_x, stride_dh, stride_dx,
                  M, N, HAS_WEIGHT: tl.constexpr, HAS_DH: tl.constexpr, BLOCK: tl.constexpr,
                  SINGLE_PASS: tl.constexpr, STAGES: tl.constexpr):
    # Program p walks rows p, p + programs, ...; in a single pass it also keeps its share of
    # dweight in float32 (row p of DW_PARTIAL).
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = cols < N
        if HAS_WEIGHT:
            w = tl.load(W + cols, mask=mask).to(tl.float32)
        dw = tl.zeros([BLOCK], dtype=tl.float32)
        # Triton stages the next rows' loads in shared memory (STAGES deep), so an SM keeps
        # reading while it reduces the current row.
        for row in tl.range(pid, M, programs, num_stages=STAGES):
            row64 = tl.cast(row, tl.int64)
            x = tl.load(X + row64 * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + row64 * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
            rstd = tl.load(RSTD + row)
            xhat = x * rstd
            if HAS_WEIGHT:
                g = dy * w
                dw += dy * xhat
            else:
                g = dy
            dx = rstd * (g - xhat * (tl.sum(g * xhat, axis=0) / N))
            if HAS_DH:
                dx += tl.load(DH + row64 * stride_dh + cols, mask=mask, other=0.0).to(tl.float32)
            tl.store(DX + row64 * stride_dx + cols, dx.to(DX.dtype.element_ty), mask=mask)
        if HAS_WEIGHT:
            tl.store(DW_PARTIAL + pid.to(tl.int64) * N + cols, dw, mask=mask)
    else:
        for row in range(pid, M, programs):
            row64 = tl.cast(row, tl.int64)
            rstd = tl.load(RSTD + row)
            acc = tl.zeros([BLOCK], dtype=tl.float32)
            for start in range(0, N, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = cols < N
                x = tl.load(X + row64 * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
                g = tl.load(DY + row64 * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
                if HAS_WEIGHT:
                    g = g * tl.load(W + cols, mask=mask).to(tl.float32)
                acc += g * x * rstd
            mean_gx = tl.sum(acc, axis=0) / N
            for start in range(0, N, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = cols < N
                x = tl.load(X + row64 * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
                g = tl.load(DY + row64 * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
                if HAS_WEIGHT:
                    g = g * tl.load(W + cols, mask=mask).to(tl.float32)
                dx = rstd * (g - x * rstd * mean_gx)
                if HAS_DH:
                    dx += tl.load(DH + row64 * stride_dh + cols, mask=mask, other=0.0).to(tl.float32)
                tl.store(DX + row64 * stride_dx + cols, dx.to(DX.dtype.element_ty), mask=mask)


def _triton_forward(x, weight, residual, eps):
    m, n = x.shape
    block, warps, single = row_launch(n)
    y = empty_like(x)
    h = empty_like(x) if residual is not None else None
    rstd = empty((m,), "float32", like=x)
    if m:
        _rms_norm_fwd[(m,)](
            x, residual, weight, y, h, rstd, x.stride(0),
            residual.stride(0) if residual is not None else 0, y.stride(0),
            h.stride(0) if h is not None else 0, n, eps,
            HAS_RESIDUAL=residual is not None, HAS_WEIGHT=weight is not None, BLOCK=block,
            SINGLE_PASS=single, num_warps=warps)
    return y, h, rstd


def _triton_backward(dy, x, weight, rstd, dh):
    m, n = x.shape
    block, warps, single = row_launch(n)
    dx = empty_like(x)
    programs = backward_programs(x, m, warps)
    # Rows walked in blocks (no single pass) leave dweight to a pass of its own.
    partial = empty((programs, n), "float32", like=x) if weight is not None and single else None
    stages = pipeline_stages(block, sum(t.element_size() for t in (x, dy, dh) if t is not None))
    _rms_norm_bwd[(programs,)](
        dy, x, weight, rstd, dh, dx, partial, dy.stride(0), x.stride(0),
        dh.stride(0) if dh is not None else 0, dx.stride(0), m, n,
        HAS_WEIGHT=weight is not None, HAS_DH=dh is not None, BLOCK=block,
        SINGLE_PASS=single, STAGES=stages if single else 1, num_warps=warps)
    if partial is not None:
        return dx, column_sum(partial, dtype_name(weight))
    return dx, norm_param_grads(dy, x, None, rstd, weight, None)[0]


def _triton_supports(x, weight, residual, eps):
    return triton_reason(x, weight, residual)


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_forward(x, weight, residual, eps):
    h = (x + residual) if residual is not None else None
    src = (h if h is not None else x).float()
    rstd = torch.rsqrt(src.pow(2).mean(-1) + eps)
    y = src * rstd[:, None]
    if weight is not None:
        y = y * weight.float()
    return y.to(x.dtype), h, rstd


def _reference_backward(dy, x, weight, rstd, dh):
    xhat = x.float() * rstd[:, None]
    g = dy.float() * weight.float() if weight is not None else dy.float()
    dx = rstd[:, None] * (g - xhat * (g * xhat).mean(-1, keepdim=True))
    if dh is not None:
        dx = dx + dh.float()
    dw = (dy.float() * xhat).sum(0).to(weight.dtype) if weight is not None else None
    return dx.to(x.dtype), dw


def _reference_supports(x, weight, residual, eps):
    return reference_reason(x, weight, residual)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class RMSNormFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, residual, eps, impl):
            y, h, rstd = impl.forward(x, weight, residual, eps)
            ctx.save_for_backward(h if h is not None else x, weight, rstd)
            ctx.impl = impl
            ctx.has_residual = residual is not None
            if h is None:
                return y
            return y, h

        @staticmethod
        def backward(ctx, dy, dh=None):
            x, weight, rstd = ctx.saved_tensors
            dx, dw = ctx.impl.backward(as_rows(dy), x, weight, rstd,
                                       as_rows(dh) if dh is not None else None)
            return dx, dw, dx if ctx.has_residual else None, None, None


def _check(x, weight, residual):
    op = "rms_norm"
    check_nonempty_rows(op, x)
    check_float(op, "x", x)
    check_same_device(op, x=x, weight=weight, residual=residual)
    if weight is not None:
        check_float(op, "weight", weight)
        check_shape(op, "weight", weight, (x.shape[-1],))
    if residual is not None:
        check_shape(op, "residual", residual, tuple(x.shape))
        if residual.dtype != x.dtype:
            raise TypeError(f"{op}: residual dtype {residual.dtype} differs from x dtype {x.dtype}")


@foreign_arrays
def rms_norm(x, weight=None, eps: float = 1e-6, residual=None):
    """RMSNorm over the last dim. With `residual`, returns (y, x + residual)."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.rms_norm(x, weight, eps, residual)
    _check(x, weight, residual)
    shape = x.shape
    rows = as_rows(x)
    res_rows = as_rows(residual) if residual is not None else None
    impl = _registry.select(KERNEL, rows, weight, res_rows, eps)
    if needs_autograd(x, weight, residual):
        out = RMSNormFunction.apply(rows, weight, res_rows, float(eps), impl)
    else:
        y, h, _ = impl.forward(rows, weight, res_rows, float(eps))
        out = y if h is None else (y, h)
    if len(shape) == 2:  # the rows are the input's shape already
        return out
    if residual is None:
        return out.view(shape)
    return out[0].view(shape), out[1].view(shape)


@foreign_arrays
def rms_norm_forward(x2d, weight, eps, residual=None):
    """The forward of 2-D rows without autograd: (y, h or None, rstd float32 per row)."""
    return _registry.select(KERNEL, x2d, weight, residual, eps).forward(x2d, weight, residual, eps)


@foreign_arrays
def rms_norm_backward(dy2d, h2d, weight, rstd, dh2d=None):
    """Gradients (dx, dweight) from rms_norm_forward's saved rows and statistics."""
    # eps None: a backward's selection (the backends' per-input preferences read it)
    impl = _registry.select(KERNEL, h2d, weight, None, None)
    return impl.backward(dy2d, h2d, weight, rstd, dh2d)
