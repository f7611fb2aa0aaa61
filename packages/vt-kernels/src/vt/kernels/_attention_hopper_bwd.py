"""The dense attention backward for Hopper (sm_90a) in Gluon: FlashAttention-2's split (a dK/dV
kernel and a dQ kernel, no atomics) with FlashAttention-3's warp specialization.

Both kernels have three partitions: a producer warp issuing TMA loads into mbarrier-guarded rings,
and two consumer warpgroups issuing async wgmma, each on its own 64 rows of the program's tile.
- dK/dV: one program per 128 keys of one kv head (64 per consumer), K and V held in shared memory;
  the producer streams 64-query tiles (q, dO, lse, delta) over every q head of the kv head's group
  and every query block that sees the keys. Per tile: S^T = K Q^T, P^T = exp2(S^T * scale * log2e
  - lse * log2e), dP^T = V dO^T, dS^T = P^T (dP^T - delta), dV += P^T dO, dK += dS^T Q.
- dQ: one program per 128 queries of one q head (64 per consumer), Q, dO, lse, delta loaded once;
  the producer streams key/value tiles. Per tile: S = Q K^T, P, dP = dO V^T, dS, dQ += dS K.
A small Triton kernel first writes delta = rowsum(dO * O) and lse * log2e into buffers padded to
whole 128-query blocks (+inf and 0 past seq_q), so that TMA can load them and padded query rows
get P = 0. Semantics are attention.py's dense backward (top-left causal, GQA, no varlen).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import triton
import triton.language as tl
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (
    fence_async_shared,
    mbarrier,
    tma,
    warpgroup_mma,
    warpgroup_mma_init,
    warpgroup_mma_wait,
)
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor

from ._arrays import empty, zeros
from ._attention_hopper import (
    _CONSUMER_REGS,
    _LOG2E,
    _MAX_REGS,
    _PRODUCER_REGS,
    _descriptor,
    _key_tiles,
    _tile_layout,
    tensors_reason,
)
from ._checks import dtype_name
from ._fast_launch import fast_launch, jit_function
from ._launch import prechecked_descriptor, sm_count

# Rows per consumer warpgroup (wgmma's M for 4 warps). A dK/dV program covers 2 x 64 keys and
# streams 64-query tiles; a dQ program covers 2 x 64 queries. The padded row statistics cover
# whole 128-query blocks so that every tile either kernel loads is in bounds.
_ROWS = 64
_PAD = 2 * _ROWS


class Config(NamedTuple):
    dkdv_stages: int  # (q, dO) tiles in flight in the dK/dV kernel
    dq_block_n: int  # keys per dQ tile
    dq_stages: int  # (k, v) tiles in flight in the dQ kernel


# Per head_dim, the default first (the rest for tools/attention_hopper_bwd_check.py --configs).
# dK/dV: each consumer holds dK and dV (64 x head_dim fp32 each) next to S^T and dP^T (64 x 64),
# so query tiles stay at 64 (head_dim 128 then uses all 240 registers); shared memory is K and V
# (2 x 16/32 KB) plus per stage a q and a dO tile (8/16 KB each): at most 166 KB. dQ: dQ, S and
# dP per consumer; shared memory is Q and dO (32/64 KB) plus per stage a K and a V tile of
# dq_block_n keys: at most 198 KB. No config spills registers in the loops (ptxas -v).
# head_dim 128's default was the fastest or within 1% of it at each TARGETS.md shape in
# tools/attention_interleaved.py on H200 (GQA (4, 32/8, 2048, 128) causal: 1.072 ms, the
# previous default 2/64/3 1.133 ms, SDPA 0.948 ms).
CONFIGS = {
    64: [Config(3, 128, 2), Config(4, 128, 3), Config(2, 64, 3), Config(3, 64, 4)],
    128: [Config(3, 64, 4), Config(2, 64, 3), Config(3, 64, 2), Config(2, 128, 2)],
}
DTYPES = ("bfloat16", "float16")


# ---------------------------------------------------------------------------------------------
# row statistics: delta = rowsum(dO * O) and lse * log2e, padded (Triton)


@fast_launch
@triton.jit
def _bwd_row_stats(O, DO, LSE, LSE2, DELTA, stride_ob, stride_oh, stride_os, stride_db,
                   stride_dh, stride_ds, stride_lb, stride_lh, seq_q, seq_pad,
                   HEAD_DIM: tl.constexpr, ROWS: tl.constexpr):
    head = tl.program_id(1).to(tl.int64)
    batch = tl.program_id(2).to(tl.int64)
    offs_m = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    offs_d = tl.arange(0, HEAD_DIM)
    in_q = offs_m < seq_q
    rows = offs_m.to(tl.int64)[:, None]
    o = tl.load(O + batch * stride_ob + head * stride_oh + rows * stride_os + offs_d[None, :],
                mask=in_q[:, None], other=0.0)
    do = tl.load(DO + batch * stride_db + head * stride_dh + rows * stride_ds + offs_d[None, :],
                 mask=in_q[:, None], other=0.0)
    delta = tl.sum(o.to(tl.float32) * do.to(tl.float32), 1)
    # Rows past seq_q get lse +inf: p = exp2(s - inf) = 0 for the finite scores of their zero rows.
    lse = tl.load(LSE + batch * stride_lb + head * stride_lh + offs_m, mask=in_q,
                  other=float("inf"))
    padded = (batch * tl.num_programs(1) + head) * seq_pad + offs_m
    tl.store(LSE2 + padded, lse * _LOG2E)
    tl.store(DELTA + padded, delta)


# ---------------------------------------------------------------------------------------------
# dK/dV kernel (Gluon)


@gluon.jit
def _program_block(heads_per_group):
    """(block, head, batch) of this program of a (blocks, heads, batch) grid, such that programs,
    which start in grid order, take heads_per_group (batch, head) pairs at a time block-major:
    block 0 of each pair, then block 1, ... Block 0 is the causal kernels' longest, so the short
    ones fill the tail (one head at a time left a tail of long blocks, 10-20% of a GQA launch),
    while the Q/dO (or K/V) of the pairs in flight stay few enough to be read from L2."""
    n_blocks = gl.num_programs(0)
    heads = gl.num_programs(1)
    linear = gl.program_id(0) + n_blocks * (gl.program_id(1) + heads * gl.program_id(2))
    span = heads_per_group * n_blocks
    first = (linear // span) * heads_per_group
    members = gl.minimum(heads_per_group, heads * gl.num_programs(2) - first)
    rest = linear - (linear // span) * span
    pair = first + rest % members
    return rest // members, pair % heads, pair // heads


@gluon.jit
def _query_tiles(start_n, seq_q, group, CAUSAL: gl.constexpr, BLOCK_M: gl.constexpr):
    """(first query block, query blocks per q head) that the key block at start_n visits; it
    visits them for each of the group's q heads. The producer and the consumers both loop over
    exactly group * blocks tiles: a mismatch leaves one side waiting on an mbarrier forever."""
    blocks = gl.cdiv(seq_q, BLOCK_M)
    if CAUSAL:  # top-left: query i sees key j iff i >= j, so blocks before start_n see nothing
        first = gl.minimum(start_n // BLOCK_M, blocks)
    else:
        first = 0
    return first, blocks - first


@gluon.jit
def _dkdv_load_partition(descs, bufs, bars, batch, kv_head, start_n, seq_q, group,
                         CAUSAL: gl.constexpr, STAGES: gl.constexpr):
    q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc = descs
    k_bufs, v_bufs, q_bufs, do_bufs, lse_bufs, delta_bufs = bufs
    kv_ready, q_ready, q_empty, do_ready, do_empty = bars
    KEYS: gl.constexpr = k_desc.block_type.shape[2]
    BLOCK_M: gl.constexpr = q_desc.block_type.shape[2]
    for half in gl.static_range(2):
        mbarrier.expect(kv_ready.index(half),
                        k_desc.block_type.nbytes + v_desc.block_type.nbytes)
        tma.async_copy_global_to_shared(k_desc, [batch, kv_head, start_n + half * KEYS, 0],
                                        kv_ready.index(half), k_bufs.index(half))
        tma.async_copy_global_to_shared(v_desc, [batch, kv_head, start_n + half * KEYS, 0],
                                        kv_ready.index(half), v_bufs.index(half))
    first, blocks = _query_tiles(start_n, seq_q, group, CAUSAL, BLOCK_M)
    for t in range(group * blocks):
        head = kv_head * group + t // blocks
        start_m = (first + t % blocks) * BLOCK_M
        slot = t % STAGES
        # A fresh mbarrier counts as having completed the phase before phase 0, so the first
        # pass through the ring (parity 1) does not wait for consumers.
        parity = ((t // STAGES) & 1) ^ 1
        # Query rows past seq_q arrive as zeros, their lse as +inf (padded): they give p = 0.
        mbarrier.wait(q_empty.index(slot), parity)
        mbarrier.expect(q_ready.index(slot),
                        q_desc.block_type.nbytes + lse_desc.block_type.nbytes)
        tma.async_copy_global_to_shared(q_desc, [batch, head, start_m, 0], q_ready.index(slot),
                                        q_bufs.index(slot))
        tma.async_copy_global_to_shared(lse_desc, [batch, head, start_m], q_ready.index(slot),
                                        lse_bufs.index(slot))
        mbarrier.wait(do_empty.index(slot), parity)
        mbarrier.expect(do_ready.index(slot),
                        do_desc.block_type.nbytes + delta_desc.block_type.nbytes)
        tma.async_copy_global_to_shared(do_desc, [batch, head, start_m, 0], do_ready.index(slot),
                                        do_bufs.index(slot))
        tma.async_copy_global_to_shared(delta_desc, [batch, head, start_m], do_ready.index(slot),
                                        delta_bufs.index(slot))


@gluon.jit
def _tile_scores(k, v, q_bufs, do_bufs, q_ready, do_ready, slot, parity, st_zero):
    """Waits for the q and dO tiles in ring slot `slot` and issues S^T = K Q^T and dP^T = V dO^T
    (this warpgroup's keys x the tile's queries) as async wgmmas, in that order."""
    HEAD_DIM: gl.constexpr = k.type.shape[1]
    BLOCK_M: gl.constexpr = q_bufs.type.shape[3]
    mbarrier.wait(q_ready.index(slot), parity)
    q = q_bufs.index(slot).reshape([BLOCK_M, HEAD_DIM])
    s_t = warpgroup_mma(k, q.permute((1, 0)), st_zero, use_acc=False, is_async=True)
    mbarrier.wait(do_ready.index(slot), parity)
    do = do_bufs.index(slot).reshape([BLOCK_M, HEAD_DIM])
    dp_t = warpgroup_mma(v, do.permute((1, 0)), st_zero, use_acc=False, is_async=True)
    return s_t, dp_t


@gluon.jit
def _tile_p_ds(s_t, dp_t, lse_bufs, delta_bufs, slot, qk_scale, start_m, key0, keys, seq_k,
               keys_past_end, CAUSAL: gl.constexpr):
    """P^T and dS^T (float32) of the tile in ring slot `slot` from its S^T (waited for) and dP^T
    (in flight, waited for here), with P^T masked above the causal diagonal and, when
    keys_past_end, at keys >= seq_k."""
    KEYS: gl.constexpr = s_t.type.shape[0]
    BLOCK_M: gl.constexpr = s_t.type.shape[1]
    query_layout: gl.constexpr = gl.SliceLayout(0, s_t.type.layout)
    lse2 = lse_bufs.index(slot).reshape([BLOCK_M]).load(query_layout)
    p_t = gl.exp2(s_t * qk_scale - gl.expand_dims(lse2, 0))
    # Only tiles that cross the diagonal mask; a select, so masked overflow gives 0, not NaN.
    if CAUSAL:
        if start_m < key0 + KEYS:
            queries = start_m + gl.arange(0, BLOCK_M, layout=query_layout)
            p_t = gl.where(gl.expand_dims(queries, 0) >= gl.expand_dims(keys, 1), p_t, 0.0)
    if keys_past_end:
        p_t = gl.where(gl.expand_dims(keys < seq_k, 1), p_t, 0.0)
    dp_t = warpgroup_mma_wait(0, deps=(dp_t, ))
    delta = delta_bufs.index(slot).reshape([BLOCK_M]).load(query_layout)
    return p_t, p_t * (dp_t - gl.expand_dims(delta, 0))


@gluon.jit
def _dkdv_compute_partition(descs, bufs, bars, batch, kv_head, start_n, seq_q, group, qk_scale,
                            scale, HALF: gl.constexpr, CAUSAL: gl.constexpr,
                            STAGES: gl.constexpr):
    dk_desc, dv_desc = descs[6], descs[7]
    k_bufs, v_bufs, q_bufs, do_bufs, lse_bufs, delta_bufs = bufs
    kv_ready, q_ready, q_empty, do_ready, do_empty = bars
    KEYS: gl.constexpr = k_bufs.type.shape[3]
    BLOCK_M: gl.constexpr = q_bufs.type.shape[3]
    HEAD_DIM: gl.constexpr = k_bufs.type.shape[4]
    dtype: gl.constexpr = dk_desc.dtype
    # S^T and dP^T: this warpgroup's keys x the tile's queries; dK, dV: keys x head_dim.
    st_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                        instr_shape=[16, BLOCK_M, 16])
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                         instr_shape=[16, HEAD_DIM, 16])
    # P^T and dS^T feed the dV and dK wgmmas from registers.
    op_layout: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=acc_layout, k_width=2)

    key0 = start_n + HALF * KEYS
    keys = key0 + gl.arange(0, KEYS, layout=gl.SliceLayout(1, st_layout))
    st_zero = gl.zeros([KEYS, BLOCK_M], gl.float32, st_layout)
    dk = gl.zeros([KEYS, HEAD_DIM], gl.float32, acc_layout)
    dv = gl.zeros([KEYS, HEAD_DIM], gl.float32, acc_layout)

    # Waited for even without tiles: the epilogue reuses these buffers for dK and dV.
    mbarrier.wait(kv_ready.index(HALF), 0)
    k = k_bufs.index(HALF).reshape([KEYS, HEAD_DIM])
    v = v_bufs.index(HALF).reshape([KEYS, HEAD_DIM])
    first, blocks = _query_tiles(start_n, seq_q, group, CAUSAL, BLOCK_M)
    for t in range(group * blocks):
        start_m = (first + t % blocks) * BLOCK_M
        slot = t % STAGES
        s_t, dp_t = _tile_scores(k, v, q_bufs, do_bufs, q_ready, do_ready, slot,
                                 (t // STAGES) & 1, st_zero)
        s_t = warpgroup_mma_wait(1, deps=(s_t, ))
        # Keys past seq_k are clipped from dK and dV (their rows only mix with themselves).
        p_t, ds_t = _tile_p_ds(s_t, dp_t, lse_bufs, delta_bufs, slot, qk_scale, start_m, key0,
                               keys, 0, False, CAUSAL)
        q = q_bufs.index(slot).reshape([BLOCK_M, HEAD_DIM])
        do = do_bufs.index(slot).reshape([BLOCK_M, HEAD_DIM])
        p_op = gl.convert_layout(p_t.to(dtype), op_layout)
        dv = warpgroup_mma(p_op, do, dv, is_async=True)
        ds_op = gl.convert_layout(ds_t.to(dtype), op_layout)
        dk = warpgroup_mma(ds_op, q, dk, is_async=True)
        dv, dk, p_op, ds_op = warpgroup_mma_wait(0, deps=(dv, dk, p_op, ds_op))
        mbarrier.arrive(q_empty.index(slot))
        mbarrier.arrive(do_empty.index(slot))

    # This warpgroup's K and V are done with (its last wgmma was waited for): reuse them.
    k_bufs.index(HALF).reshape([KEYS, HEAD_DIM]).store((dk * scale).to(dtype))
    v_bufs.index(HALF).reshape([KEYS, HEAD_DIM]).store(dv.to(dtype))
    fence_async_shared()
    # Keys past seq_k are clipped by TMA (their rows only ever mixed with themselves).
    tma.async_copy_shared_to_global(dk_desc, [batch, kv_head, key0, 0], k_bufs.index(HALF))
    tma.async_copy_shared_to_global(dv_desc, [batch, kv_head, key0, 0], v_bufs.index(HALF))
    tma.store_wait(0)


@gluon.jit
def _dkdv_buffers(q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, STAGES: gl.constexpr):
    """The shared memory _dkdv_load_partition fills, for this kernel and the fused backward:
    both key halves of K and V, and STAGES-deep rings of q, dO, lse and delta tiles."""
    dtype: gl.constexpr = q_desc.dtype
    k_bufs = gl.allocate_shared_memory(dtype, [2] + k_desc.block_type.shape, k_desc.layout)
    v_bufs = gl.allocate_shared_memory(dtype, [2] + v_desc.block_type.shape, v_desc.layout)
    q_bufs = gl.allocate_shared_memory(dtype, [STAGES] + q_desc.block_type.shape, q_desc.layout)
    do_bufs = gl.allocate_shared_memory(dtype, [STAGES] + do_desc.block_type.shape,
                                        do_desc.layout)
    lse_bufs = gl.allocate_shared_memory(gl.float32, [STAGES] + lse_desc.block_type.shape,
                                         lse_desc.layout)
    delta_bufs = gl.allocate_shared_memory(gl.float32, [STAGES] + delta_desc.block_type.shape,
                                           delta_desc.layout)
    return k_bufs, v_bufs, q_bufs, do_bufs, lse_bufs, delta_bufs


@gluon.jit
def _dkdv_barriers(STAGES: gl.constexpr):
    """The mbarriers between _dkdv_load_partition and its two consumer warpgroups, initialized:
    (kv_ready per key half, q_ready, q_empty, do_ready, do_empty per ring slot)."""
    kv_ready = gl.allocate_shared_memory(gl.int64, [2, 1], mbarrier.MBarrierLayout())
    q_ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    q_empty = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    do_ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    do_empty = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    for half in gl.static_range(2):
        mbarrier.init(kv_ready.index(half), count=1)
    for slot in gl.static_range(STAGES):
        mbarrier.init(q_ready.index(slot), count=1)
        mbarrier.init(do_ready.index(slot), count=1)
        # A slot is free once both consumer warpgroups are done with it (one arrive each).
        mbarrier.init(q_empty.index(slot), count=2)
        mbarrier.init(do_empty.index(slot), count=2)
    return kv_ready, q_ready, q_empty, do_ready, do_empty


@fast_launch
@gluon.jit
def _attn_bwd_dkdv_hopper(q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, dk_desc,
                          dv_desc, seq_q, group, qk_scale, scale, heads_per_group,
                          CAUSAL: gl.constexpr, STAGES: gl.constexpr,
                          PRODUCER_REGS: gl.constexpr, CONSUMER_REGS: gl.constexpr):
    KEYS: gl.constexpr = k_desc.block_type.shape[2]
    block, kv_head, batch = _program_block(heads_per_group)
    start_n = block * 2 * KEYS

    descs = (q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, dk_desc, dv_desc)
    bufs = _dkdv_buffers(q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, STAGES)
    bars = _dkdv_barriers(STAGES)
    gl.warp_specialize([
        (_dkdv_compute_partition, (descs, bufs, bars, batch, kv_head, start_n, seq_q, group,
                                   qk_scale, scale, 0, CAUSAL, STAGES)),
        (_dkdv_compute_partition, (descs, bufs, bars, batch, kv_head, start_n, seq_q, group,
                                   qk_scale, scale, 1, CAUSAL, STAGES)),
        (_dkdv_load_partition, (descs, bufs, bars, batch, kv_head, start_n, seq_q, group, CAUSAL,
                                STAGES)),
    ], [4, 1], [CONSUMER_REGS, PRODUCER_REGS])


# ---------------------------------------------------------------------------------------------
# dQ kernel (Gluon). Its producer and consumers both loop over exactly _key_tiles (the forward's)
# key tiles: a mismatch leaves one side waiting on an mbarrier forever.


@gluon.jit
def _dq_load_partition(descs, bufs, bars, batch, head, kv_head, start_m, seq_k,
                       CAUSAL: gl.constexpr, STAGES: gl.constexpr):
    q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc = descs[:6]
    q_bufs, do_bufs, lse_bufs, delta_bufs, k_bufs, v_bufs = bufs
    rows_ready, k_ready, k_empty, v_ready, v_empty = bars
    ROWS: gl.constexpr = q_desc.block_type.shape[2]
    BLOCK_N: gl.constexpr = k_desc.block_type.shape[2]
    for half in gl.static_range(2):
        row0 = start_m + half * ROWS
        mbarrier.expect(rows_ready.index(half),
                        2 * q_desc.block_type.nbytes + 2 * lse_desc.block_type.nbytes)
        tma.async_copy_global_to_shared(q_desc, [batch, head, row0, 0], rows_ready.index(half),
                                        q_bufs.index(half))
        tma.async_copy_global_to_shared(do_desc, [batch, head, row0, 0], rows_ready.index(half),
                                        do_bufs.index(half))
        tma.async_copy_global_to_shared(lse_desc, [batch, head, row0], rows_ready.index(half),
                                        lse_bufs.index(half))
        tma.async_copy_global_to_shared(delta_desc, [batch, head, row0], rows_ready.index(half),
                                        delta_bufs.index(half))
    for j in range(_key_tiles(start_m, seq_k, CAUSAL, 2 * ROWS, BLOCK_N)):
        slot = j % STAGES
        parity = ((j // STAGES) & 1) ^ 1  # the first pass through the ring does not wait
        # Keys past seq_k arrive as zeros (TMA fills rows out of range); consumers mask them.
        mbarrier.wait(k_empty.index(slot), parity)
        mbarrier.expect(k_ready.index(slot), k_desc.block_type.nbytes)
        tma.async_copy_global_to_shared(k_desc, [batch, kv_head, j * BLOCK_N, 0],
                                        k_ready.index(slot), k_bufs.index(slot))
        mbarrier.wait(v_empty.index(slot), parity)
        mbarrier.expect(v_ready.index(slot), v_desc.block_type.nbytes)
        tma.async_copy_global_to_shared(v_desc, [batch, kv_head, j * BLOCK_N, 0],
                                        v_ready.index(slot), v_bufs.index(slot))


@gluon.jit
def _dq_compute_partition(descs, bufs, bars, batch, head, start_m, seq_k, qk_scale, scale,
                          HALF: gl.constexpr, CAUSAL: gl.constexpr, STAGES: gl.constexpr):
    dq_desc = descs[6]
    q_bufs, do_bufs, lse_bufs, delta_bufs, k_bufs, v_bufs = bufs
    rows_ready, k_ready, k_empty, v_ready, v_empty = bars
    ROWS: gl.constexpr = q_bufs.type.shape[3]
    HEAD_DIM: gl.constexpr = q_bufs.type.shape[4]
    BLOCK_N: gl.constexpr = k_bufs.type.shape[3]
    # A K slot goes back one tile late (below): with one slot the producer could never refill it.
    gl.static_assert(STAGES >= 2, "the dQ kernel needs two or more key stages")
    dtype: gl.constexpr = dq_desc.dtype
    s_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                       instr_shape=[16, BLOCK_N, 16])
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                         instr_shape=[16, HEAD_DIM, 16])
    op_layout: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=acc_layout, k_width=2)
    row_layout: gl.constexpr = gl.SliceLayout(1, s_layout)
    key_layout: gl.constexpr = gl.SliceLayout(0, s_layout)

    row0 = start_m + HALF * ROWS
    rows = row0 + gl.arange(0, ROWS, layout=row_layout)
    # Tiles before first_masked are visible to every row and hold no key past seq_k.
    if CAUSAL:
        first_masked = gl.minimum(seq_k, row0 + 1) // BLOCK_N
    else:
        first_masked = seq_k // BLOCK_N
    s_zero = gl.zeros([ROWS, BLOCK_N], gl.float32, s_layout)
    dq = warpgroup_mma_init(gl.zeros([ROWS, HEAD_DIM], gl.float32, acc_layout))
    ds_op = gl.zeros([ROWS, BLOCK_N], dtype, op_layout)

    mbarrier.wait(rows_ready.index(HALF), 0)
    q = q_bufs.index(HALF).reshape([ROWS, HEAD_DIM])
    do = do_bufs.index(HALF).reshape([ROWS, HEAD_DIM])
    lse2 = gl.expand_dims(lse_bufs.index(HALF).reshape([ROWS]).load(row_layout), 1)
    delta = gl.expand_dims(delta_bufs.index(HALF).reshape([ROWS]).load(row_layout), 1)
    n_tiles = _key_tiles(start_m, seq_k, CAUSAL, 2 * ROWS, BLOCK_N)
    for j in range(n_tiles):
        slot = j % STAGES
        parity = (j // STAGES) & 1
        mbarrier.wait(k_ready.index(slot), parity)
        k = k_bufs.index(slot).reshape([BLOCK_N, HEAD_DIM])
        s = warpgroup_mma(q, k.permute((1, 0)), s_zero, use_acc=False, is_async=True)
        mbarrier.wait(v_ready.index(slot), parity)
        v = v_bufs.index(slot).reshape([BLOCK_N, HEAD_DIM])
        dp = warpgroup_mma(do, v.permute((1, 0)), s_zero, use_acc=False, is_async=True)
        # The previous tile's dQ wgmma runs under this tile's waits and issues; wgmma groups
        # retire in order, so waiting for S retires it too and its K slot can go back.
        s, dq, ds_op = warpgroup_mma_wait(1, deps=(s, dq, ds_op))
        if j > 0:
            mbarrier.arrive(k_empty.index((j - 1) % STAGES))
        p = gl.exp2(s * qk_scale - lse2)
        if j >= first_masked:  # a select, so masked overflow gives 0, not NaN
            cols = j * BLOCK_N + gl.arange(0, BLOCK_N, layout=key_layout)
            visible = gl.expand_dims(cols < seq_k, 0)
            if CAUSAL:
                visible = visible & (gl.expand_dims(rows, 1) >= gl.expand_dims(cols, 0))
            p = gl.where(visible, p, 0.0)
        dp = warpgroup_mma_wait(0, deps=(dp, ))
        mbarrier.arrive(v_empty.index(slot))
        ds_op = gl.convert_layout((p * (dp - delta)).to(dtype), op_layout)
        dq = warpgroup_mma(ds_op, k, dq, is_async=True)
    dq, ds_op = warpgroup_mma_wait(0, deps=(dq, ds_op))
    mbarrier.arrive(k_empty.index((n_tiles - 1) % STAGES))

    # This warpgroup's Q is done with (its last wgmma was waited for): reuse it for dQ.
    q_bufs.index(HALF).reshape([ROWS, HEAD_DIM]).store((dq * scale).to(dtype))
    fence_async_shared()
    tma.async_copy_shared_to_global(dq_desc, [batch, head, row0, 0], q_bufs.index(HALF))
    tma.store_wait(0)


@fast_launch
@gluon.jit
def _attn_bwd_dq_hopper(q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, dq_desc, seq_q,
                        seq_k, group, qk_scale, scale, heads_per_group, CAUSAL: gl.constexpr,
                        STAGES: gl.constexpr, PRODUCER_REGS: gl.constexpr,
                        CONSUMER_REGS: gl.constexpr):
    ROWS: gl.constexpr = q_desc.block_type.shape[2]
    pid_m, head, batch = _program_block(heads_per_group)
    if CAUSAL:  # the last query block is the longest
        pid_m = gl.cdiv(seq_q, 2 * ROWS) - 1 - pid_m
    start_m = pid_m * 2 * ROWS
    kv_head = head // group

    dtype: gl.constexpr = q_desc.dtype
    q_bufs = gl.allocate_shared_memory(dtype, [2] + q_desc.block_type.shape, q_desc.layout)
    do_bufs = gl.allocate_shared_memory(dtype, [2] + do_desc.block_type.shape, do_desc.layout)
    lse_bufs = gl.allocate_shared_memory(gl.float32, [2] + lse_desc.block_type.shape,
                                         lse_desc.layout)
    delta_bufs = gl.allocate_shared_memory(gl.float32, [2] + delta_desc.block_type.shape,
                                           delta_desc.layout)
    k_bufs = gl.allocate_shared_memory(dtype, [STAGES] + k_desc.block_type.shape, k_desc.layout)
    v_bufs = gl.allocate_shared_memory(dtype, [STAGES] + v_desc.block_type.shape, v_desc.layout)
    rows_ready = gl.allocate_shared_memory(gl.int64, [2, 1], mbarrier.MBarrierLayout())
    k_ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    k_empty = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    v_ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    v_empty = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    for half in gl.static_range(2):
        mbarrier.init(rows_ready.index(half), count=1)
    for slot in gl.static_range(STAGES):
        mbarrier.init(k_ready.index(slot), count=1)
        mbarrier.init(v_ready.index(slot), count=1)
        # A slot is free once both consumer warpgroups are done with it (one arrive each).
        mbarrier.init(k_empty.index(slot), count=2)
        mbarrier.init(v_empty.index(slot), count=2)

    descs = (q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, dq_desc)
    bufs = (q_bufs, do_bufs, lse_bufs, delta_bufs, k_bufs, v_bufs)
    bars = (rows_ready, k_ready, k_empty, v_ready, v_empty)
    gl.warp_specialize([
        (_dq_compute_partition, (descs, bufs, bars, batch, head, start_m, seq_k, qk_scale, scale,
                                 0, CAUSAL, STAGES)),
        (_dq_compute_partition, (descs, bufs, bars, batch, head, start_m, seq_k, qk_scale, scale,
                                 1, CAUSAL, STAGES)),
        (_dq_load_partition, (descs, bufs, bars, batch, head, kv_head, start_m, seq_k, CAUSAL,
                              STAGES)),
    ], [4, 1], [CONSUMER_REGS, PRODUCER_REGS])


# ---------------------------------------------------------------------------------------------
# launcher


@functools.lru_cache(maxsize=1)
def _stats_layout():
    # 64 fp32 of one row: no swizzle (a swizzled TMA box is at most 128 bytes wide).
    return gl.NVMMASharedLayout.get_default_for([1, 1, _ROWS], gl.float32)


def _stats_descriptor(x):
    """A (batch, heads, seq_pad) float32 descriptor of [1, 1, 64] rows."""
    return prechecked_descriptor(TensorDescriptor, x, [1, 1, _ROWS], _stats_layout())


def heads_per_wave(pairs: int, blocks: int, device_index: int) -> int:
    """_program_block's heads_per_group: about one wave of programs (one per SM) of a launch's
    `pairs` (batch, head) pairs of `blocks` blocks each. A wave then shares its pairs' tiles in
    L2 and starts their longest blocks first. More pairs thrashed L2 (H100, non-causal (32, 10,
    2048, 128): 0.85x of SDPA with 32 pairs a group, 1.02x with 4-16; GQA prefill: 0.87x with
    32, 1.05x with 8, 0.99x with 4)."""
    return max(1, min(pairs, round(sm_count(device_index) / blocks)))


def row_stats(out, dout, lse, seq_pad: int):
    """(lse * log2e, delta = rowsum(dout * out)), float32 (batch, heads_q, seq_pad), padded past
    seq_q with +inf and 0 (see _bwd_row_stats)."""
    batch, heads_q, seq_q, head_dim = out.shape
    lse2 = empty((batch, heads_q, seq_pad), "float32", like=out)
    delta = empty((batch, heads_q, seq_pad), "float32", like=out)
    rows = 8192 // head_dim
    _bwd_row_stats[(seq_pad // rows, heads_q, batch)](
        out, dout, lse, lse2, delta, *out.stride()[:3], *dout.stride()[:3], *lse.stride()[:2],
        seq_q, seq_pad, HEAD_DIM=head_dim, ROWS=rows, num_warps=4)
    return lse2, delta


def hopper_backward_reason(q, k, v, out, dout, causal, scale) -> str | None:
    """None when hopper_backward takes these inputs, else why not."""
    reason = tensors_reason("backward", {"q": q, "k": k, "v": v, "out": out, "dout": dout},
                            CONFIGS, scale, tma=("q", "k", "v", "dout"))
    if reason is None and out.stride(3) != 1:  # the row statistics read out without TMA
        return "out needs a unit inner stride"
    return reason


def hopper_backward(q, k, v, out, lse, dout, causal, scale, config: Config | None = None):
    """(dq, dk, dv) of softmax(q k^T * scale + mask) v, like attention.py's dense backward: q,
    out, dout (batch, heads_q, seq_q, head_dim), k/v (batch, heads_kv, seq_k, head_dim), lse the
    forward's float32 natural-log logsumexp (batch, heads_q, seq_q). `config` overrides CONFIGS'
    default. hopper_backward_reason says which inputs it takes."""
    batch, heads_q, seq_q, head_dim = q.shape
    heads_kv, seq_k = k.shape[1], k.shape[2]
    dtype = dtype_name(q)
    dq = empty(tuple(q.shape), dtype, like=q)
    dk = empty(tuple(k.shape), dtype, like=k)
    dv = empty(tuple(v.shape), dtype, like=v)
    config = config or CONFIGS[head_dim][0]
    if batch == 0 or heads_q == 0 or seq_q == 0:
        return dq, zeros(tuple(k.shape), dtype, like=k), zeros(tuple(v.shape), dtype, like=v)
    seq_pad = triton.cdiv(seq_q, _PAD) * _PAD
    lse2, delta = row_stats(out, dout, lse, seq_pad)

    group = heads_q // heads_kv
    qk_scale = scale * _LOG2E.value
    rows_q, rows_do, rows_dq = (_descriptor(t, _ROWS) for t in (q, dout, dq))
    stats = (_stats_descriptor(lse2), _stats_descriptor(delta))
    regs = {"PRODUCER_REGS": _PRODUCER_REGS, "CONSUMER_REGS": _CONSUMER_REGS, "num_warps": 4,
            "maxnreg": _MAX_REGS}
    dkdv_blocks, device = triton.cdiv(seq_k, 2 * _ROWS), q.device.index or 0
    _attn_bwd_dkdv_hopper[(dkdv_blocks, heads_kv, batch)](
        rows_q, _descriptor(k, _ROWS), _descriptor(v, _ROWS), rows_do, *stats,
        _descriptor(dk, _ROWS), _descriptor(dv, _ROWS), seq_q, group, qk_scale, scale,
        heads_per_wave(batch * heads_kv, dkdv_blocks, device), CAUSAL=bool(causal),
        STAGES=config.dkdv_stages, **regs)
    _attn_bwd_dq_hopper[(seq_pad // _PAD, heads_q, batch)](
        rows_q, _descriptor(k, config.dq_block_n), _descriptor(v, config.dq_block_n), rows_do,
        *stats, rows_dq, seq_q, seq_k, group, qk_scale, scale,
        heads_per_wave(batch * heads_q, seq_pad // _PAD, device), CAUSAL=bool(causal),
        STAGES=config.dq_stages, **regs)
    return dq, dk, dv


def compile_sm90(head_dim: int, dtype: str, causal: bool, config: Config) -> dict:
    """Compiles both kernels of one configuration for sm_90a without a GPU (for tests and tools
    that read their PTX and metadata): {"dkdv": compiled, "dq": compiled}."""
    from triton.backends.compiler import GPUTarget
    from triton.experimental.gluon._runtime import GluonASTSource

    short = {"bfloat16": "bf16", "float16": "fp16"}[dtype]

    def tiles(rows):
        layout = _tile_layout(rows, head_dim, dtype)
        return f"tensordesc<{short}[1, 1, {rows}, {head_dim}],{layout!r}>"

    stats = f"tensordesc<fp32[1, 1, {_ROWS}],{_stats_layout()!r}>"
    regs = {"PRODUCER_REGS": _PRODUCER_REGS, "CONSUMER_REGS": _CONSUMER_REGS}
    target = GPUTarget("cuda", 90, 32)
    options = {"num_warps": 4, "maxnreg": _MAX_REGS}

    def build(kernel, signature, constants):
        signature.update({name: "constexpr" for name in constants})
        return triton.compile(GluonASTSource(jit_function(kernel), signature, constants),
                              target=target, options=options)

    common = {"q_desc": tiles(_ROWS)}
    dkdv = build(_attn_bwd_dkdv_hopper, {
        **common, "k_desc": tiles(_ROWS), "v_desc": tiles(_ROWS), "do_desc": tiles(_ROWS),
        "lse_desc": stats, "delta_desc": stats, "dk_desc": tiles(_ROWS), "dv_desc": tiles(_ROWS),
        "seq_q": "i32", "group": "i32", "qk_scale": "fp32", "scale": "fp32",
        "heads_per_group": "i32"},
        {"CAUSAL": bool(causal), "STAGES": config.dkdv_stages, **regs})
    dq = build(_attn_bwd_dq_hopper, {
        **common, "k_desc": tiles(config.dq_block_n), "v_desc": tiles(config.dq_block_n),
        "do_desc": tiles(_ROWS), "lse_desc": stats, "delta_desc": stats, "dq_desc": tiles(_ROWS),
        "seq_q": "i32", "seq_k": "i32", "group": "i32", "qk_scale": "fp32", "scale": "fp32",
        "heads_per_group": "i32"},
        {"CAUSAL": bool(causal), "STAGES": config.dq_stages, **regs})
    return {"dkdv": dkdv, "dq": dq}
