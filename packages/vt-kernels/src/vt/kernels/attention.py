"""Scaled dot-product attention: FlashAttention-2 style forward and backward in Triton.

out = softmax(q k^T * scale + mask) v for q (batch, heads_q, seq_q, head_dim) and k, v (batch,
heads_kv, seq_k, head_dim), like F.scaled_dot_product_attention(..., enable_gqa=True): heads_q is
a multiple of heads_kv and q head h reads kv head h // (heads_q // heads_kv); k and v are never
repeated in memory. Packed variable lengths follow flash-attn's varlen layout: q (total_q, heads_q,
head_dim), k/v (total_k, heads_kv, head_dim) and int32 cu_seqlens (batch + 1) of sequence starts.

Causal masks:
- dense inputs follow torch's `is_causal`: top-left aligned, query i sees keys j <= i, also when
  seq_q != seq_k (torch's CausalVariant.UPPER_LEFT);
- varlen inputs follow flash-attn: bottom-right aligned per sequence, query i of a sequence with
  lengths (Lq, Lk) sees keys j <= i + Lk - Lq. A query that sees no key gets output 0, zero
  gradients and logsumexp +inf. Rows past cu_seqlens[-1] are not written.

On Hopper and newer GPUs the dense forward loads q/k/v and stores the output through TMA tensor
descriptors (host-built, 4-D, so out-of-range rows are zero-filled and clipped per head), which
frees registers for two resident programs per SM; varlen inputs and strides TMA cannot describe
(not 16-byte aligned) take the pointer kernel. On Hopper (sm_90) with 16-bit inputs and
head_dim 128 the dense forward and backward run the warp-specialized Gluon kernels of
_attention_hopper.py and _attention_hopper_bwd.py (FlashAttention-3's producer/consumer
structure) instead; unless torch's deterministic algorithms are on, the backward at head_dim 64
and 128 is the fused kernel of _attention_hopper_bwd_fused.py (dQ accumulated in float32 by TMA
reduce-adds).

The forward saves the float32 logsumexp (natural log) of every query row: (batch, heads_q, seq_q)
dense, (heads_q, total_q) varlen. The backward computes delta = rowsum(dO * O), then dK/dV in one
kernel over key blocks (looping over the kv head's group of q heads, so GQA needs no reduction)
and dQ in a separate kernel over query blocks (FA2's split, no atomics).

Triton takes head_dim 64, 128 and 256 and a positive softmax_scale; other inputs run the torch
reference (SDPA), or raise NotImplementedError naming the reasons where torch is missing.
"""

from __future__ import annotations

import importlib
import math
import os

import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

from . import _registry
from ._arrays import empty, zeros
from ._checks import check_float, check_same_device, dtype_name
from ._compat import compiling, needs_autograd, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import (capability, prechecked_descriptor, interpreting, reference_reason,
                      triton_reason, tuned)

KERNEL = "attention"
HEAD_DIMS = (64, 128, 256)

_LOG2E = tl.constexpr(1.4426950408889634)
_LN2 = tl.constexpr(0.6931471805599453)
_NO_MAX = tl.constexpr(-1.0e30)  # a finite running max: rows that see no key keep l = 0, not NaN


# ---------------------------------------------------------------------------------------------
# launch configurations: a few per head_dim, tuned per (head_dim, causal, sequence-length bucket)

# (BLOCK_M queries, BLOCK_N keys, num_warps, num_stages)
_FWD = {64: [(128, 64, 4, 3), (128, 128, 8, 3), (64, 64, 4, 3)],
        128: [(128, 64, 8, 3), (128, 128, 8, 2), (128, 64, 4, 3), (64, 64, 4, 3)],
        256: [(64, 64, 4, 2), (128, 64, 8, 2), (64, 32, 4, 2)]}
# The TMA forward: one 4-warp program of 128 queries with two stages fits two programs per SM
# (swept on H200 against 8-warp, 64/256-query and deeper-pipeline variants).
_FWD_TMA = {64: [(128, 64, 4, 2), (128, 128, 8, 2), (64, 64, 4, 3)],
            128: [(128, 64, 4, 2), (64, 64, 4, 3), (128, 128, 8, 3)],
            256: [(64, 64, 4, 2), (128, 64, 8, 2), (64, 32, 4, 2)]}
# head_dim 256 backward, swept on H200 at (4, 16, 2048, 256) causal: dK/dV 1.12 ms at
# (64, 64, 8, 2), 1.13 at (64, 32, 4, 2), 1.35-6.0 for 12 others; dQ 0.59 ms at (128, 32, 8, 2),
# 0.61 at (64, 32, 4, 3), 0.74-1.30 for 10 others. The first of each (the VT_KERNELS_AUTOTUNE=0
# choice, 3.1 and 0.81 ms) also fits shared memory with float32 inputs.
_DKDV = {64: [(32, 128, 4, 3), (64, 128, 8, 3), (64, 64, 4, 3)],
         128: [(32, 128, 8, 2), (64, 128, 8, 2), (32, 64, 4, 3), (64, 64, 4, 2)],
         256: [(32, 64, 4, 2), (64, 64, 8, 2), (64, 32, 4, 2)]}
_DQ = {64: [(128, 32, 4, 3), (128, 64, 8, 3), (64, 64, 4, 3)],
       128: [(128, 32, 8, 2), (128, 64, 8, 2), (64, 64, 4, 3), (64, 32, 4, 3)],
       256: [(64, 32, 4, 2), (128, 32, 8, 2), (64, 32, 4, 3)]}
# The interpreter takes one small config (autotune then skips benchmarking); unequal blocks keep
# the diagonal bookkeeping honest.
_INTERPRETER = {"fwd": (32, 16), "dkdv": (16, 32), "dq": (32, 16)}


def _descriptor_blocks(nargs):
    """Sets the TMA descriptors' block shapes to the config's tiles (before each launch)."""
    rows = {"Q": nargs["BLOCK_M"], "O": nargs["BLOCK_M"], "K": nargs["BLOCK_N"],
            "V": nargs["BLOCK_N"]}
    for name, block in rows.items():
        nargs[name].block_shape = [1, 1, block, nargs["HEAD_DIM"]]


