"""Rotary position embedding in CuTeDSL: the "cutedsl" backend of the rotary kernel
(semantics and impl signatures as in vt.kernels.rotary).

A head row (head_dim channels of one batch, head and position) is cut into slots, one thread
each: a rotation slot holds `vec` pairs (x1 and x2 as 128-bit vectors when alignment allows),
a pass-through slot `vec` channels past rotary_dim. A CTA covers `positions` positions of one
sequence and `heads` heads: each thread loads its cos/sin values once and applies them to every
head (the table traffic is 1/heads of the data), with all heads' loads issued before the math.
q and k share one launch (the first CTAs take q). The backward is the same kernel with -sin.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cuda.bindings.driver as cuda_driver
import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.runtime import make_ptr

from .. import _registry
from .._arrays import empty
from .._checks import dtype_name
from .._compat import is_torch_tensor
from . import _common as C

KERNEL = "rotary"
_CTA_THREADS = 256  # target; a CTA is slots x positions threads
_HEADS_PER_THREAD = 4  # cos/sin reuse, and loads in flight per thread
MAX_SLOTS = 1024  # threads of one position (one CTA at most)


@dataclass(frozen=True)
class RotaryTiling:
    vec: int  # input elements per access; pairs per rotation slot
    table_vec: int  # table elements per access
    half: int  # rotary_dim / 2
    head_dim: int
    interleaved: bool
    positions: int  # per CTA
    heads: int  # per thread

    @property
    def rotation_slots(self) -> int:
        return self.half // self.vec

    @property
    def slots(self) -> int:
        return self.rotation_slots + (self.head_dim - 2 * self.half) // self.vec

    @property
    def cta_threads(self) -> int:
        return self.slots * self.positions


def _next_pow2(v: int) -> int:
    return 1 << max(0, (v - 1).bit_length())


@functools.lru_cache(maxsize=1024)
def rotary_tiling(vec: int, table_vec: int, half: int, head_dim: int, interleaved: bool,
                  heads: int, seq: int) -> RotaryTiling:
    """`heads` and `seq` (the fewer heads of q and k) only bound the tile: short sequences
    (decode) get fewer positions per CTA, few heads fewer heads per thread."""
    slots = half // vec + (head_dim - 2 * half) // vec
    positions = min(_next_pow2(seq), max(1, _CTA_THREADS // slots))
    return RotaryTiling(vec, table_vec, half, head_dim, bool(interleaved), positions,
                        min(_HEADS_PER_THREAD, _next_pow2(heads)))


def _aligned(v: int, element_size: int, tensors) -> bool:
    """Every tensor's address and every stride but the last (of dims longer than 1) are
    multiples of v elements."""
    for t in tensors:
        if t.data_ptr() % (v * element_size):
            return False
        if any(t.stride(i) % v for i in range(t.dim() - 1) if t.shape[i] > 1):
            return False
    return True


def vector_widths(q, k, q_out, k_out, cos, sin) -> tuple[int, int]:
    """(vec, table_vec): the widest accesses (at most 128 bits) that the channel counts, the
    strides and the addresses allow."""
    half = cos.shape[1]
    rest = q.shape[-1] - 2 * half
    xs = [t for t in (q, k, q_out, k_out) if t is not None]
    vec = 16 // q.element_size()
    while vec > 1 and not (half % vec == 0 and rest % vec == 0 and
                           _aligned(vec, q.element_size(), xs)):
        vec //= 2
    size = max(cos.element_size(), sin.element_size())
    table_vec = min(vec, 16 // size)
    while table_vec > 1 and not (_aligned(table_vec, cos.element_size(), (cos,)) and
                                 _aligned(table_vec, sin.element_size(), (sin,))):
        table_vec //= 2
    return vec, table_vec


# ---------------------------------------------------------------------------------------------
# kernel


def _heads_tensor(ptr, batch, heads, seq, head_dim, sb, sh, ss, vec):
    """(batch, heads, seq, head_dim) view with unit channel stride; strides divisible by vec."""
    strides = tuple(cute.assume(s, divby=vec) for s in (sb, sh, ss))
    return cute.make_tensor(ptr, cute.make_layout((batch, heads, seq, head_dim),
                                                  stride=(*strides, 1)))


def _table_tensor(ptr, max_pos, half, stride, vec):
    """A (max_pos, half) cos or sin table with unit column stride."""
    return cute.make_tensor(ptr, cute.make_layout(
        (max_pos, half), stride=(cute.assume(stride, divby=vec), 1)))


@cute.jit
def _copy_vectors(src: cute.Tensor, dst: cute.Tensor, vec: cutlass.Constexpr):
    """Copies a 1-D run as accesses of `vec` elements."""
    atom = cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), src.element_type,
                               num_bits_per_copy=vec * src.element_type.width)
    for i in cutlass.range_constexpr(cute.size(src) // vec):
        cute.copy(atom, cute.local_tile(src, (vec,), (i,)), cute.local_tile(dst, (vec,), (i,)))


class _Rotary:
    def __init__(self, tiling: RotaryTiling, has_k: bool, has_offsets: bool):
        self.tiling = tiling
        self.has_k = has_k
        self.has_offsets = has_offsets

    @cute.jit
    def __call__(self, pq: cute.Pointer, pqo: cute.Pointer, pk: cute.Pointer, pko: cute.Pointer,
                 pcos: cute.Pointer, psin: cute.Pointer, poff: cute.Pointer, batch: Int32,
                 heads_q: Int32, heads_k: Int32, seq: Int32, max_pos: Int32,
                 sqb: Int64, sqh: Int64, sqs: Int64, sob: Int64, soh: Int64, sos: Int64,
                 skb: Int64, skh: Int64, sks: Int64, spb: Int64, sph: Int64, sps: Int64,
                 scs: Int64, sss: Int64, soff: Int64, offset: Int64, sign: Float32,
                 stream: cuda_driver.CUstream):
        t = self.tiling
        d, v = t.head_dim, t.vec
        mQ = _heads_tensor(pq, batch, heads_q, seq, d, sqb, sqh, sqs, v)
        mQO = _heads_tensor(pqo, batch, heads_q, seq, d, sob, soh, sos, v)
        mK, mKO = None, None
        if const_expr(self.has_k):
            mK = _heads_tensor(pk, batch, heads_k, seq, d, skb, skh, sks, v)
            mKO = _heads_tensor(pko, batch, heads_k, seq, d, spb, sph, sps, v)
        mCos = _table_tensor(pcos, max_pos, t.half, scs, t.table_vec)
        mSin = _table_tensor(psin, max_pos, t.half, sss, t.table_vec)
        mOff = cute.make_tensor(poff, cute.make_layout((batch,), stride=(soff,))) \
            if const_expr(self.has_offsets) else None
        q_ctas = self.ctas(batch, heads_q, seq)
        ctas = q_ctas
        if const_expr(self.has_k):
            ctas = q_ctas + self.ctas(batch, heads_k, seq)
        self.kernel(mQ, mQO, mK, mKO, mCos, mSin, mOff, offset, sign, q_ctas).launch(
            grid=[ctas, 1, 1], block=[t.cta_threads, 1, 1], stream=stream)

    def ctas(self, batch, heads, seq):
        t = self.tiling
        return batch * cute.ceil_div(heads, t.heads) * cute.ceil_div(seq, t.positions)

    @cute.kernel
    def kernel(self, mQ: cute.Tensor, mQO: cute.Tensor, mK, mKO, mCos: cute.Tensor,
               mSin: cute.Tensor, mOff, offset: Int64, sign: Float32, q_ctas: Int32):
        bidx, _, _ = cute.arch.block_idx()
        if const_expr(self.has_k):
            if bidx < q_ctas:
                self.rotate(mQ, mQO, mCos, mSin, mOff, offset, sign, bidx)
            else:
                self.rotate(mK, mKO, mCos, mSin, mOff, offset, sign, bidx - q_ctas)
        else:
            self.rotate(mQ, mQO, mCos, mSin, mOff, offset, sign, bidx)

    @cute.jit
    def rotate(self, mX: cute.Tensor, mY: cute.Tensor, mCos: cute.Tensor, mSin: cute.Tensor,
               mOff, offset: Int64, sign: Float32, cta: Int32):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        _, heads, seq, _ = mX.shape
        seq_blocks = cute.ceil_div(seq, t.positions)
        head_blocks = cute.ceil_div(heads, t.heads)
        b = cta // (seq_blocks * head_blocks)
        head0 = cta // seq_blocks % head_blocks * t.heads
        s = cta % seq_blocks * t.positions + tidx // t.slots
        slot = tidx % t.slots
        in_seq = s < seq
        if const_expr(t.slots == t.rotation_slots):  # every channel rotates
            self.rotate_slot(mX, mY, mCos, mSin, mOff, offset, sign, b, head0, s, slot, in_seq)
        else:
            if slot < t.rotation_slots:
                self.rotate_slot(mX, mY, mCos, mSin, mOff, offset, sign, b, head0, s, slot,
                                 in_seq)
            else:
                self.pass_slot(mX, mY, b, head0, s, slot - t.rotation_slots, in_seq)

    @cute.jit
    def rotate_slot(self, mX: cute.Tensor, mY: cute.Tensor, mCos: cute.Tensor,
                    mSin: cute.Tensor, mOff, offset: Int64, sign: Float32, b, head0, s, slot,
                    in_seq):
        t = self.tiling
        w = t.vec
        heads = mX.shape[1]
        # x1 of head j at [None, 0, j], x2 at [None, 1, j]; interleaved pairs sit side by side.
        math_stride = (2, 1, 2 * w) if const_expr(t.interleaved) else (1, w, 2 * w)
        xs = cute.make_rmem_tensor(cute.make_layout((w, 2, t.heads), stride=math_stride),
                                   mX.element_type)
        for j in cutlass.range_constexpr(t.heads):
            if in_seq & (head0 + j < heads):
                self.move(mX[b, head0 + j, s, None], xs, j, slot, to_registers=True)

        # Positions outside the table read cos = sin = 0, as the Triton kernel's masked loads.
        pos = Int64(s) + offset
        if const_expr(self.has_offsets):
            pos = Int64(s) + mOff[b].to(Int64)
        in_table = in_seq & (pos >= 0) & (pos < mCos.shape[0])
        row = Int32(0)
        if in_table:
            row = Int32(pos)
        c_raw = cute.make_rmem_tensor(cute.make_layout((w,)), mCos.element_type)
        s_raw = cute.make_rmem_tensor(cute.make_layout((w,)), mSin.element_type)
        c_raw.fill(0.0)
        s_raw.fill(0.0)
        if in_table:
            _copy_vectors(cute.local_tile(mCos[row, None], (w,), (slot,)), c_raw, t.table_vec)
            _copy_vectors(cute.local_tile(mSin[row, None], (w,), (slot,)), s_raw, t.table_vec)
        c = c_raw.load().to(Float32)
        sn = s_raw.load().to(Float32) * sign

        ys = cute.make_rmem_tensor(xs.layout, mY.element_type)
        for j in cutlass.range_constexpr(t.heads):
            x1 = xs[None, 0, j].load().to(Float32)
            x2 = xs[None, 1, j].load().to(Float32)
            ys[None, 0, j].store((x1 * c - x2 * sn).to(mY.element_type))
            ys[None, 1, j].store((x2 * c + x1 * sn).to(mY.element_type))
        for j in cutlass.range_constexpr(t.heads):
            if in_seq & (head0 + j < heads):
                self.move(mY[b, head0 + j, s, None], ys, j, slot, to_registers=False)

    @cute.jit
    def move(self, row: cute.Tensor, regs: cute.Tensor, j: cutlass.Constexpr, slot,
             to_registers: cutlass.Constexpr):
        """Copies head j's pairs of `slot` between a head row and the registers."""
        t = self.tiling
        w = t.vec
        if const_expr(t.interleaved):
            run = cute.local_tile(row, (2 * w,), (slot,))
            regs_run = cute.make_tensor(regs.iterator + 2 * w * j, cute.make_layout((2 * w,)))
            pairs = [(run, regs_run)]
        else:
            x1 = cute.local_tile(row, (w,), (slot,))
            x2 = cute.local_tile(cute.domain_offset((t.half,), row), (w,), (slot,))
            pairs = [(x1, regs[None, 0, j]), (x2, regs[None, 1, j])]
        for gmem, rmem in pairs:
            if const_expr(to_registers):
                _copy_vectors(gmem, rmem, t.vec)
            else:
                _copy_vectors(rmem, gmem, t.vec)

    @cute.jit
    def pass_slot(self, mX: cute.Tensor, mY: cute.Tensor, b, head0, s, slot, in_seq):
        """Channels past rotary_dim: copied unchanged."""
        t = self.tiling
        heads = mX.shape[1]
        regs = cute.make_rmem_tensor(cute.make_layout((t.vec, t.heads)), mX.element_type)
        for j in cutlass.range_constexpr(t.heads):
            if in_seq & (head0 + j < heads):
                src = cute.domain_offset((2 * t.half,), mX[b, head0 + j, s, None])
                _copy_vectors(cute.local_tile(src, (t.vec,), (slot,)), regs[None, j], t.vec)
        for j in cutlass.range_constexpr(t.heads):
            if in_seq & (head0 + j < heads):
                dst = cute.domain_offset((2 * t.half,), mY[b, head0 + j, s, None])
                _copy_vectors(regs[None, j], cute.local_tile(dst, (t.vec,), (slot,)), t.vec)


