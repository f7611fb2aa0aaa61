"""Decode attention (one query token per sequence against a KV cache) in CuTeDSL: the "cutedsl"
backend of the attention_decode kernel, forward only.

Same impl signature and semantics as the Triton family (vt.kernels.attention_decode):
forward(q, k_cache, v_cache, cache_seqlens, scale) -> out; position s of sequence b is attended
iff s < min(cache_seqlens[b], max_seq), a length <= 0 gives a zero row, float32 accumulation.

Split-KV, as the Triton kernels: CTA (split x head chunk, kv head, batch) reads its chunk of
keys and values of one kv head once, for a chunk of that kv head's q heads (the whole group
when it fits; larger groups take several head chunks, launched side by side so that the
repeated reads hit L2). It writes a float32 partial output and a log2-domain logsumexp per q
head; a second kernel merges, per (batch, q head), the splits that hold keys (their count
follows from cache_seqlens, so splits past a sequence just exit). The split count aims at one
wave of resident CTAs: every CTA keeps enough bytes in flight to feed HBM, and a second,
partial wave would take as long as a full one.

The key loop must reach the copy bandwidth, so its instructions per byte matter as much as its
loads in flight. Inside a CTA every warp (tensor cores) or key slot (CUDA cores) streams keys of
its own with an online softmax of its own: no barrier in the loop, and the CTA merges its
warps' or slots' states once, at the end, through shared memory. Keys and values reach shared
memory by cp.async, each warp or thread into a ring of its own (stages x keys), so the next
step's loads are in flight while this one is computed, without holding registers.

- float16 / bfloat16: tensor cores (mma.sync m16n8k16, one warp an MMA): S = Q K^T with the
  group's q heads as the 16 rows (zero rows pad small groups: the tensor cores have time to
  spare), then O += P V with P rounded to the input dtype, as flash attention does. K reaches
  the MMA by ldmatrix, V by ldmatrix.trans, Q by ldmatrix from shared memory each step. The
  brief's CUDA-core design took over 4x the instructions per byte (q x k products, conversions,
  score shuffles): about 80% of the SM's issue slots at the copy bandwidth, against under 20%.
- float32: CUDA cores (the tensor cores would round to tf32). A key row is 16 lanes x 16-byte
  runs (a warp access fills whole 128-byte lines), so the CTA has 8 key slots; a score is the
  butterfly sum over the slot's 16 lanes, which leaves it in every lane, where P V needs it.
  q (times scale * log2(e)) and the accumulator of a lane's d-elements stay in registers, which
  caps the q heads per CTA at 4 (2 at head_dim 256).
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

import cuda.bindings.driver as cuda_driver
import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.nvgpu import cpasync, warp
from cutlass.cute.runtime import make_ptr
from cutlass.memory import SmemAllocator

from .. import _registry
from .._arrays import empty
from .._checks import dtype_name
from .._compat import is_torch_tensor
from .._launch import sm_count
from . import _common as C

KERNEL = "attention_decode"
HEAD_DIMS = (64, 128, 256)
_COMBINE_THREADS = 128
_NO_MAX = -1.0e30  # a finite running max: a warp or slot without keys never computes inf - inf
_LOG2_E = math.log2(math.e)
_GRID_LIMIT = 65535  # grid y and z
_MIN_ACCESS_BYTES = 4  # cp.async copies 4, 8 or 16 bytes
_SMEM_PER_SM = 228 * 1024  # sm_90
_THREADS_PER_SM = 2048


# ---------------------------------------------------------------------------------------------
# plans: how a split CTA covers its keys


@dataclass(frozen=True)
class MmaPlan:
    """Tensor cores (float16 / bfloat16): each warp reads `keys` keys a step."""

    head_dim: int
    align: int  # elements the addresses and row strides are multiples of (copies this wide)
    warps: int
    keys: int  # per warp and step: one k16 block of the P V product
    stages: int  # steps in each warp's ring

    heads = 16  # the MMA's rows: q heads per CTA

    @property
    def threads(self) -> int:
        return self.warps * C.WARP

    @property
    def block(self) -> int:
        """Keys a CTA reads per step; chunks are multiples of it."""
        return self.warps * self.keys

    @property
    def row(self) -> int:
        """Shared-memory row pitch (elements): 16 bytes of padding put the 8 rows an ldmatrix
        reads in 8 different 16-byte bank groups."""
        return self.head_dim + 8

    @property
    def ring_bytes(self) -> int:
        """The keys' and values' rings (bytes)."""
        return 2 * 2 * self.keys * self.row * self.warps * self.stages

    @property
    def smem_bytes(self) -> int:
        return 2 * self.heads * self.row + self.ring_bytes

    @property
    def merge_bytes(self) -> int:
        return 4 * self.warps * self.heads * (self.head_dim + 2)

    @property
    def ctas_per_sm(self) -> int:
        return _resident(self.smem_bytes, self.threads)


@dataclass(frozen=True)
class FmaPlan:
    """CUDA cores (float32): `slots` key slots of `lanes` lanes, `unroll` keys a slot and step."""

    head_dim: int
    vec: int  # elements in 16 bytes: one lane's run of a key row
    align: int
    lanes: int
    heads: int  # q heads per CTA (a power of two; the last chunk of a group may use fewer)
    unroll: int
    stages: int  # steps in each thread's ring

    threads = 128

    @property
    def slots(self) -> int:
        return self.threads // self.lanes

    @property
    def runs(self) -> int:
        """16-byte runs of one key row per lane (head_dim / 64)."""
        return self.head_dim // (self.vec * self.lanes)

    @property
    def block(self) -> int:
        return self.slots * self.unroll

    @property
    def ring_bytes(self) -> int:
        return 16 * self.runs * self.threads * self.unroll * 2 * self.stages

    @property
    def smem_bytes(self) -> int:
        return self.ring_bytes

    @property
    def merge_bytes(self) -> int:
        return 4 * self.slots * self.heads * (self.head_dim + 2)

    @property
    def ctas_per_sm(self) -> int:
        return _resident(self.smem_bytes, self.threads)


def _resident(smem_bytes: int, threads: int) -> int:
    """Split CTAs an SM holds by shared memory (1 KB of it reserved per CTA) and threads; the
    launch caps the registers to match (min_blocks_per_mp)."""
    return max(1, min(_SMEM_PER_SM // (smem_bytes + 1024), _THREADS_PER_SM // threads))


def _next_pow2(v: int) -> int:
    return 1 << max(0, (v - 1).bit_length())


@functools.lru_cache(maxsize=1024)
def _plan(head_dim: int, dtype: str, group: int, align: int):
    if dtype == "float32":
        vec = 4
        # 16 lanes a key row: fewer lanes would hold more of q and the accumulator in
        # registers, more would spend more shuffles on each score.
        lanes = 16
        runs = head_dim // (lanes * vec)
        per_lane = head_dim // lanes
        # q and the accumulator (2 x heads x per_lane floats a thread) within 64 registers,
        # so that 4 CTAs fit an SM; 3 steps of 4 runs a lane (4 KB a warp) in the ring, 2 of
        # them in flight while one is computed.
        heads = min(_next_pow2(group), 4, 32 // per_lane)
        plan = FmaPlan(head_dim, vec, align, lanes, heads, max(1, 4 // runs), 3)
    else:
        # 2 steps of 16 keys a warp (8 KB at 128): one in flight while one is computed;
        # rows of 256 take 2 warps a CTA, so that 3 CTAs (6 to 12 warps) fit an SM.
        plan = MmaPlan(head_dim, align, 2 if head_dim == 256 else 4, 16, 2)
    assert plan.merge_bytes <= plan.ring_bytes, plan  # the merge reuses the rings
    return plan


@functools.lru_cache(maxsize=1024)
def _splits(batch: int, heads_kv: int, chunks: int, max_seq: int, block: int,
            wave: int) -> tuple[int, int]:
    """(chunk, num_splits): at most one wave (`wave` resident split CTAs on the GPU) when the
    caches are long enough, since a second, partial wave would take as long as a full one;
    chunks are whole blocks and the last split holds at least one key position."""
    blocks = -(-max_seq // block)
    ctas = max(1, batch * heads_kv * chunks)
    splits = max(1, min(blocks, wave // ctas))
    chunk = -(-blocks // splits) * block
    return chunk, -(-max_seq // chunk)


# ---------------------------------------------------------------------------------------------
# in-kernel helpers


@cute.jit
def _copy_run(src: cute.Tensor, dst: cute.Tensor, align: cutlass.Constexpr,
              asynchronous: cutlass.Constexpr):
    """Copies a 16-byte run as accesses of `align` elements: cp.async into shared memory
    (through L2 only when the copies are 16 bytes, all cp.async.cg takes), or plain loads."""
    bits = align * src.element_type.width
    if const_expr(asynchronous):
        mode = cpasync.LoadCacheMode.GLOBAL if const_expr(bits == 128) else \
            cpasync.LoadCacheMode.ALWAYS
        atom = cute.make_copy_atom(cpasync.CopyG2SOp(mode), src.element_type,
                                   num_bits_per_copy=bits)
    else:
        atom = cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), src.element_type,
                                   num_bits_per_copy=bits)
    for i in cutlass.range_constexpr(cute.size(src) // align):
        cute.copy(atom, cute.local_tile(src, (align,), (i,)), cute.local_tile(dst, (align,), (i,)))


@cute.jit
def _merge(sm_acc: cute.Tensor, sm_m: cute.Tensor, sm_s: cute.Tensor, mPart: cute.Tensor,
           mLse: cute.Tensor, tidx, first_part: Int64, num_splits: Int32, heads_here,
           threads: cutlass.Constexpr):
    """Merges the CTA's per-warp (per-slot) softmax states, in shared memory as sm_acc
    (state, head, d) and the maxima sm_m and sums sm_s (state, head), into the normalized
    partial output and the log2 logsumexp of each head; the part row of head g is
    first_part + g * num_splits."""
    states, head_dim = sm_acc.shape[0], sm_acc.shape[2]
    cute.arch.barrier()
    # One thread a head: the states' weights exp2(m - max) / sum, in place of sm_m.
    if tidx < heads_here:
        top = Float32(_NO_MAX)
        for r in cutlass.range_constexpr(states):
            top = cute.arch.fmax(top, sm_m[r, tidx])
        total = Float32(0.0)
        for r in cutlass.range_constexpr(states):
            total += cute.math.exp2(sm_m[r, tidx] - top, fastmath=True) * sm_s[r, tidx]
        # The chunk holds a key, so total >= 1 (the top state's own sum).
        inverse = Float32(1.0) / total
        for r in cutlass.range_constexpr(states):
            sm_m[r, tidx] = cute.math.exp2(sm_m[r, tidx] - top, fastmath=True) * inverse
        mLse[first_part + Int64(tidx) * num_splits] = top + cute.math.log2(total, fastmath=True)
    cute.arch.barrier()
    for i in cutlass.range(tidx, heads_here * head_dim, threads, unroll=1):
        g = i // head_dim
        col = i - g * head_dim
        out = Float32(0.0)
        for r in cutlass.range_constexpr(states):
            out += sm_m[r, g] * sm_acc[r, g, col]
        mPart[first_part + Int64(g) * num_splits, col] = out


def _merge_views(ring: cute.Tensor, states: int, heads: int, head_dim: int):
    """(sm_acc, sm_m, sm_s) over the rings' shared memory, once every ring is drained."""
    base = cute.recast_ptr(ring.iterator, dtype=Float32)
    sm_acc = cute.make_tensor(base, cute.make_ordered_layout((states, heads, head_dim),
                                                             order=(2, 1, 0)))
    stats = states * heads * head_dim
    sm_m = cute.make_tensor(base + stats, cute.make_layout((states, heads)))
    sm_s = cute.make_tensor(base + stats + states * heads, cute.make_layout((states, heads)))
    return sm_acc, sm_m, sm_s


