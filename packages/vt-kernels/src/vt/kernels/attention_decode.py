"""Attention of one new query token per sequence against a KV cache (flash-decoding), forward only.

q (batch, heads_q, head_dim) attends to the first cache_seqlens[b] positions of k_cache/v_cache
(batch, heads_kv, max_seq, head_dim), heads_q a multiple of heads_kv (GQA/MQA). The cache is split
into chunks along the sequence: one program per (chunk, kv head, batch) reads its chunk of keys
and values once for the whole group of q heads of that kv head and writes a float32 partial
output and logsumexp; a combine kernel then merges the chunks of each (batch, q head). A length of
0 gives output 0; lengths past max_seq are clamped to it.
"""

from __future__ import annotations

import math

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty
from ._checks import check_float, check_same_device, dtype_name
from ._compat import torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import interpreting, reference_reason, sm_count, triton_reason
from .attention import HEAD_DIMS

KERNEL = "attention_decode"

_NO_MAX = tl.constexpr(-1.0e30)  # a finite running max: padded q rows never produce NaN


@fast_launch
@triton.jit
def _decode_split(Q, K, V, SEQLENS, OUT_PART, LSE_PART, stride_qb, stride_qh, stride_kb,
                  stride_kh, stride_ks, stride_vb, stride_vh, stride_vs, heads_q, max_seq, group,
                  chunk, num_splits, qk_scale, HEAD_DIM: tl.constexpr, BLOCK_G: tl.constexpr,
                  BLOCK_N: tl.constexpr, PRECISION: tl.constexpr):
    split = tl.program_id(0)
    kv_head = tl.program_id(1)
    batch = tl.program_id(2)
    seqlen = tl.minimum(tl.load(SEQLENS + batch), max_seq)
    start = split * chunk
    if start >= seqlen:  # the combine reads only the chunks that hold keys
        return
    end = tl.minimum(start + chunk, seqlen)
    batch64 = batch.to(tl.int64)
    kv_head64 = kv_head.to(tl.int64)
    offs_g = tl.arange(0, BLOCK_G)
    offs_d = tl.arange(0, HEAD_DIM)
    in_group = offs_g < group
    heads = kv_head64 * group + offs_g
    q = tl.load(Q + batch64 * stride_qb + heads[:, None] * stride_qh + offs_d[None, :],
                mask=in_group[:, None], other=0.0)
    k_base = K + batch64 * stride_kb + kv_head64 * stride_kh
    v_base = V + batch64 * stride_vb + kv_head64 * stride_vh

    m_i = tl.full([BLOCK_G], _NO_MAX, tl.float32)
    l_i = tl.zeros([BLOCK_G], tl.float32)
    acc = tl.zeros([BLOCK_G, HEAD_DIM], tl.float32)
    for start_n in range(start, end, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        in_k = offs_n < end
        rows = offs_n.to(tl.int64)[:, None]
        k = tl.load(k_base + rows * stride_ks + offs_d[None, :], mask=in_k[:, None], other=0.0)
        qk = tl.dot(q, tl.trans(k), input_precision=PRECISION)
        qk = tl.where(in_k[None, :], qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1) * qk_scale)  # qk_scale > 0
        p = tl.math.exp2(qk * qk_scale - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_base + rows * stride_vs + offs_d[None, :], mask=in_k[:, None], other=0.0)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=PRECISION)
        m_i = m_new

    # The chunk holds at least one key, so l_i > 0 for every real head.
    part = (batch64 * heads_q + heads) * num_splits + split
    tl.store(OUT_PART + part[:, None] * HEAD_DIM + offs_d[None, :], acc / l_i[:, None],
             mask=in_group[:, None])
    tl.store(LSE_PART + part, m_i + tl.math.log2(l_i), mask=in_group)