def _autotuned(table, interpreter_blocks, pre_hook=None):
    if interpreting():
        block_m, block_n = interpreter_blocks
        config = triton.Config({"BLOCK_M": block_m, "BLOCK_N": block_n}, num_warps=1,
                               pre_hook=pre_hook)
        return triton.autotune([config], key=[])
    shapes = sorted({shape for shapes in table.values() for shape in shapes})
    configs = [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s,
                             pre_hook=pre_hook)
               for m, n, w, s in shapes]

    def for_head_dim(configs, nargs, **kwargs):
        allowed = set(table[kwargs["HEAD_DIM"]])
        return tuned([c for c in configs if (c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"],
                                             c.num_warps, c.num_stages) in allowed])

    return triton.autotune(configs, key=["HEAD_DIM", "CAUSAL", "seq_bucket"],
                           prune_configs_by={"early_config_prune": for_head_dim},
                           cache_results=True)


# ---------------------------------------------------------------------------------------------
# Triton kernels


# The kernels take seq_q/seq_k: the lengths of dense inputs, the longest lengths of varlen ones
# (which size the grid; each sequence's own lengths come from cu_seqlens).


@triton.jit
def _sequence(CU_Q, CU_K, batch, seq_q, seq_k, VARLEN: tl.constexpr):
    """(first q row, q length, first k row, k length, causal diagonal offset) of one sequence."""
    if VARLEN:
        q_start = tl.load(CU_Q + batch)
        q_len = tl.load(CU_Q + batch + 1) - q_start
        k_start = tl.load(CU_K + batch)
        k_len = tl.load(CU_K + batch + 1) - k_start
        diag = k_len - q_len  # bottom-right aligned, as flash-attn
    else:
        q_start = batch * 0
        q_len = batch * 0 + seq_q
        k_start = batch * 0
        k_len = batch * 0 + seq_k
        diag = batch * 0  # top-left aligned, as torch's is_causal
    return q_start.to(tl.int64), q_len, k_start.to(tl.int64), k_len, diag


@triton.jit
def _key_ranges(start_m, k_len, diag, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr,
                BLOCK_N: tl.constexpr):
    """Keys [0, full_end) are visible to every row of the query block; [full_end, hi) need masks."""
    if CAUSAL:
        hi = tl.maximum(tl.minimum(k_len, start_m + BLOCK_M + diag), 0)
        full_end = tl.maximum(tl.minimum(k_len, start_m + diag + 1), 0)
    else:
        hi = k_len
        full_end = k_len
    return full_end // BLOCK_N * BLOCK_N, hi


@triton.jit
def _softmax_update(l_i, m_i, qk, qk_scale):
    """One key block of the online softmax: (p, rescale of the running sums, new l, new m)."""
    # Scaling after the row max (qk_scale > 0) lets scale-and-subtract fuse into one FMA.
    m_new = tl.maximum(m_i, tl.max(qk, 1) * qk_scale)
    p = tl.math.exp2(qk * qk_scale - m_new[:, None])
    alpha = tl.math.exp2(m_i - m_new)
    return p, alpha, l_i * alpha + tl.sum(p, 1), m_new


@triton.jit
def _finish_rows(acc, l_i, m_i):
    """(out, natural-log lse) of each query row; a row that saw no key gives 0 and +inf."""
    empty_row = l_i == 0.0
    l_safe = tl.where(empty_row, 1.0, l_i)
    lse = tl.where(empty_row, float("inf"), (m_i + tl.math.log2(l_safe)) * _LN2)
    return acc / l_safe[:, None], lse


