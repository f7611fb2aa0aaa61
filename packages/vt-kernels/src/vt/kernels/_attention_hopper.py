"""The dense attention forward for Hopper (sm_90a) in Gluon, with FlashAttention-3's structure.

Triton's automatic warp specialization does not apply on Hopper, which caps attention.py's TMA
forward near 0.83x of FlashAttention-3; here the producer/consumer split is written by hand.

Work comes in 128-query blocks of one (batch, head), each head's causal blocks longest first:
one program per block, or (Config.persistent) one program per SM walking blocks through one
key/value ring, with partitions:
- a producer warp: TMA loads of the block's two 64-row query tiles, then of the key and value
  tiles into a ring of STAGES shared-memory slots, each slot guarded by ready/empty mbarriers;
- two consumer warpgroups, one per 64-row query tile: async wgmma S = Q K^T, the online softmax in
  registers, O += P V with P taken from registers; the next tile's Q K^T is issued before the
  current P V, so the tensor cores run while the softmax does (FA3's intra-warpgroup overlap).
  Each consumer stores its O tile through its query tile's shared memory with a TMA store.
Measured on an H100 against this protocol, FA3's ping-pong between the consumers and three
consumer warpgroups were not consistently faster (within the run-to-run spread), and each added
mbarrier protocol, so they were removed. Programs may walk several blocks (Config.persistent:
one per SM; causal blocks in pairs of equal work), which the head_dim 128 default does.
Semantics are attention.py's dense path (top-left causal, GQA, float32 natural-log lse).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import triton
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.language.nvidia.hopper import (
    fence_async_shared,
    mbarrier,
    tma,
    warpgroup_mma,
    warpgroup_mma_wait,
)
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor

from ._arrays import empty
from ._checks import dtype_name
from ._compat import is_torch_tensor
from ._fast_launch import fast_launch, jit_function
from ._launch import capability, prechecked_descriptor, sm_count
from .attention import _describable as _outer_strides_describable

_LOG2E = gl.constexpr(1.4426950408889634)  # kernels use it as is, the host as _LOG2E.value
_LN2 = gl.constexpr(0.6931471805599453)
_NO_MAX = gl.constexpr(-1.0e30)  # a finite running max: fully masked tiles give p = 0, not NaN

# Queries per consumer warpgroup (wgmma's M for 4 warps); a program's block is two of them.
_ROWS = 64
_WARPGROUPS = gl.constexpr(2)  # consumer warpgroups: a block is 2 x 64 queries
# Registers per thread: the producer issues scalar TMA work only; each consumer holds S, P and O
# of its 64 rows (FA3's 24/240 split). Two consumers and the producer's warpgroup share the SM's
# 64K registers, so the kernel-wide cap is 168 (65536 / 384 threads, a multiple of 8).
# _attention_hopper_bwd.py shares these numbers.
_PRODUCER_REGS = 24
_CONSUMER_REGS = 240
_MAX_REGS = 168


class Config(NamedTuple):
    block_n: int  # keys per tile
    stages: int  # key/value tiles in flight
    # One program per SM walking blocks (the next block's first key tile loads while this one
    # stores its output) instead of one program per block.
    persistent: bool = False


# Per head_dim, the default first (the rest for tools/attention_hopper_check.py --configs). 128
# keys per tile fill the wgmma N at head_dim 64/128 with S at 64 fp32 registers a thread (256
# keys spill at head_dim 64); the stages are what shared memory holds next to Q (16/32/64 KB):
# K and V tiles of 16-32 KB each per stage, under Hopper's 227 KB (head_dim 128: 3 stages take
# 224 KB). head_dim 256 keeps 64 keys per tile so that O (128 registers) and S fit 240 registers.
# head_dim 128 runs persistent programs (H200, tools/attention_interleaved.py, against one program
# per block in the same rounds): causal (32, 10, 2048, 128) 0.999x of SDPA vs 0.926x, (4, 32/8,
# 2048, 128) 1.068x vs 0.973x, (32, 16, 1024, 128) 0.903x vs 0.812x; non-causal (32, 10, 2048,
# 128) 0.974x vs 0.916x. Causal blocks walk in pairs of equal work; with every SM-th single block
# instead the unequal lengths cost 1-5%.
CONFIGS = {
    64: [Config(128, 2), Config(128, 3), Config(128, 4), Config(64, 4)],
    128: [Config(128, 3, True), Config(128, 3), Config(128, 2), Config(64, 4), Config(64, 2),
          Config(128, 2, True)],
    256: [Config(64, 2), Config(32, 3)],
}
DTYPES = ("bfloat16", "float16")


# ---------------------------------------------------------------------------------------------
# Gluon kernel
#
# Every mbarrier wait below names the parity of the phase it needs; a fresh mbarrier counts as
# having completed the phase before phase 0, so a wait for parity 1 on it passes. Each side of a
# barrier counts its uses the same way (the ring position c): a mismatch leaves a partition
# waiting forever, so those counts come from the same helpers in every partition.


@gluon.jit
def _key_tiles(start_m, seq_k, CAUSAL: gl.constexpr, BLOCK_M: gl.constexpr,
               BLOCK_N: gl.constexpr):
    """Key tiles the query block at start_m visits."""
    if CAUSAL:  # top-left: the block's last query sees keys < start_m + BLOCK_M
        return gl.cdiv(gl.minimum(seq_k, start_m + BLOCK_M), BLOCK_N)
    else:
        return gl.cdiv(seq_k, BLOCK_N)


@gluon.jit
def _blocks(seq_q, n_bh, BLOCK_M: gl.constexpr):
    """(query blocks per head, query blocks of the launch)."""
    n_m = gl.cdiv(seq_q, BLOCK_M)
    return n_m, n_bh * n_m


@gluon.jit
def _block(pid, n_m, CAUSAL: gl.constexpr):
    """(batch * heads index, query block) of block number pid, head by head; each head's causal
    blocks start with the longest, so the short ones fill the tail."""
    bh = pid // n_m
    i = pid % n_m
    if CAUSAL:
        first = n_m - 1 - i
    else:
        first = i
    return bh, first


@gluon.jit
def _walk(n_blocks, PAIRED: gl.constexpr):
    """How many blocks this program walks: blocks pid, pid + programs, ... (one when the grid has
    one program per block); with PAIRED, units of two blocks instead (see _walk_block)."""
    pid = gl.program_id(0)
    programs = gl.num_programs(0)
    if PAIRED:
        count = 2 * gl.cdiv(n_blocks // 2 - pid, programs)
    else:
        count = gl.cdiv(n_blocks - pid, programs)
    return count


@gluon.jit
def _walk_block(k, n_m, CAUSAL: gl.constexpr, PAIRED: gl.constexpr):
    """(batch * heads index, query block) of the k-th block of this program's walk. PAIRED
    (causal, n_m even): unit u is blocks n_m - 1 - j and j of one head, whose key tiles add up to
    the same count for every j, so a fixed walk over units stays balanced where one over causal
    blocks of unequal length did not."""
    pid = gl.program_id(0)
    programs = gl.num_programs(0)
    if PAIRED:
        half = n_m // 2
        unit = pid + (k // 2) * programs
        j = unit % half
        side = k % 2
        bh = unit // half
        first = (n_m - 1 - j) * (1 - side) + j * side
    else:
        bh, first = _block(pid + k * programs, n_m, CAUSAL)
    return bh, first


@gluon.jit
def _load_partition(descs, bufs, bars, seq_q, seq_k, heads, n_bh, group, CAUSAL: gl.constexpr,
                    STAGES: gl.constexpr, PAIRED: gl.constexpr):
    q_desc, k_desc, v_desc, _ = descs
    q_bufs, k_bufs, v_bufs = bufs
    q_ready, q_empty, k_ready, k_empty, v_ready, v_empty = bars
    ROWS: gl.constexpr = q_desc.block_type.shape[2]
    NWG: gl.constexpr = q_bufs.type.shape[0]
    BLOCK_N: gl.constexpr = k_desc.block_type.shape[2]
    n_m, n_blocks = _blocks(seq_q, n_bh, NWG * ROWS)
    # A block's first key tile is loaded before its queries, whose buffer the consumers free
    # (q_empty) once the previous block's output left it.
    c = 0  # key/value tiles loaded so far: the ring position
    it = 0  # query blocks loaded so far
    for k in range(_walk(n_blocks, PAIRED)):
        bh, first = _walk_block(k, n_m, CAUSAL, PAIRED)
        batch = bh // heads
        head = bh % heads
        kv_head = head // group
        start_m = first * (NWG * ROWS)
        for j in range(_key_tiles(start_m, seq_k, CAUSAL, NWG * ROWS, BLOCK_N)):
            slot = c % STAGES
            parity = ((c // STAGES) & 1) ^ 1  # the first pass through the ring does not wait
            # Keys past seq_k arrive as zeros (TMA fills rows out of range); consumers mask.
            mbarrier.wait(k_empty.index(slot), parity)
            mbarrier.expect(k_ready.index(slot), k_desc.block_type.nbytes)
            tma.async_copy_global_to_shared(k_desc, [batch, kv_head, j * BLOCK_N, 0],
                                            k_ready.index(slot), k_bufs.index(slot))
            if j == 0:  # the block's queries behind its first key tile
                for wg in gl.static_range(NWG):
                    mbarrier.wait(q_empty.index(wg), (it & 1) ^ 1)
                    mbarrier.expect(q_ready.index(wg), q_desc.block_type.nbytes)
                    tma.async_copy_global_to_shared(
                        q_desc, [batch, head, start_m + wg * ROWS, 0], q_ready.index(wg),
                        q_bufs.index(wg))
            mbarrier.wait(v_empty.index(slot), parity)
            mbarrier.expect(v_ready.index(slot), v_desc.block_type.nbytes)
            tma.async_copy_global_to_shared(v_desc, [batch, kv_head, j * BLOCK_N, 0],
                                            v_ready.index(slot), v_bufs.index(slot))
            c += 1
        it += 1


@gluon.jit
def _softmax_step(s, m_i, l_i, start_n, row0, seq_k, qk_scale, masked, CAUSAL: gl.constexpr,
                  ROWS: gl.constexpr, BLOCK_N: gl.constexpr, s_layout: gl.constexpr):
    """One key tile of the online softmax: (p, rescale of the running sums, new m, new l)."""
    if masked:  # only tiles that cross the diagonal or seq_k pay for the mask
        cols = start_n + gl.arange(0, BLOCK_N, layout=gl.SliceLayout(0, s_layout))
        visible = gl.expand_dims(cols < seq_k, 0)
        if CAUSAL:
            rows = row0 + gl.arange(0, ROWS, layout=gl.SliceLayout(1, s_layout))
            visible = visible & (gl.expand_dims(rows, 1) >= gl.expand_dims(cols, 0))
        s = gl.where(visible, s, float("-inf"))
    # The max of the raw scores, scaled after (qk_scale > 0), lets scale-and-subtract be one FMA.
    m_new = gl.maximum(m_i, gl.max(s, 1) * qk_scale)
    p = gl.exp2(s * qk_scale - gl.expand_dims(m_new, 1))
    alpha = gl.exp2(m_i - m_new)
    return p, alpha, m_new, l_i * alpha + gl.sum(p, 1)


@gluon.jit
def _compute_partition(descs, bufs, bars, O, LSE, seq_q, seq_k, heads, n_bh, qk_scale,
                       WG: gl.constexpr, CAUSAL: gl.constexpr, STAGES: gl.constexpr,
                       PAIRED: gl.constexpr):
    """Warpgroup WG's 64 rows of each query block the program walks."""
    o_desc = descs[3]
    q_bufs, k_bufs, v_bufs = bufs
    q_ready, q_empty, k_ready, k_empty, v_ready, v_empty = bars
    ROWS: gl.constexpr = o_desc.block_type.shape[2]
    HEAD_DIM: gl.constexpr = o_desc.block_type.shape[3]
    NWG: gl.constexpr = q_bufs.type.shape[0]
    BLOCK_N: gl.constexpr = k_bufs.type.shape[3]
    dtype: gl.constexpr = o_desc.dtype
    s_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                       instr_shape=[16, BLOCK_N, 16])
    o_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1],
                                                       instr_shape=[16, HEAD_DIM, 16])
    # P feeds the P V wgmma from registers (no trip through shared memory).
    p_layout: gl.constexpr = gl.DotOperandLayout(operand_index=0, parent=o_layout, k_width=2)
    o_rows: gl.constexpr = gl.SliceLayout(1, o_layout)

    n_m, n_blocks = _blocks(seq_q, n_bh, NWG * ROWS)
    q_smem = q_bufs.index(WG)
    q = q_smem.reshape([ROWS, HEAD_DIM])
    s_zero = gl.zeros([ROWS, BLOCK_N], gl.float32, s_layout)
    c = 0  # key/value tiles consumed so far: the ring position, as the producer counts it
    it = 0  # query blocks done so far
    for k in range(_walk(n_blocks, PAIRED)):
        bh, first = _walk_block(k, n_m, CAUSAL, PAIRED)
        start_m = first * (NWG * ROWS)
        row0 = start_m + WG * ROWS
        # Tiles before first_masked are visible to every row of this warpgroup.
        if CAUSAL:
            first_masked = gl.minimum(seq_k, row0 + 1) // BLOCK_N
        else:
            first_masked = seq_k // BLOCK_N
        n_tiles = _key_tiles(start_m, seq_k, CAUSAL, NWG * ROWS, BLOCK_N)
        m_i = gl.full([ROWS], _NO_MAX, gl.float32, gl.SliceLayout(1, s_layout))
        l_i = gl.zeros([ROWS], gl.float32, gl.SliceLayout(1, s_layout))
        o = gl.zeros([ROWS, HEAD_DIM], gl.float32, o_layout)

        mbarrier.wait(q_ready.index(WG), it & 1)
        slot = c % STAGES
        mbarrier.wait(k_ready.index(slot), (c // STAGES) & 1)
        s = warpgroup_mma(q, k_bufs.index(slot).reshape([BLOCK_N, HEAD_DIM]).permute((1, 0)),
                          s_zero, use_acc=False, is_async=True)
        s = warpgroup_mma_wait(0, deps=(s, ))
        mbarrier.arrive(k_empty.index(slot))
        p, _, m_i, l_i = _softmax_step(s, m_i, l_i, 0, row0, seq_k, qk_scale, first_masked == 0,
                                       CAUSAL, ROWS, BLOCK_N, s_layout)
        p = gl.convert_layout(p.to(dtype), p_layout)
        for j in range(1, n_tiles):
            slot = (c + j) % STAGES
            prev = (c + j - 1) % STAGES
            # Issue S_j = Q K_j^T, then O += P_{j-1} V_{j-1}; wgmma groups retire in order, so
            # the wait for one outstanding group returns S_j while P V still runs under the
            # softmax.
            mbarrier.wait(k_ready.index(slot), ((c + j) // STAGES) & 1)
            s = warpgroup_mma(q, k_bufs.index(slot).reshape([BLOCK_N, HEAD_DIM]).permute((1, 0)),
                              s_zero, use_acc=False, is_async=True)
            mbarrier.wait(v_ready.index(prev), ((c + j - 1) // STAGES) & 1)
            o = warpgroup_mma(p, v_bufs.index(prev).reshape([BLOCK_N, HEAD_DIM]), o,
                              is_async=True)
            s = warpgroup_mma_wait(1, deps=(s, ))
            mbarrier.arrive(k_empty.index(slot))
            p_next, alpha, m_i, l_i = _softmax_step(s, m_i, l_i, j * BLOCK_N, row0, seq_k,
                                                    qk_scale, j >= first_masked, CAUSAL, ROWS,
                                                    BLOCK_N, s_layout)
            o, p = warpgroup_mma_wait(0, deps=(o, p))
            mbarrier.arrive(v_empty.index(prev))
            o = o * gl.expand_dims(gl.convert_layout(alpha, o_rows), 1)
            p = gl.convert_layout(p_next.to(dtype), p_layout)
        last = (c + n_tiles - 1) % STAGES
        mbarrier.wait(v_ready.index(last), ((c + n_tiles - 1) // STAGES) & 1)
        o = warpgroup_mma(p, v_bufs.index(last).reshape([BLOCK_N, HEAD_DIM]), o, is_async=True)
        o, p = warpgroup_mma_wait(0, deps=(o, p))
        mbarrier.arrive(v_empty.index(last))

        # A row that saw no key gives 0 and lse +inf (attention.py's _finish_rows).
        no_key = l_i == 0.0
        l_safe = gl.where(no_key, 1.0, l_i)
        lse = gl.where(no_key, float("inf"), (m_i + gl.log2(l_safe)) * _LN2)
        out = (o / gl.expand_dims(gl.convert_layout(l_safe, o_rows), 1)).to(dtype)
        # The last Q K^T was waited for: the query tile is free for O's TMA store.
        q_smem.reshape([ROWS, HEAD_DIM]).store(out)
        fence_async_shared()
        tma.async_copy_shared_to_global(o_desc, [bh // heads, bh % heads, row0, 0], q_smem)
        rows = row0 + gl.arange(0, ROWS, layout=gl.SliceLayout(1, s_layout))
        gl.store(LSE + bh.to(gl.int64) * seq_q + rows, lse, mask=rows < seq_q)
        tma.store_wait(0)
        mbarrier.arrive(q_empty.index(WG))  # the next block's queries may take the tile
        c += n_tiles
        it += 1


@fast_launch
@gluon.jit
def _attn_fwd_hopper(q_desc, k_desc, v_desc, o_desc, O, LSE, seq_q, seq_k, heads, n_bh, group,
                     qk_scale, CAUSAL: gl.constexpr, STAGES: gl.constexpr,
                     PRODUCER_REGS: gl.constexpr, CONSUMER_REGS: gl.constexpr,
                     PAIRED: gl.constexpr):
    dtype: gl.constexpr = q_desc.dtype
    q_bufs = gl.allocate_shared_memory(dtype, [_WARPGROUPS] + q_desc.block_type.shape,
                                       q_desc.layout)
    k_bufs = gl.allocate_shared_memory(dtype, [STAGES] + k_desc.block_type.shape, k_desc.layout)
    v_bufs = gl.allocate_shared_memory(dtype, [STAGES] + v_desc.block_type.shape, v_desc.layout)
    q_ready = gl.allocate_shared_memory(gl.int64, [_WARPGROUPS, 1], mbarrier.MBarrierLayout())
    q_empty = gl.allocate_shared_memory(gl.int64, [_WARPGROUPS, 1], mbarrier.MBarrierLayout())
    k_ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    k_empty = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    v_ready = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    v_empty = gl.allocate_shared_memory(gl.int64, [STAGES, 1], mbarrier.MBarrierLayout())
    for wg in gl.static_range(_WARPGROUPS):
        mbarrier.init(q_ready.index(wg), count=1)
        mbarrier.init(q_empty.index(wg), count=1)
    for slot in gl.static_range(STAGES):
        mbarrier.init(k_ready.index(slot), count=1)
        mbarrier.init(v_ready.index(slot), count=1)
        # A slot is free once every consumer warpgroup is done with it (one arrive each).
        mbarrier.init(k_empty.index(slot), count=_WARPGROUPS)
        mbarrier.init(v_empty.index(slot), count=_WARPGROUPS)

    descs = (q_desc, k_desc, v_desc, o_desc)
    bufs = (q_bufs, k_bufs, v_bufs)
    bars = (q_ready, q_empty, k_ready, k_empty, v_ready, v_empty)
    gl.warp_specialize([
        (_compute_partition, (descs, bufs, bars, O, LSE, seq_q, seq_k, heads, n_bh, qk_scale, 0,
                              CAUSAL, STAGES, PAIRED)),
        (_compute_partition, (descs, bufs, bars, O, LSE, seq_q, seq_k, heads, n_bh, qk_scale, 1,
                              CAUSAL, STAGES, PAIRED)),
        (_load_partition, (descs, bufs, bars, seq_q, seq_k, heads, n_bh, group, CAUSAL, STAGES,
                           PAIRED)),
    ], [4, 1], [CONSUMER_REGS, PRODUCER_REGS])


# ---------------------------------------------------------------------------------------------
# launcher


_GL_DTYPES = {"bfloat16": gl.bfloat16, "float16": gl.float16}


# Layouts are immutable and building one is a large share of a launch's host time: one per shape.
@functools.lru_cache(maxsize=64)
def _tile_layout(rows: int, head_dim: int, dtype: str):
    return gl.NVMMASharedLayout.get_default_for([1, 1, rows, head_dim], _GL_DTYPES[dtype])


def _descriptor(x, rows: int):
    """A (batch, heads, seq, head_dim) descriptor of [1, 1, rows, head_dim] tiles; TMA zero-fills
    rows past seq on loads and clips them on stores, per head."""
    head_dim = x.shape[3]
    return prechecked_descriptor(TensorDescriptor, x, [1, 1, rows, head_dim],
                              _tile_layout(rows, head_dim, dtype_name(x)))


def _describable(x) -> bool:
    """TMA can describe x: attention.py's conditions for its TMA forward (aligned base and outer
    strides, no expanded dims), plus a unit inner stride, which attention.py's callers ensure
    before its check and direct callers of this module may not."""
    return x.stride(3) == 1 and _outer_strides_describable(x)


def tensors_reason(kernel: str, tensors: dict, head_dims, scale, tma=None) -> str | None:
    """The checks hopper_reason and _attention_hopper_bwd's hopper_backward_reason share: None
    when the Gluon Hopper `kernel` ("forward", "backward") takes `tensors` (names to tensors, with
    "q" and "k"), else why not. head_dims: the kernel's CONFIGS; tma: the names it loads or
    stores through TMA (all by default)."""
    q, k = tensors["q"], tensors["k"]
    if not all(is_torch_tensor(t) for t in tensors.values()):
        return f"the Gluon Hopper {kernel} takes torch tensors"
    if any(t.device.type != "cuda" for t in tensors.values()):
        return f"the Gluon Hopper {kernel} needs CUDA tensors"
    if len(q.shape) != 4:
        return "variable-length (packed) inputs take attention.py's kernels"
    major, minor = capability(q)
    if major != 9:
        return f"the Gluon Hopper {kernel} needs compute capability 9.x, got {major}.{minor}"
    dtypes = {name: dtype_name(t) for name, t in tensors.items()}
    if len(set(dtypes.values())) != 1 or dtypes["q"] not in DTYPES:
        got = ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items())
        return f"the Gluon Hopper {kernel} takes bfloat16 or float16 inputs of one dtype, got {got}"
    if q.shape[3] not in head_dims:
        return f"head_dim {q.shape[3]} is not one of {', '.join(map(str, head_dims))}"
    if k.shape[1] == 0 or q.shape[1] % k.shape[1]:
        return f"heads_q {q.shape[1]} is not a multiple of heads_kv {k.shape[1]}"
    if k.shape[2] == 0:
        return "no keys (seq_k == 0)"
    if not scale > 0:
        return f"softmax scale must be positive, got {scale}"
    if not all(_describable(tensors[name]) for name in (tma or tensors)):
        return ("TMA needs a unit inner stride, a 16-byte aligned base, 16-byte multiples for the "
                "outer strides and no expanded (stride 0) dims")
    return None


def hopper_reason(q, k, v, out, causal, scale) -> str | None:
    """None when hopper_forward takes these inputs, else why not."""
    tensors = {"q": q, "k": k, "v": v, "out": out}
    return tensors_reason("forward", {n: t for n, t in tensors.items() if t is not None}, CONFIGS,
                          scale)


def _kernel_options(config: Config, causal: bool) -> tuple[dict, dict]:
    """(constexprs, compile options) of a config: what hopper_forward and compile_sm90 share."""
    constants = {"CAUSAL": bool(causal), "STAGES": config.stages,
                 "PRODUCER_REGS": _PRODUCER_REGS, "CONSUMER_REGS": _CONSUMER_REGS,
                 "PAIRED": False}
    return constants, {"num_warps": 4, "maxnreg": _MAX_REGS}


def _programs(config: Config, causal: bool, n_m: int, blocks: int, device_index: int):
    """(programs, paired) of a launch: one program per block, or persistent programs, one per
    SM, that walk blocks (causal ones in pairs of equal work, which needs an even count of
    blocks per head; an odd count keeps one program per block)."""
    paired = config.persistent and causal and n_m % 2 == 0
    if not config.persistent or (causal and not paired):
        return blocks, False
    return min(blocks // 2 if paired else blocks, sm_count(device_index)), paired


def hopper_forward(q, k, v, causal, scale, config: Config | None = None):
    """(out, lse) of softmax(q k^T * scale + mask) v, like attention.py's dense forward: q (batch,
    heads_q, seq_q, head_dim), k/v (batch, heads_kv, seq_k, head_dim), any strides TMA can
    describe; lse float32 (batch, heads_q, seq_q). `config` overrides CONFIGS' default."""
    batch, heads_q, seq_q, head_dim = q.shape
    out = empty(tuple(q.shape), dtype_name(q), like=q)
    lse = empty((batch, heads_q, seq_q), "float32", like=q)
    if batch == 0 or heads_q == 0 or seq_q == 0:
        return out, lse
    config = config or CONFIGS[head_dim][0]
    constants, options = _kernel_options(config, causal)
    n_m = triton.cdiv(seq_q, _WARPGROUPS.value * _ROWS)
    programs, constants["PAIRED"] = _programs(config, causal, n_m, batch * heads_q * n_m,
                                              q.device.index or 0)
    _attn_fwd_hopper[(programs, )](
        _descriptor(q, _ROWS), _descriptor(k, config.block_n), _descriptor(v, config.block_n),
        _descriptor(out, _ROWS), out, lse, seq_q, k.shape[2], heads_q, batch * heads_q,
        heads_q // k.shape[1], scale * _LOG2E.value, **constants, **options)
    return out, lse


def compile_sm90(head_dim: int, dtype: str, causal: bool, config: Config):
    """Compiles one configuration for sm_90a without a GPU (for tests and tools that read its
    PTX and metadata)."""
    from triton.backends.compiler import GPUTarget
    from triton.experimental.gluon._runtime import GluonASTSource

    short = {"bfloat16": "bf16", "float16": "fp16"}[dtype]

    def tiles(rows):
        layout = _tile_layout(rows, head_dim, dtype)
        return f"tensordesc<{short}[1, 1, {rows}, {head_dim}],{layout!r}>"

    signature = {"q_desc": tiles(_ROWS), "k_desc": tiles(config.block_n),
                 "v_desc": tiles(config.block_n), "o_desc": tiles(_ROWS), "O": f"*{short}",
                 "LSE": "*fp32", "seq_q": "i32", "seq_k": "i32", "heads": "i32", "n_bh": "i32",
                 "group": "i32", "qk_scale": "fp32"}
    constants, options = _kernel_options(config, causal)
    signature.update({name: "constexpr" for name in constants})
    source = GluonASTSource(jit_function(_attn_fwd_hopper), signature, constants)
    return triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)
