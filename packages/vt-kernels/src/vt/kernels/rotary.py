"""Rotary position embedding (RoPE) of queries and keys in one launch.

Each pair (x1, x2) of the first `rotary_dim` channels of a head turns by the angle of its position:
(x1 * cos - x2 * sin, x2 * cos + x1 * sin); channels past `rotary_dim` pass through unchanged.
Pairs are (i, i + rotary_dim / 2) in the half-split layout (GPT-NeoX, Llama) and (2i, 2i + 1) in
the interleaved layout (GPT-J). cos and sin are (max_seq, rotary_dim / 2) tables; the position of
token s of sequence b is s + offset (an int, or offsets[b] for per-sequence offsets in decode).

The rotation is orthogonal, so the backward is the same kernel with -sin (CONJUGATE). Learned
tables get their gradients from a second kernel family, "rotary_table_grad" (triton, reference;
run only when cos or sin requires grad): dcos = dy1 * x1 + dy2 * x2 and dsin = dy2 * x1 - dy1 * x2
summed over every batch, head of q and k, and position that read a table row.

Impl signatures: forward(q, k, cos, sin, offsets, interleaved, layout) -> (q_out, k_out) and
backward(dq, dk, cos, sin, offsets, interleaved, layout) -> (dq_in, dk_in); k / dk may be None
(then the second result is None); offsets is an int or an integer array of shape (batch,);
layout is "bhsd" (batch, heads, seq, head_dim) or "bshd" (batch, seq, heads, head_dim).
Inputs may be strided (no copies); outputs are contiguous in the input's layout.
rotary_table_grad's forward(q, k, dq, dk, cos, sin, offsets, interleaved, layout) -> (dcos, dsin)
takes the inputs and their outputs' gradients (dq or dk may be None; not both) and returns
contiguous tables in cos's and sin's dtypes.
"""

from __future__ import annotations

import functools

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty, zeros
from ._checks import check_float, check_same_device, dtype_name
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._compat import compiling, needs_autograd, torch
from ._launch import reference_reason, triton_reason

KERNEL = "rotary"
TABLE_GRAD_KERNEL = "rotary_table_grad"  # gradients of the cos/sin tables (learned tables)
LAYOUTS = ("bhsd", "bshd")
# Elements of a head row tile per program, 4 warps: on H200 the fastest at every rotary benchmark
# shape among tiles of 1024-4096 at 2 or 4 warps, 2-4% ahead of 4096 ((4, 8/8, 2048, 128) q+k:
# 22.5 vs 23.2 us); 8192 and 16384 at 4 or 8 warps were slower still there.
_TILE = 2048


# ---------------------------------------------------------------------------------------------
# Triton kernels


