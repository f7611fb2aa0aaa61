"""Cross-entropy over the last dimension of logits, with ignore_index, label smoothing and z-loss.

Per row: loss = lse - (1 - s) * x[t] - s / V * sum_j x[j] + z * lse^2, where lse = logsumexp(x),
s the label smoothing and z the z-loss weight (PaLM's auxiliary loss); rows whose target is
ignore_index give 0 and do not count towards the mean. The class dim is the last one (torch's
F.cross_entropy puts it at dim 1 for inputs of more than two dims).

The forward kernel reads each row once with an online logsumexp and writes its loss and lse; the
backward kernel recomputes the softmax from the logits and lse. With `inplace_backward=True` the
forward also writes the gradient into the logits' own memory (the logits are then gone), so a
training step reads the logits once and writes them once.

Targets outside [0, V) that are not ignore_index give a NaN loss (and NaN gradients) instead of
torch's error, which would need a host sync.

Class weights w (as torch): loss = (1 - s) w[t] (lse - x[t]) + s / V * sum_j w[j] (lse - x[j]),
and "mean" divides by the sum of w[t] over the rows that are not ignored (on the device).
Class probabilities as targets (a float target of the logits' shape, float64 too, read as float32;
kernel "cross_entropy_probs"): with u_j = w_j ((1 - s) target_j + s / V),
loss = lse * sum_j u_j - sum_j u_j x[j] (+ z * lse^2), "mean" divides by the number of rows; the
target gets a gradient too, in its own dtype.
"""

from __future__ import annotations

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty
from ._checks import (
    FLOAT_DTYPES,
    check_float,
    check_nonempty_rows,
    check_same_device,
    dtype_name,
)
from ._compat import compiling, needs_autograd, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import as_rows, reference_reason, row_launch, triton_reason

KERNEL = "cross_entropy"
PROBS_KERNEL = "cross_entropy_probs"  # class probabilities as targets (no CuTeDSL backend)
REDUCTIONS = ("mean", "sum", "none")
# torch takes float64 class probabilities with 16/32-bit logits; the kernels read them as float32.
PROBABILITY_DTYPES = (*FLOAT_DTYPES, "float64")
# Rows up to this many logits are read in one block; longer rows stream through an online
# logsumexp in blocks of 4096 (several rows in flight per SM hide the latency better than one
# huge block). Writing the gradient in place, rows up to _SINGLE_PASS_MAX_GRAD stay in registers
# (64 registers a thread at 32768 with 32 warps, no spills on sm_90) so the logits are read once.
_SINGLE_PASS_MAX = 16384
_SINGLE_PASS_MAX_GRAD = 32768
# The reductions over rows run in one program (a fixed order: deterministic) of wide blocks.
_REDUCE_BLOCK = 4096
_REDUCE_WARPS = 8


# ---------------------------------------------------------------------------------------------
# Triton kernels


@triton.jit
def _row_target(T, row, stride_t, V, ignore_index):
    t = tl.load(T + row * stride_t).to(tl.int64)
    return t, t != ignore_index, (t >= 0) & (t < V)


@triton.jit
def _row_grad_scale(G, row, stride_g, valid, in_range, HAS_G: tl.constexpr):
    # Ignored rows get no gradient; out-of-range targets poison their row with NaN.
    if HAS_G:
        g = tl.load(G + row * stride_g).to(tl.float32)
    else:
        g = 1.0
    return tl.where(valid, tl.where(in_range, g, float("nan")), 0.0)


@triton.jit
def _dlogits(p, cols, t, smooth_cols, hit, g):
    # d loss / d x_j = p_j (its coefficient folded in) - smoothing's share of class j - [j == t] hit
    return (p - smooth_cols - tl.where(cols == t, hit, 0.0)) * g


@triton.jit
def _smooth_cols(W, cols, mask, smoothing, V, HAS_WEIGHT: tl.constexpr,
                 HAS_SMOOTHING: tl.constexpr):
    # The smoothing term's gradient per class: s / V, or s / V * w_j with class weights.
    if HAS_WEIGHT:
        if HAS_SMOOTHING:
            share = smoothing / V * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
        else:
            share = 0.0
    else:
        share = smoothing / V
    return share


@triton.jit
def _target_share(W, t, valid, in_range, smoothing):
    # (1 - s) w[t]; ignored and out-of-range rows read nothing.
    w_t = tl.load(W + t, mask=valid & in_range, other=0.0).to(tl.float32)
    return (1.0 - smoothing) * w_t