def _cache_tensor(ptr, batch, heads, max_seq, d, sb, sh, ss, align):
    """A (batch, heads, max_seq, head_dim) cache view: 64-bit strides, multiples of align."""
    strides = tuple(cute.assume(st, divby=align) for st in (sb, sh, ss))
    return cute.make_tensor(ptr, cute.make_layout((batch, heads, max_seq, d),
                                                  stride=(*strides, 1)))


# ---------------------------------------------------------------------------------------------
# the split kernels: partial outputs and logsumexps of one chunk of keys


class _Split:
    """The inputs' views and the launch, shared by both split kernels."""

    def __init__(self, plan):
        self.plan = plan

    @cute.jit
    def __call__(self, pq: cute.Pointer, pk: cute.Pointer, pv: cute.Pointer,
                 plen: cute.Pointer, ppart: cute.Pointer, plse: cute.Pointer, batch: Int32,
                 heads_q: Int32, heads_kv: Int32, max_seq: Int32, group: Int32, chunks: Int32,
                 chunk: Int32, num_splits: Int32, sqb: Int64, sqh: Int64, skb: Int64,
                 skh: Int64, sks: Int64, svb: Int64, svh: Int64, svs: Int64, qk_scale: Float32,
                 stream: cuda_driver.CUstream):
        p = self.plan
        d, a = p.head_dim, p.align
        mQ = cute.make_tensor(pq, cute.make_layout(
            (batch, heads_q, d), stride=(cute.assume(sqb, divby=a), cute.assume(sqh, divby=a), 1)))
        mK = _cache_tensor(pk, batch, heads_kv, max_seq, d, skb, skh, sks, a)
        mV = _cache_tensor(pv, batch, heads_kv, max_seq, d, svb, svh, svs, a)
        mLen = cute.make_tensor(plen, cute.make_layout((batch,)))
        parts = Int64(batch) * Int64(heads_q) * Int64(num_splits)
        mPart = cute.make_tensor(ppart, cute.make_layout((parts, d), stride=(d, 1)))
        mLse = cute.make_tensor(plse, cute.make_layout((parts,)))
        # All of the SM's shared memory (the copies bypass L1), and registers for the CTAs it
        # holds.
        self.kernel(mQ, mK, mV, mLen, mPart, mLse, group, chunks, chunk, num_splits,
                    qk_scale).launch(grid=[num_splits * chunks, heads_kv, batch],
                                     block=[p.threads, 1, 1], stream=stream,
                                     min_blocks_per_mp=p.ctas_per_sm,
                                     preferred_smem_carveout=100)

    @cute.jit
    def chunk_of(self, mLen: cute.Tensor, b, x, chunks, chunk, group, max_seq):
        """(start, end of the CTA's keys (start >= end: none), its first q head within the
        group, the q heads it serves)."""
        heads = self.plan.heads
        split = x // chunks
        first_head = (x - split * chunks) * heads
        seqlen = mLen[b]
        seqlen = cutlass.select_(seqlen < max_seq, seqlen, max_seq)
        start = split * chunk
        end = cutlass.select_(start + chunk < seqlen, start + chunk, seqlen)
        heads_here = cutlass.select_(group - first_head < heads, group - first_head, heads)
        return start, end, first_head, heads_here


