"""A fused (one-kernel) dense attention backward for Hopper (sm_90a) in Gluon: FlashAttention-3's
structure, dQ accumulated in float32 by TMA reduce-adds.

_attention_hopper_bwd.py splits the backward like FlashAttention-2: its dK/dV kernel does four
wgmmas per tile (S^T, dP^T, dV += P^T dO, dK += dS^T Q) and its dQ kernel recomputes S and dP for
a third (dQ += dS K): 7 matmuls where one kernel needs 5. Here the dK/dV program also computes
each query tile's dQ partial, dS K over its 128 keys, and adds it into a float32 accumulator in
global memory (zero-filled by the launcher); a small Triton kernel then scales the accumulator and
casts it to q's dtype.

Program, grid, program order and producer are the dK/dV kernel's (its producer partition is reused
as is): one program per 128 keys of one kv head, two consumer warpgroups of 64 keys each holding
dK and dV in registers, a one-warp TMA producer streaming 64-query tiles (q, dO, lse * log2e,
delta) over every q head of the group and every query block that sees the keys. New per tile t:
- each warpgroup stores its dS^T (64 keys x 64 queries, 16-bit) into ds_bufs[2 * (t % 2) + HALF];
  since dQ needs all 128 keys' dS, both then meet at the mbarrier ds_ready[t % 2] (count 2);
- warpgroup HALF computes the column half HALF of the tile's dQ (64 queries x head_dim / 2, 32
  fp32 registers a thread at head_dim 128) as two wgmmas of K = 64, one per key half h: dS_h
  (queries x keys, ds_bufs[2 * (t % 2) + h] transposed) @ K_h[:, columns of HALF], issued while
  the tile's dV and dK wgmmas still run;
- the warpgroup stores the partial into its shared-memory buffer dq_bufs[HALF], and TMA adds it
  into the accumulator (cp.reduce.async.bulk.tensor .add, _tma_add) while the next tile runs; the
  buffer is rewritten once the previous add has read it. The softmax scale is applied once, at
  conversion. Adding from registers instead (4-wide float32 atomics, REDG) held the consumers
  up: at (32, 10, 2048, 128) causal on H200 the kernel took 2.00 ms that way, 1.68 with the
  adds masked off and 1.72 with TMA adds (cuDNN's SDPA kernel: 1.65). Waiting for a tile's dQ
  only under the next tile's S^T (software pipelining) was 20% slower.
After the loop one more phase of ds_ready tells each warpgroup that the other's last dQ wgmmas,
which read both K halves, are done before it reuses its K half for the dK store. K tiles are
swizzled by head_dim / 2 columns (_key_layout), so that a column half is whole swizzle atoms.

The adds make dQ's float32 summation order vary between runs (as in FlashAttention), so dQ is not
bitwise deterministic; dK and dV are. Semantics are attention.py's dense backward (top-left causal,
GQA, no varlen). head_dim 256 is not taken: dK and dV alone would need 256 fp32 registers a thread.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import triton
import triton.language as tl
from triton._C.libtriton import ir
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language._core import builtin
from triton.experimental.gluon.language.nvidia.hopper import (
    fence_async_shared,
    mbarrier,
    tma,
    warpgroup_mma,
    warpgroup_mma_wait,
)
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor

from ._arrays import empty, zeros
from ._attention_hopper import (
    _CONSUMER_REGS,
    _GL_DTYPES,
    _LOG2E,
    _MAX_REGS,
    _PRODUCER_REGS,
    _descriptor,
    _tile_layout,
    tensors_reason,
)
from ._attention_hopper_bwd import (
    _PAD,
    _ROWS,
    _dkdv_barriers,
    _dkdv_buffers,
    _dkdv_load_partition,
    _program_block,
    _query_tiles,
    _stats_descriptor,
    _stats_layout,
    _tile_p_ds,
    _tile_scores,
    heads_per_wave,
    row_stats,
)
from ._checks import dtype_name
from ._fast_launch import fast_launch, jit_function
from ._launch import prechecked_descriptor


@builtin
def _tma_add(tensor_desc, coord, src, _semantic=None):
    """TMA's reduce-add of a shared-memory tile into global memory (cp.reduce.async.bulk.tensor
    .add), awaited like a TMA store (tma.store_wait): Triton 3.6 builds the op for Gluon but has
    no function for it."""
    coord = _semantic._convert_to_ir_values(coord, require_i64=False)
    _semantic.builder.create_async_tma_reduce(ir.DESCRIPTOR_REDUCE_KIND.ADD, tensor_desc.handle,
                                              coord, src.handle)


class Config(NamedTuple):
    stages: int  # (q, dO) tiles in flight


# Per head_dim, the default first (the rest for tools/attention_hopper_bwd_check.py --configs).
# Shared memory at head_dim 128: K and V (2 x 2 x 16 KB), per stage a q and a dO tile (2 x 16 KB)
# and their lse/delta rows (512 B), ds_bufs (2 x 2 x 8 KB) and each consumer's dQ partial (2 x 16
# KB): 2 stages take 194 KB. 3 take 226 KB and spill registers (ptxas), so head_dim 128 has one
# config. At head_dim 64 all but ds_bufs halves: 2/3/4 stages take 114/130/147 KB, and nothing
# spills; with dQ added by TMA, 4 stages were level with 2 causal ((32, 20, 2048, 64) on H200,
# tools/attention_hopper_bwd_check.py --configs: 0.989x vs 0.988x of SDPA) and faster
# non-causal (0.916x vs 0.878x) and with GQA ((4, 32/8, 2048, 64) causal: 1.093x vs 1.039x).
CONFIGS = {
    64: [Config(4), Config(2), Config(3)],
    128: [Config(2)],
}
DTYPES = ("bfloat16", "float16")


# ---------------------------------------------------------------------------------------------
# the fused kernel (Gluon)
#
# Every mbarrier wait names the parity of the phase it needs; a fresh mbarrier counts as having
# completed the phase before phase 0, so a wait for parity 1 on it passes. The producer and the
# consumers loop over exactly the tiles of _query_tiles (a mismatch leaves one side waiting on an
# mbarrier forever); the producer is _attention_hopper_bwd's, unchanged.


@gluon.jit
def _add_dq(dq, dq_bufs, dq_desc, batch, head, start_m, HALF: gl.constexpr):
    """Adds this warpgroup's dQ partial of the tile at (head, start_m) into the float32
    accumulator: TMA adds it from dq_bufs[HALF] while the warpgroup goes on, and the buffer is
    rewritten once the previous add has read it. Query rows past seq_q add zeros (P = 0) into
    the accumulator's padding."""
    tma.store_wait(0)
    dq_bufs.index(HALF).reshape(dq.type.shape).store(dq)
    fence_async_shared()
    _tma_add(dq_desc, [batch, head, start_m, HALF * dq.type.shape[1]], dq_bufs.index(HALF))