@fast_launch
@triton.jit
def _cross_entropy_fwd(X, T, W, LOSS, LSE, G, stride_x, stride_t, stride_g, V, ignore_index,
                       smoothing, z_loss, HAS_SMOOTHING: tl.constexpr, HAS_Z: tl.constexpr,
                       HAS_WEIGHT: tl.constexpr, WRITE_GRAD: tl.constexpr, HAS_G: tl.constexpr,
                       BLOCK: tl.constexpr, SINGLE_PASS: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    X += row * stride_x
    t, valid, in_range = _row_target(T, row, stride_t, V, ignore_index)
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = (cols < V) & valid  # ignored rows read nothing
        x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
        m = tl.max(x, axis=0)
        m = tl.where(m == float("-inf"), 0.0, m)  # ignored or all -inf rows
        e = tl.exp(x - m)
        s = tl.where(valid, tl.sum(e, axis=0), 1.0)  # ignored rows: lse = 0, no log(0)
        if HAS_SMOOTHING:
            if HAS_WEIGHT:
                w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
                sum_x = tl.sum(w * tl.where(mask, x, 0.0), axis=0)
                w_sum = tl.sum(w, axis=0)
            else:
                sum_x = tl.sum(tl.where(mask, x, 0.0), axis=0)
    else:
        # Online logsumexp: a running max and per-lane sums rescaled when the max grows.
        m = tl.max(tl.full([BLOCK], float("-inf"), tl.float32), axis=0)
        s_lanes = tl.zeros([BLOCK], dtype=tl.float32)
        if HAS_SMOOTHING:
            x_lanes = tl.zeros([BLOCK], dtype=tl.float32)
            if HAS_WEIGHT:
                w_lanes = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, V, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = (cols < V) & valid
            x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
            m_new = tl.maximum(m, tl.max(x, axis=0))
            m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
            s_lanes = s_lanes * tl.exp(m - m_safe) + tl.exp(x - m_safe)
            m = m_new
            if HAS_SMOOTHING:
                if HAS_WEIGHT:
                    w = tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
                    x_lanes += w * tl.where(mask, x, 0.0)
                    w_lanes += w
                else:
                    x_lanes += tl.where(mask, x, 0.0)
        m = tl.where(m == float("-inf"), 0.0, m)
        s = tl.where(valid, tl.sum(s_lanes, axis=0), 1.0)
        if HAS_SMOOTHING:
            sum_x = tl.sum(x_lanes, axis=0)
            if HAS_WEIGHT:
                w_sum = tl.sum(w_lanes, axis=0)
    lse = m + tl.log(s)
    x_t = tl.load(X + t, mask=valid & in_range, other=0.0).to(tl.float32)
    if HAS_WEIGHT:
        # Every p_j carries the target's share plus smoothing's s / V * sum(w).
        hit = _target_share(W, t, valid, in_range, smoothing)
        loss = hit * (lse - x_t)
        p_coef = hit
        if HAS_SMOOTHING:
            loss += smoothing / V * (w_sum * lse - sum_x)
            p_coef += smoothing / V * w_sum
    else:
        hit = 1.0 - smoothing
        p_coef = 1.0
        if HAS_SMOOTHING:
            loss = lse - (1.0 - smoothing) * x_t - smoothing / V * sum_x
        else:
            loss = lse - x_t
    if HAS_Z:
        loss += z_loss * lse * lse
    loss = tl.where(valid, tl.where(in_range, loss, float("nan")), 0.0)
    tl.store(LOSS + row, loss)
    tl.store(LSE + row, lse)
    if WRITE_GRAD:
        g = _row_grad_scale(G, row, stride_g, valid, in_range, HAS_G)
        p_scale = p_coef
        if HAS_Z:
            p_scale += 2.0 * z_loss * lse
        if SINGLE_PASS:
            smooth = _smooth_cols(W, cols, mask, smoothing, V, HAS_WEIGHT, HAS_SMOOTHING)
            grad = _dlogits(e * (p_scale / s), cols, t, smooth, hit, g)
            tl.store(X + cols, grad.to(X.dtype.element_ty), mask=cols < V)
        else:
            # The row was just read, so this second read mostly hits L2.
            for start in range(0, V, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                mask = (cols < V) & valid
                x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
                smooth = _smooth_cols(W, cols, mask, smoothing, V, HAS_WEIGHT, HAS_SMOOTHING)
                grad = _dlogits(tl.exp(x - lse) * p_scale, cols, t, smooth, hit, g)
                tl.store(X + cols, grad.to(X.dtype.element_ty), mask=cols < V)


@fast_launch
@triton.jit
def _cross_entropy_bwd(X, T, W, LSE, G, DX, stride_x, stride_t, stride_g, stride_dx, V,
                       ignore_index, smoothing, z_loss, HAS_Z: tl.constexpr,
                       HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr,
                       BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    X += row * stride_x
    DX += row * stride_dx
    t, valid, in_range = _row_target(T, row, stride_t, V, ignore_index)
    g = _row_grad_scale(G, row, stride_g, valid, in_range, True)
    lse = tl.load(LSE + row)
    if HAS_WEIGHT:
        hit = _target_share(W, t, valid, in_range, smoothing)
        p_scale = hit
        if HAS_SMOOTHING:
            # sum(w) enters every p_j; the weights stay in L2 after the first rows read them.
            w_lanes = tl.zeros([BLOCK], dtype=tl.float32)
            for start in range(0, V, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                w_lanes += tl.load(W + cols, mask=(cols < V) & valid, other=0.0).to(tl.float32)
            p_scale += smoothing / V * tl.sum(w_lanes, axis=0)
    else:
        hit = 1.0 - smoothing
        p_scale = 1.0
    if HAS_Z:
        p_scale += 2.0 * z_loss * lse
    for start in range(0, V, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        mask = (cols < V) & valid
        x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
        smooth = _smooth_cols(W, cols, mask, smoothing, V, HAS_WEIGHT, HAS_SMOOTHING)
        grad = _dlogits(tl.exp(x - lse) * p_scale, cols, t, smooth, hit, g)
        tl.store(DX + cols, grad.to(DX.dtype.element_ty), mask=cols < V)


@triton.jit
def _target_mass(P, W, cols, mask, smoothing, V, HAS_WEIGHT: tl.constexpr,
                 HAS_SMOOTHING: tl.constexpr):
    # u_j = w_j ((1 - s) p_j + s / V): what class j's log-probability is weighted by; 0 outside.
    u = tl.load(P + cols, mask=mask, other=0.0).to(tl.float32)
    if HAS_SMOOTHING:
        u = tl.where(mask, u * (1.0 - smoothing) + smoothing / V, 0.0)
    if HAS_WEIGHT:
        u = u * tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
    return u


@fast_launch
@triton.jit
def _cross_entropy_probs_fwd(X, P, W, LOSS, LSE, MASS, stride_x, stride_p, V, smoothing, z_loss,
                             HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr,
                             HAS_Z: tl.constexpr, BLOCK: tl.constexpr, SINGLE_PASS: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    X += row * stride_x
    P += row * stride_p
    if SINGLE_PASS:
        cols = tl.arange(0, BLOCK)
        mask = cols < V
        x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
        u = _target_mass(P, W, cols, mask, smoothing, V, HAS_WEIGHT, HAS_SMOOTHING)
        m = tl.max(x, axis=0)
        m = tl.where(m == float("-inf"), 0.0, m)
        s = tl.sum(tl.exp(x - m), axis=0)
        mass = tl.sum(u, axis=0)
        sum_ux = tl.sum(u * tl.where(mask, x, 0.0), axis=0)
    else:
        m = tl.max(tl.full([BLOCK], float("-inf"), tl.float32), axis=0)
        s_lanes = tl.zeros([BLOCK], dtype=tl.float32)
        u_lanes = tl.zeros([BLOCK], dtype=tl.float32)
        ux_lanes = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, V, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            mask = cols < V
            x = tl.load(X + cols, mask=mask, other=float("-inf")).to(tl.float32)
            u = _target_mass(P, W, cols, mask, smoothing, V, HAS_WEIGHT, HAS_SMOOTHING)
            m_new = tl.maximum(m, tl.max(x, axis=0))
            m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
            s_lanes = s_lanes * tl.exp(m - m_safe) + tl.exp(x - m_safe)
            m = m_new
            u_lanes += u
            ux_lanes += u * tl.where(mask, x, 0.0)
        m = tl.where(m == float("-inf"), 0.0, m)
        s = tl.sum(s_lanes, axis=0)
        mass = tl.sum(u_lanes, axis=0)
        sum_ux = tl.sum(ux_lanes, axis=0)
    lse = m + tl.log(s)
    loss = lse * mass - sum_ux
    if HAS_Z:
        loss += z_loss * lse * lse
    tl.store(LOSS + row, loss)
    tl.store(LSE + row, lse)
    tl.store(MASS + row, mass)


@fast_launch
@triton.jit
def _cross_entropy_probs_bwd(X, P, W, LSE, MASS, G, DX, DP, stride_x, stride_p, stride_g,
                             stride_dx, stride_dp, V, smoothing, z_loss, HAS_WEIGHT: tl.constexpr,
                             HAS_SMOOTHING: tl.constexpr, HAS_Z: tl.constexpr,
                             WANT_DP: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    X += row * stride_x
    P += row * stride_p
    DX += row * stride_dx
    g = tl.load(G + row * stride_g).to(tl.float32)
    lse = tl.load(LSE + row)
    # d loss / d x_j = p_j (sum(u) + 2 z lse) - u_j
    p_scale = tl.load(MASS + row)
    if HAS_Z:
        p_scale += 2.0 * z_loss * lse
    for start in range(0, V, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        mask = cols < V
        x = tl.load(X + cols, mask=mask, other=0.0).to(tl.float32)
        u = _target_mass(P, W, cols, mask, smoothing, V, HAS_WEIGHT, HAS_SMOOTHING)
        grad = (tl.exp(x - lse) * p_scale - u) * g
        tl.store(DX + cols, grad.to(DX.dtype.element_ty), mask=mask)
        if WANT_DP:
            # d loss / d target_j = -(1 - s) w_j log_softmax(x)_j
            dp = (lse - x) * ((1.0 - smoothing) * g)
            if HAS_WEIGHT:
                dp *= tl.load(W + cols, mask=mask, other=0.0).to(tl.float32)
            tl.store(DP + row * stride_dp + cols, dp.to(DP.dtype.element_ty), mask=mask)


@triton.jit
def _counted_rows(T, W, r, mask, stride_t, ignore_index, V, HAS_WEIGHT: tl.constexpr,
                  ALL_ROWS: tl.constexpr):
    # (rows that are not ignored, what each adds to the mean's denominator: 1 or its class's
    # weight; out-of-range targets add 0, their own rows are NaN already)
    if ALL_ROWS:
        valid = mask
    else:
        t = tl.load(T + r.to(tl.int64) * stride_t, mask=mask, other=ignore_index)
        valid = mask & (t != ignore_index)
    if HAS_WEIGHT:
        counted = tl.load(W + t, mask=valid & (t >= 0) & (t < V), other=0.0).to(tl.float32)
    else:
        counted = valid.to(tl.float32)
    return valid, counted


@fast_launch
@triton.jit
def _reduce_rows(LOSS, LSE, T, W, OUT, OUT_Z, COUNT, N, V, stride_t, ignore_index, z_loss,
                 MEAN: tl.constexpr, WANT_Z: tl.constexpr, HAS_WEIGHT: tl.constexpr,
                 ALL_ROWS: tl.constexpr, BLOCK: tl.constexpr):
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    acc_z = tl.zeros([BLOCK], dtype=tl.float32)
    acc_n = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, N, BLOCK):
        r = start + tl.arange(0, BLOCK)
        mask = r < N
        valid, counted = _counted_rows(T, W, r, mask, stride_t, ignore_index, V, HAS_WEIGHT,
                                       ALL_ROWS)
        acc += tl.load(LOSS + r, mask=mask, other=0.0)
        acc_n += counted
        if WANT_Z:
            lse = tl.load(LSE + r, mask=valid, other=0.0)
            acc_z += z_loss * lse * lse
    count = tl.sum(acc_n, axis=0)
    total = tl.sum(acc, axis=0)
    total_z = tl.sum(acc_z, axis=0)
    if MEAN:
        total = total / count
        total_z = total_z / count
    tl.store(OUT, total.to(OUT.dtype.element_ty))
    if WANT_Z:
        tl.store(OUT_Z, total_z.to(OUT_Z.dtype.element_ty))
    tl.store(COUNT, count)


@fast_launch
@triton.jit
def _finish_rows(LOSS, LSE, T, OUT, OUT_Z, N, stride_t, ignore_index, z_loss,
                 WANT_Z: tl.constexpr, ALL_ROWS: tl.constexpr, BLOCK: tl.constexpr):
    r = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = r < N
    tl.store(OUT + r, tl.load(LOSS + r, mask=mask).to(OUT.dtype.element_ty), mask=mask)
    if WANT_Z:
        if ALL_ROWS:
            lse = tl.load(LSE + r, mask=mask, other=0.0)
        else:
            t = tl.load(T + r * stride_t, mask=mask, other=ignore_index)
            lse = tl.load(LSE + r, mask=mask & (t != ignore_index), other=0.0)
        tl.store(OUT_Z + r, (z_loss * lse * lse).to(OUT_Z.dtype.element_ty), mask=mask)


@fast_launch
@triton.jit
def _inverse_count(T, W, OUT, N, V, stride_t, ignore_index, HAS_WEIGHT: tl.constexpr,
                   BLOCK: tl.constexpr):
    acc_n = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, N, BLOCK):
        r = start + tl.arange(0, BLOCK)
        _, counted = _counted_rows(T, W, r, r < N, stride_t, ignore_index, V, HAS_WEIGHT, False)
        acc_n += counted
    tl.store(OUT, 1.0 / tl.sum(acc_n, axis=0))


@fast_launch
@triton.jit
def _scale_rows(X, G, stride_x, stride_g, rows, n, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # The usual upstream gradient is 1: such tiles cost a load of BLOCK_R scales and no traffic.
    r = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    g = tl.load(G + r * stride_g, mask=r < rows, other=1.0).to(tl.float32)
    if tl.sum((g != 1.0).to(tl.int32), axis=0) != 0:
        for start in range(0, n, BLOCK_C):
            cols = start + tl.arange(0, BLOCK_C)
            mask = (r[:, None] < rows) & (cols[None, :] < n)
            ptrs = X + r[:, None] * stride_x + cols[None, :]
            x = tl.load(ptrs, mask=mask).to(tl.float32)
            tl.store(ptrs, (x * g[:, None]).to(X.dtype.element_ty), mask=mask)


def _numel(x) -> int:
    n = 1
    for s in x.shape:
        n *= s
    return n


def _row_stride(x) -> int:
    """Stride between rows of a per-row array; 0 for a single value that every row shares."""
    return 0 if _numel(x) == 1 else x.stride(0)


def _triton_forward(logits, target, ignore_index, label_smoothing, z_loss, inplace_backward=False,
                    grad_scale=None, weight=None):
    m, v = logits.shape
    max_block = _SINGLE_PASS_MAX_GRAD if inplace_backward else _SINGLE_PASS_MAX
    block, warps, single = row_launch(v, max_block)
    loss = empty((m,), "float32", like=logits)
    lse = empty((m,), "float32", like=logits)
    if m:
        _cross_entropy_fwd[(m,)](
            logits, target, weight, loss, lse, grad_scale, logits.stride(0), target.stride(0),
            _row_stride(grad_scale) if grad_scale is not None else 0, v, int(ignore_index),
            float(label_smoothing), float(z_loss), HAS_SMOOTHING=label_smoothing != 0.0,
            HAS_Z=z_loss != 0.0, HAS_WEIGHT=weight is not None,
            WRITE_GRAD=bool(inplace_backward), HAS_G=grad_scale is not None, BLOCK=block,
            SINGLE_PASS=single, num_warps=warps)
    return loss, lse


def _triton_backward(logits, target, lse, grad_per_row, ignore_index, label_smoothing, z_loss,
                     weight=None):
    m, v = logits.shape
    block, warps, _ = row_launch(v, _SINGLE_PASS_MAX)
    dlogits = empty((m, v), dtype_name(logits), like=logits)
    if m:
        _cross_entropy_bwd[(m,)](
            logits, target, weight, lse, grad_per_row, dlogits, logits.stride(0),
            target.stride(0), _row_stride(grad_per_row), dlogits.stride(0), v, int(ignore_index),
            float(label_smoothing), float(z_loss), HAS_Z=z_loss != 0.0,
            HAS_WEIGHT=weight is not None,
            # read with weights only: unweighted calls keep one compiled variant for any smoothing
            HAS_SMOOTHING=weight is not None and label_smoothing != 0.0, BLOCK=block,
            num_warps=warps)
    return dlogits


def _triton_supports(logits, target, ignore_index, label_smoothing, z_loss, weight=None):
    return triton_reason(logits, target, weight)


def _triton_reduce(loss_rows, lse, target, ignore_index, z_loss, reduction, dtype, want_z,
                   weight=None):
    n = loss_rows.shape[0]
    stride_t = target.stride(0) if target is not None else 0  # no target: every row counts
    if reduction == "none":
        if dtype == "float32" and not want_z:
            return loss_rows, None, None
        out = empty((n,), dtype, like=loss_rows)
        out_z = empty((n,), dtype, like=loss_rows) if want_z else None
        if n:
            _finish_rows[(triton.cdiv(n, 1024),)](
                loss_rows, lse, target, out, out_z, n, stride_t, int(ignore_index),
                float(z_loss), WANT_Z=want_z, ALL_ROWS=target is None, BLOCK=1024)
        return out, out_z, None
    out = empty((), dtype, like=loss_rows)
    out_z = empty((), dtype, like=loss_rows) if want_z else None
    count = empty((), "float32", like=loss_rows)
    _reduce_rows[(1,)](loss_rows, lse, target, weight, out, out_z, count, n,
                       weight.shape[0] if weight is not None else 0, stride_t, int(ignore_index),
                       float(z_loss), MEAN=reduction == "mean", WANT_Z=want_z,
                       HAS_WEIGHT=weight is not None, ALL_ROWS=target is None,
                       BLOCK=_REDUCE_BLOCK, num_warps=_REDUCE_WARPS)
    return out, out_z, count


def _triton_inverse_count(target, ignore_index, weight=None):
    out = empty((), "float32", like=target)
    _inverse_count[(1,)](target, weight, out, target.shape[0],
                         weight.shape[0] if weight is not None else 0, target.stride(0),
                         int(ignore_index), HAS_WEIGHT=weight is not None, BLOCK=_REDUCE_BLOCK,
                         num_warps=_REDUCE_WARPS)
    return out


def _triton_probs_forward(logits, probs, label_smoothing, z_loss, weight=None):
    m, v = logits.shape
    block, warps, single = row_launch(v, _SINGLE_PASS_MAX)
    loss = empty((m,), "float32", like=logits)
    lse = empty((m,), "float32", like=logits)
    mass = empty((m,), "float32", like=logits)
    if m:
        _cross_entropy_probs_fwd[(m,)](
            logits, probs, weight, loss, lse, mass, logits.stride(0), probs.stride(0), v,
            float(label_smoothing), float(z_loss), HAS_WEIGHT=weight is not None,
            HAS_SMOOTHING=label_smoothing != 0.0, HAS_Z=z_loss != 0.0, BLOCK=block,
            SINGLE_PASS=single, num_warps=warps)
    return loss, lse, mass


def _triton_probs_backward(logits, probs, lse, mass, grad_per_row, label_smoothing, z_loss,
                           weight=None, want_dprobs=False):
    m, v = logits.shape
    block, warps, _ = row_launch(v, _SINGLE_PASS_MAX)
    dlogits = empty((m, v), dtype_name(logits), like=logits)
    dprobs = empty((m, v), dtype_name(probs), like=probs) if want_dprobs else None
    if m:
        _cross_entropy_probs_bwd[(m,)](
            logits, probs, weight, lse, mass, grad_per_row, dlogits, dprobs, logits.stride(0),
            probs.stride(0), _row_stride(grad_per_row), dlogits.stride(0),
            dprobs.stride(0) if want_dprobs else 0, v, float(label_smoothing), float(z_loss),
            HAS_WEIGHT=weight is not None, HAS_SMOOTHING=label_smoothing != 0.0,
            HAS_Z=z_loss != 0.0, WANT_DP=bool(want_dprobs), BLOCK=block, num_warps=warps)
    return dlogits, dprobs


def _triton_probs_supports(logits, probs, label_smoothing, z_loss, weight=None):
    return triton_reason(logits, probs, weight)


def _triton_scale_rows_(x2d, g):
    rows, n = x2d.shape
    if rows and n:
        block_c = min(triton.next_power_of_2(n), 1024)
        block_r = max(1, 4096 // block_c)
        _scale_rows[(triton.cdiv(rows, block_r),)](x2d, g, x2d.stride(0), _row_stride(g), rows, n,
                                                   BLOCK_R=block_r, BLOCK_C=block_c, num_warps=8)
    return x2d


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_masks(target, ignore_index, v):
    t = target.long()
    valid = t != ignore_index
    in_range = (t >= 0) & (t < v)
    return t, valid, in_range


def _reference_grad_scale(scale, valid, in_range):
    g = scale.float().reshape(-1).expand(valid.shape[0]) if scale is not None else 1.0
    g = torch.where(in_range, g, float("nan"))
    return torch.where(valid, g, 0.0)


def _reference_target_weight(weight, t, valid, in_range):
    """w[t] per row in float32; 0 for ignored and out-of-range targets."""
    hit = valid & in_range
    return torch.where(hit, weight.float()[torch.where(hit, t, 0)], 0.0)


def _reference_dlogits(x, t, valid, in_range, lse, g, label_smoothing, z_loss, weight=None):
    v = x.shape[1]
    p = torch.exp(x - lse[:, None])
    hit = torch.zeros_like(p).scatter_(1, torch.where(valid & in_range, t, 0)[:, None],
                                       (valid & in_range).float()[:, None])
    if weight is None:
        coef, smooth, hit_scale = 1.0, label_smoothing / v, 1.0 - label_smoothing
    else:
        w = weight.float()
        hit_scale = (1.0 - label_smoothing) * _reference_target_weight(w, t, valid, in_range)
        hit_scale = hit_scale[:, None]
        coef = hit_scale + label_smoothing / v * w.sum()
        smooth = label_smoothing / v * w
    if z_loss:
        coef = coef + 2.0 * z_loss * lse[:, None]
    grad = p * coef - smooth - hit_scale * hit
    return torch.where(valid[:, None], grad * g[:, None], 0.0)


def _reference_forward(logits, target, ignore_index, label_smoothing, z_loss,
                       inplace_backward=False, grad_scale=None, weight=None):
    x = logits.float()
    t, valid, in_range = _reference_masks(target, ignore_index, x.shape[1])
    lse = torch.logsumexp(x, -1)
    x_t = x.gather(1, torch.where(valid & in_range, t, 0)[:, None])[:, 0]
    if weight is None:
        loss = lse - (1.0 - label_smoothing) * x_t
        if label_smoothing:
            loss = loss - label_smoothing * x.mean(-1)
    else:
        w = weight.float()
        w_t = _reference_target_weight(w, t, valid, in_range)
        loss = (1.0 - label_smoothing) * w_t * (lse - x_t)
        if label_smoothing:
            loss = loss + label_smoothing / x.shape[1] * (w.sum() * lse - (x * w).sum(-1))
    if z_loss:
        loss = loss + z_loss * lse.square()
    loss = torch.where(valid, torch.where(in_range, loss, float("nan")), 0.0)
    lse = torch.where(valid, lse, 0.0)
    if inplace_backward:
        g = _reference_grad_scale(grad_scale, valid, in_range)
        logits.copy_(_reference_dlogits(x, t, valid, in_range, lse, g, label_smoothing, z_loss,
                                        weight))
    return loss, lse


def _reference_backward(logits, target, lse, grad_per_row, ignore_index, label_smoothing, z_loss,
                        weight=None):
    x = logits.float()
    t, valid, in_range = _reference_masks(target, ignore_index, x.shape[1])
    g = _reference_grad_scale(grad_per_row, valid, in_range)
    grad = _reference_dlogits(x, t, valid, in_range, lse, g, label_smoothing, z_loss, weight)
    return grad.to(logits.dtype)


def _reference_supports(logits, target, ignore_index, label_smoothing, z_loss, weight=None):
    return reference_reason(logits, target, weight)


def mean_denominator(target, ignore_index, weight=None):
    """What "mean" divides by (torch tensors): the number of targets that are not ignore_index,
    or with class weights the sum of their classes' weights (out-of-range targets add 0)."""
    t = target.long()
    valid = t != ignore_index
    if weight is None:
        return valid.sum(dtype=torch.float32)
    return _reference_target_weight(weight, t, valid, (t >= 0) & (t < weight.shape[0])).sum()


def _reference_reduce(loss_rows, lse, target, ignore_index, z_loss, reduction, dtype, want_z,
                      weight=None):
    dtype = getattr(torch, dtype)
    z_rows = None
    if want_z:
        z_rows = z_loss * lse.square()
        if target is not None:
            z_rows = torch.where(target != ignore_index, z_rows, 0.0)
    if reduction == "none":
        return loss_rows.to(dtype), z_rows.to(dtype) if want_z else None, None
    if target is None:  # every row counts
        count = torch.full((), float(loss_rows.shape[0]), dtype=torch.float32,
                           device=loss_rows.device)
    else:
        count = mean_denominator(target, ignore_index, weight)
    total = loss_rows.sum()
    total_z = z_rows.sum() if want_z else None
    if reduction == "mean":
        total = total / count
        total_z = total_z / count if want_z else None
    return total.to(dtype), total_z.to(dtype) if want_z else None, count


def _reference_inverse_count(target, ignore_index, weight=None):
    return 1.0 / mean_denominator(target, ignore_index, weight)


def _reference_probs_mass(probs, label_smoothing, weight):
    """u_j = w_j ((1 - s) p_j + s / V) in float32."""
    u = probs.float()
    if label_smoothing:
        u = u * (1.0 - label_smoothing) + label_smoothing / u.shape[1]
    return u * weight.float() if weight is not None else u


def _reference_probs_forward(logits, probs, label_smoothing, z_loss, weight=None):
    x = logits.float()
    lse = torch.logsumexp(x, -1)
    u = _reference_probs_mass(probs, label_smoothing, weight)
    mass = u.sum(-1)
    loss = lse * mass - (u * x).sum(-1)
    if z_loss:
        loss = loss + z_loss * lse.square()
    return loss, lse, mass


def _reference_probs_backward(logits, probs, lse, mass, grad_per_row, label_smoothing, z_loss,
                              weight=None, want_dprobs=False):
    x = logits.float()
    g = grad_per_row.float().reshape(-1).expand(x.shape[0])[:, None]
    u = _reference_probs_mass(probs, label_smoothing, weight)
    coef = mass + 2.0 * z_loss * lse if z_loss else mass
    dlogits = (torch.exp(x - lse[:, None]) * coef[:, None] - u) * g
    dprobs = None
    if want_dprobs:
        dprobs = (lse[:, None] - x) * ((1.0 - label_smoothing) * g)
        if weight is not None:
            dprobs = dprobs * weight.float()
        dprobs = dprobs.to(probs.dtype)
    return dlogits.to(logits.dtype), dprobs


def _reference_probs_supports(logits, probs, label_smoothing, z_loss, weight=None):
    return reference_reason(logits, probs, weight)


def _reference_scale_rows_(x2d, g):
    return x2d.mul_(g.reshape(-1, 1))


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)
_registry.register(PROBS_KERNEL, "triton", _triton_probs_forward, _triton_probs_backward,
                   _triton_probs_supports)
_registry.register(PROBS_KERNEL, "reference", _reference_probs_forward,
                   _reference_probs_backward, _reference_probs_supports)


# Reductions and row scaling next to the kernels: torch ops for the reference backend, small
# Triton kernels otherwise (one launch each, no host sync, no torch needed).
def reduce_rows(backend, loss_rows, lse, target, ignore_index, z_loss, reduction, dtype, want_z,
                weight=None):
    """(loss, z-loss part or None, what "mean" divides by or None) from per-row results: the
    count of non-ignored rows, the sum of their targets' class weights with `weight`, or with
    target None (class probabilities) the number of rows."""
    fn = _reference_reduce if backend == "reference" else _triton_reduce
    return fn(loss_rows, lse, target, ignore_index, z_loss, reduction, dtype, want_z, weight)


def inverse_count(backend, target, ignore_index, weight=None):
    """1 / (number of targets that are not ignore_index, or the sum of their class weights), a
    float32 device scalar."""
    fn = _reference_inverse_count if backend == "reference" else _triton_inverse_count
    return fn(target, ignore_index, weight)


def scale_rows_(backend, x2d, g):
    """Multiplies row i of x2d by g[i] (or every row by a single g) in place."""
    fn = _reference_scale_rows_ if backend == "reference" else _triton_scale_rows_
    return fn(x2d, g)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

# The CuTeDSL impls take no weight: only weighted calls (which they refuse) pass one.
_UNWEIGHTED = {}


def _weighted(weight) -> dict:
    return _UNWEIGHTED if weight is None else {"weight": weight}


def loss_outputs(ctx, loss, z_part, return_z_loss):
    """An autograd Function's outputs: the loss, or (loss, z-loss part) with the part marked
    non-differentiable (it only reports the z-loss term inside the loss)."""
    if not return_z_loss:
        return loss
    ctx.mark_non_differentiable(z_part)
    return loss, z_part


if torch is not None:

    class CrossEntropyFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, logits, target, ignore_index, label_smoothing, z_loss, reduction,
                    return_z_loss, inplace_backward, impl, weight):
            backend = impl.backend
            kwargs = _weighted(weight)
            if inplace_backward:
                scale = None
                if reduction == "mean":
                    scale = inverse_count(backend, target, ignore_index, weight)
                loss_rows, lse = impl.forward(logits, target, ignore_index, label_smoothing, z_loss,
                                              inplace_backward=True, grad_scale=scale, **kwargs)
                # Autograd now sees the logits as modified: a graph that saved them raises.
                torch.autograd.graph.increment_version(logits)
            else:
                loss_rows, lse = impl.forward(logits, target, ignore_index, label_smoothing, z_loss,
                                              **kwargs)
            loss, z_part, count = reduce_rows(backend, loss_rows, lse, target, ignore_index, z_loss,
                                              reduction, dtype_name(logits), return_z_loss, weight)
            if inplace_backward:
                ctx.save_for_backward(logits)
            else:
                ctx.save_for_backward(logits, target, lse, count, weight)
            ctx.impl = impl
            ctx.args = (ignore_index, label_smoothing, z_loss, reduction, inplace_backward)
            ctx.used = False
            return loss_outputs(ctx, loss, z_part, return_z_loss)

        @staticmethod
        def backward(ctx, grad_loss, grad_z=None):
            ignore_index, label_smoothing, z_loss, reduction, inplace_backward = ctx.args
            if inplace_backward:
                # The gradient lives in the logits' memory and is scaled there: only once.
                if ctx.used:
                    raise RuntimeError("cross_entropy: with inplace_backward=True the gradient is "
                                       "computed in the logits' memory and can be taken only once")
                ctx.used = True
                dlogits, = ctx.saved_tensors
                scale_rows_(ctx.impl.backend, dlogits, grad_loss)
                # A fresh alias: gradient accumulation into a leaf then keeps it as the leaf's
                # .grad; the saved tensor itself it would copy (258 us at (8192, 32768) bf16).
                dlogits = dlogits.detach()
            else:
                logits, target, lse, count, weight = ctx.saved_tensors
                grad = grad_loss.float()
                if reduction == "mean":
                    grad = grad / count
                dlogits = ctx.impl.backward(logits, target, lse, grad, ignore_index,
                                            label_smoothing, z_loss, **_weighted(weight))
            return dlogits, None, None, None, None, None, None, None, None, None

    class ProbabilityCrossEntropyFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, logits, probs, weight, label_smoothing, z_loss, reduction, return_z_loss,
                    dtype, impl):
            loss_rows, lse, mass = impl.forward(logits, probs, label_smoothing, z_loss, weight)
            loss, z_part, count = reduce_rows(impl.backend, loss_rows, lse, None, -100, z_loss,
                                              reduction, dtype, return_z_loss)
            ctx.save_for_backward(logits, probs, weight, lse, mass, count)
            ctx.impl = impl
            ctx.args = (label_smoothing, z_loss, reduction)
            return loss_outputs(ctx, loss, z_part, return_z_loss)

        @staticmethod
        def backward(ctx, grad_loss, grad_z=None):
            label_smoothing, z_loss, reduction = ctx.args
            logits, probs, weight, lse, mass, count = ctx.saved_tensors
            grad = grad_loss.float()
            if reduction == "mean":
                grad = grad / count
            dlogits, dprobs = ctx.impl.backward(logits, probs, lse, mass, grad, label_smoothing,
                                                z_loss, weight, ctx.needs_input_grad[1])
            return dlogits, dprobs, None, None, None, None, None, None, None


def _check_probabilities(op, logits, target, ignore_index):
    shape, dtype = tuple(target.shape), dtype_name(target)
    if shape == tuple(logits.shape[:-1]):  # torch: "expected scalar type Long"
        raise RuntimeError(f"{op}: a target of the batch shape {shape} must hold class indices "
                           f"(int64 or int32), got {dtype}")
    if dtype not in PROBABILITY_DTYPES:
        raise TypeError(f"{op}: target must hold class indices (int64 or int32) or class "
                        "probabilities (float32, float16, bfloat16 or float64, of the logits' "
                        f"shape), got {dtype} of shape {shape}")
    if shape != tuple(logits.shape):
        raise RuntimeError(f"{op}: class-probability target has shape {shape}, expected the "
                           f"logits' shape {tuple(logits.shape)} (classes along the last dim)")
    if ignore_index >= 0:
        raise RuntimeError(f"{op}: ignore_index is not supported for class-probability targets, "
                           f"got ignore_index={ignore_index}")


def _check_weight(op, logits, weight, probabilities, z_loss):
    classes = logits.shape[-1]
    if tuple(weight.shape) != (classes,):
        raise RuntimeError(f"{op}: weight must hold one value per class, shape ({classes},), got "
                           f"shape {tuple(weight.shape)} for logits of shape "
                           f"{tuple(logits.shape)}")
    if probabilities:
        check_float(op, "weight", weight)
    elif dtype_name(weight) != dtype_name(logits):  # as torch's nll_loss
        raise RuntimeError(f"{op}: weight must have the logits' dtype {dtype_name(logits)}, got "
                           f"{dtype_name(weight)}")
    check_same_device(op, logits=logits, weight=weight)
    if needs_autograd(weight):
        raise NotImplementedError(f"{op}: gradients with respect to weight are not implemented "
                                  "(pass a weight that does not require grad)")
    if not probabilities:
        _refuse_weighted_z_loss(weight, z_loss)


def _refuse_weighted_z_loss(weight, z_loss):
    if weight is not None and z_loss:
        raise NotImplementedError("cross_entropy: z_loss with class weights and class-index "
                                  "targets is not implemented (the weighted mean has no agreed "
                                  "z-loss term)")


def _check(logits, target, label_smoothing, reduction, weight=None, z_loss=0.0,
           ignore_index=-100):
    """Raises on bad input; True when target holds class probabilities (the logits' shape)."""
    op = "cross_entropy"
    check_nonempty_rows(op, logits)
    check_float(op, "logits", logits)
    check_same_device(op, logits=logits, target=target)
    probabilities = dtype_name(target) not in ("int64", "int32")
    if probabilities:
        _check_probabilities(op, logits, target, ignore_index)
    elif tuple(target.shape) != tuple(logits.shape[:-1]):
        raise RuntimeError(f"{op}: target has shape {tuple(target.shape)}, expected "
                           f"{tuple(logits.shape[:-1])} for logits of shape {tuple(logits.shape)} "
                           "(classes along the last dim)")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be between 0.0 and 1.0, "
                           f"got {label_smoothing}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(REDUCTIONS)})")
    if weight is not None:
        _check_weight(op, logits, weight, probabilities, z_loss)
    return probabilities


def _unit_stride(weight):
    return weight if weight.stride(0) == 1 else weight.contiguous()


def _class_weight(op, logits2d, weight, z_loss):
    """The explicit APIs' class-index weight, checked and with the unit stride the kernels
    index it by (None stays None)."""
    if weight is None:
        return None
    _check_weight(op, logits2d, weight, False, z_loss)
    return _unit_stride(weight)


def _result_dtype(*arrays) -> str:
    """torch's promotion among float32, float16 and bfloat16 (any mix gives float32), and
    float64 over all of them."""
    names = {dtype_name(a) for a in arrays if a is not None}
    if len(names) == 1:
        return names.pop()
    return "float64" if "float64" in names else "float32"


@foreign_arrays
def cross_entropy(logits, target, ignore_index: int = -100, label_smoothing: float = 0.0,
                  z_loss: float = 0.0, reduction: str = "mean", return_z_loss: bool = False,
                  inplace_backward: bool = False, weight=None):
    """Cross-entropy of logits (..., V) against target, as F.cross_entropy with classes last.

    target holds class indices (...) (int64 or int32), or class probabilities of the logits'
    shape (float32, float16, bfloat16 or float64, read as float32; ignore_index does not apply,
    "mean" divides by the number of rows, the loss has torch's promoted dtype and the target gets
    a gradient of its own dtype too).
    weight (V,) weighs the classes as torch does; with class indices it has the logits' dtype
    and "mean" divides by the sum of the non-ignored targets' weights. The weight gets no
    gradient.

    z_loss adds z_loss * logsumexp(logits)^2 for each row that is not ignored (included in the
    returned loss); with return_z_loss=True, returns (loss, that z-loss part, reduced the same way,
    for logging: it carries no gradient of its own). Not with class weights and class indices.

    inplace_backward=True (when autograd records the call) computes the gradient during the
    forward and stores it in the logits' memory, whose values are lost: only for logits that
    nothing else reads afterwards (e.g. the fresh output of the LM head's matmul). Autograd raises
    if the graph saved those logits; backward can then run once. The gradient's scale assumes an
    upstream gradient of 1 and is corrected on the device otherwise. Logits that are a leaf get
    that memory itself as their .grad (no copy). Not with class probabilities.
    """
    if compiling():
        # No custom op for these: eagerly, behind a graph break.
        if return_z_loss or inplace_backward or target.is_floating_point():
            return torch.compiler.disable(cross_entropy)(
                logits, target, ignore_index, label_smoothing, z_loss, reduction, return_z_loss,
                inplace_backward, weight)
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.cross_entropy(logits, target, ignore_index, label_smoothing, z_loss,
                                       reduction, weight)
    label_smoothing = float(label_smoothing)
    z_loss = float(z_loss)
    if _check(logits, target, label_smoothing, reduction, weight, z_loss, ignore_index):
        return _probability_cross_entropy(logits, target, weight, label_smoothing, z_loss,
                                          reduction, return_z_loss, inplace_backward)
    if weight is not None:
        weight = _unit_stride(weight)
    rows = as_rows(logits)
    targets = target.reshape(-1)
    impl = _registry.select(KERNEL, rows, targets, ignore_index, label_smoothing, z_loss, weight)
    if needs_autograd(logits):
        out = CrossEntropyFunction.apply(rows, targets, int(ignore_index), label_smoothing, z_loss,
                                         reduction, bool(return_z_loss), bool(inplace_backward),
                                         impl, weight)
        loss, z_part = out if return_z_loss else (out, None)
    else:
        loss_rows, lse = impl.forward(rows, targets, int(ignore_index), label_smoothing, z_loss,
                                      **_weighted(weight))
        loss, z_part, _ = reduce_rows(impl.backend, loss_rows, lse, targets, ignore_index, z_loss,
                                      reduction, dtype_name(logits), return_z_loss, weight)
    if reduction == "none":
        loss = loss.reshape(target.shape)
        z_part = z_part.reshape(target.shape) if z_part is not None else None
    return (loss, z_part) if return_z_loss else loss


def _probability_cross_entropy(logits, probs, weight, label_smoothing, z_loss, reduction,
                               return_z_loss, inplace_backward):
    if inplace_backward:
        raise NotImplementedError("cross_entropy: inplace_backward=True with class-probability "
                                  "targets is not implemented")
    rows, prob_rows = as_rows(logits), as_rows(probs)
    if weight is not None:
        weight = _unit_stride(weight)
    dtype = _result_dtype(logits, probs, weight)
    impl = _registry.select(PROBS_KERNEL, rows, prob_rows, label_smoothing, z_loss, weight)
    if needs_autograd(logits, probs):
        out = ProbabilityCrossEntropyFunction.apply(rows, prob_rows, weight, label_smoothing,
                                                    z_loss, reduction, bool(return_z_loss), dtype,
                                                    impl)
        loss, z_part = out if return_z_loss else (out, None)
    else:
        loss_rows, lse, _ = impl.forward(rows, prob_rows, label_smoothing, z_loss, weight)
        loss, z_part, _ = reduce_rows(impl.backend, loss_rows, lse, None, -100, z_loss, reduction,
                                      dtype, return_z_loss)
    if reduction == "none":
        batch = tuple(logits.shape[:-1])
        loss = loss.reshape(batch)
        z_part = z_part.reshape(batch) if z_part is not None else None
    return (loss, z_part) if return_z_loss else loss


@foreign_arrays
def cross_entropy_forward(logits2d, target, ignore_index: int = -100, label_smoothing: float = 0.0,
                          z_loss: float = 0.0, inplace_backward: bool = False, grad_scale=None,
                          weight=None):
    """Per-row (loss, lse), both float32 (N,), without autograd; ignored rows give 0 and 0.

    Reduce as torch does: "sum" sums the losses, "mean" divides that by the count of targets
    that are not ignore_index (with class weights (V,), by the sum of their weights). With
    inplace_backward=True the gradient of sum(loss * grad_scale) overwrites logits2d; grad_scale
    is float32 (N,), a single value for every row (e.g. 1 / count for "mean"), or None for 1.
    Class indices only (z_loss not with weight).
    """
    weight = _class_weight("cross_entropy_forward", logits2d, weight, z_loss)
    impl = _registry.select(KERNEL, logits2d, target, ignore_index, label_smoothing, z_loss, weight)
    return impl.forward(logits2d, target, int(ignore_index), float(label_smoothing), float(z_loss),
                        inplace_backward=inplace_backward, grad_scale=grad_scale,
                        **_weighted(weight))


@foreign_arrays
def cross_entropy_backward(logits2d, target, lse, grad_per_row, ignore_index: int = -100,
                           label_smoothing: float = 0.0, z_loss: float = 0.0, weight=None):
    """dlogits from cross_entropy_forward's lse; grad_per_row is float32 (N,) or one value for
    all rows (the reduction folded in: grad_output / count for "mean")."""
    weight = _class_weight("cross_entropy_backward", logits2d, weight, z_loss)
    impl = _registry.select(KERNEL, logits2d, target, ignore_index, label_smoothing, z_loss, weight)
    return impl.backward(logits2d, target, lse, grad_per_row, int(ignore_index),
                         float(label_smoothing), float(z_loss), **_weighted(weight))

