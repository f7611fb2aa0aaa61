"""LayerNorm over the last dimension, with an optional fused residual add.

y = (h - mean(h)) / sqrt(var(h) + eps) * weight + bias, where h = x, or h = x + residual (rounded
to x's dtype and returned, as rms_norm does). Statistics in float32: rows that fit in registers
take the exact two-pass mean/variance in registers; longer rows use per-lane Welford updates
merged with Chan's formula, which stays accurate when |mean| >> std (sum/sumsq would cancel).
"""

from __future__ import annotations

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty, empty_like
from ._checks import check_float, check_nonempty_rows, check_same_device, check_shape
from ._compat import compiling, needs_autograd, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import (as_rows, backward_programs, pipeline_stages, reference_reason, row_launch,
                      triton_reason)
from ._norm_grads import norm_param_grads, sum_partials

KERNEL = "layer_norm"


# ---------------------------------------------------------------------------------------------
# Triton kernels


@fast_launch
@triton.jit
def _layer_norm_fwd(X, R, W, B, Y, H, MEAN, RSTD, stride_x, stride_r, stride_y, stride_h, N, eps,
                    HAS_RESIDUAL: tl.constexpr, HAS_WEIGHT: tl.constexpr, HAS_BIAS: tl.constexpr,
                    BLOCK: tl.constexpr, SINGLE_PASS: tl.constexpr):
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
        mean = tl.sum(x, axis=0) / N
        xc = tl.where(mask, x - mean, 0.0)
        rstd = tl.rsqrt(tl.sum(xc * xc, axis=0) / N + eps)
        y = xc * rstd
        if HAS_WEIGHT:
            y = y * tl.load(W + cols, mask=mask).to(tl.float32)
        if HAS_BIAS:
            y = y + tl.load(B + cols, mask=mask).to(tl.float32)
        tl.store(Y + cols, y.to(Y.dtype.element_ty), mask=mask)
    else:
        # Each lane keeps a running (count, mean, M2) over the blocks it sees.
        count = tl.zeros([BLOCK], dtype=tl.float32)
        lane_mean = tl.zeros([BLOCK], dtype=tl.float32)
        lane_m2 = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
            if HAS_RESIDUAL:
                h = (x + tl.load(R + cols, mask=mask, other=0.0).to(tl.float32)).to(H.dtype.element_ty)
                tl.store(H + cols, h, mask=mask)
                x = h.to(tl.float32)
            count += mask.to(tl.float32)
            delta = x - lane_mean
            lane_mean += tl.where(mask, delta / tl.maximum(count, 1.0), 0.0)
            lane_m2 += tl.where(mask, delta * (x - lane_mean), 0.0)
        mean = tl.sum(count * lane_mean, axis=0) / N
        spread = lane_mean - mean
        rstd = tl.rsqrt(tl.sum(lane_m2 + count * spread * spread, axis=0) / N + eps)
        for start in range(0, N, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < N
            if HAS_RESIDUAL:
                x = tl.load(H + cols, mask=mask, other=0.0).to(tl.float32)
            else:
                x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
            y = (x - mean) * rstd
            if HAS_WEIGHT:
                y = y * tl.load(W + cols, mask=mask).to(tl.float32)
            if HAS_BIAS:
                y = y + tl.load(B + cols, mask=mask).to(tl.float32)
            tl.store(Y + cols, y.to(Y.dtype.element_ty), mask=mask)
    tl.store(MEAN + row, mean)
    tl.store(RSTD + row, rstd)


@fast_launch
@triton.jit
def _layer_norm_bwd(DY, X, W, MEAN, RSTD, DH, DX, PARTIAL, stride_dy, stride_x, stride_dh,
                    stride_dx, M, N, HAS_WEIGHT: tl.constexpr, HAS_BIAS: tl.constexpr,
                    HAS_DH: tl.constexpr, SUMS: tl.constexpr, BLOCK: tl.constexpr,
                    SINGLE_PASS: tl.constexpr, STAGES: tl.constexpr):
    # Program p walks rows p, p + programs, ... With SUMS (single pass only) it also keeps its
    # share of dweight and dbias in float32: row p of PARTIAL's dweight rows, then of its dbias
    # rows. Masked lanes load dy = 0, so they add nothing.
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = cols < N
        if HAS_WEIGHT:
            w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
        dw = tl.zeros([BLOCK], dtype=tl.float32)
        db = tl.zeros([BLOCK], dtype=tl.float32)
        # Triton stages the next rows' loads in shared memory (STAGES deep), so an SM keeps
        # reading while it reduces the current row.
        for row in tl.range(pid, M, programs, num_stages=STAGES):
            row64 = tl.cast(row, tl.int64)
            x = tl.load(X + row64 * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(DY + row64 * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
            mean = tl.load(MEAN + row)
            rstd = tl.load(RSTD + row)
            xhat = (x - mean) * rstd
            g = dy
            if HAS_WEIGHT:
                g = dy * w
                if SUMS:
                    dw += dy * xhat
            if HAS_BIAS and SUMS:
                db += dy
            dx = rstd * (g - xhat * (tl.sum(g * xhat, axis=0) / N) - tl.sum(g, axis=0) / N)
            if HAS_DH:
                dx += tl.load(DH + row64 * stride_dh + cols, mask=mask, other=0.0).to(tl.float32)
            tl.store(DX + row64 * stride_dx + cols, dx.to(DX.dtype.element_ty), mask=mask)
        if SUMS:
            partial_row = pid.to(tl.int64)
            if HAS_WEIGHT:
                tl.store(PARTIAL + partial_row * N + cols, dw, mask=mask)
                partial_row += programs
            if HAS_BIAS:
                tl.store(PARTIAL + partial_row * N + cols, db, mask=mask)
    else:
        for row in range(pid, M, programs):
            row64 = tl.cast(row, tl.int64)
            mean = tl.load(MEAN + row)
            rstd = tl.load(RSTD + row)
            acc_gx = tl.zeros([BLOCK], dtype=tl.float32)
            acc_g = tl.zeros([BLOCK], dtype=tl.float32)
            for start in range(0, N, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = cols < N
                x = tl.load(X + row64 * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
                g = tl.load(DY + row64 * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
                if HAS_WEIGHT:
                    g = g * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
                acc_gx += g * (x - mean) * rstd
                acc_g += g
            mean_gx = tl.sum(acc_gx, axis=0) / N
            mean_g = tl.sum(acc_g, axis=0) / N
            for start in range(0, N, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = cols < N
                x = tl.load(X + row64 * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
                g = tl.load(DY + row64 * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
                if HAS_WEIGHT:
                    g = g * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
                dx = rstd * (g - (x - mean) * rstd * mean_gx - mean_g)
                if HAS_DH:
                    dx += tl.load(DH + row64 * stride_dh + cols, mask=mask, other=0.0).to(tl.float32)
                tl.store(DX + row64 * stride_dx + cols, dx.to(DX.dtype.element_ty), mask=mask)


def _triton_forward(x, weight, bias, residual, eps):
    m, n = x.shape
    block, warps, single = row_launch(n)
    y = empty_like(x)
    h = empty_like(x) if residual is not None else None
    mean = empty((m,), "float32", like=x)
    rstd = empty((m,), "float32", like=x)
    if m:
        _layer_norm_fwd[(m,)](
            x, residual, weight, bias, y, h, mean, rstd, x.stride(0),
            residual.stride(0) if residual is not None else 0, y.stride(0),
            h.stride(0) if h is not None else 0, n, eps,
            HAS_RESIDUAL=residual is not None, HAS_WEIGHT=weight is not None,
            HAS_BIAS=bias is not None, BLOCK=block, SINGLE_PASS=single, num_warps=warps)
    return y, h, mean, rstd


# Longest row whose backward also sums dweight and dbias in registers (longer rows spill).
_MAX_SUMS_BLOCK = 8192


def _triton_backward(dy, x, weight, bias, mean, rstd, dh):
    m, n = x.shape
    block, warps, single = row_launch(n)
    dx = empty_like(x)
    params = [p for p in (weight, bias) if p is not None]
    programs = backward_programs(x, m, warps)
    sums = single and block <= _MAX_SUMS_BLOCK and bool(params)
    # the dweight and dbias partial rows in one array, summed by one launch
    partial = empty((len(params), programs, n), "float32", like=x) if sums else None
    stages = pipeline_stages(block, sum(t.element_size() for t in (x, dy, dh) if t is not None))
    _layer_norm_bwd[(programs,)](
        dy, x, weight, mean, rstd, dh, dx, partial, dy.stride(0), x.stride(0),
        dh.stride(0) if dh is not None else 0, dx.stride(0), m, n,
        HAS_WEIGHT=weight is not None, HAS_BIAS=bias is not None, HAS_DH=dh is not None,
        SUMS=sums, BLOCK=block, SINGLE_PASS=single, STAGES=stages if single else 1,
        num_warps=warps)
    if sums:
        dw, db = sum_partials(partial, weight, bias)
    else:
        dw, db = norm_param_grads(dy, x, mean, rstd, weight, bias)
    return dx, dw, db


def _triton_supports(x, weight, bias, residual, eps):
    return triton_reason(x, weight, bias, residual)


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_forward(x, weight, bias, residual, eps):
    h = (x + residual) if residual is not None else None
    src = (h if h is not None else x).float()
    mean = src.mean(-1)
    centered = src - mean[:, None]
    rstd = torch.rsqrt(centered.pow(2).mean(-1) + eps)
    y = centered * rstd[:, None]
    if weight is not None:
        y = y * weight.float()
    if bias is not None:
        y = y + bias.float()
    return y.to(x.dtype), h, mean, rstd


def _reference_backward(dy, x, weight, bias, mean, rstd, dh):
    xhat = (x.float() - mean[:, None]) * rstd[:, None]
    g = dy.float() * weight.float() if weight is not None else dy.float()
    dx = rstd[:, None] * (g - xhat * (g * xhat).mean(-1, keepdim=True) - g.mean(-1, keepdim=True))
    if dh is not None:
        dx = dx + dh.float()
    dw = (dy.float() * xhat).sum(0).to(weight.dtype) if weight is not None else None
    db = dy.float().sum(0).to(bias.dtype) if bias is not None else None
    return dx.to(x.dtype), dw, db


def _reference_supports(x, weight, bias, residual, eps):
    return reference_reason(x, weight, bias, residual)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class LayerNormFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias, residual, eps, impl):
            y, h, mean, rstd = impl.forward(x, weight, bias, residual, eps)
            ctx.save_for_backward(h if h is not None else x, weight, bias, mean, rstd)
            ctx.impl = impl
            ctx.has_residual = residual is not None
            if h is None:
                return y
            return y, h

        @staticmethod
        def backward(ctx, dy, dh=None):
            x, weight, bias, mean, rstd = ctx.saved_tensors
            dx, dw, db = ctx.impl.backward(as_rows(dy), x, weight, bias, mean, rstd,
                                           as_rows(dh) if dh is not None else None)
            return dx, dw, db, dx if ctx.has_residual else None, None, None


def _check(x, weight, bias, residual):
    op = "layer_norm"
    check_nonempty_rows(op, x)
    check_float(op, "x", x)
    check_same_device(op, x=x, weight=weight, bias=bias, residual=residual)
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None:
            check_float(op, name, param)
            check_shape(op, name, param, (x.shape[-1],))
    if residual is not None:
        check_shape(op, "residual", residual, tuple(x.shape))
        if residual.dtype != x.dtype:
            raise TypeError(f"{op}: residual dtype {residual.dtype} differs from x dtype {x.dtype}")


@foreign_arrays
def layer_norm(x, weight=None, bias=None, eps: float = 1e-5, residual=None):
    """LayerNorm over the last dim. With `residual`, returns (y, x + residual)."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.layer_norm(x, weight, bias, eps, residual)
    _check(x, weight, bias, residual)
    shape = x.shape
    rows = as_rows(x)
    res_rows = as_rows(residual) if residual is not None else None
    impl = _registry.select(KERNEL, rows, weight, bias, res_rows, eps)
    if needs_autograd(x, weight, bias, residual):
        out = LayerNormFunction.apply(rows, weight, bias, res_rows, float(eps), impl)
    else:
        y, h, _, _ = impl.forward(rows, weight, bias, res_rows, float(eps))
        out = y if h is None else (y, h)
    if len(shape) == 2:  # the rows are the input's shape already
        return out
    if residual is None:
        return out.view(shape)
    return out[0].view(shape), out[1].view(shape)


@foreign_arrays
def layer_norm_forward(x2d, weight, bias, eps, residual=None):
    """The forward of 2-D rows without autograd: (y, h or None, mean, rstd), float32 statistics."""
    impl = _registry.select(KERNEL, x2d, weight, bias, residual, eps)
    return impl.forward(x2d, weight, bias, residual, eps)


@foreign_arrays
def layer_norm_backward(dy2d, h2d, weight, bias, mean, rstd, dh2d=None):
    """Gradients (dx, dweight, dbias) from layer_norm_forward's saved rows and statistics."""
    # eps None: a backward's selection (the backends' per-input preferences read it)
    impl = _registry.select(KERNEL, h2d, weight, bias, None, None)
    return impl.backward(dy2d, h2d, weight, bias, mean, rstd, dh2d)