class _SplitTensorCores(_Split):
    @cute.kernel
    def kernel(self, mQ: cute.Tensor, mK: cute.Tensor, mV: cute.Tensor, mLen: cute.Tensor,
               mPart: cute.Tensor, mLse: cute.Tensor, group: Int32, chunks: Int32, chunk: Int32,
               num_splits: Int32, qk_scale: Float32):
        p = self.plan
        dtype = mK.element_type
        tidx, _, _ = cute.arch.thread_idx()
        x, kv_head, b = cute.arch.block_idx()
        warp_id = tidx // C.WARP
        lane = tidx % C.WARP
        smem = SmemAllocator()
        sQ = smem.allocate_tensor(dtype, cute.make_layout((p.heads, p.head_dim),
                                                          stride=(p.row, 1)), byte_alignment=128)
        # Each warp's ring of key and value blocks: (key, d, warp x stage).
        ring = cute.make_layout((p.keys, p.head_dim, p.warps * p.stages),
                                stride=(p.row, 1, p.keys * p.row))
        sK = smem.allocate_tensor(dtype, ring, byte_alignment=128)
        sV = smem.allocate_tensor(dtype, ring, byte_alignment=128)
        start, end, first_head, heads_here = self.chunk_of(mLen, b, x, chunks, chunk, group,
                                                           mK.shape[2])
        # A split past the sequence holds no keys: the combine never reads it.
        if start < end:
            q_head = kv_head * group + first_head
            self.load_q(mQ, sQ, b, q_head, heads_here, tidx)
            keys = mK[b, kv_head, None, None]
            values = mV[b, kv_head, None, None]
            mma = cute.make_tiled_mma(warp.MmaF16BF16Op(dtype, Float32, (16, 8, 16)), (1, 1, 1),
                                      permutation_mnk=(16, 16, 16))
            thr = mma.get_slice(lane)
            acc_o = cute.make_rmem_tensor(thr.partition_shape_C((p.heads, p.head_dim)), Float32)
            acc_o.fill(0.0)
            m = cute.make_rmem_tensor(cute.make_layout((2,)), Float32)  # this thread's 2 rows
            s = cute.make_rmem_tensor(cute.make_layout((2,)), Float32)
            m.fill(_NO_MAX)
            s.fill(0.0)
            mine = start + warp_id * p.keys  # this warp's first key; step i adds i * block
            steps = (end - start + p.block - 1) // p.block
            ring0 = warp_id * p.stages
            for i in cutlass.range_constexpr(p.stages - 1):
                if i < steps:
                    self.fetch(keys, values, sK[None, None, ring0 + i],
                               sV[None, None, ring0 + i], mine + i * p.block, end, lane)
                cute.arch.cp_async_commit_group()
            cute.arch.barrier()  # sQ is written
            # Every warp runs the same steps (the MMAs and shuffles are warp-collective).
            for i in cutlass.range(steps, unroll=1):
                ahead = i + p.stages - 1
                if ahead < steps:
                    # Into the ring slot of step i - 1, whose ldmatrix reads were consumed.
                    nxt = ring0 + ahead % p.stages
                    self.fetch(keys, values, sK[None, None, nxt], sV[None, None, nxt],
                               mine + ahead * p.block, end, lane)
                cute.arch.cp_async_commit_group()
                cute.arch.cp_async_wait_group(p.stages - 1)  # step i has landed, for this thread
                cute.arch.sync_warp()  # and for the warp
                cur = ring0 + i % p.stages
                self.step(mma, lane, sQ, sK[None, None, cur], sV[None, None, cur],
                          mine + i * p.block, end, qk_scale, acc_o, m, s)
            cute.arch.cp_async_wait_group(0)
            cute.arch.barrier()  # every ring is drained: the merge reuses the memory
            sm_acc, sm_m, sm_s = _merge_views(sK, p.warps, p.heads, p.head_dim)
            cute.autovec_copy(acc_o, thr.partition_C(sm_acc[warp_id, None, None]))
            rows = _mn_view(thr.partition_C(cute.make_identity_tensor((p.heads, p.keys))))
            for r in cutlass.range_constexpr(2):
                total = cute.arch.warp_reduction(s[r], operator.add, threads_in_group=4)  # the quad
                if lane % 4 == 0:
                    sm_m[warp_id, rows[r, 0][0]] = m[r]
                    sm_s[warp_id, rows[r, 0][0]] = total
            _merge(sm_acc, sm_m, sm_s, mPart, mLse, tidx,
                   (Int64(b) * mQ.shape[1] + q_head) * num_splits + x // chunks, num_splits,
                   heads_here, p.threads)

    @cute.jit
    def load_q(self, mQ: cute.Tensor, sQ: cute.Tensor, b, q_head, heads_here, tidx):
        """The CTA's q heads into the 16 rows of sQ, zero rows past them."""
        p = self.plan
        runs = p.head_dim // 8
        for c in cutlass.range(tidx, p.heads * runs, p.threads, unroll=1):
            h = c // runs
            dst = cute.local_tile(sQ[h, None], (8,), (c - h * runs,))
            if h < heads_here:
                src = cute.local_tile(mQ[b, q_head + h, None], (8,), (c - h * runs,))
                _copy_run(src, dst, p.align, False)
            else:
                dst.fill(0.0)

    @cute.jit
    def fetch(self, keys: cute.Tensor, values: cute.Tensor, sK: cute.Tensor, sV: cute.Tensor,
              first, end, lane):
        """Starts this warp's copies of keys first .. first + keys - 1 and their values into
        one ring slot; keys past `end` re-read the last key (their scores are masked), so every
        copy is in bounds and the shared memory always holds finite values."""
        p = self.plan
        runs = p.head_dim // 8
        for t in cutlass.range_constexpr(p.keys * runs // C.WARP):
            c = t * C.WARP + lane  # 16-byte run c: consecutive lanes, consecutive bytes
            row = c // runs
            col = c - row * runs
            n = first + row
            n = cutlass.select_(n < end, n, end - 1)
            _copy_run(cute.local_tile(keys[n, None], (8,), (col,)),
                      cute.local_tile(sK[row, None], (8,), (col,)), p.align, True)
            _copy_run(cute.local_tile(values[n, None], (8,), (col,)),
                      cute.local_tile(sV[row, None], (8,), (col,)), p.align, True)

    @cute.jit
    def step(self, mma: cute.TiledMma, lane, sQ: cute.Tensor, sK: cute.Tensor, sV: cute.Tensor,
             first, end, qk_scale: Float32, acc_o: cute.Tensor, m: cute.Tensor, s: cute.Tensor):
        """S = Q K^T over this warp's block of keys (first ..), the online softmax update of
        the thread's 2 rows, then O += P V."""
        p = self.plan
        dtype = sK.element_type
        ldsm = cute.make_copy_atom(warp.LdMatrix8x8x16bOp(transpose=False, num_matrices=4),
                                   dtype)
        ldsm_t = cute.make_copy_atom(warp.LdMatrix8x8x16bOp(transpose=True, num_matrices=4),
                                     dtype)
        thr = mma.get_slice(lane)
        copy_q = cute.make_tiled_copy_A(ldsm, mma).get_slice(lane)
        copy_k = cute.make_tiled_copy_B(ldsm, mma).get_slice(lane)
        copy_v = cute.make_tiled_copy_B(ldsm_t, mma).get_slice(lane)
        # V^T (d, key) for the B operand of O += P V.
        sVt = cute.composition(sV, cute.make_layout((p.head_dim, p.keys), stride=(p.keys, 1)))

        r_q = thr.make_fragment_A(thr.partition_A(sQ))
        r_k = thr.make_fragment_B(thr.partition_B(sK))
        r_vt = thr.make_fragment_B(thr.partition_B(sVt))
        s_q, v_q = copy_q.partition_S(sQ), copy_q.retile(r_q)
        s_k, v_k = copy_k.partition_S(sK), copy_k.retile(r_k)
        s_vt, v_vt = copy_v.partition_S(sVt), copy_v.retile(r_vt)

        acc_s = cute.make_rmem_tensor(thr.partition_shape_C((p.heads, p.keys)), Float32)
        acc_s.fill(0.0)
        for k in cutlass.range_constexpr(cute.size(s_q, mode=[2])):
            cute.copy(copy_q, s_q[None, None, k], v_q[None, None, k])
            cute.copy(copy_k, s_k[None, None, k], v_k[None, None, k])
            cute.gemm(mma, acc_s, r_q[None, None, k], r_k[None, None, k], acc_s)

        scores = _mn_view(acc_s)
        cols = _mn_view(thr.partition_C(cute.make_identity_tensor((p.heads, p.keys))))
        acc_mn = _mn_view(acc_o)
        for r in cutlass.range_constexpr(2):
            top = m[r]
            for c in cutlass.range_constexpr(cute.size(scores, mode=[1])):
                x = cutlass.select_(first + cols[0, c][1] < end, scores[r, c] * qk_scale,
                                    -Float32.inf)
                scores[r, c] = x
                top = cute.arch.fmax(top, x)
            # The row's maximum over the quad that holds its columns (all 32 lanes shuffle).
            top = cute.arch.warp_reduction(top, C.fmax, threads_in_group=4)
            alpha = cute.math.exp2(m[r] - top, fastmath=True)
            total = s[r] * alpha
            for c in cutlass.range_constexpr(cute.size(scores, mode=[1])):
                weight = cute.math.exp2(scores[r, c] - top, fastmath=True)
                scores[r, c] = weight
                total += weight
            s[r] = total  # this thread's columns only: the quad adds up at the end
            m[r] = top
            acc_mn[r, None] = acc_mn[r, None].load() * alpha

        # P in the input dtype, as the A operand: the accumulator layout of two n8 blocks of
        # S is the A layout of one k16 block.
        r_p = cute.make_rmem_tensor_like(acc_s, dtype)
        r_p.store(acc_s.load().to(dtype))
        split = cute.logical_divide(r_p.layout, (None, None, 2))
        a_p = cute.make_tensor(r_p.iterator, cute.make_layout(
            ((split.shape[0], split.shape[2][0]), split.shape[1], split.shape[2][1]),
            stride=((split.stride[0], split.stride[2][0]), split.stride[1], split.stride[2][1])))
        for k in cutlass.range_constexpr(cute.size(a_p, mode=[2])):
            cute.copy(copy_v, s_vt[None, None, k], v_vt[None, None, k])
            cute.gemm(mma, acc_o, a_p[None, None, k], r_vt[None, None, k], acc_o)


def _mn_view(acc: cute.Tensor) -> cute.Tensor:
    """An m16n8 accumulator partition ((2, 2), m, n) seen as (rows, columns) of this thread."""
    flat = cute.make_layout(acc.layout.shape)
    mn = cute.make_layout(
        ((flat.shape[0][1], flat.shape[1]), (flat.shape[0][0], flat.shape[2])),
        stride=((flat.stride[0][1], flat.stride[1]), (flat.stride[0][0], flat.stride[2])))
    return cute.make_tensor(acc.iterator, cute.composition(acc.layout, mn))


class _SplitCudaCores(_Split):
    @cute.kernel
    def kernel(self, mQ: cute.Tensor, mK: cute.Tensor, mV: cute.Tensor, mLen: cute.Tensor,
               mPart: cute.Tensor, mLse: cute.Tensor, group: Int32, chunks: Int32, chunk: Int32,
               num_splits: Int32, qk_scale: Float32):
        p = self.plan
        tidx, _, _ = cute.arch.thread_idx()
        x, kv_head, b = cute.arch.block_idx()
        # (vec, thread, run, key, k/v, stage): a thread's runs sit 16 bytes from its
        # neighbours', so a warp's copies and reads cover whole 128-byte rows of banks.
        buf = SmemAllocator().allocate_tensor(mK.element_type, cute.make_ordered_layout(
            (p.vec, p.threads, p.runs, p.unroll, 2, p.stages), order=(0, 1, 2, 3, 4, 5)),
            byte_alignment=128)
        start, end, first_head, heads_here = self.chunk_of(mLen, b, x, chunks, chunk, group,
                                                           mK.shape[2])
        # A split past the sequence holds no keys: the combine never reads it.
        if start < end:
            q_head = kv_head * group + first_head
            lane = tidx % p.lanes
            slot = tidx // p.lanes
            q = self.load_q(mQ, b, q_head, heads_here, lane, qk_scale)
            m = cute.make_rmem_tensor(cute.make_layout((p.heads,)), Float32)
            s = cute.make_rmem_tensor(cute.make_layout((p.heads,)), Float32)
            acc = cute.make_rmem_tensor(cute.make_layout((p.vec, p.runs, p.heads)), Float32)
            m.fill(_NO_MAX)
            s.fill(0.0)
            acc.fill(0.0)
            keys = mK[b, kv_head, None, None]
            values = mV[b, kv_head, None, None]
            ring = buf[None, tidx, None, None, None, None]  # read by this thread only
            mine = start + slot  # this slot's first key; step i adds i * block
            steps = (end - start + p.block - 1) // p.block
            for i in cutlass.range_constexpr(p.stages - 1):
                if i < steps:
                    self.fetch(keys, values, ring, mine + i * p.block, end, lane, i)
                cute.arch.cp_async_commit_group()
            # Every thread runs the same steps: the score shuffles need all 32 lanes.
            for i in cutlass.range(steps, unroll=1):
                ahead = i + p.stages - 1
                if ahead < steps:
                    # Into the ring slot of step i - 1, whose reads were consumed.
                    self.fetch(keys, values, ring, mine + ahead * p.block, end, lane,
                               ahead % p.stages)
                cute.arch.cp_async_commit_group()
                cute.arch.cp_async_wait_group(p.stages - 1)  # step i has landed
                self.step(ring, i % p.stages, mine + i * p.block, end, q, m, s, acc)
            cute.arch.cp_async_wait_group(0)
            cute.arch.barrier()  # every ring is drained: the merge reuses the memory
            sm_acc, sm_m, sm_s = _merge_views(buf, p.slots, p.heads, p.head_dim)
            if lane == 0:
                for g in cutlass.range_constexpr(p.heads):
                    sm_m[slot, g] = m[g]
                    sm_s[slot, g] = s[g]
            for g in cutlass.range_constexpr(p.heads):
                for j in cutlass.range_constexpr(p.runs):
                    cute.autovec_copy(acc[None, j, g], self.run(sm_acc[slot, g, None], j, lane))
            _merge(sm_acc, sm_m, sm_s, mPart, mLse, tidx,
                   (Int64(b) * mQ.shape[1] + q_head) * num_splits + x // chunks, num_splits,
                   heads_here, p.threads)

    def run(self, row: cute.Tensor, j: int, lane) -> cute.Tensor:
        """A lane's run j of a row: 16-byte run j * lanes + lane, so the lanes of a row read
        it contiguously."""
        p = self.plan
        return cute.local_tile(row, (p.vec,), (j * p.lanes + lane,))

    @cute.jit
    def load_q(self, mQ: cute.Tensor, b, q_head, heads_here, lane, qk_scale: Float32):
        """This lane's runs of the CTA's q heads, times scale * log2(e) (scores in log2 units);
        heads past the group read 0."""
        p = self.plan
        raw = cute.make_rmem_tensor(cute.make_layout((p.vec, p.runs, p.heads)), mQ.element_type)
        raw.fill(0.0)
        for g in cutlass.range_constexpr(p.heads):
            if g < heads_here:
                for j in cutlass.range_constexpr(p.runs):
                    _copy_run(self.run(mQ[b, q_head + g, None], j, lane), raw[None, j, g],
                              p.align, False)
        q = cute.make_rmem_tensor(raw.layout, Float32)
        q.store(raw.load().to(Float32) * qk_scale)
        return q

    @cute.jit
    def fetch(self, keys: cute.Tensor, values: cute.Tensor, ring: cute.Tensor, first, end,
              lane, stage):
        """Starts the copies of keys first, first + slots, ... (unroll of them) and their
        values into ring slot `stage`; keys past `end` re-read the last key (their scores are
        masked), so every copy is in bounds."""
        p = self.plan
        for u in cutlass.range_constexpr(p.unroll):
            n = first + u * p.slots
            n = cutlass.select_(n < end, n, end - 1)
            for j in cutlass.range_constexpr(p.runs):
                _copy_run(self.run(keys[n, None], j, lane), ring[None, j, u, 0, stage], p.align,
                          True)
                _copy_run(self.run(values[n, None], j, lane), ring[None, j, u, 1, stage],
                          p.align, True)

    @cute.jit
    def step(self, ring: cute.Tensor, stage, first, end, q: cute.Tensor, m: cute.Tensor,
             s: cute.Tensor, acc: cute.Tensor):
        """Keys first, first + slots, ... (unroll of them) of this slot from ring slot
        `stage`: scores, the online softmax update and P V, the keys past `end` masked."""
        p = self.plan
        k = cute.make_rmem_tensor(cute.make_layout((p.vec, p.runs, p.unroll)), Float32)
        k.store(ring[None, None, None, 0, stage].load())
        scores = cute.make_rmem_tensor(cute.make_layout((p.unroll, p.heads)), Float32)
        for g in cutlass.range_constexpr(p.heads):
            for u in cutlass.range_constexpr(p.unroll):
                dot = Float32(0.0)
                for j in cutlass.range_constexpr(p.runs):
                    for e in cutlass.range_constexpr(p.vec):
                        dot += q[e, j, g] * k[e, j, u]
                # Every lane of the row gets the sum (all 32 lanes shuffle, whatever the mask).
                dot = cute.arch.warp_reduction(dot, operator.add, threads_in_group=p.lanes)
                scores[u, g] = cutlass.select_(first + u * p.slots < end, dot, -Float32.inf)

        alpha = cute.make_rmem_tensor(cute.make_layout((p.heads,)), Float32)
        for g in cutlass.range_constexpr(p.heads):
            top = m[g]
            for u in cutlass.range_constexpr(p.unroll):
                top = cute.arch.fmax(top, scores[u, g])
            alpha[g] = cute.math.exp2(m[g] - top, fastmath=True)
            total = s[g] * alpha[g]
            for u in cutlass.range_constexpr(p.unroll):
                weight = cute.math.exp2(scores[u, g] - top, fastmath=True)
                scores[u, g] = weight
                total += weight
            s[g] = total
            m[g] = top

        v = cute.make_rmem_tensor(cute.make_layout((p.vec, p.runs, p.unroll)), Float32)
        v.store(ring[None, None, None, 1, stage].load())
        for g in cutlass.range_constexpr(p.heads):
            for j in cutlass.range_constexpr(p.runs):
                for e in cutlass.range_constexpr(p.vec):
                    out = acc[e, j, g] * alpha[g]
                    for u in cutlass.range_constexpr(p.unroll):
                        out += scores[u, g] * v[e, j, u]
                    acc[e, j, g] = out


# ---------------------------------------------------------------------------------------------
# the combine kernel: one CTA per (batch, q head) merges the splits that hold keys


class _Combine:
    def __init__(self, head_dim: int):
        self.head_dim = head_dim
        self.lanes = head_dim // 4  # 16-byte float32 runs per partial row
        self.slots = _COMBINE_THREADS // self.lanes

    @cute.jit
    def __call__(self, ppart: cute.Pointer, plse: cute.Pointer, plen: cute.Pointer,
                 pout: cute.Pointer, batch: Int32, heads_q: Int32, max_seq: Int32, chunk: Int32,
                 num_splits: Int32, stream: cuda_driver.CUstream):
        d = self.head_dim
        parts = Int64(batch) * Int64(heads_q) * Int64(num_splits)
        mPart = cute.make_tensor(ppart, cute.make_layout((parts, d), stride=(d, 1)))
        mLse = cute.make_tensor(plse, cute.make_layout((parts,)))
        mLen = cute.make_tensor(plen, cute.make_layout((batch,)))
        rows = Int64(batch) * Int64(heads_q)
        mOut = cute.make_tensor(pout, cute.make_layout((rows, d), stride=(d, 1)))
        self.kernel(mPart, mLse, mLen, mOut, heads_q, max_seq, chunk, num_splits).launch(
            grid=[heads_q, batch, 1], block=[_COMBINE_THREADS, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mPart: cute.Tensor, mLse: cute.Tensor, mLen: cute.Tensor,
               mOut: cute.Tensor, heads_q: Int32, max_seq: Int32, chunk: Int32,
               num_splits: Int32):
        warps = _COMBINE_THREADS // C.WARP
        tidx, _, _ = cute.arch.thread_idx()
        head, b, _ = cute.arch.block_idx()
        warp_id = cute.arch.warp_idx()  # a full-warp shuffle: read before any lane branch
        row = Int64(b) * Int64(heads_q) + Int64(head)
        first = row * num_splits
        seqlen = mLen[b]
        seqlen = cutlass.select_(seqlen < max_seq, seqlen, max_seq)
        seqlen = cutlass.select_(seqlen > 0, seqlen, 0)
        used = (seqlen + chunk - 1) // chunk  # the splits that hold keys wrote a partial row

        smem = SmemAllocator()
        red = smem.allocate_tensor(Float32, cute.make_layout((warps,)), byte_alignment=16)
        sm_acc = smem.allocate_tensor(Float32, cute.make_ordered_layout(
            (self.slots, self.head_dim), order=(1, 0)), byte_alignment=16)
        sm_w = smem.allocate_tensor(Float32, cute.make_layout((self.slots,)), byte_alignment=16)

        top = -Float32.inf
        for i in cutlass.range(tidx, used, _COMBINE_THREADS, unroll=1):
            top = cute.arch.fmax(top, mLse[first + i])
        top = cute.arch.warp_reduction(top, C.fmax)
        if cute.arch.lane_idx() == 0:
            red[warp_id] = top
        cute.arch.barrier()
        top = red[0]
        for w in cutlass.range_constexpr(1, warps):
            top = cute.arch.fmax(top, red[w])

        # Slot r of the CTA adds up splits r, r + slots, ...; lane l owns columns 4l .. 4l + 3.
        lane = tidx % self.lanes
        slot = tidx // self.lanes
        acc = cute.make_rmem_tensor(cute.make_layout((4,)), Float32)
        acc.fill(0.0)
        total = Float32(0.0)
        for i in cutlass.range(slot, used, self.slots, unroll=1):
            weight = cute.math.exp2(mLse[first + i] - top, fastmath=True)
            part = cute.make_rmem_tensor(cute.make_layout((4,)), Float32)
            cute.autovec_copy(cute.local_tile(mPart[first + i, None], (4,), (lane,)), part)
            acc.store(acc.load() + part.load() * weight)
            total += weight
        cute.autovec_copy(acc, cute.local_tile(sm_acc[slot, None], (4,), (lane,)))
        if lane == 0:
            sm_w[slot] = total
        cute.arch.barrier()
        if slot == 0:
            total = Float32(0.0)
            for r in cutlass.range_constexpr(self.slots):
                total += sm_w[r]
            # No split holds keys (length <= 0): every sum is 0 and the row is 0.
            inverse = Float32(1.0) / cutlass.select_(total > 0.0, total, Float32(1.0))
            out = cute.make_rmem_tensor(cute.make_layout((4,)), Float32)
            out.fill(0.0)
            for r in cutlass.range_constexpr(self.slots):
                other = cute.make_rmem_tensor(cute.make_layout((4,)), Float32)
                cute.autovec_copy(cute.local_tile(sm_acc[r, None], (4,), (lane,)), other)
                out.store(out.load() + other.load())
            rounded = cute.make_rmem_tensor(cute.make_layout((4,)), mOut.element_type)
            rounded.store((out.load() * inverse).to(mOut.element_type))
            cute.autovec_copy(rounded, cute.local_tile(mOut[row, None], (4,), (lane,)))


# ---------------------------------------------------------------------------------------------
# compilation


def _len_arg():
    return make_ptr(cutlass.Int32, 0, cute.AddressSpace.gmem, assumed_align=4)


def _compiled_split(plan, dtype: str, arch=None):
    def build():
        a = plan.align
        args = (C.pointer_arg(dtype, a), C.pointer_arg(dtype, a), C.pointer_arg(dtype, a),
                _len_arg(), C.pointer_arg("float32", 4), C.pointer_arg("float32"),
                *(Int32(1) for _ in range(8)), *(Int64(a) for _ in range(8)), Float32(1.0),
                C.stream_arg())
        kernel = _SplitCudaCores(plan) if isinstance(plan, FmaPlan) else \
            _SplitTensorCores(plan)
        return kernel, args, C.arch_options(arch)
    return C.compile_once((KERNEL, "split", plan, dtype, arch), build)


def _compiled_combine(head_dim: int, dtype: str, arch=None):
    def build():
        args = (C.pointer_arg("float32", 4), C.pointer_arg("float32"), _len_arg(),
                C.pointer_arg(dtype, 4), *(Int32(1) for _ in range(5)), C.stream_arg())
        return _Combine(head_dim), args, C.arch_options(arch)
    return C.compile_once((KERNEL, "combine", head_dim, dtype, arch), build)


def compile_all(dtype: str, head_dim: int, group: int, arch: str | None = None,
                align: int | None = None) -> int:
    """Compiles the split and combine kernels for caches of `dtype` whose addresses and strides
    are multiples of `align` elements (default 16 bytes) and GQA groups of `group` q heads;
    returns the count."""
    plan = _plan(head_dim, dtype, group, align or C.widest_vector(dtype))
    _compiled_split(plan, dtype, arch)
    _compiled_combine(head_dim, dtype, arch)
    return 2


# ---------------------------------------------------------------------------------------------
# launcher (the registry impl signature of the Triton family)


def _alignment(vec: int, tensors) -> int:
    """The widest access (elements, at most vec) that every address and every stride of a dim
    longer than 1 (but the last) allows."""
    def aligned(v):
        for t in tensors:
            if t.data_ptr() % (v * t.element_size()):
                return False
            if any(t.stride(i) % v for i in range(t.dim() - 1) if t.shape[i] > 1):
                return False
        return True

    while vec > 1 and not aligned(vec):
        vec //= 2
    return vec


def _stride(t, dim: int) -> int:
    """t's stride along dim (0 for a dim of one element, whose stride never matters)."""
    return t.stride(dim) if t.shape[dim] > 1 else 0


def _launches(q, k_cache, v_cache, cache_seqlens, scale, out, device: int):
    """(split kernel, its values, combine kernel, its values); allocates the partials."""
    batch, heads_q, head_dim = q.shape
    heads_kv, max_seq = k_cache.shape[1], k_cache.shape[2]
    group = heads_q // heads_kv
    dtype = dtype_name(q)
    plan = _plan(head_dim, dtype, group,
                 _alignment(C.widest_vector(dtype), (q, k_cache, v_cache)))
    chunks = -(-group // plan.heads)
    chunk, num_splits = _splits(batch, heads_kv, chunks, max(max_seq, 1), plan.block,
                                plan.ctas_per_sm * sm_count(device))
    part = empty((batch, heads_q, num_splits, head_dim), "float32", like=q)
    lse = empty((batch, heads_q, num_splits), "float32", like=q)
    stream = C.stream_handle(q)
    split_values = (
        q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), cache_seqlens.data_ptr(),
        part.data_ptr(), lse.data_ptr(), batch, heads_q, heads_kv, max_seq, group, chunks,
        chunk, num_splits, _stride(q, 0), _stride(q, 1), *(_stride(k_cache, i) for i in range(3)),
        *(_stride(v_cache, i) for i in range(3)), scale * _LOG2_E, stream)
    combine_values = (part.data_ptr(), lse.data_ptr(), cache_seqlens.data_ptr(), out.data_ptr(),
                      batch, heads_q, max_seq, chunk, num_splits, stream)
    return (_compiled_split(plan, dtype), split_values, _compiled_combine(head_dim, dtype),
            combine_values)


def _forward(q, k_cache, v_cache, cache_seqlens, scale):
    out = empty(tuple(q.shape), dtype_name(q), like=q)
    if q.shape[0] and q.shape[1]:
        device = C.device_index(q)
        split, split_values, combine, combine_values = _launches(q, k_cache, v_cache,
                                                                 cache_seqlens, scale, out, device)
        split(device, *split_values)
        combine(device, *combine_values)
    return out


def _supports(q, k_cache, v_cache, cache_seqlens, scale):
    reason = C.tensors_reason(q, k_cache, v_cache)
    if reason is not None:
        return reason
    if not is_torch_tensor(cache_seqlens) or cache_seqlens.device != q.device:
        return "cache_seqlens must be a torch tensor on q's device"
    return _input_reason(q, k_cache, v_cache, cache_seqlens, scale)


def _input_reason(q, k_cache, v_cache, cache_seqlens, scale) -> str | None:
    """Why the kernels cannot take these (torch) inputs, whatever their device; None if they
    can."""
    if cache_seqlens.dim() == 1 and cache_seqlens.shape[0] > 1 and cache_seqlens.stride(0) != 1:
        return "cache_seqlens must be contiguous"
    head_dim = q.shape[-1]
    if head_dim not in HEAD_DIMS:
        return f"head_dim {head_dim} is not one of {', '.join(map(str, HEAD_DIMS))}"
    if not scale > 0:
        return f"softmax_scale must be positive, got {scale}"
    batch, heads_kv, max_seq = k_cache.shape[0], k_cache.shape[1], k_cache.shape[2]
    if batch > _GRID_LIMIT or heads_kv > _GRID_LIMIT:
        return f"batch or heads_kv past {_GRID_LIMIT} (grid y and z)"
    if max_seq >= 2 ** 31:
        return "caches of 2**31 positions or more"
    vec = C.widest_vector(dtype_name(q))
    if _alignment(vec, (q, k_cache, v_cache)) * q.element_size() < _MIN_ACCESS_BYTES:
        return (f"q and cache addresses and strides must be multiples of {_MIN_ACCESS_BYTES} "
                "bytes (cp.async)")
    return None


_registry.register(KERNEL, "cutedsl", _forward, None, _supports)