@triton.jit
def _rotate_tile(X, Y, COS, SIN, OFFSETS, pid, heads, seq, half, head_dim, max_pos, offset,
                 sxb, sxh, sxs, sxd, syb, syh, sys, syd, scs, scd, sss, ssd, stride_off,
                 HAS_OFFSETS: tl.constexpr, INTERLEAVED: tl.constexpr, CONJUGATE: tl.constexpr,
                 HAS_PASS: tl.constexpr, BH: tl.constexpr, BS: tl.constexpr, HB: tl.constexpr,
                 PB: tl.constexpr):
    # One program: BH heads x BS positions of one sequence; the cos/sin tile is loaded once
    # and shared by the BH heads.
    seq_blocks = tl.cdiv(seq, BS)
    head_blocks = tl.cdiv(heads, BH)
    s = (pid % seq_blocks) * BS + tl.arange(0, BS)
    h = (pid // seq_blocks % head_blocks) * BH + tl.arange(0, BH)
    b = (pid // (seq_blocks * head_blocks)).to(tl.int64)
    if HAS_OFFSETS:
        pos = s.to(tl.int64) + tl.load(OFFSETS + b * stride_off).to(tl.int64)
    else:
        pos = s.to(tl.int64) + offset
    i = tl.arange(0, HB)
    row_ok = s < seq
    # Positions past the table are the caller's error; the mask only keeps the loads in bounds.
    table_mask = (row_ok & (pos >= 0) & (pos < max_pos))[:, None] & (i < half)[None, :]
    c = tl.load(COS + pos[:, None] * scs + i[None, :] * scd, mask=table_mask, other=0.0)
    sn = tl.load(SIN + pos[:, None] * sss + i[None, :] * ssd, mask=table_mask, other=0.0)
    c = c.to(tl.float32)[None, :, :]
    sn = sn.to(tl.float32)[None, :, :]
    if CONJUGATE:
        sn = -sn
    lanes_ok = (h < heads)[:, None, None] & row_ok[None, :, None]
    x_rows = X + b * sxb + h[:, None, None].to(tl.int64) * sxh + s[None, :, None].to(tl.int64) * sxs
    y_rows = Y + b * syb + h[:, None, None].to(tl.int64) * syh + s[None, :, None].to(tl.int64) * sys
    if INTERLEAVED:
        # Load the pairs as one contiguous row and split (2i, 2i + 1) in registers.
        d = tl.arange(0, 2 * HB)[None, None, :]
        mask = lanes_ok & (d < 2 * half)
        x = tl.load(x_rows + d * sxd, mask=mask, other=0.0).to(tl.float32)
        x1, x2 = tl.split(tl.reshape(x, [BH, BS, HB, 2]))
        y = tl.join(x1 * c - x2 * sn, x2 * c + x1 * sn)
        y = tl.reshape(y, [BH, BS, 2 * HB])
        tl.store(y_rows + d * syd, y.to(Y.dtype.element_ty), mask=mask)
    else:
        d = i[None, None, :]
        mask = lanes_ok & (d < half)
        x1 = tl.load(x_rows + d * sxd, mask=mask, other=0.0).to(tl.float32)
        x2 = tl.load(x_rows + (d + half) * sxd, mask=mask, other=0.0).to(tl.float32)
        tl.store(y_rows + d * syd, (x1 * c - x2 * sn).to(Y.dtype.element_ty), mask=mask)
        tl.store(y_rows + (d + half) * syd, (x2 * c + x1 * sn).to(Y.dtype.element_ty), mask=mask)
    if HAS_PASS:
        p = 2 * half + tl.arange(0, PB)[None, None, :]
        mask = lanes_ok & (p < head_dim)
        tl.store(y_rows + p * syd, tl.load(x_rows + p * sxd, mask=mask), mask=mask)


@fast_launch
@triton.jit
def _rotary(Q, QO, K, KO, COS, SIN, OFFSETS, q_programs, heads_q, heads_k, seq, half, head_dim,
            max_pos, offset, sqb, sqh, sqs, sqd, sob, soh, sos, sod, skb, skh, sks, skd,
            spb, sph, sps, spd, scs, scd, sss, ssd, stride_off,
            HAS_OFFSETS: tl.constexpr, INTERLEAVED: tl.constexpr, CONJUGATE: tl.constexpr,
            HAS_PASS: tl.constexpr, BH: tl.constexpr, BS: tl.constexpr, HB: tl.constexpr,
            PB: tl.constexpr):
    # The first q_programs programs rotate q, the rest rotate k: one launch for both.
    pid = tl.program_id(0)
    if pid < q_programs:
        _rotate_tile(Q, QO, COS, SIN, OFFSETS, pid, heads_q, seq, half, head_dim, max_pos, offset,
                     sqb, sqh, sqs, sqd, sob, soh, sos, sod, scs, scd, sss, ssd, stride_off,
                     HAS_OFFSETS, INTERLEAVED, CONJUGATE, HAS_PASS, BH, BS, HB, PB)
    else:
        _rotate_tile(K, KO, COS, SIN, OFFSETS, pid - q_programs, heads_k, seq, half, head_dim,
                     max_pos, offset, skb, skh, sks, skd, spb, sph, sps, spd, scs, scd, sss, ssd,
                     stride_off, HAS_OFFSETS, INTERLEAVED, CONJUGATE, HAS_PASS, BH, BS, HB, PB)


@triton.jit
def _add_table_products(acc_c, acc_s, X, DY, s, rows_ok, heads, half, sxh, sxs, sxd, syh, sys,
                        syd, INTERLEAVED: tl.constexpr, BH: tl.constexpr, BS: tl.constexpr,
                        HB: tl.constexpr):
    # Adds, for every head of one sequence (X, DY at its batch row), the products the rotation
    # formed at positions s: d/dcos = dy1 * x1 + dy2 * x2, d/dsin = dy2 * x1 - dy1 * x2.
    for h0 in range(0, heads, BH):
        h = h0 + tl.arange(0, BH)
        lanes_ok = (h < heads)[:, None, None] & rows_ok[None, :, None]
        x_rows = X + h[:, None, None].to(tl.int64) * sxh + s[None, :, None] * sxs
        dy_rows = DY + h[:, None, None].to(tl.int64) * syh + s[None, :, None] * sys
        if INTERLEAVED:
            d = tl.arange(0, 2 * HB)[None, None, :]
            mask = lanes_ok & (d < 2 * half)
            x = tl.load(x_rows + d * sxd, mask=mask, other=0.0).to(tl.float32)
            dy = tl.load(dy_rows + d * syd, mask=mask, other=0.0).to(tl.float32)
            x1, x2 = tl.split(tl.reshape(x, [BH, BS, HB, 2]))
            dy1, dy2 = tl.split(tl.reshape(dy, [BH, BS, HB, 2]))
        else:
            d = tl.arange(0, HB)[None, None, :]
            mask = lanes_ok & (d < half)
            x1 = tl.load(x_rows + d * sxd, mask=mask, other=0.0).to(tl.float32)
            x2 = tl.load(x_rows + (d + half) * sxd, mask=mask, other=0.0).to(tl.float32)
            dy1 = tl.load(dy_rows + d * syd, mask=mask, other=0.0).to(tl.float32)
            dy2 = tl.load(dy_rows + (d + half) * syd, mask=mask, other=0.0).to(tl.float32)
        acc_c += dy1 * x1 + dy2 * x2
        acc_s += dy2 * x1 - dy1 * x2
    return acc_c, acc_s


@fast_launch
@triton.jit
def _rotary_table_grad(X, DX, Y, DY, DCOS, DSIN, OFFSETS, batch, heads_x, heads_y, seq, half,
                       max_pos, offset, sxb, sxh, sxs, sxd, sdxb, sdxh, sdxs, sdxd, syb, syh, sys,
                       syd, sdyb, sdyh, sdys, sdyd, sdc, sds, stride_off, HAS_Y: tl.constexpr,
                       HAS_OFFSETS: tl.constexpr, INTERLEAVED: tl.constexpr, BH: tl.constexpr,
                       BS: tl.constexpr, HB: tl.constexpr):
    # One program: BS table rows. It gathers every (sequence, head) row of x (and y: q and k) that
    # read them, so each row has one writer (deterministic, float32 sums, no atomics) and rows
    # that no position read get zeros. DX, DY are the gradients of the rotated outputs.
    p0 = tl.program_id(0).to(tl.int64) * BS
    p = p0 + tl.arange(0, BS)
    acc_c = tl.zeros([BH, BS, HB], dtype=tl.float32)
    acc_s = tl.zeros([BH, BS, HB], dtype=tl.float32)
    for b in range(0, batch):
        if HAS_OFFSETS:
            start = tl.load(OFFSETS + b * stride_off).to(tl.int64)
        else:
            start = offset
        # Sequences whose positions miss this block of rows skip their loads.
        if (p0 < start + seq) & (p0 + BS > start):
            s = p - start
            rows_ok = (s >= 0) & (s < seq) & (p < max_pos)
            acc_c, acc_s = _add_table_products(
                acc_c, acc_s, X, DX, s, rows_ok, heads_x, half, sxh, sxs, sxd, sdxh, sdxs, sdxd,
                INTERLEAVED, BH, BS, HB)
            if HAS_Y:
                acc_c, acc_s = _add_table_products(
                    acc_c, acc_s, Y, DY, s, rows_ok, heads_y, half, syh, sys, syd, sdyh, sdys,
                    sdyd, INTERLEAVED, BH, BS, HB)
        # Pointers step to the next sequence (64-bit addresses, no int32 batch offsets).
        X += sxb
        DX += sdxb
        Y += syb
        DY += sdyb
    i = tl.arange(0, HB)[None, :]
    mask = (p < max_pos)[:, None] & (i < half)
    tl.store(DCOS + p[:, None] * sdc + i, tl.sum(acc_c, 0).to(DCOS.dtype.element_ty), mask=mask)
    tl.store(DSIN + p[:, None] * sds + i, tl.sum(acc_s, 0).to(DSIN.dtype.element_ty), mask=mask)


def _dims(x, layout):
    """(batch, heads, seq, head_dim) of a 4-D array in `layout`."""
    b, a, c, d = x.shape
    return (b, a, c, d) if layout == "bhsd" else (b, c, a, d)


def _strides(x, layout):
    """x's strides in (batch, heads, seq, head_dim) order."""
    sb, sa, sc, sd = (x.stride(i) for i in range(4))
    return (sb, sa, sc, sd) if layout == "bhsd" else (sb, sc, sa, sd)


@functools.lru_cache(maxsize=256)
def _tiles(half, head_dim, heads, seq):
    """(BH, BS, HB, PB): heads and positions per program, padded half and pass-through widths."""
    hb = triton.next_power_of_2(half)
    pb = triton.next_power_of_2(head_dim - 2 * half) if head_dim > 2 * half else 1
    width = max(2 * hb, pb)
    # Empty dims (no heads or positions) still get one-wide tiles: they launch no program.
    bh = min(triton.next_power_of_2(max(heads, 1)), max(1, _TILE // width))
    bs = min(triton.next_power_of_2(max(seq, 1)), max(1, _TILE // (bh * width)))
    return bh, bs, hb, pb


def _programs(batch, heads, seq, bh, bs):
    return batch * triton.cdiv(heads, bh) * triton.cdiv(seq, bs)


def _triton_rotate(q, k, cos, sin, offsets, interleaved, layout, conjugate):
    batch, heads_q, seq, head_dim = _dims(q, layout)
    heads_k = _dims(k, layout)[1] if k is not None else heads_q
    half = cos.shape[1]
    bh, bs, hb, pb = _tiles(half, head_dim, min(heads_q, heads_k), seq)
    q_out = empty(tuple(q.shape), dtype_name(q), like=q)
    k_out = empty(tuple(k.shape), dtype_name(k), like=k) if k is not None else None
    q_programs = _programs(batch, heads_q, seq, bh, bs)
    k_programs = _programs(batch, heads_k, seq, bh, bs) if k is not None else 0
    if q_programs + k_programs == 0:
        return q_out, k_out
    has_offsets = not isinstance(offsets, int)
    # Without k the k-branch never runs; q stands in for its arguments.
    k_in, k_dst = (k, k_out) if k is not None else (q, q_out)
    _rotary[(q_programs + k_programs,)](
        q, q_out, k_in, k_dst, cos, sin, offsets if has_offsets else None, q_programs, heads_q,
        heads_k, seq, half, head_dim, cos.shape[0], 0 if has_offsets else offsets,
        *_strides(q, layout), *_strides(q_out, layout), *_strides(k_in, layout),
        *_strides(k_dst, layout), cos.stride(0), cos.stride(1), sin.stride(0), sin.stride(1),
        offsets.stride(0) if has_offsets else 0,
        HAS_OFFSETS=has_offsets, INTERLEAVED=bool(interleaved), CONJUGATE=conjugate,
        HAS_PASS=head_dim > 2 * half, BH=bh, BS=bs, HB=hb, PB=pb, num_warps=4)
    return q_out, k_out


def _triton_forward(q, k, cos, sin, offsets, interleaved, layout):
    return _triton_rotate(q, k, cos, sin, offsets, interleaved, layout, conjugate=False)


def _triton_backward(dq, dk, cos, sin, offsets, interleaved, layout):
    return _triton_rotate(dq, dk, cos, sin, offsets, interleaved, layout, conjugate=True)


def _triton_supports(q, k, cos, sin, offsets, interleaved, layout):
    return triton_reason(q, k, cos, sin, None if isinstance(offsets, int) else offsets)


def _triton_table_grad(q, k, dq, dk, cos, sin, offsets, interleaved, layout):
    # The (input, output gradient) pairs that carry a gradient; the kernel takes one or two.
    pairs = [(x, dx) for x, dx in ((q, dq), (k, dk)) if dx is not None]
    (x, dx), (y, dy) = pairs[0], pairs[-1]
    batch, heads_x, seq, head_dim = _dims(x, layout)
    heads_y = _dims(y, layout)[1]
    max_pos, half = cos.shape
    if batch * seq * max_pos * (heads_x + heads_y) == 0:
        return zeros((max_pos, half), dtype_name(cos), like=cos), zeros((max_pos, half),
                                                                       dtype_name(sin), like=sin)
    dcos = empty((max_pos, half), dtype_name(cos), like=cos)
    dsin = empty((max_pos, half), dtype_name(sin), like=sin)
    # A tensor without heads adds nothing; the tile fits the fewer heads of the others.
    bh, bs, hb, _ = _tiles(half, head_dim, min(h for h in (heads_x, heads_y) if h), seq)
    has_offsets = not isinstance(offsets, int)
    _rotary_table_grad[(triton.cdiv(max_pos, bs),)](
        x, dx, y, dy, dcos, dsin, offsets if has_offsets else None, batch, heads_x, heads_y, seq,
        half, max_pos, 0 if has_offsets else offsets, *_strides(x, layout), *_strides(dx, layout),
        *_strides(y, layout), *_strides(dy, layout), dcos.stride(0), dsin.stride(0),
        offsets.stride(0) if has_offsets else 0, HAS_Y=len(pairs) == 2, HAS_OFFSETS=has_offsets,
        INTERLEAVED=bool(interleaved), BH=bh, BS=bs, HB=hb, num_warps=4)
    return dcos, dsin


def _triton_table_grad_supports(q, k, dq, dk, cos, sin, offsets, interleaved, layout):
    return triton_reason(q, k, dq, dk, cos, sin, None if isinstance(offsets, int) else offsets)


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_pairs(x, half, interleaved):
    """(x1, x2): the rotated pairs of x in float32."""
    xf = x.float()
    if interleaved:
        return xf[..., 0:2 * half:2], xf[..., 1:2 * half:2]
    return xf[..., :half], xf[..., half:2 * half]


def _reference_rotate(x, cos, sin, offsets, interleaved, layout, conjugate):
    seq = _dims(x, layout)[2]
    positions = torch.arange(seq, device=x.device)
    if isinstance(offsets, int):
        positions = (positions + offsets)[None]               # (1, seq)
    else:
        positions = offsets.long()[:, None] + positions       # (batch, seq)
    c, s = cos.float()[positions], sin.float()[positions]     # (batch or 1, seq, half)
    c, s = (c[:, None], s[:, None]) if layout == "bhsd" else (c[:, :, None], s[:, :, None])
    if conjugate:
        s = -s
    half = cos.shape[1]
    x1, x2 = _reference_pairs(x, half, interleaved)
    y1, y2 = x1 * c - x2 * s, x2 * c + x1 * s
    rotated = torch.stack((y1, y2), -1).flatten(-2) if interleaved else torch.cat((y1, y2), -1)
    return torch.cat((rotated, x[..., 2 * half:].float()), -1).to(x.dtype)


def _reference_forward(q, k, cos, sin, offsets, interleaved, layout, conjugate=False):
    k_out = (_reference_rotate(k, cos, sin, offsets, interleaved, layout, conjugate)
             if k is not None else None)
    return _reference_rotate(q, cos, sin, offsets, interleaved, layout, conjugate), k_out


def _reference_backward(dq, dk, cos, sin, offsets, interleaved, layout):
    return _reference_forward(dq, dk, cos, sin, offsets, interleaved, layout, conjugate=True)


def _reference_supports(q, k, cos, sin, offsets, interleaved, layout):
    return reference_reason(q, k, cos, sin, None if isinstance(offsets, int) else offsets)


def _reference_table_grad(q, k, dq, dk, cos, sin, offsets, interleaved, layout):
    max_pos, half = cos.shape
    head_axis = 1 if layout == "bhsd" else 2
    dcos_rows = dsin_rows = 0  # (batch, seq, half): the products summed over heads
    for x, dx in ((q, dq), (k, dk)):
        if dx is None:
            continue
        x1, x2 = _reference_pairs(x, half, interleaved)
        dy1, dy2 = _reference_pairs(dx, half, interleaved)
        dcos_rows = dcos_rows + (dy1 * x1 + dy2 * x2).sum(head_axis)
        dsin_rows = dsin_rows + (dy2 * x1 - dy1 * x2).sum(head_axis)
    seq = dcos_rows.shape[1]
    positions = torch.arange(seq, device=cos.device)
    if isinstance(offsets, int):
        positions = (positions + offsets).expand(dcos_rows.shape[0], seq)
    else:
        positions = offsets.long()[:, None] + positions
    grads = []
    for rows, table in ((dcos_rows, cos), (dsin_rows, sin)):
        grad = torch.zeros(max_pos, half, device=cos.device, dtype=torch.float32)
        grad.index_add_(0, positions.flatten(), rows.flatten(0, 1))
        grads.append(grad.to(table.dtype))
    return tuple(grads)


def _reference_table_grad_supports(q, k, dq, dk, cos, sin, offsets, interleaved, layout):
    return reference_reason(q, k, dq, dk, cos, sin, None if isinstance(offsets, int) else offsets)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)
# The cos/sin table gradient, a kernel of its own: no CuTeDSL version, so a call choosing cutedsl
# falls back to triton (the x gradients stay on the backend the rotary kernel chose).
_registry.register(TABLE_GRAD_KERNEL, "triton", _triton_table_grad, None,
                   _triton_table_grad_supports)
_registry.register(TABLE_GRAD_KERNEL, "reference", _reference_table_grad, None,
                   _reference_table_grad_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class RotaryFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, cos, sin, offsets, interleaved, layout, impl, table_impl):
            q_out, k_out = impl.forward(q, k, cos, sin, offsets, interleaved, layout)
            has_offsets = not isinstance(offsets, int)
            # The table gradient needs the inputs; x's gradient alone needs only the tables.
            inputs = (q, k) if table_impl is not None else (None, None)
            ctx.save_for_backward(cos, sin, offsets if has_offsets else None, *inputs)
            ctx.offset = None if has_offsets else offsets
            ctx.args = (interleaved, layout)
            ctx.impl = impl
            ctx.table_impl = table_impl
            ctx.set_materialize_grads(False)  # an unused output needs no rotation of zeros
            return q_out, k_out

        @staticmethod
        def backward(ctx, dq, dk):
            cos, sin, offsets, q, k = ctx.saved_tensors
            offsets = offsets if offsets is not None else ctx.offset
            dq_in = dk_in = dcos = dsin = None
            if dq is None and dk is None:
                return (None,) * 9
            if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
                if dq is None:
                    dk_in, _ = ctx.impl.backward(dk, None, cos, sin, offsets, *ctx.args)
                else:
                    dq_in, dk_in = ctx.impl.backward(dq, dk, cos, sin, offsets, *ctx.args)
            if ctx.table_impl is not None:
                dcos, dsin = ctx.table_impl.forward(q, k, dq, dk, cos, sin, offsets, *ctx.args)
            return dq_in, dk_in, dcos, dsin, None, None, None, None, None


def _check(q, k, cos, sin, position_offset, layout):
    """Validates the inputs; returns the offsets as an int or an integer array of shape (batch,)."""
    op = "apply_rotary"
    if layout not in LAYOUTS:
        raise ValueError(f"{op}: layout must be 'bhsd' or 'bshd', got {layout!r}")
    check_float(op, "q", q)
    if q.dim() != 4:
        raise RuntimeError(f"{op}: q must be 4-D ({layout}), got shape {tuple(q.shape)}")
    batch, _, seq, head_dim = _dims(q, layout)
    if k is not None:
        if k.dim() != 4:
            raise RuntimeError(f"{op}: k must be 4-D ({layout}), got shape {tuple(k.shape)}")
        kb, _, ks, kd = _dims(k, layout)
        if (kb, ks, kd) != (batch, seq, head_dim):
            raise RuntimeError(f"{op}: k of shape {tuple(k.shape)} does not match q of shape "
                               f"{tuple(q.shape)} in batch, seq and head_dim ({layout})")
        if k.dtype != q.dtype:
            raise TypeError(f"{op}: k dtype {dtype_name(k)} differs from q dtype {dtype_name(q)}")
    check_float(op, "cos", cos)
    check_float(op, "sin", sin)
    if cos.dim() != 2 or tuple(sin.shape) != tuple(cos.shape):
        raise RuntimeError(f"{op}: cos and sin must both be (max_seq, rotary_dim / 2) tables, got "
                           f"{tuple(cos.shape)} and {tuple(sin.shape)}")
    if cos.shape[1] < 1 or 2 * cos.shape[1] > head_dim:
        raise RuntimeError(f"{op}: rotary_dim = 2 * cos.shape[1] = {2 * cos.shape[1]} (cos of "
                           f"shape {tuple(cos.shape)}) must be in [2, head_dim={head_dim}]")
    offsets = position_offset
    if isinstance(offsets, int):
        if offsets < 0 or offsets + seq > cos.shape[0]:
            raise RuntimeError(f"{op}: positions [{offsets}, {offsets + seq}) are outside the "
                               f"cos/sin table of {cos.shape[0]} rows")
    elif hasattr(offsets, "shape"):
        if dtype_name(offsets) not in ("int32", "int64"):
            raise TypeError(f"{op}: position_offset must be an int or an int32/int64 tensor, got "
                            f"{dtype_name(offsets)}")
        if tuple(offsets.shape) != (batch,):
            raise RuntimeError(f"{op}: position_offset has shape {tuple(offsets.shape)}, expected "
                               f"({batch},)")
    else:
        raise TypeError(f"{op}: position_offset must be an int or a tensor, got "
                        f"{type(offsets).__name__}")
    check_same_device(op, q=q, k=k, cos=cos, sin=sin,
                      position_offset=None if isinstance(offsets, int) else offsets)
    return offsets


@foreign_arrays
def apply_rotary(q, k, cos, sin, position_offset=0, interleaved: bool = False,
                 layout: str = "bhsd"):
    """Rotates q and k (k may be None) by their positions; returns (q_out, k_out or None).

    q: (batch, heads_q, seq, head_dim) for layout "bhsd" or (batch, seq, heads_q, head_dim) for
    "bshd"; k the same with heads_k (GQA). cos, sin: (max_seq, rotary_dim / 2) tables.
    position_offset: an int, or an int tensor (batch,) of per-sequence offsets (not bounds-checked
    on the device: positions past the table give undefined values). cos and sin may require grad
    (learned tables): each entry's gradient sums over every row that read it.
    """
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.apply_rotary(q, k, cos, sin, position_offset, interleaved, layout)
    offsets = _check(q, k, cos, sin, position_offset, layout)
    impl = _registry.select(KERNEL, q, k, cos, sin, offsets, interleaved, layout)
    if needs_autograd(q, k, cos, sin):
        # q and k stand in for their output gradients, which have their types and devices.
        table_impl = (_registry.select(TABLE_GRAD_KERNEL, q, k, q, k, cos, sin, offsets,
                                       interleaved, layout)
                      if cos.requires_grad or sin.requires_grad else None)
        return RotaryFunction.apply(q, k, cos, sin, offsets, bool(interleaved), layout, impl,
                                    table_impl)
    return impl.forward(q, k, cos, sin, offsets, bool(interleaved), layout)


@foreign_arrays
def rotary_forward(q, k, cos, sin, position_offset=0, interleaved: bool = False,
                   layout: str = "bhsd"):
    """apply_rotary without autograd: (q_out, k_out or None)."""
    offsets = _check(q, k, cos, sin, position_offset, layout)
    impl = _registry.select(KERNEL, q, k, cos, sin, offsets, interleaved, layout)
    return impl.forward(q, k, cos, sin, offsets, bool(interleaved), layout)


@foreign_arrays
def rotary_backward(dq, dk, cos, sin, position_offset=0, interleaved: bool = False,
                    layout: str = "bhsd"):
    """Gradients (dq_in, dk_in or None) of rotary_forward from its output gradients."""
    offsets = _check(dq, dk, cos, sin, position_offset, layout)
    impl = _registry.select(KERNEL, dq, dk, cos, sin, offsets, interleaved, layout)
    return impl.backward(dq, dk, cos, sin, offsets, bool(interleaved), layout)


@foreign_arrays
def rotary_table_backward(q, k, dq, dk, cos, sin, position_offset=0, interleaved: bool = False,
                          layout: str = "bhsd"):
    """Gradients (dcos, dsin) of rotary_forward(q, k, cos, sin, ...) for the tables, from the
    gradients dq, dk of its outputs (either may be None: that output had no gradient); in the
    tables' shape and dtypes, zero on rows no position read."""
    op = "rotary_table_backward"
    offsets = _check(q, k, cos, sin, position_offset, layout)
    if dq is None and dk is None:
        raise ValueError(f"{op}: dq and dk are both None")
    for name, grad, x in (("dq", dq, q), ("dk", dk, k)):
        if grad is None:
            continue
        check_float(op, name, grad)
        if x is None or tuple(grad.shape) != tuple(x.shape):
            raise RuntimeError(f"{op}: {name} of shape {tuple(grad.shape)} does not match its "
                               f"input of shape {tuple(x.shape) if x is not None else None}")
    check_same_device(op, q=q, dq=dq, dk=dk)
    impl = _registry.select(TABLE_GRAD_KERNEL, q, k, dq, dk, cos, sin, offsets, interleaved,
                            layout)
    return impl.forward(q, k, dq, dk, cos, sin, offsets, bool(interleaved), layout)