def _compiled(tiling, x_key, cos_key, sin_key, off_key, has_k, arch=None):
    def build():
        v = tiling.vec
        args = (C.pointer_arg(x_key, v), C.pointer_arg(x_key, v),
                C.pointer_arg(x_key if has_k else None, v),
                C.pointer_arg(x_key if has_k else None, v),
                C.pointer_arg(cos_key, tiling.table_vec), C.pointer_arg(sin_key, tiling.table_vec),
                _offsets_arg(off_key), *(Int32(1) for _ in range(5)),
                *(Int64(v) for _ in range(12)), Int64(tiling.table_vec), Int64(tiling.table_vec),
                Int64(1), Int64(0), Float32(1.0), C.stream_arg())
        return _Rotary(tiling, has_k, off_key is not None), args, C.arch_options(arch)
    return C.compile_once((KERNEL, tiling, x_key, cos_key, sin_key, off_key, has_k, arch), build)


_OFFSET_DTYPES = {"int32": cutlass.Int32, "int64": cutlass.Int64}


def _offsets_arg(off_key):
    """The per-sequence offsets placeholder (None: an int offset, compiled out)."""
    if off_key is None:
        return None
    dtype = _OFFSET_DTYPES[off_key]
    return make_ptr(dtype, 0, cute.AddressSpace.gmem, assumed_align=dtype.width // 8)


def compile_all(dtype: str, head_dim: int = 128, rotary_dim: int | None = None,
                arch: str | None = None, table: str = "float32", offsets: str | None = None,
                has_k: bool = True, vec: int | None = None) -> int:
    """Compiles half-split and interleaved kernels for heads of `head_dim` channels of `dtype`
    (`vec`-element accesses, default the widest the channel counts allow), a `table` dtype
    (rotary_dim / 2 columns) and offsets None (an int) or "int32"/"int64"; returns the count."""
    half = (rotary_dim or head_dim) // 2
    if vec is None:
        vec = C.widest_vector(dtype)
        while half % vec or (head_dim - 2 * half) % vec:
            vec //= 2
    table_vec = min(vec, C.widest_vector(table))
    for interleaved in (False, True):
        tiling = rotary_tiling(vec, table_vec, half, head_dim, interleaved, 32, 2048)
        _compiled(tiling, dtype, table, table, offsets, has_k, arch)
    return 2


# ---------------------------------------------------------------------------------------------
# launchers


def _dims(x, layout):
    b, a, c, d = x.shape
    return (b, a, c, d) if layout == "bhsd" else (b, c, a, d)


def _strides(x, layout):
    """x's (batch, heads, seq) strides; a dim of one element gets 0 (its stride never matters)."""
    dims = (0, 1, 2) if layout == "bhsd" else (0, 2, 1)
    return tuple(x.stride(i) if x.shape[i] > 1 else 0 for i in dims)


def _rotate(q, k, cos, sin, offsets, interleaved, layout, sign):
    batch, heads_q, seq, head_dim = _dims(q, layout)
    heads_k = _dims(k, layout)[1] if k is not None else heads_q
    q_out = empty(tuple(q.shape), dtype_name(q), like=q)
    k_out = empty(tuple(k.shape), dtype_name(k), like=k) if k is not None else None
    # A tensor without heads gets no CTAs; the other one still runs.
    if batch * seq * head_dim * (heads_q + (heads_k if k is not None else 0)) == 0:
        return q_out, k_out
    vec, table_vec = vector_widths(q, k, q_out, k_out, cos, sin)
    tiling = rotary_tiling(vec, table_vec, cos.shape[1], head_dim, interleaved,
                           min(heads_q, heads_k), seq)
    has_offsets = not isinstance(offsets, int)
    fn = _compiled(tiling, dtype_name(q), dtype_name(cos), dtype_name(sin),
                   dtype_name(offsets) if has_offsets else None, k is not None)
    no_k = (0, 0, 0)
    fn(C.device_index(q), q.data_ptr(), q_out.data_ptr(), C.address(k), C.address(k_out),
       cos.data_ptr(), sin.data_ptr(), offsets.data_ptr() if has_offsets else None,
       batch, heads_q, heads_k, seq, cos.shape[0],
       *_strides(q, layout), *_strides(q_out, layout),
       *(_strides(k, layout) if k is not None else no_k),
       *(_strides(k_out, layout) if k is not None else no_k),
       cos.stride(0) if cos.shape[0] > 1 else 0, sin.stride(0) if sin.shape[0] > 1 else 0,
       offsets.stride(0) if has_offsets else 0, 0 if has_offsets else int(offsets), sign,
       C.stream_handle(q))
    return q_out, k_out


def _forward(q, k, cos, sin, offsets, interleaved, layout):
    return _rotate(q, k, cos, sin, offsets, bool(interleaved), layout, 1.0)


def _backward(dq, dk, cos, sin, offsets, interleaved, layout):
    return _rotate(dq, dk, cos, sin, offsets, bool(interleaved), layout, -1.0)


def _supports(q, k, cos, sin, offsets, interleaved, layout):
    reason = C.tensors_reason(q, k, cos, sin)
    if reason is not None:
        return reason
    if not isinstance(offsets, int):
        if not is_torch_tensor(offsets) or offsets.device != q.device:
            return "per-sequence offsets must be a torch tensor on the inputs' device"
        if dtype_name(offsets) not in _OFFSET_DTYPES:
            return f"offsets must be int32 or int64, not {dtype_name(offsets)}"
    elif not -2 ** 63 <= offsets < 2 ** 63:
        return "the position offset does not fit in 64 bits"
    if q.dim() != 4 or (k is not None and (k.dim() != 4 or k.dtype != q.dtype)):
        return "q and k must be 4-D of one dtype"
    if cos.dim() != 2 or cos.shape != sin.shape or 2 * cos.shape[1] > q.shape[-1]:
        return "cos and sin must be (max_seq, rotary_dim / 2) with rotary_dim <= head_dim"
    if q.shape[-1] > MAX_SLOTS:
        return f"head_dim {q.shape[-1]} exceeds {MAX_SLOTS} (one thread a channel at worst)"
    if max(cos.shape[0], *q.shape, *(k.shape if k is not None else ())) >= 2 ** 31:
        return "a dim of 2**31 or more"
    return None


_registry.register(KERNEL, "cutedsl", _forward, _backward, _supports)