@fast_launch
@triton.jit
def _decode_combine(OUT_PART, LSE_PART, SEQLENS, O, stride_ob, stride_oh, heads_q, max_seq, chunk,
                    num_splits, HEAD_DIM: tl.constexpr, BLOCK_S: tl.constexpr):
    head = tl.program_id(0).to(tl.int64)
    batch = tl.program_id(1)
    seqlen = tl.minimum(tl.load(SEQLENS + batch), max_seq)
    batch = batch.to(tl.int64)
    used = tl.cdiv(tl.maximum(seqlen, 0), chunk)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, HEAD_DIM)
    in_split = offs_s < used
    part = (batch * heads_q + head) * num_splits + offs_s
    lse = tl.load(LSE_PART + part, mask=in_split, other=float("-inf"))
    top = tl.max(lse, 0)
    weight = tl.math.exp2(lse - tl.where(top == float("-inf"), 0.0, top))
    partial = tl.load(OUT_PART + part[:, None] * HEAD_DIM + offs_d[None, :], mask=in_split[:, None],
                      other=0.0)
    total = tl.sum(weight, 0)
    out = tl.sum(partial * weight[:, None], 0) / tl.where(total == 0.0, 1.0, total)
    tl.store(O + batch * stride_ob + head * stride_oh + offs_d, out.to(O.dtype.element_ty))


def _splits(batch, heads_kv, max_seq, block_n, device_index):
    """(chunk, num_splits): enough programs to fill the GPU about three times over.

    Swept on H200 (bf16, head_dim 128, six shapes from (1, 32/8, 32768) to (64, 32/8, 1024)):
    three programs per SM with two stages were within 3% of the best of 2-4 programs per SM
    with two or three stages at every shape; four with three stages were 4-23% slower."""
    blocks = triton.cdiv(max_seq, block_n)
    splits = max(1, min(blocks, triton.cdiv(3 * sm_count(device_index), max(1, batch * heads_kv))))
    chunk = triton.cdiv(blocks, splits) * block_n
    return chunk, triton.cdiv(max_seq, chunk)


def _triton_forward(q, k_cache, v_cache, cache_seqlens, scale):
    batch, heads_q, head_dim = q.shape
    heads_kv, max_seq = k_cache.shape[1], k_cache.shape[2]
    group = heads_q // heads_kv
    out = empty(tuple(q.shape), dtype_name(q), like=q)
    if batch == 0 or heads_q == 0:
        return out
    block_n = 16 if interpreting() else (32 if head_dim == 256 else 64)
    chunk, num_splits = _splits(batch, heads_kv, max(max_seq, 1), block_n,
                                getattr(q.device, "index", None) or 0)
    out_part = empty((batch, heads_q, num_splits, head_dim), "float32", like=q)
    lse_part = empty((batch, heads_q, num_splits), "float32", like=q)
    _decode_split[(num_splits, heads_kv, batch)](
        q, k_cache, v_cache, cache_seqlens, out_part, lse_part, q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), v_cache.stride(0),
        v_cache.stride(1), v_cache.stride(2), heads_q, max_seq, group, chunk, num_splits,
        scale * math.log2(math.e), HEAD_DIM=head_dim,
        BLOCK_G=max(16, triton.next_power_of_2(group)), BLOCK_N=block_n,
        PRECISION="ieee" if dtype_name(q) == "float32" else "tf32", num_warps=4, num_stages=2)
    _decode_combine[(heads_q, batch)](
        out_part, lse_part, cache_seqlens, out, out.stride(0), out.stride(1), heads_q, max_seq,
        chunk, num_splits, HEAD_DIM=head_dim, BLOCK_S=max(2, triton.next_power_of_2(num_splits)),
        num_warps=4)
    return out


def _triton_supports(q, k_cache, v_cache, cache_seqlens, scale):
    reason = triton_reason(q, k_cache, v_cache, cache_seqlens)
    if reason is not None:
        return reason
    if q.shape[-1] not in HEAD_DIMS:
        return f"head_dim {q.shape[-1]} is not one of {', '.join(map(str, HEAD_DIMS))}"
    if not scale > 0:
        return f"softmax_scale must be positive, got {scale}"
    return None