@triton.jit
def _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, stride_ks, stride_vs, offs_m, offs_d, lo, hi,
                k_len, diag, qk_scale, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
                BLOCK_N: tl.constexpr, PRECISION: tl.constexpr):
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        rows = offs_n.to(tl.int64)[:, None]
        if MASKED:
            in_k = offs_n < k_len
            k = tl.load(k_base + rows * stride_ks + offs_d[None, :], mask=in_k[:, None], other=0.0)
        else:
            k = tl.load(k_base + rows * stride_ks + offs_d[None, :])
        qk = tl.dot(q, tl.trans(k), input_precision=PRECISION)
        if MASKED:
            visible = in_k[None, :]
            if CAUSAL:
                visible = visible & (offs_m[:, None] + diag >= offs_n[None, :])
            qk = tl.where(visible, qk, float("-inf"))
        p, alpha, l_i, m_new = _softmax_update(l_i, m_i, qk, qk_scale)
        if MASKED:
            v = tl.load(v_base + rows * stride_vs + offs_d[None, :], mask=in_k[:, None], other=0.0)
        else:
            v = tl.load(v_base + rows * stride_vs + offs_d[None, :])
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=PRECISION)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _attn_fwd(Q, K, V, O, LSE, CU_Q, CU_K,
              stride_qb, stride_qh, stride_qs, stride_kb, stride_kh, stride_ks,
              stride_vb, stride_vh, stride_vs, stride_ob, stride_oh, stride_os,
              stride_lb, stride_lh, seq_q, seq_k, group, qk_scale, seq_bucket,
              HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, VARLEN: tl.constexpr,
              PRECISION: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_m = tl.program_id(0)
    if CAUSAL:  # the longest query blocks start first, so the short ones fill the tail
        pid_m = tl.cdiv(seq_q, BLOCK_M) - 1 - pid_m
    head = tl.program_id(1)
    batch = tl.program_id(2)
    q_start, q_len, k_start, k_len, diag = _sequence(CU_Q, CU_K, batch, seq_q, seq_k, VARLEN)
    start_m = pid_m * BLOCK_M
    if start_m >= q_len:
        return
    kv_head = (head // group).to(tl.int64)
    head64 = head.to(tl.int64)
    batch64 = batch.to(tl.int64)
    q_base = Q + batch64 * stride_qb + head64 * stride_qh + q_start * stride_qs
    k_base = K + batch64 * stride_kb + kv_head * stride_kh + k_start * stride_ks
    v_base = V + batch64 * stride_vb + kv_head * stride_vh + k_start * stride_vs
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    in_q = offs_m < q_len
    rows = offs_m.to(tl.int64)[:, None]
    q = tl.load(q_base + rows * stride_qs + offs_d[None, :], mask=in_q[:, None], other=0.0)

    m_i = tl.full([BLOCK_M], _NO_MAX, tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    full_end, hi = _key_ranges(start_m, k_len, diag, CAUSAL, BLOCK_M, BLOCK_N)
    acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, stride_ks, stride_vs, offs_m,
                                offs_d, 0, full_end, k_len, diag, qk_scale, False, CAUSAL,
                                BLOCK_N, PRECISION)
    acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, stride_ks, stride_vs, offs_m,
                                offs_d, full_end, hi, k_len, diag, qk_scale, True, CAUSAL,
                                BLOCK_N, PRECISION)

    out, lse = _finish_rows(acc, l_i, m_i)
    o_base = O + batch64 * stride_ob + head64 * stride_oh + q_start * stride_os
    tl.store(o_base + rows * stride_os + offs_d[None, :], out.to(O.dtype.element_ty),
             mask=in_q[:, None])
    lse_base = LSE + batch64 * stride_lb + head64 * stride_lh + q_start
    tl.store(lse_base + offs_m, lse, mask=in_q)


@triton.jit
def _fwd_tma_blocks(acc, l_i, m_i, q, K, V, batch, kv_head, offs_m, lo, hi, k_len, qk_scale,
                    MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr,
                    HEAD_DIM: tl.constexpr, PRECISION: tl.constexpr):
    for start_n in range(lo, hi, BLOCK_N):
        # Keys past k_len arrive as zeros (TMA fills them); the mask hides them.
        k = K.load([batch, kv_head, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        qk = tl.dot(q, tl.trans(k), input_precision=PRECISION)
        if MASKED:
            offs_n = start_n + tl.arange(0, BLOCK_N)
            visible = offs_n[None, :] < k_len
            if CAUSAL:
                visible = visible & (offs_m[:, None] >= offs_n[None, :])
            qk = tl.where(visible, qk, float("-inf"))
        p, alpha, l_i, m_new = _softmax_update(l_i, m_i, qk, qk_scale)
        v = V.load([batch, kv_head, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=PRECISION)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _attn_fwd_tma(Q, K, V, O, LSE, stride_lb, stride_lh, seq_q, seq_k, group, qk_scale,
                  seq_bucket, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                  PRECISION: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """The dense forward with q, k, v, out as (batch, heads, seq, head_dim) TMA descriptors."""
    pid_m = tl.program_id(0)
    if CAUSAL:  # the longest query blocks start first, so the short ones fill the tail
        pid_m = tl.cdiv(seq_q, BLOCK_M) - 1 - pid_m
    head = tl.program_id(1)
    batch = tl.program_id(2)
    kv_head = head // group
    start_m = pid_m * BLOCK_M
    offs_m = start_m + tl.arange(0, BLOCK_M)
    q = Q.load([batch, head, start_m, 0]).reshape(BLOCK_M, HEAD_DIM)

    m_i = tl.full([BLOCK_M], _NO_MAX, tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    full_end, hi = _key_ranges(start_m, seq_k, 0, CAUSAL, BLOCK_M, BLOCK_N)
    acc, l_i, m_i = _fwd_tma_blocks(acc, l_i, m_i, q, K, V, batch, kv_head, offs_m, 0, full_end,
                                    seq_k, qk_scale, False, CAUSAL, BLOCK_N, HEAD_DIM, PRECISION)
    acc, l_i, m_i = _fwd_tma_blocks(acc, l_i, m_i, q, K, V, batch, kv_head, offs_m, full_end, hi,
                                    seq_k, qk_scale, True, CAUSAL, BLOCK_N, HEAD_DIM, PRECISION)

    out, lse = _finish_rows(acc, l_i, m_i)
    O.store([batch, head, start_m, 0], out.to(O.dtype).reshape(1, 1, BLOCK_M, HEAD_DIM))
    lse_base = LSE + batch.to(tl.int64) * stride_lb + head.to(tl.int64) * stride_lh
    tl.store(lse_base + offs_m, lse, mask=offs_m < seq_q)


@fast_launch
@triton.jit
def _attn_bwd_delta(O, DO, DELTA, CU_Q, stride_ob, stride_oh, stride_os, stride_db, stride_dh,
                    stride_ds, stride_lb, stride_lh, seq_q, HEAD_DIM: tl.constexpr,
                    VARLEN: tl.constexpr, BLOCK_M: tl.constexpr):
    head = tl.program_id(1).to(tl.int64)
    batch = tl.program_id(2)
    q_start, q_len, _, _, _ = _sequence(CU_Q, CU_Q, batch, seq_q, seq_q, VARLEN)
    batch = batch.to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    in_q = offs_m < q_len
    rows = offs_m.to(tl.int64)[:, None] + q_start
    o = tl.load(O + batch * stride_ob + head * stride_oh + rows * stride_os + offs_d[None, :],
                mask=in_q[:, None], other=0.0)
    do = tl.load(DO + batch * stride_db + head * stride_dh + rows * stride_ds + offs_d[None, :],
                 mask=in_q[:, None], other=0.0)
    delta = tl.sum(o.to(tl.float32) * do.to(tl.float32), 1)
    tl.store(DELTA + batch * stride_lb + head * stride_lh + q_start + offs_m, delta, mask=in_q)


@triton.jit
def _dkdv_blocks(dk, dv, k, v, q_base, do_base, lse_base, delta_base, stride_qs, stride_dos,
                 offs_n, offs_d, lo, hi, q_len, diag, qk_scale, MASKED: tl.constexpr,
                 BLOCK_M: tl.constexpr, PRECISION: tl.constexpr):
    # Rows past q_len load lse = +inf, so their probabilities (and contributions) are 0.
    for start_m in range(lo, hi, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        in_q = offs_m < q_len
        rows = offs_m.to(tl.int64)[:, None]
        q = tl.load(q_base + rows * stride_qs + offs_d[None, :], mask=in_q[:, None], other=0.0)
        do = tl.load(do_base + rows * stride_dos + offs_d[None, :], mask=in_q[:, None], other=0.0)
        lse2 = tl.load(lse_base + offs_m, mask=in_q, other=float("inf")) * _LOG2E
        delta = tl.load(delta_base + offs_m, mask=in_q, other=0.0)
        qk_t = tl.dot(k, tl.trans(q), input_precision=PRECISION)
        if MASKED:
            qk_t = tl.where(offs_m[None, :] + diag >= offs_n[:, None], qk_t, float("-inf"))
        p_t = tl.math.exp2(qk_t * qk_scale - lse2[None, :])
        dv = tl.dot(p_t.to(do.dtype), do, dv, input_precision=PRECISION)
        dp_t = tl.dot(v, tl.trans(do), input_precision=PRECISION)
        ds_t = p_t * (dp_t - delta[None, :])
        dk = tl.dot(ds_t.to(q.dtype), q, dk, input_precision=PRECISION)
    return dk, dv


@triton.jit
def _attn_bwd_dkdv(Q, K, V, DO, LSE, DELTA, DK, DV, CU_Q, CU_K,
                   stride_qb, stride_qh, stride_qs, stride_kb, stride_kh, stride_ks,
                   stride_vb, stride_vh, stride_vs, stride_db, stride_dh, stride_ds,
                   stride_dkb, stride_dkh, stride_dks, stride_dvb, stride_dvh, stride_dvs,
                   stride_lb, stride_lh, seq_q, seq_k, group, qk_scale, scale, seq_bucket,
                   HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, VARLEN: tl.constexpr,
                   PRECISION: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    kv_head = tl.program_id(1)
    batch = tl.program_id(2)
    q_start, q_len, k_start, k_len, diag = _sequence(CU_Q, CU_K, batch, seq_q, seq_k, VARLEN)
    start_n = tl.program_id(0) * BLOCK_N
    if start_n >= k_len:
        return
    batch64 = batch.to(tl.int64)
    kv_head64 = kv_head.to(tl.int64)
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    in_k = offs_n < k_len
    rows_k = offs_n.to(tl.int64)[:, None] + k_start
    k = tl.load(K + batch64 * stride_kb + kv_head64 * stride_kh + rows_k * stride_ks
                + offs_d[None, :], mask=in_k[:, None], other=0.0)
    v = tl.load(V + batch64 * stride_vb + kv_head64 * stride_vh + rows_k * stride_vs
                + offs_d[None, :], mask=in_k[:, None], other=0.0)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], tl.float32)
    if CAUSAL:
        # Rows below q_lo see none of these keys; rows from q_full on see all of them.
        q_lo = tl.maximum(start_n - diag, 0) // BLOCK_M * BLOCK_M
        q_full = tl.cdiv(tl.maximum(start_n + BLOCK_N - 1 - diag, 0), BLOCK_M) * BLOCK_M
    else:
        q_lo = start_n * 0
        q_full = start_n * 0
    masked_hi = tl.minimum(q_full, q_len)
    for g in range(group):
        head = kv_head64 * group + g
        q_base = Q + batch64 * stride_qb + head * stride_qh + q_start * stride_qs
        do_base = DO + batch64 * stride_db + head * stride_dh + q_start * stride_ds
        lse_base = LSE + batch64 * stride_lb + head * stride_lh + q_start
        delta_base = DELTA + batch64 * stride_lb + head * stride_lh + q_start
        dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, lse_base, delta_base, stride_qs,
                              stride_ds, offs_n, offs_d, q_lo, masked_hi, q_len, diag, qk_scale,
                              True, BLOCK_M, PRECISION)
        dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, lse_base, delta_base, stride_qs,
                              stride_ds, offs_n, offs_d, q_full, q_len, q_len, diag, qk_scale,
                              False, BLOCK_M, PRECISION)
    tl.store(DK + batch64 * stride_dkb + kv_head64 * stride_dkh + rows_k * stride_dks
             + offs_d[None, :], (dk * scale).to(DK.dtype.element_ty), mask=in_k[:, None])
    tl.store(DV + batch64 * stride_dvb + kv_head64 * stride_dvh + rows_k * stride_dvs
             + offs_d[None, :], dv.to(DV.dtype.element_ty), mask=in_k[:, None])


@triton.jit
def _dq_blocks(dq, q, do, lse2, delta, k_base, v_base, stride_ks, stride_vs, offs_m, offs_d, lo,
               hi, k_len, diag, qk_scale, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
               BLOCK_N: tl.constexpr, PRECISION: tl.constexpr):
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        rows = offs_n.to(tl.int64)[:, None]
        if MASKED:
            in_k = offs_n < k_len
            k = tl.load(k_base + rows * stride_ks + offs_d[None, :], mask=in_k[:, None], other=0.0)
            v = tl.load(v_base + rows * stride_vs + offs_d[None, :], mask=in_k[:, None], other=0.0)
        else:
            k = tl.load(k_base + rows * stride_ks + offs_d[None, :])
            v = tl.load(v_base + rows * stride_vs + offs_d[None, :])
        qk = tl.dot(q, tl.trans(k), input_precision=PRECISION)
        if MASKED:
            visible = in_k[None, :]
            if CAUSAL:
                visible = visible & (offs_m[:, None] + diag >= offs_n[None, :])
            qk = tl.where(visible, qk, float("-inf"))
        p = tl.math.exp2(qk * qk_scale - lse2[:, None])
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(k.dtype), k, dq, input_precision=PRECISION)
    return dq


@triton.jit
def _attn_bwd_dq(Q, K, V, DO, LSE, DELTA, DQ, CU_Q, CU_K,
                 stride_qb, stride_qh, stride_qs, stride_kb, stride_kh, stride_ks,
                 stride_vb, stride_vh, stride_vs, stride_db, stride_dh, stride_ds,
                 stride_dqb, stride_dqh, stride_dqs, stride_lb, stride_lh,
                 seq_q, seq_k, group, qk_scale, scale, seq_bucket,
                 HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, VARLEN: tl.constexpr,
                 PRECISION: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_m = tl.program_id(0)
    if CAUSAL:
        pid_m = tl.cdiv(seq_q, BLOCK_M) - 1 - pid_m
    head = tl.program_id(1)
    batch = tl.program_id(2)
    q_start, q_len, k_start, k_len, diag = _sequence(CU_Q, CU_K, batch, seq_q, seq_k, VARLEN)
    start_m = pid_m * BLOCK_M
    if start_m >= q_len:
        return
    kv_head = (head // group).to(tl.int64)
    head64 = head.to(tl.int64)
    batch64 = batch.to(tl.int64)
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    in_q = offs_m < q_len
    rows = offs_m.to(tl.int64)[:, None] + q_start
    q = tl.load(Q + batch64 * stride_qb + head64 * stride_qh + rows * stride_qs + offs_d[None, :],
                mask=in_q[:, None], other=0.0)
    do = tl.load(DO + batch64 * stride_db + head64 * stride_dh + rows * stride_ds + offs_d[None, :],
                 mask=in_q[:, None], other=0.0)
    stats = batch64 * stride_lb + head64 * stride_lh + q_start + offs_m
    lse2 = tl.load(LSE + stats, mask=in_q, other=float("inf")) * _LOG2E
    delta = tl.load(DELTA + stats, mask=in_q, other=0.0)
    k_base = K + batch64 * stride_kb + kv_head * stride_kh + k_start * stride_ks
    v_base = V + batch64 * stride_vb + kv_head * stride_vh + k_start * stride_vs

    dq = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    full_end, hi = _key_ranges(start_m, k_len, diag, CAUSAL, BLOCK_M, BLOCK_N)
    dq = _dq_blocks(dq, q, do, lse2, delta, k_base, v_base, stride_ks, stride_vs, offs_m, offs_d,
                    0, full_end, k_len, diag, qk_scale, False, CAUSAL, BLOCK_N, PRECISION)
    dq = _dq_blocks(dq, q, do, lse2, delta, k_base, v_base, stride_ks, stride_vs, offs_m, offs_d,
                    full_end, hi, k_len, diag, qk_scale, True, CAUSAL, BLOCK_N, PRECISION)
    tl.store(DQ + batch64 * stride_dqb + head64 * stride_dqh + rows * stride_dqs + offs_d[None, :],
             (dq * scale).to(DQ.dtype.element_ty), mask=in_q[:, None])


_attn_fwd_tuned = _autotuned(_FWD, _INTERPRETER["fwd"])(fast_launch(_attn_fwd))
_attn_fwd_tma_tuned = _autotuned(_FWD_TMA, _INTERPRETER["fwd"],
                                 _descriptor_blocks)(fast_launch(_attn_fwd_tma))
_attn_bwd_dkdv_tuned = _autotuned(_DKDV, _INTERPRETER["dkdv"])(fast_launch(_attn_bwd_dkdv))
_attn_bwd_dq_tuned = _autotuned(_DQ, _INTERPRETER["dq"])(fast_launch(_attn_bwd_dq))


# ---------------------------------------------------------------------------------------------
# launchers (no torch: allocation through _arrays)


class _Problem:
    """Sizes and strides shared by the launchers, for dense and packed (varlen) layouts."""

    def __init__(self, q, k, cu_q, max_q, max_k):
        self.varlen = cu_q is not None
        self.heads_q, self.heads_kv = q.shape[1], k.shape[1]
        self.head_dim = q.shape[-1]
        self.group = self.heads_q // self.heads_kv
        if self.varlen:
            self.batch = cu_q.shape[0] - 1
            self.seq_q, self.seq_k = int(max_q), int(max_k)
            total_q = q.shape[0]
            self.stats_shape = (self.heads_q, total_q)
            self.stats_strides = (0, total_q)
        else:
            self.batch, _, self.seq_q, _ = q.shape
            self.seq_k = k.shape[2]
            self.stats_shape = (self.batch, self.heads_q, self.seq_q)
            self.stats_strides = (self.heads_q * self.seq_q, self.seq_q)
        # Autotuning is keyed on a power-of-two bucket, not on every distinct length.
        self.seq_bucket = min(triton.next_power_of_2(max(self.seq_q, self.seq_k, 1)), 16384)
        self.precision = "ieee" if dtype_name(q) == "float32" else "tf32"

    def strides(self, x):
        """(batch, head, row) strides; packed arrays have no batch stride (cu_seqlens give rows)."""
        if self.varlen:
            return 0, x.stride(1), x.stride(0)
        return x.stride(0), x.stride(1), x.stride(2)

    def empty_launch(self) -> bool:
        return self.batch == 0 or self.seq_q == 0 or self.heads_q == 0


def _describable(x) -> bool:
    """TMA can describe x: a 16-byte aligned base and 16-byte multiples for every outer stride.
    Expanded dims (stride 0, size > 1) are refused: TMA descriptors describe dense tensors."""
    size, strides, shape = x.element_size(), x.stride(), x.shape
    return x.data_ptr() % 16 == 0 and all(
        strides[i] * size % 16 == 0 and (strides[i] or shape[i] <= 1) for i in range(3))


def _uses_tma(q, k, v, out, varlen) -> bool:
    if varlen or not all(_describable(t) for t in (q, k, v, out)):
        return False
    return interpreting() or capability(q)[0] >= 9


def _descriptor(x):
    """A (batch, heads, seq, head_dim) descriptor; the block shape is set per config."""
    return prechecked_descriptor(TensorDescriptor, x, [1, 1, 1, x.shape[3]])


# The Gluon kernels, each with the head dims where it measured faster than the Triton kernels
# (bf16, torch's SDPA in the same runs). H100: forward (32, 10, 2048, 128) causal 0.78-0.84 vs
# 1.01 ms, GQA (4, 32/8, 2048, 128) 0.39-0.40 vs 0.53, non-causal 1.22 vs 1.63; split backward
# 2.59-2.87 vs 2.78 ms, GQA 1.27 vs 1.47, non-causal 4.3 vs 5.0. At head_dim 64 the forward and
# the split backward were level with or slower than Triton; the fused backward was faster on
# H200 (tools/attention_interleaved.py, (32, 20, 2048, 64): causal 0.98x of SDPA where Triton
# was 0.93x, non-causal 0.89x vs 0.81x). At head_dim 256 the forward (64 keys per tile) was
# 0.96x of SDPA at (4, 16, 2048, 256) causal and non-causal and 1.02x at (8, 16, 4096, 256)
# causal where Triton was 0.67-0.73x (tools/attention_interleaved.py, H200); the backwards do not
# take head_dim 256.
_GLUON_KERNELS = {
    "forward": ("_attention_hopper", (128, 256)),
    "split backward": ("_attention_hopper_bwd", (128,)),
    "fused backward": ("_attention_hopper_bwd_fused", (64, 128)),
}
# VT_KERNELS_GLUON=0 keeps every input on the Triton kernels (the tools flip this to time them).
_GLUON_ENABLED = os.environ.get("VT_KERNELS_GLUON", "1") != "0"
# The kernels follow triton 3.6's Gluon API (older ones differ, e.g. in warp_specialize).
_GLUON_TRITON = tuple(int(part) for part in triton.__version__.split(".")[:2]) >= (3, 6)
_GLUON_MODULES = {}  # imported on first use: importlib's lookup is a microsecond-scale cost


def _gluon_module(q, varlen, kind: str):
    """(the module of the Gluon kernel `kind` (a key of _GLUON_KERNELS) if it should run these
    inputs, None) or (None, why not)."""
    name, head_dims = _GLUON_KERNELS[kind]
    if not _GLUON_ENABLED:
        return None, "VT_KERNELS_GLUON=0"
    if varlen or interpreting():
        return None, "varlen inputs and the interpreter take the Triton kernels"
    if q.shape[-1] not in head_dims:
        return None, f"head_dim {q.shape[-1]} measured faster on the Triton kernels"
    if not _GLUON_TRITON:
        return None, f"the Gluon kernels need triton >= 3.6, found {triton.__version__}"
    module = _GLUON_MODULES.get(name)
    if module is None:
        try:
            module = _GLUON_MODULES[name] = importlib.import_module(f".{name}", __package__)
        except ImportError as exc:  # a triton without Gluon's Hopper module
            return None, f"Gluon's Hopper module does not import: {exc}"
    return module, None


def _gluon_forward_reason(q, k, v, causal, scale, varlen) -> str | None:
    """None when the warp-specialized Gluon forward (_attention_hopper) runs these inputs."""
    module, reason = _gluon_module(q, varlen, "forward")
    return reason if module is None else module.hopper_reason(q, k, v, None, causal, scale)


def _gluon_backward(q, k, v, out, dout, causal, scale, varlen):
    """(the Gluon backward that runs these inputs, None) or (None, why not): the fused kernel
    where _fused_backward_reason allows it, else the split kernels."""
    if _fused_backward_reason(_deterministic()) is None:
        module, _ = _gluon_module(q, varlen, "fused backward")
        if module is not None and module.hopper_backward_fused_reason(
                q, k, v, out, dout, causal, scale) is None:
            return module.hopper_backward_fused, None
    module, reason = _gluon_module(q, varlen, "split backward")
    if module is None:
        return None, reason
    reason = module.hopper_backward_reason(q, k, v, out, dout, causal, scale)
    return (module.hopper_backward if reason is None else None), reason


def _fused_backward_reason(deterministic: bool) -> str | None:
    """None when the Gluon backward should be the fused one (_attention_hopper_bwd_fused), which
    measured faster than the split kernels (H200, bf16, same run: (32, 10, 2048, 128) causal 2.16
    vs 2.48 ms, non-causal 3.76 vs 4.28, GQA (4, 32/8, 2048, 128) causal 0.95 vs 1.04). Its dQ
    sums float32 partials in a varying order."""
    if deterministic:
        return "deterministic algorithms are on (the fused dQ adds partials in a varying order)"
    return None


def _deterministic() -> bool:
    return torch is not None and torch.are_deterministic_algorithms_enabled()


def _triton_forward(q, k, v, causal, scale, cu_q, cu_k, max_q, max_k):
    p = _Problem(q, k, cu_q, max_q, max_k)
    if p.seq_k and _gluon_forward_reason(q, k, v, causal, scale, p.varlen) is None:
        from ._attention_hopper import hopper_forward
        return hopper_forward(q, k, v, causal, scale)
    out = empty(tuple(q.shape), dtype_name(q), like=q)
    lse = empty(p.stats_shape, "float32", like=q)
    if p.empty_launch():
        return out, lse
    grid = lambda meta: (triton.cdiv(p.seq_q, meta["BLOCK_M"]), p.heads_q, p.batch)
    if p.seq_k and _uses_tma(q, k, v, out, p.varlen):
        _attn_fwd_tma_tuned[grid](
            _descriptor(q), _descriptor(k), _descriptor(v), _descriptor(out), lse,
            *p.stats_strides, p.seq_q, p.seq_k, p.group, scale * math.log2(math.e), p.seq_bucket,
            HEAD_DIM=p.head_dim, CAUSAL=bool(causal), PRECISION=p.precision)
        return out, lse
    _attn_fwd_tuned[grid](
        q, k, v, out, lse, cu_q, cu_k, *p.strides(q), *p.strides(k), *p.strides(v),
        *p.strides(out), *p.stats_strides, p.seq_q, p.seq_k, p.group, scale * math.log2(math.e),
        p.seq_bucket,
        HEAD_DIM=p.head_dim, CAUSAL=bool(causal), VARLEN=p.varlen, PRECISION=p.precision)
    return out, lse


def _triton_backward(q, k, v, out, lse, dout, causal, scale, cu_q, cu_k, max_q, max_k):
    p = _Problem(q, k, cu_q, max_q, max_k)
    gluon = _gluon_backward(q, k, v, out, dout, causal, scale, p.varlen)[0] if p.seq_k else None
    if gluon is not None:
        return gluon(q, k, v, out, lse, dout, causal, scale)
    dq = empty(tuple(q.shape), dtype_name(q), like=q)
    dk = empty(tuple(k.shape), dtype_name(k), like=k)
    dv = empty(tuple(v.shape), dtype_name(v), like=v)
    if p.empty_launch():
        return dq, _zeros_like(dk), _zeros_like(dv)
    delta = empty(p.stats_shape, "float32", like=q)
    rows = 16 if interpreting() else 8192 // p.head_dim
    _attn_bwd_delta[(triton.cdiv(p.seq_q, rows), p.heads_q, p.batch)](
        out, dout, delta, cu_q, *p.strides(out), *p.strides(dout), *p.stats_strides, p.seq_q,
        HEAD_DIM=p.head_dim, VARLEN=p.varlen, BLOCK_M=rows, num_warps=4)
    qk_scale = scale * math.log2(math.e)
    common = {"HEAD_DIM": p.head_dim, "CAUSAL": bool(causal), "VARLEN": p.varlen,
              "PRECISION": p.precision}
    if p.seq_k:
        grid_kv = lambda meta: (triton.cdiv(p.seq_k, meta["BLOCK_N"]), p.heads_kv, p.batch)
        _attn_bwd_dkdv_tuned[grid_kv](
            q, k, v, dout, lse, delta, dk, dv, cu_q, cu_k, *p.strides(q), *p.strides(k),
            *p.strides(v), *p.strides(dout), *p.strides(dk), *p.strides(dv), *p.stats_strides,
            p.seq_q, p.seq_k, p.group, qk_scale, scale, p.seq_bucket, **common)
    grid_q = lambda meta: (triton.cdiv(p.seq_q, meta["BLOCK_M"]), p.heads_q, p.batch)
    _attn_bwd_dq_tuned[grid_q](
        q, k, v, dout, lse, delta, dq, cu_q, cu_k, *p.strides(q), *p.strides(k), *p.strides(v),
        *p.strides(dout), *p.strides(dq), *p.stats_strides, p.seq_q, p.seq_k, p.group, qk_scale,
        scale, p.seq_bucket, **common)
    return dq, dk, dv


def _zeros_like(x):
    return zeros(tuple(x.shape), dtype_name(x), like=x)


def _triton_supports(q, k, v, causal, scale, cu_q, cu_k, max_q, max_k):
    reason = triton_reason(q, k, v, cu_q, cu_k)
    if reason is not None:
        return reason
    if q.shape[-1] not in HEAD_DIMS:
        return f"head_dim {q.shape[-1]} is not one of {', '.join(map(str, HEAD_DIMS))}"
    if not scale > 0:
        return f"softmax_scale must be positive, got {scale}"
    return None


# ---------------------------------------------------------------------------------------------
# torch reference: SDPA per dense block (a loop over sequences for varlen), float32 logsumexp


def _causal_mask(seq_q, seq_k, diag, device):
    return torch.ones(seq_q, seq_k, dtype=torch.bool, device=device).tril(diag)


def _reference_dense(q, k, v, causal, scale, diag, with_lse):
    """(out, lse or None) of (batch, heads, seq, head_dim) blocks; `diag` aligns the causal mask."""
    seq_q, seq_k = q.shape[2], k.shape[2]
    if seq_k == 0:
        out = q.new_zeros(q.shape)
        lse = q.new_full(q.shape[:3], math.inf, dtype=torch.float32) if with_lse else None
        return out, lse
    mask = _causal_mask(seq_q, seq_k, diag, q.device) if causal and diag != 0 else None
    out = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=causal and diag == 0, scale=scale, enable_gqa=True)
    if not with_lse:
        return out, None
    heads_kv = k.shape[1]
    scores = (q.float().unflatten(1, (heads_kv, -1)) @ k.float().unsqueeze(2).transpose(-1, -2))
    scores = scores.flatten(1, 2) * scale
    if causal:
        scores = scores.masked_fill(~_causal_mask(seq_q, seq_k, diag, q.device), -math.inf)
    lse = torch.logsumexp(scores, -1)
    return out, lse.masked_fill(lse == -math.inf, math.inf)


def _reference_attend(q, k, v, causal, scale, cu_q, cu_k, with_lse):
    if cu_q is None:
        return _reference_dense(q, k, v, causal, scale, 0, with_lse)
    out = torch.zeros_like(q)
    lse = q.new_full((q.shape[1], q.shape[0]), math.inf, dtype=torch.float32) if with_lse else None
    starts_q, starts_k = cu_q.tolist(), cu_k.tolist()
    for q0, q1, k0, k1 in zip(starts_q[:-1], starts_q[1:], starts_k[:-1], starts_k[1:]):
        if q1 == q0:
            continue
        qi, ki, vi = (t[a:b].transpose(0, 1).unsqueeze(0) for t, a, b in
                      ((q, q0, q1), (k, k0, k1), (v, k0, k1)))
        oi, li = _reference_dense(qi, ki, vi, causal, scale, (k1 - k0) - (q1 - q0), with_lse)
        out[q0:q1] = oi[0].transpose(0, 1)
        if with_lse:
            lse[:, q0:q1] = li[0]
    return out, lse


def _reference_forward(q, k, v, causal, scale, cu_q, cu_k, max_q, max_k):
    return _reference_attend(q, k, v, causal, scale, cu_q, cu_k, with_lse=True)


def _reference_backward(q, k, v, out, lse, dout, causal, scale, cu_q, cu_k, max_q, max_k):
    with torch.enable_grad():
        leaves = [t.detach().requires_grad_(True) for t in (q, k, v)]
        recomputed, _ = _reference_attend(*leaves, causal, scale, cu_q, cu_k, with_lse=False)
        return torch.autograd.grad(recomputed, leaves, dout)


def _reference_supports(q, k, v, causal, scale, cu_q, cu_k, max_q, max_k):
    return reference_reason(q, k, v, cu_q, cu_k)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class AttentionFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v, causal, scale, cu_q, cu_k, max_q, max_k, impl):
            out, lse = impl.forward(q, k, v, causal, scale, cu_q, cu_k, max_q, max_k)
            ctx.save_for_backward(q, k, v, out, lse, cu_q, cu_k)
            ctx.impl = impl
            ctx.args = (causal, scale, max_q, max_k)
            return out

        @staticmethod
        def backward(ctx, dout):
            q, k, v, out, lse, cu_q, cu_k = ctx.saved_tensors
            causal, scale, max_q, max_k = ctx.args
            dq, dk, dv = ctx.impl.backward(q, k, v, out, lse, _unit_last_dim(dout), causal, scale,
                                           cu_q, cu_k, max_q, max_k)
            return dq, dk, dv, None, None, None, None, None, None, None


def _unit_last_dim(x):
    return x if x.stride(-1) == 1 else x.contiguous()


def _check(q, k, v, cu_q, cu_k, max_q, max_k):
    op = "attention"
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_float(op, name, t)
    if not dtype_name(q) == dtype_name(k) == dtype_name(v):
        raise TypeError(f"{op}: q, k and v must share one dtype, got {dtype_name(q)}, "
                        f"{dtype_name(k)} and {dtype_name(v)}")
    check_same_device(op, q=q, k=k, v=v, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k)
    varlen = cu_q is not None or cu_k is not None
    layout = "(total, heads, head_dim)" if varlen else "(batch, heads, seq, head_dim)"
    for name, t in (("q", q), ("k", k), ("v", v)):
        if len(t.shape) != (3 if varlen else 4):
            raise RuntimeError(f"{op}: expected {name} of shape {layout}, got {tuple(t.shape)}")
    if tuple(k.shape) != tuple(v.shape):
        raise RuntimeError(f"{op}: k has shape {tuple(k.shape)} and v {tuple(v.shape)}; "
                           "expected equal shapes")
    if q.shape[-1] != k.shape[-1]:
        raise RuntimeError(f"{op}: q has head_dim {q.shape[-1]}, k has {k.shape[-1]}")
    if k.shape[1] == 0 or q.shape[1] % k.shape[1]:
        raise RuntimeError(f"{op}: heads_q {q.shape[1]} is not a multiple of heads_kv {k.shape[1]}")
    if not varlen:
        if q.shape[0] != k.shape[0]:
            raise RuntimeError(f"{op}: q has batch {q.shape[0]}, k has batch {k.shape[0]}")
        return
    if cu_q is None or cu_k is None:
        raise RuntimeError(f"{op}: variable lengths need both cu_seqlens_q and cu_seqlens_k")
    if max_q is None or max_k is None:
        raise RuntimeError(f"{op}: variable lengths need max_seqlen_q and max_seqlen_k (the "
                           "longest sequence lengths; deriving them would sync with the device)")
    for name, cu in (("cu_seqlens_q", cu_q), ("cu_seqlens_k", cu_k)):
        if dtype_name(cu) != "int32":
            raise TypeError(f"{op}: {name} must be int32, got {dtype_name(cu)}")
        if len(cu.shape) != 1 or cu.shape[0] < 2:
            raise RuntimeError(f"{op}: {name} must have shape (batch + 1,), got {tuple(cu.shape)}")
    if cu_q.shape != cu_k.shape:
        raise RuntimeError(f"{op}: cu_seqlens_q has shape {tuple(cu_q.shape)}, cu_seqlens_k "
                           f"{tuple(cu_k.shape)}; expected one entry per sequence for both")


def _prepare(q, k, v, causal, softmax_scale, cu_q, cu_k, max_q, max_k):
    _check(q, k, v, cu_q, cu_k, max_q, max_k)
    scale = float(softmax_scale) if softmax_scale is not None else 1.0 / math.sqrt(q.shape[-1])
    if cu_q is not None:
        max_q, max_k = int(max_q), int(max_k)
    return (_unit_last_dim(q), _unit_last_dim(k), _unit_last_dim(v), bool(causal), scale,
            cu_q, cu_k, max_q, max_k)


@foreign_arrays
def attention(q, k, v, causal: bool = False, softmax_scale: float | None = None,
              cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q: int | None = None,
              max_seqlen_k: int | None = None):
    """softmax(q k^T * scale + mask) v, like F.scaled_dot_product_attention(..., enable_gqa=True).

    Dense: q (batch, heads_q, seq_q, head_dim), k/v (batch, heads_kv, seq_k, head_dim); causal is
    top-left aligned as torch's is_causal. Varlen (flash-attn layout): q (total_q, heads_q,
    head_dim), k/v (total_k, heads_kv, head_dim), int32 cu_seqlens_q/k (batch + 1) and the longest
    lengths max_seqlen_q/k; causal is bottom-right aligned per sequence as flash-attn's.
    """
    if compiling():
        if cu_seqlens_q is not None or cu_seqlens_k is not None:  # varlen: eagerly, a graph break
            return torch.compiler.disable(attention)(q, k, v, causal, softmax_scale, cu_seqlens_q,
                                                     cu_seqlens_k, max_seqlen_q, max_seqlen_k)
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.attention(q, k, v, causal, softmax_scale)
    args = _prepare(q, k, v, causal, softmax_scale, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                    max_seqlen_k)
    impl = _registry.select(KERNEL, *args)
    if needs_autograd(q, k, v):
        return AttentionFunction.apply(*args, impl)
    return impl.forward(*args)[0]


@foreign_arrays
def attention_forward(q, k, v, causal: bool = False, softmax_scale: float | None = None,
                      cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q: int | None = None,
                      max_seqlen_k: int | None = None):
    """The forward without autograd: (out, lse), lse float32 natural-log logsumexp per query row,
    (batch, heads_q, seq_q) dense or (heads_q, total_q) varlen; +inf for rows that see no key."""
    args = _prepare(q, k, v, causal, softmax_scale, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                    max_seqlen_k)
    return _registry.select(KERNEL, *args).forward(*args)


@foreign_arrays
def attention_backward(q, k, v, out, lse, dout, causal: bool = False,
                       softmax_scale: float | None = None, cu_seqlens_q=None, cu_seqlens_k=None,
                       max_seqlen_q: int | None = None, max_seqlen_k: int | None = None):
    """Gradients (dq, dk, dv) from attention_forward's inputs, out and lse and the gradient dout."""
    q, k, v, causal, scale, cu_q, cu_k, max_q, max_k = _prepare(
        q, k, v, causal, softmax_scale, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k)
    for name, t in (("out", out), ("dout", dout)):
        if tuple(t.shape) != tuple(q.shape):
            raise RuntimeError(f"attention_backward: {name} has shape {tuple(t.shape)}, expected "
                               f"{tuple(q.shape)}")
        if dtype_name(t) != dtype_name(q):
            raise TypeError(f"attention_backward: {name} has dtype {dtype_name(t)}, expected "
                            f"{dtype_name(q)} like q")
    if dtype_name(lse) != "float32":
        raise TypeError(f"attention_backward: lse must be float32, got {dtype_name(lse)}")
    lse_shape = (q.shape[1], q.shape[0]) if cu_q is not None else tuple(q.shape[:3])
    if tuple(lse.shape) != lse_shape:
        raise RuntimeError(f"attention_backward: lse has shape {tuple(lse.shape)}, expected "
                           f"{lse_shape}")
    check_same_device("attention_backward", q=q, out=out, lse=lse, dout=dout)
    # The kernels index lse rows as (batch, head, seq) with unit stride along seq.
    lse = lse if lse.is_contiguous() else lse.contiguous()
    impl = _registry.select(KERNEL, q, k, v, causal, scale, cu_q, cu_k, max_q, max_k)
    return impl.backward(q, k, v, _unit_last_dim(out), lse, _unit_last_dim(dout), causal, scale,
                         cu_q, cu_k, max_q, max_k)