@gluon.jit
def _fused_compute_partition(descs, bufs, bars, ds_bufs, ds_ready, dq_desc, dq_bufs, batch,
                             kv_head, start_n, seq_q, seq_k, group, qk_scale, scale,
                             HALF: gl.constexpr, CAUSAL: gl.constexpr, STAGES: gl.constexpr):
    dk_desc, dv_desc = descs[6], descs[7]
    k_bufs, v_bufs, q_bufs, do_bufs, lse_bufs, delta_bufs = bufs
    kv_ready, q_ready, q_empty, do_ready, do_empty = bars
    KEYS: gl.constexpr = k_bufs.type.shape[3]
    BLOCK_M: gl.constexpr = q_bufs.type.shape[3]
    HEAD_DIM: gl.constexpr = k_bufs.type.shape[4]
    DQ_COLS: gl.constexpr = HEAD_DIM // 2  # this warpgroup's columns of dQ
    dtype: gl.constexpr = dk_desc.dtype
    # S^T and dP^T: this warpgroup's keys x the tile's queries; dK, dV: keys x head_dim; dQ: the
    # tile's queries x this warpgroup's column half.
    st_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                        instr_shape=[16, BLOCK_M, 16])
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                         instr_shape=[16, HEAD_DIM, 16])
    dq_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                        instr_shape=[16, DQ_COLS, 16])
    # P^T and dS^T feed the dV and dK wgmmas from registers.
    op_layout: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=acc_layout, k_width=2)

    key0 = start_n + HALF * KEYS
    keys = key0 + gl.arange(0, KEYS, layout=gl.SliceLayout(1, st_layout))
    # Keys past seq_k arrive as zeros (S^T = 0, so P^T = exp2(-lse2), which overflows for rows of
    # very negative scores): the split kernel clips their dK/dV rows, but here their dS^T would
    # reach dQ (inf * 0 = NaN), so the last key block masks them.
    keys_past_end = key0 + KEYS > seq_k
    st_zero = gl.zeros([KEYS, BLOCK_M], gl.float32, st_layout)
    dq_zero = gl.zeros([BLOCK_M, DQ_COLS], gl.float32, dq_layout)
    dk = gl.zeros([KEYS, HEAD_DIM], gl.float32, acc_layout)
    dv = gl.zeros([KEYS, HEAD_DIM], gl.float32, acc_layout)

    # Both K halves: dQ reads all 128 keys. Waited for even without tiles: the epilogue reuses
    # K and V for dK and dV.
    mbarrier.wait(kv_ready.index(0), 0)
    mbarrier.wait(kv_ready.index(1), 0)
    k = k_bufs.index(HALF).reshape([KEYS, HEAD_DIM])
    v = v_bufs.index(HALF).reshape([KEYS, HEAD_DIM])
    # B operands of the dQ wgmmas: keys x this warpgroup's columns of each K half, one whole
    # swizzle atom (_key_layout).
    k_cols0 = k_bufs.index(0).reshape([KEYS, HEAD_DIM]).slice(HALF * DQ_COLS, DQ_COLS, dim=1)
    k_cols1 = k_bufs.index(1).reshape([KEYS, HEAD_DIM]).slice(HALF * DQ_COLS, DQ_COLS, dim=1)
    first, blocks = _query_tiles(start_n, seq_q, group, CAUSAL, BLOCK_M)
    n_tiles = group * blocks
    for t in range(n_tiles):
        head = kv_head * group + t // blocks
        start_m = (first + t % blocks) * BLOCK_M
        slot = t % STAGES
        s_t, dp_t = _tile_scores(k, v, q_bufs, do_bufs, q_ready, do_ready, slot,
                                 (t // STAGES) & 1, st_zero)
        s_t = warpgroup_mma_wait(1, deps=(s_t, ))
        p_t, ds_t = _tile_p_ds(s_t, dp_t, lse_bufs, delta_bufs, slot, qk_scale, start_m, key0,
                               keys, seq_k, keys_past_end, CAUSAL)
        q = q_bufs.index(slot).reshape([BLOCK_M, HEAD_DIM])
        do = do_bufs.index(slot).reshape([BLOCK_M, HEAD_DIM])
        ds_t = ds_t.to(dtype)
        p_op = gl.convert_layout(p_t.to(dtype), op_layout)
        dv = warpgroup_mma(p_op, do, dv, is_async=True)
        ds_op = gl.convert_layout(ds_t, op_layout)
        dk = warpgroup_mma(ds_op, q, dk, is_async=True)

        # Share dS^T with the other warpgroup. Why two buffers and this one barrier suffice: a
        # warpgroup passes the wait of tile t only once both have stored tile t's dS^T, and it
        # stores tile t + 2's into the same buffer only after passing tile t + 1's wait, for
        # which the other warpgroup arrives only after its tile t wgmmas (which read the buffer)
        # were waited for. The same argument keeps the parity waits within one phase.
        buf = t % 2
        ds_bufs.index(buf * 2 + HALF).store(ds_t)
        fence_async_shared()  # the generic-proxy stores, before the other warpgroup's wgmma
        mbarrier.arrive(ds_ready.index(buf))  # after a warpgroup barrier: all 128 threads stored
        mbarrier.wait(ds_ready.index(buf), (t // 2) & 1)
        dq = warpgroup_mma(ds_bufs.index(buf * 2).permute((1, 0)), k_cols0, dq_zero,
                           use_acc=False, is_async=True)
        dq = warpgroup_mma(ds_bufs.index(buf * 2 + 1).permute((1, 0)), k_cols1, dq,
                           is_async=True)
        # wgmma groups retire in order: with the two dQ groups outstanding, dV and dK are done
        # and the q and dO slot can go back while dQ still runs.
        dv, dk, p_op, ds_op = warpgroup_mma_wait(2, deps=(dv, dk, p_op, ds_op))
        mbarrier.arrive(q_empty.index(slot))
        mbarrier.arrive(do_empty.index(slot))
        dq = warpgroup_mma_wait(0, deps=(dq, ))
        _add_dq(dq, dq_bufs, dq_desc, batch, head, start_m, HALF)

    # This warpgroup's V is read by its own wgmmas only (all waited for): reuse it for dV.
    v_bufs.index(HALF).reshape([KEYS, HEAD_DIM]).store(dv.to(dtype))
    # Both warpgroups' dQ wgmmas read both K halves: one more phase of ds_ready (n_tiles % 2 is
    # the buffer after the last one used) says that the other warpgroup's last one is done.
    mbarrier.arrive(ds_ready.index(n_tiles % 2))
    mbarrier.wait(ds_ready.index(n_tiles % 2), (n_tiles // 2) & 1)
    k_bufs.index(HALF).reshape([KEYS, HEAD_DIM]).store((dk * scale).to(dtype))
    fence_async_shared()
    # Keys past seq_k are clipped by TMA (their rows only ever mixed with themselves).
    tma.async_copy_shared_to_global(dk_desc, [batch, kv_head, key0, 0], k_bufs.index(HALF))
    tma.async_copy_shared_to_global(dv_desc, [batch, kv_head, key0, 0], v_bufs.index(HALF))
    tma.store_wait(0)


@fast_launch
@gluon.jit
def _attn_bwd_fused_hopper(q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, dk_desc,
                           dv_desc, dq_desc, seq_q, seq_k, group, qk_scale, scale,
                           heads_per_group, CAUSAL: gl.constexpr, STAGES: gl.constexpr,
                           PRODUCER_REGS: gl.constexpr, CONSUMER_REGS: gl.constexpr):
    KEYS: gl.constexpr = k_desc.block_type.shape[2]
    BLOCK_M: gl.constexpr = q_desc.block_type.shape[2]
    block, kv_head, batch = _program_block(heads_per_group)
    start_n = block * 2 * KEYS

    # The split dK/dV kernel's producer, buffers and barriers, plus dS^T of both warpgroups
    # (keys x queries), double-buffered by tile parity: written from registers, read by wgmma
    # transposed (queries x keys).
    descs = (q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, dk_desc, dv_desc)
    bufs = _dkdv_buffers(q_desc, k_desc, v_desc, do_desc, lse_desc, delta_desc, STAGES)
    dtype: gl.constexpr = q_desc.dtype
    ds_layout: gl.constexpr = gl.NVMMASharedLayout.get_default_for([KEYS, BLOCK_M], dtype)
    ds_bufs = gl.allocate_shared_memory(dtype, [4, KEYS, BLOCK_M], ds_layout)  # [buf * 2 + half]
    # Each consumer's dQ partial (queries x its column half), the source of its TMA add.
    dq_bufs = gl.allocate_shared_memory(gl.float32, [2] + dq_desc.block_type.shape,
                                        dq_desc.layout)
    bars = _dkdv_barriers(STAGES)
    ds_ready = gl.allocate_shared_memory(gl.int64, [2, 1], mbarrier.MBarrierLayout())
    for half in gl.static_range(2):
        # Complete once both consumer warpgroups stored their dS^T half (one arrive each).
        mbarrier.init(ds_ready.index(half), count=2)
    gl.warp_specialize([
        (_fused_compute_partition, (descs, bufs, bars, ds_bufs, ds_ready, dq_desc, dq_bufs,
                                    batch, kv_head, start_n, seq_q, seq_k, group, qk_scale,
                                    scale, 0, CAUSAL, STAGES)),
        (_fused_compute_partition, (descs, bufs, bars, ds_bufs, ds_ready, dq_desc, dq_bufs,
                                    batch, kv_head, start_n, seq_q, seq_k, group, qk_scale,
                                    scale, 1, CAUSAL, STAGES)),
        (_dkdv_load_partition, (descs, bufs, bars, batch, kv_head, start_n, seq_q, group, CAUSAL,
                                STAGES)),
    ], [4, 1], [CONSUMER_REGS, PRODUCER_REGS])


# ---------------------------------------------------------------------------------------------
# dQ conversion: dq = dq_accum * scale in q's dtype (Triton)


@fast_launch
@triton.jit
def _dq_convert(ACC, DQ, stride_b, stride_h, stride_s, seq_q, seq_pad, scale,
                HEAD_DIM: tl.constexpr, ROWS: tl.constexpr):
    head = tl.program_id(1).to(tl.int64)
    batch = tl.program_id(2).to(tl.int64)
    offs_m = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    offs_d = tl.arange(0, HEAD_DIM)
    in_q = offs_m < seq_q
    rows = offs_m.to(tl.int64)[:, None]
    padded = (batch * tl.num_programs(1) + head) * seq_pad + rows
    acc = tl.load(ACC + padded * HEAD_DIM + offs_d[None, :], mask=in_q[:, None], other=0.0)
    tl.store(DQ + batch * stride_b + head * stride_h + rows * stride_s + offs_d[None, :],
             (acc * scale).to(DQ.dtype.element_ty), mask=in_q[:, None])


# ---------------------------------------------------------------------------------------------
# launcher


@functools.lru_cache(maxsize=16)
def _key_layout(head_dim: int, dtype: str):
    """K's (and dK's) tile layout: swizzled by head_dim / 2 columns (128 bytes at head_dim 128,
    the default; 64 bytes at 64), so that a column half of a K tile, the B operand of a dQ wgmma,
    is whole swizzle atoms. With head_dim 64's default 128-byte swizzle a half would start 64 bytes
    into each swizzled row: Triton compiles that operand, but it is not one of wgmma's canonical
    layouts (CUTLASS swizzles a 32-column MN-major operand by 64 bytes), so this kernel does not
    rely on it. The cost: TMA moves such a K tile as two 32-column boxes."""
    bits = _GL_DTYPES[dtype].primitive_bitwidth
    return gl.NVMMASharedLayout(swizzle_byte_width=min(128, head_dim // 2 * bits // 8),
                                element_bitwidth=bits, rank=4)


# dQ partials: 128-byte swizzled float32, so that the wgmma accumulator's stores into them do not
# conflict; TMA moves a half of head_dim 128 (256 bytes a row) as two 32-column boxes.
_ACC_LAYOUT = gl.NVMMASharedLayout(swizzle_byte_width=128, element_bitwidth=32, rank=4)


def _accumulator_descriptor(acc):
    """dq_accum's descriptor: (batch, heads_q, seq_pad, head_dim) float32 in tiles of 64 queries x
    head_dim / 2, one consumer's partial."""
    return prechecked_descriptor(TensorDescriptor, acc, [1, 1, _ROWS, acc.shape[3] // 2],
                                 _ACC_LAYOUT)


def _key_descriptor(x):
    """_descriptor's tiles of 64 keys, in _key_layout."""
    head_dim = x.shape[3]
    return prechecked_descriptor(TensorDescriptor, x, [1, 1, _ROWS, head_dim],
                              _key_layout(head_dim, dtype_name(x)))


def hopper_backward_fused_reason(q, k, v, out, dout, causal, scale) -> str | None:
    """None when hopper_backward_fused takes these inputs, else why not."""
    reason = tensors_reason("fused backward",
                            {"q": q, "k": k, "v": v, "out": out, "dout": dout}, CONFIGS, scale,
                            tma=("q", "k", "v", "dout"))
    if reason is None and out.stride(3) != 1:  # the row statistics read out without TMA
        return "out needs a unit inner stride"
    return reason


def _kernel_options(config: Config, causal: bool) -> tuple[dict, dict]:
    """(constexprs, compile options) of a config: what hopper_backward_fused and compile_sm90
    share."""
    constants = {"CAUSAL": bool(causal), "STAGES": config.stages,
                 "PRODUCER_REGS": _PRODUCER_REGS, "CONSUMER_REGS": _CONSUMER_REGS}
    return constants, {"num_warps": 4, "maxnreg": _MAX_REGS}


def hopper_backward_fused(q, k, v, out, lse, dout, causal, scale, config: Config | None = None):
    """(dq, dk, dv) of softmax(q k^T * scale + mask) v, like attention.py's dense backward: q,
    out, dout (batch, heads_q, seq_q, head_dim), k/v (batch, heads_kv, seq_k, head_dim), lse the
    forward's float32 natural-log logsumexp (batch, heads_q, seq_q). `config` overrides CONFIGS'
    default. hopper_backward_fused_reason says which inputs it takes. dq's float32 summation
    order varies between runs (TMA adds)."""
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

    dq_accum = zeros((batch, heads_q, seq_pad, head_dim), "float32", like=q)
    group = heads_q // heads_kv
    constants, options = _kernel_options(config, causal)
    blocks = triton.cdiv(seq_k, 2 * _ROWS)
    _attn_bwd_fused_hopper[(blocks, heads_kv, batch)](
        _descriptor(q, _ROWS), _key_descriptor(k), _descriptor(v, _ROWS),
        _descriptor(dout, _ROWS), _stats_descriptor(lse2), _stats_descriptor(delta),
        _key_descriptor(dk), _descriptor(dv, _ROWS), _accumulator_descriptor(dq_accum), seq_q,
        seq_k, group, scale * _LOG2E.value, scale,
        heads_per_wave(batch * heads_kv, blocks, q.device.index or 0), **constants, **options)
    rows = 8192 // head_dim
    _dq_convert[(seq_pad // rows, heads_q, batch)](
        dq_accum, dq, *dq.stride()[:3], seq_q, seq_pad, scale, HEAD_DIM=head_dim, ROWS=rows,
        num_warps=4)
    return dq, dk, dv


def compile_sm90(head_dim: int, dtype: str, causal: bool, config: Config, group: int | None = None,
                 aligned: bool = False) -> dict:
    """Compiles the fused kernel of one configuration for sm_90a without a GPU (for tests and
    tools that read its PTX and metadata): {"fused": compiled}. Like a launch's specialization,
    group=1 compiles group as the constant 1 (heads_q == heads_kv) and aligned=True tells the
    compiler that seq_q and seq_k are multiples of 16 (a launch's own variants)."""
    from triton.backends.compiler import GPUTarget
    from triton.experimental.gluon._runtime import GluonASTSource

    short = {"bfloat16": "bf16", "float16": "fp16"}[dtype]
    block = f"{short}[1, 1, {_ROWS}, {head_dim}]"
    tiles = f"tensordesc<{block},{_tile_layout(_ROWS, head_dim, dtype)!r}>"
    keys = f"tensordesc<{block},{_key_layout(head_dim, dtype)!r}>"
    stats = f"tensordesc<fp32[1, 1, {_ROWS}],{_stats_layout()!r}>"
    signature = {"q_desc": tiles, "k_desc": keys, "v_desc": tiles, "do_desc": tiles,
                 "lse_desc": stats, "delta_desc": stats, "dk_desc": keys, "dv_desc": tiles,
                 "dq_desc": f"tensordesc<fp32[1, 1, {_ROWS}, {head_dim // 2}],{_ACC_LAYOUT!r}>",
                 "seq_q": "i32", "seq_k": "i32", "group": "i32",
                 "qk_scale": "fp32", "scale": "fp32", "heads_per_group": "i32"}
    constants, options = _kernel_options(config, causal)
    if group == 1:
        constants["group"] = 1
    signature.update({name: "constexpr" for name in constants})
    names = _attn_bwd_fused_hopper.arg_names
    divisible = ("seq_q", "seq_k") if aligned else ()
    attrs = {(names.index(name), ): [["tt.divisibility", 16]] for name in divisible}
    source = GluonASTSource(jit_function(_attn_bwd_fused_hopper), signature, constants, attrs)
    return {"fused": triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)}