def _reference_forward(q, k_cache, v_cache, cache_seqlens, scale):
    batch, heads_q, head_dim = q.shape
    heads_kv, max_seq = k_cache.shape[1], k_cache.shape[2]
    grouped = q.float().view(batch, heads_kv, heads_q // heads_kv, head_dim)
    scores = grouped @ k_cache.float().transpose(-1, -2) * scale  # (batch, kv, group, max_seq)
    valid = torch.arange(max_seq, device=q.device) < cache_seqlens.long()[:, None]
    scores = scores.masked_fill(~valid[:, None, None, :], -math.inf)
    probs = torch.softmax(scores, -1).nan_to_num(0.0)  # a length of 0 attends to nothing
    return (probs @ v_cache.float()).reshape(batch, heads_q, head_dim).to(q.dtype)


def _reference_supports(q, k_cache, v_cache, cache_seqlens, scale):
    return reference_reason(q, k_cache, v_cache, cache_seqlens)


_registry.register(KERNEL, "triton", _triton_forward, None, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, None, _reference_supports)


def _unit_last_dim(x):
    return x if x.stride(-1) == 1 else x.contiguous()


def _check(q, k_cache, v_cache, cache_seqlens):
    op = "attention_decode"
    for name, t in (("q", q), ("k_cache", k_cache), ("v_cache", v_cache)):
        check_float(op, name, t)
    if not dtype_name(q) == dtype_name(k_cache) == dtype_name(v_cache):
        raise TypeError(f"{op}: q, k_cache and v_cache must share one dtype, got {dtype_name(q)}, "
                        f"{dtype_name(k_cache)} and {dtype_name(v_cache)}")
    if dtype_name(cache_seqlens) != "int32":
        raise TypeError(f"{op}: cache_seqlens must be int32, got {dtype_name(cache_seqlens)}")
    check_same_device(op, q=q, k_cache=k_cache, v_cache=v_cache, cache_seqlens=cache_seqlens)
    if len(q.shape) != 3:
        raise RuntimeError(f"{op}: expected q of shape (batch, heads_q, head_dim), got "
                           f"{tuple(q.shape)}")
    if len(k_cache.shape) != 4 or tuple(k_cache.shape) != tuple(v_cache.shape):
        raise RuntimeError(f"{op}: expected k_cache and v_cache of one shape (batch, heads_kv, "
                           f"max_seq, head_dim), got {tuple(k_cache.shape)} and "
                           f"{tuple(v_cache.shape)}")
    batch, heads_q, head_dim = q.shape
    if k_cache.shape[0] != batch or k_cache.shape[3] != head_dim:
        raise RuntimeError(f"{op}: q has shape {tuple(q.shape)} but the cache "
                           f"{tuple(k_cache.shape)}; expected the same batch and head_dim")
    if k_cache.shape[1] == 0 or heads_q % k_cache.shape[1]:
        raise RuntimeError(f"{op}: heads_q {heads_q} is not a multiple of heads_kv "
                           f"{k_cache.shape[1]}")
    if tuple(cache_seqlens.shape) != (batch,):
        raise RuntimeError(f"{op}: cache_seqlens has shape {tuple(cache_seqlens.shape)}, "
                           f"expected ({batch},)")


@foreign_arrays
def attention_decode(q, k_cache, v_cache, cache_seqlens, softmax_scale: float | None = None):
    """One query token per sequence against the first cache_seqlens[b] cache positions.

    q (batch, heads_q, head_dim); k_cache/v_cache (batch, heads_kv, max_seq, head_dim); int32
    cache_seqlens (batch,). Returns (batch, heads_q, head_dim). Forward only (no autograd).
    """
    _check(q, k_cache, v_cache, cache_seqlens)
    scale = float(softmax_scale) if softmax_scale is not None else 1.0 / math.sqrt(q.shape[-1])
    args = (_unit_last_dim(q), _unit_last_dim(k_cache), _unit_last_dim(v_cache),
            _unit_last_dim(cache_seqlens), scale)
    return _registry.select(KERNEL, *args).forward(*args)
