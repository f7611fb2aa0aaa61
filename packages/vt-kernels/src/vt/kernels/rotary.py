"""Rotary position embedding (RoPE) of queries and keys in one launch.

Each pair (x1, x2) of the first `rotary_dim` channels of a head turns by the angle of its position:
(x1 * cos - x2 * sin, x2 * cos + x1 * sin); channels past `rotary_dim` pass through unchanged.
Pairs are (i, i + rotary_dim / 2) in the half-split layout (GPT-NeoX, Llama) and (2i, 2i + 1) in
the interleaved layout (GPT-J). cos and sin are (max_seq, rotary_dim / 2) tables; the position of
token s of sequence b is s + offset (an int, or offsets[b] for per-sequence offsets in decode).

The rotation is orthogonal, so the backward is the same kernel with -sin (CONJUGATE).

Impl signatures: forward(q, k, cos, sin, offsets, interleaved, layout) -> (q_out, k_out) and
backward(dq, dk, cos, sin, offsets, interleaved, layout) -> (dq_in, dk_in); k / dk may be None
(then the second result is None); offsets is an int or an integer array of shape (batch,);
layout is "bhsd" (batch, heads, seq, head_dim) or "bshd" (batch, seq, heads, head_dim).
Inputs may be strided (no copies); outputs are contiguous in the input's layout.
"""

from __future__ import annotations

import functools

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty
from ._checks import check_float, check_same_device, dtype_name
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._compat import needs_autograd, torch
from ._launch import reference_reason, triton_reason

KERNEL = "rotary"
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
    bh = min(triton.next_power_of_2(heads), max(1, _TILE // width))
    bs = min(triton.next_power_of_2(seq), max(1, _TILE // (bh * width)))
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


# ---------------------------------------------------------------------------------------------
# torch reference


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
    xf = x.float()
    if interleaved:
        x1, x2 = xf[..., 0:2 * half:2], xf[..., 1:2 * half:2]
    else:
        x1, x2 = xf[..., :half], xf[..., half:2 * half]
    y1, y2 = x1 * c - x2 * s, x2 * c + x1 * s
    rotated = torch.stack((y1, y2), -1).flatten(-2) if interleaved else torch.cat((y1, y2), -1)
    return torch.cat((rotated, xf[..., 2 * half:]), -1).to(x.dtype)


def _reference_forward(q, k, cos, sin, offsets, interleaved, layout, conjugate=False):
    k_out = (_reference_rotate(k, cos, sin, offsets, interleaved, layout, conjugate)
             if k is not None else None)
    return _reference_rotate(q, cos, sin, offsets, interleaved, layout, conjugate), k_out


def _reference_backward(dq, dk, cos, sin, offsets, interleaved, layout):
    return _reference_forward(dq, dk, cos, sin, offsets, interleaved, layout, conjugate=True)


def _reference_supports(q, k, cos, sin, offsets, interleaved, layout):
    return reference_reason(q, k, cos, sin, None if isinstance(offsets, int) else offsets)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class RotaryFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, cos, sin, offsets, interleaved, layout, impl):
            q_out, k_out = impl.forward(q, k, cos, sin, offsets, interleaved, layout)
            has_offsets = not isinstance(offsets, int)
            ctx.save_for_backward(cos, sin, offsets if has_offsets else None)
            ctx.offset = None if has_offsets else offsets
            ctx.args = (interleaved, layout)
            ctx.impl = impl
            ctx.set_materialize_grads(False)  # an unused output needs no rotation of zeros
            return q_out, k_out

        @staticmethod
        def backward(ctx, dq, dk):
            cos, sin, offsets = ctx.saved_tensors
            offsets = offsets if offsets is not None else ctx.offset
            rest = (None,) * 6
            if dq is None and dk is None:
                return (None, None) + rest
            if dq is None:
                dk_in, _ = ctx.impl.backward(dk, None, cos, sin, offsets, *ctx.args)
                return (None, dk_in) + rest
            dq_in, dk_in = ctx.impl.backward(dq, dk, cos, sin, offsets, *ctx.args)
            return (dq_in, dk_in) + rest


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
    on the device: positions past the table give undefined values). No gradient for cos/sin.
    """
    if torch is not None and torch.compiler.is_compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.apply_rotary(q, k, cos, sin, position_offset, interleaved, layout)
    offsets = _check(q, k, cos, sin, position_offset, layout)
    if needs_autograd(cos, sin):
        raise NotImplementedError("apply_rotary: gradients for the cos/sin tables are not "
                                  "implemented (detach them)")
    impl = _registry.select(KERNEL, q, k, cos, sin, offsets, interleaved, layout)
    if needs_autograd(q, k):
        return RotaryFunction.apply(q, k, cos, sin, offsets, bool(interleaved), layout, impl)
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
