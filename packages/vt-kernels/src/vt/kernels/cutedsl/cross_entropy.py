"""Cross-entropy in CuTeDSL: the "cutedsl" backend of the cross_entropy kernel.

Same impl signatures and semantics as the Triton family (vt.kernels.cross_entropy): per row
loss = lse - (1 - s) * x[t] - s / V * sum_j x[j] + z * lse^2; ignored rows give loss 0, lse 0
and a zero gradient (their logits are not read); targets outside [0, V) give NaN.

Each thread keeps its own running max and sum of exponentials (an online logsumexp per thread,
no block barrier per chunk); the row's threads combine them once at the end. x[t] comes from
the registers of the thread that loaded it, so the in-place gradient never races a separate
read of x[t]. Three ways to walk a row, picked per row length (`_plan`):
- registers: rows up to 8192 logits are loaded once into registers by a thread group (several
  rows per CTA when short) and the gradient is computed from the same registers;
- staged: longer rows up to 96 KB are copied whole into shared memory with cp.async (every
  chunk in flight at once: 64 KB for a 32768 bf16 row, three rows per SM), reduced chunk by
  chunk as the copies land, and the in-place gradient is computed from shared memory, so the
  logits are read once and written once;
- streamed: longer rows (or rows whose accesses are narrower than 4 bytes, which cp.async cannot
  copy) are read chunk by chunk from global memory; the in-place gradient reads such a row a
  second time (mostly from L2, as the row was just read).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cuda.bindings.driver as cuda_driver
import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.runtime import make_ptr
from cutlass.memory import SmemAllocator

from .. import _registry
from .._arrays import empty
from .._checks import dtype_name
from .._compat import is_torch_tensor
from . import _common as C

KERNEL = "cross_entropy"
MODES = ("fwd", "fwd_grad", "bwd")  # forward; forward writing the gradient in place; backward
_TARGET_DTYPES = {"int32": cutlass.Int32, "int64": cutlass.Int64}
# Rows this long or shorter sit in the registers of one thread group (<= 256 threads, about 32
# logits a thread); longer rows go through chunks of 256 threads x 32 logits (8192 logits).
_REGISTER_MAX = 8192
_CHUNK_THREADS = 256
_ELEMENTS_PER_THREAD = 32
# Rows staged whole in shared memory: up to 96 KB, so that at least two CTAs share an SM.
_STAGE_BYTES = 96 * 1024
_LOG2_E = math.log2(math.e)
_FLT_MAX = 3.4028234663852886e38  # running maxima start here, not at -inf: no inf - inf
_REDUCE_SLOTS = 4  # max, sum of exponentials, sum of logits, x[t]


@dataclass(frozen=True)
class Plan:
    tiling: C.RowTiling  # one chunk: threads of a row, vectors of a thread, rows of a CTA
    chunks: int  # 1: the row in registers; > 1: staged in shared memory; 0: streamed
    staged: bool


@functools.lru_cache(maxsize=1024)
def _plan(n: int, vec: int, itemsize: int) -> Plan:
    if n <= _REGISTER_MAX:
        return Plan(C.row_tiling(n, vec), 1, False)
    tiling = C.RowTiling(vec, _CHUNK_THREADS, _ELEMENTS_PER_THREAD // vec, 1)
    chunks = -(-n // tiling.cols)
    if vec * itemsize >= 4 and chunks * tiling.cols * itemsize <= _STAGE_BYTES:
        return Plan(tiling, chunks, True)
    return Plan(tiling, 0, False)


# ---------------------------------------------------------------------------------------------
# in-kernel helpers


class _Chunk:
    """One thread's vectors of chunk `k` (columns k * cols ...) of its row tile, and which of
    them to read (`load_pred`: inside the row, row not ignored) and write (`store_pred`)."""

    def __init__(self, thr, tiling: C.RowTiling, shape, tile, k, valid, in_rows):
        self.thr = thr
        self.tiling = tiling
        self.tile = tile
        self.k = k
        self.coords = self.part(cute.make_identity_tensor(shape))
        self.load_pred = C.column_predicate(self.coords, shape[1], valid)
        self.store_pred = C.column_predicate(self.coords, shape[1], in_rows)

    def part(self, tensor):
        return self.thr.partition_S(cute.local_tile(tensor, C.tiler(self.tiling),
                                                    (self.tile, self.k)))

    def part_smem(self, smem):
        """This thread's vectors of the chunk in the CTA's staged row(s) (row tile 0)."""
        return self.thr.partition_D(cute.local_tile(smem, C.tiler(self.tiling), (0, self.k)))



def _atom(dtype, vec):
    return cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), dtype,
                               num_bits_per_copy=vec * dtype.width)


def _async_atom(dtype, vec):
    bits = vec * dtype.width
    # 16-byte copies may skip L1 (the row is reused from shared memory, not from L1).
    mode = cute.nvgpu.LoadCacheMode.GLOBAL if bits == 128 else cute.nvgpu.LoadCacheMode.ALWAYS
    return cute.make_copy_atom(cute.nvgpu.cpasync.CopyG2SOp(cache_mode=mode), dtype,
                               num_bits_per_copy=bits)


@cute.jit
def _row_value(vector: cute.Tensor, row, in_rows, default: Float32) -> Float32:
    """vector[row] as float32 for rows that exist, else `default`."""
    value = default
    if in_rows:
        value = Float32(vector[row])
    return value


@cute.jit
def _load(src: cute.Tensor, pred: cute.Tensor, atom) -> cute.TensorSSA:
    """The chunk as float32; vectors outside the row (or of an ignored row) read -inf."""
    frag = cute.make_rmem_tensor_like(src, src.element_type)
    frag.fill(-math.inf)
    cute.copy(atom, src, frag, pred=pred)
    return frag.load().to(Float32)


@cute.jit
def _online(x: cute.TensorSSA, m_run: Float32, s_run: Float32):
    """This thread's running (max, sum of exp(x - max)) after one more chunk."""
    m_new = cute.arch.fmax(m_run, x.reduce(cute.ReductionOp.MAX, init_val=-Float32.inf,
                                           reduction_profile=0))
    e = cute.math.exp2((x - m_new) * _LOG2_E, fastmath=True)
    s_new = s_run * cute.math.exp2((m_run - m_new) * _LOG2_E, fastmath=True) + \
        e.reduce(cute.ReductionOp.ADD, init_val=0.0, reduction_profile=0)
    return m_new, s_new


@cute.jit
def _in_row_sum(x: cute.TensorSSA, pred: cute.Tensor, like: cute.Tensor) -> Float32:
    """Sum of the chunk's logits inside the row (the masked vectors hold -inf)."""
    frag = cute.make_rmem_tensor_like(like, Float32)
    frag.store(x)
    total = Float32(0.0)
    for v in cutlass.range_constexpr(cute.size(pred, mode=[0])):
        if pred[v, 0, 0]:
            total += frag[(None, v), 0, 0].load().reduce(cute.ReductionOp.ADD, init_val=0.0,
                                                         reduction_profile=0)
    return total


@cute.jit
def _pick(x: cute.TensorSSA, coords: cute.Tensor, target: Int64, found: Float32,
          vec: cutlass.Constexpr) -> Float32:
    """x[target] when this thread holds that column in this chunk, else `found`."""
    frag = cute.make_rmem_tensor_like(coords, Float32)
    frag.store(x)
    for v in cutlass.range_constexpr(cute.size(coords, mode=[0, 1])):
        d = target - Int64(coords[(0, v), 0, 0][1])
        if (d >= 0) & (d < vec):
            for e in cutlass.range_constexpr(vec):
                found = Float32(cutlass.select_(d == e, frag[(e, v), 0, 0], found))
    return found


@cute.jit
def _grad(x: cute.TensorSSA, coords: cute.Tensor, target: Int64, lse: Float32, p_scale: Float32,
          smooth_per_class: Float32, hit: Float32, g: Float32, dst: cute.Tensor,
          pred: cute.Tensor, atom, vec: cutlass.Constexpr):
    """Stores (softmax * p_scale - s / V - (1 - s) [j == t]) * g for the chunk; hit = (1 - s) * g."""
    frag = cute.make_rmem_tensor_like(dst, Float32)
    frag.store((cute.math.exp2((x - lse) * _LOG2_E, fastmath=True) * p_scale - smooth_per_class)
               * g)
    for v in cutlass.range_constexpr(cute.size(coords, mode=[0, 1])):
        d = target - Int64(coords[(0, v), 0, 0][1])
        if (d >= 0) & (d < vec):
            for e in cutlass.range_constexpr(vec):
                frag[(e, v), 0, 0] = Float32(cutlass.select_(d == e, frag[(e, v), 0, 0] - hit,
                                                             frag[(e, v), 0, 0]))
    out = cute.make_rmem_tensor_like(dst, dst.element_type)
    out.store(frag.load().to(dst.element_type))
    cute.copy(atom, out, dst, pred=pred)


@cute.jit
def _streamed_stats(thr, t: cutlass.Constexpr, mX: cute.Tensor, tile, valid, in_rows,
                    target: Int64, atom, has_smoothing: cutlass.Constexpr):
    """This thread's (max, sum of exponentials, sum of logits, x[target]) over a row read
    chunk by chunk from global memory."""
    m_run, s_run, sum_x, x_t = Float32(-_FLT_MAX), Float32(0.0), Float32(0.0), Float32(0.0)
    for k in cutlass.range(cute.ceil_div(mX.shape[1], t.cols), unroll=1):
        ch = _Chunk(thr, t, mX.shape, tile, k, valid, in_rows)
        x = _load(ch.part(mX), ch.load_pred, atom)
        m_run, s_run = _online(x, m_run, s_run)
        if const_expr(has_smoothing):
            sum_x += _in_row_sum(x, ch.load_pred, ch.coords)
        x_t = _pick(x, ch.coords, target, x_t, t.vec)
    return m_run, s_run, sum_x, x_t


@cute.jit
def _streamed_grad(thr, t: cutlass.Constexpr, mX: cute.Tensor, mOut: cute.Tensor, tile, valid,
                   in_rows, target: Int64, lse: Float32, p_scale: Float32,
                   smooth_per_class: Float32, hit: Float32, g: Float32, atom):
    for k in cutlass.range(cute.ceil_div(mX.shape[1], t.cols), unroll=1):
        ch = _Chunk(thr, t, mX.shape, tile, k, valid, in_rows)
        x = _load(ch.part(mX), ch.load_pred, atom)
        _grad(x, ch.coords, target, lse, p_scale, smooth_per_class, hit, g, ch.part(mOut),
              ch.store_pred, atom, t.vec)


# ---------------------------------------------------------------------------------------------
# the kernel


class _CrossEntropy:
    def __init__(self, plan: Plan, mode: str, has_smoothing: bool, has_z: bool, has_g: bool):
        self.plan = plan
        self.mode = mode
        self.has_smoothing = has_smoothing
        self.has_z = has_z
        self.has_g = has_g

    @cute.jit
    def __call__(self, px: cute.Pointer, pt: cute.Pointer, ploss: cute.Pointer,
                 plse: cute.Pointer, pg: cute.Pointer, pdx: cute.Pointer, m: Int32, n: Int32,
                 ldx: Int64, ldt: Int64, ldg: Int64, lddx: Int64, ignore_index: Int64,
                 smoothing: Float32, z_loss: Float32, stream: cuda_driver.CUstream):
        t = self.plan.tiling
        mX = C.rows_tensor(px, m, n, ldx, t.vec)
        mT = cute.make_tensor(pt, cute.make_layout((m,), stride=(ldt,)))
        mLse = cute.make_tensor(plse, cute.make_layout((m,)))  # written by fwd, read by bwd
        mLoss, mG, mDX = None, None, None
        if const_expr(self.mode != "bwd"):
            mLoss = cute.make_tensor(ploss, cute.make_layout((m,)))
        if const_expr(self.has_g):
            mG = cute.make_tensor(pg, cute.make_layout((m,), stride=(ldg,)))  # ldg 0: one value
        if const_expr(self.mode == "bwd"):
            mDX = C.rows_tensor(pdx, m, n, lddx, t.vec)
        # Staged rows: all of the SM's shared memory, so that several rows are in flight.
        carveout = 100 if const_expr(self.plan.staged) else None
        self.kernel(mX, mT, mLoss, mLse, mG, mDX, ignore_index, smoothing, z_loss).launch(
            grid=[cute.ceil_div(m, t.rows_per_cta), 1, 1], block=[t.cta_threads, 1, 1],
            stream=stream, preferred_smem_carveout=carveout)

    @cute.kernel
    def kernel(self, mX: cute.Tensor, mT: cute.Tensor, mLoss, mLse: cute.Tensor, mG, mDX,
               ignore_index: Int64, smoothing: Float32, z_loss: Float32):
        plan, t = self.plan, self.plan.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        n = mX.shape[1]
        dtype = mX.element_type
        atom = _atom(dtype, t.vec)
        thr = cute.make_tiled_copy(atom, C.tv_layout(t), C.tiler(t)).get_slice(tidx)
        buffer = C.reduction_buffer(t, _REDUCE_SLOTS)

        # The row: its target decides whether it is read at all.
        first = _Chunk(thr, t, mX.shape, bidx, 0, True, True)
        row = first.coords[(0, 0), 0, 0][0]
        in_rows = row < mX.shape[0]
        leader = in_rows & (first.coords[(0, 0), 0, 0][1] == 0)
        target = ignore_index
        if in_rows:
            target = Int64(mT[row])
        valid = in_rows & (target != ignore_index)
        in_range = (target >= 0) & (target < Int64(n))
        nan = Float32(math.nan)

        # Where the gradient goes: over the logits (in place) or into dx.
        mOut = mX
        if const_expr(self.mode == "bwd"):
            mOut = mDX

        staged = None
        if const_expr(plan.staged):
            staged = SmemAllocator().allocate_tensor(
                dtype, cute.make_ordered_layout((t.rows_per_cta, plan.chunks * t.cols),
                                                order=(1, 0)), byte_alignment=16)
            copy_async = _async_atom(dtype, t.vec)
            for k in cutlass.range_constexpr(plan.chunks):  # the whole row in flight at once
                ch = _Chunk(thr, t, mX.shape, bidx, k, valid, in_rows)
                cute.copy(copy_async, ch.part(mX), ch.part_smem(staged), pred=ch.load_pred)
                cute.arch.cp_async_commit_group()

        lse = Float32(0.0)
        if const_expr(self.mode == "bwd"):
            lse = _row_value(mLse, row, in_rows, Float32(0.0))
        x_kept = None
        if const_expr(self.mode != "bwd"):
            # This thread's running max / sum of exponentials / sum of logits / x[target].
            m_run, s_run, sum_x, x_t = Float32(-_FLT_MAX), Float32(0.0), Float32(0.0), \
                Float32(0.0)
            if const_expr(plan.chunks == 1):
                ch = _Chunk(thr, t, mX.shape, bidx, 0, valid, in_rows)
                x = _load(ch.part(mX), ch.load_pred, atom)
                x_kept = x  # the gradient is computed from these registers
                m_run, s_run = _online(x, m_run, s_run)
                if const_expr(self.has_smoothing):
                    sum_x = _in_row_sum(x, ch.load_pred, ch.coords)
                x_t = _pick(x, ch.coords, target, x_t, t.vec)
            elif const_expr(plan.staged):
                for k in cutlass.range_constexpr(plan.chunks):
                    cute.arch.cp_async_wait_group(plan.chunks - 1 - k)  # chunk k has landed
                    ch = _Chunk(thr, t, mX.shape, bidx, k, valid, in_rows)
                    x = _load(ch.part_smem(staged), ch.load_pred, atom)
                    m_run, s_run = _online(x, m_run, s_run)
                    if const_expr(self.has_smoothing):
                        sum_x += _in_row_sum(x, ch.load_pred, ch.coords)
                    x_t = _pick(x, ch.coords, target, x_t, t.vec)
            else:
                m_run, s_run, sum_x, x_t = _streamed_stats(
                    thr, t, mX, bidx, valid, in_rows, target, atom, self.has_smoothing)

            row_max = C.row_reduce(m_run, "max", t, buffer, 0)
            total = C.row_reduce(
                s_run * cute.math.exp2((m_run - row_max) * _LOG2_E, fastmath=True), "sum", t,
                buffer, 1)
            x_t = C.row_reduce(x_t, "sum", t, buffer, 3)  # one thread holds it, the rest add 0
            # Ignored rows read nothing: lse 0, as the Triton kernel writes.
            lse = Float32(cutlass.select_(valid, row_max + cute.math.log(total, fastmath=True),
                                          Float32(0.0)))
            loss = lse - x_t
            if const_expr(self.has_smoothing):
                sum_x = C.row_reduce(sum_x, "sum", t, buffer, 2)
                loss = lse - (1.0 - smoothing) * x_t - smoothing / Float32(n) * sum_x
            if const_expr(self.has_z):
                loss = loss + z_loss * lse * lse
            loss = Float32(cutlass.select_(in_range, loss, nan))
            loss = Float32(cutlass.select_(valid, loss, Float32(0.0)))
            if leader:
                mLoss[row] = loss
                mLse[row] = lse

        if const_expr(self.mode != "fwd"):
            # Ignored rows get no gradient; out-of-range targets poison their row with NaN.
            g = Float32(1.0)
            if const_expr(self.has_g):
                g = _row_value(mG, row, in_rows, Float32(0.0))
            g = Float32(cutlass.select_(in_range, g, nan))
            g = Float32(cutlass.select_(valid, g, Float32(0.0)))
            p_scale = Float32(1.0)
            if const_expr(self.has_z):
                p_scale = 1.0 + 2.0 * z_loss * lse
            smooth_per_class = smoothing / Float32(n)
            hit = (1.0 - smoothing) * g
            if const_expr(plan.chunks == 1):
                ch = _Chunk(thr, t, mX.shape, bidx, 0, valid, in_rows)
                x = x_kept
                if const_expr(self.mode == "bwd"):
                    x = _load(ch.part(mX), ch.load_pred, atom)
                _grad(x, ch.coords, target, lse, p_scale, smooth_per_class, hit, g,
                      ch.part(mOut), ch.store_pred, atom, t.vec)
            elif const_expr(plan.staged):
                for k in cutlass.range_constexpr(plan.chunks):
                    if const_expr(self.mode == "bwd"):
                        cute.arch.cp_async_wait_group(plan.chunks - 1 - k)
                    ch = _Chunk(thr, t, mX.shape, bidx, k, valid, in_rows)
                    x = _load(ch.part_smem(staged), ch.load_pred, atom)
                    _grad(x, ch.coords, target, lse, p_scale, smooth_per_class, hit, g,
                          ch.part(mOut), ch.store_pred, atom, t.vec)
            else:
                # Streamed rows are read again here (mostly from L2 in the in-place forward).
                _streamed_grad(thr, t, mX, mOut, bidx, valid, in_rows, target, lse, p_scale,
                               smooth_per_class, hit, g, atom)


# ---------------------------------------------------------------------------------------------
# compilation


def _index_arg(dtype_key: str):
    """A placeholder pointer to targets (int32 or int64)."""
    dtype = _TARGET_DTYPES[dtype_key]
    return make_ptr(dtype, 0, cute.AddressSpace.gmem, assumed_align=dtype.width // 8)


def _compiled(plan, mode, x_key, t_key, g_key, has_smoothing, has_z, arch=None):
    """The kernel for `mode` ("fwd", "fwd_grad" or "bwd"); g_key is the dtype of the per-row
    gradient scale (None: 1 for every row; "bwd" always has one)."""
    def build():
        vec, cols = plan.tiling.vec, plan.tiling.cols
        args = (C.pointer_arg(x_key, vec), _index_arg(t_key),
                C.pointer_arg("float32" if mode != "bwd" else None), C.pointer_arg("float32"),
                C.pointer_arg(g_key), C.pointer_arg(x_key if mode == "bwd" else None, vec),
                Int32(1), Int32(cols), Int64(cols), Int64(1), Int64(1), Int64(cols),
                Int64(-100), Float32(0.0), Float32(0.0), C.stream_arg())
        kernel = _CrossEntropy(plan, mode, has_smoothing, has_z, g_key is not None)
        return kernel, args, C.arch_options(arch)
    return C.compile_once((KERNEL, mode, plan, x_key, t_key, g_key, has_smoothing, has_z, arch),
                          build)


def compile_all(dtype: str, n: int, arch: str | None = None, every_option: bool = True) -> int:
    """Compiles forward, in-place forward (without and with a gradient scale) and backward for
    rows of n logits of `dtype` (128-bit access) and int64 targets, with smoothing and z-loss
    on; every_option adds int32 targets and smoothing / z-loss off. Returns the count."""
    vec = C.widest_vector(dtype)
    while n % vec:  # as vector_width picks for contiguous rows
        vec //= 2
    plan = _plan(n, vec, C.CUTE_DTYPES[dtype].width // 8)
    variants = [("int64", True, True)]
    if every_option:
        variants += [("int32", False, False), ("int64", True, False), ("int32", False, True)]
    count = 0
    for t_key, smoothing, z in variants:
        for mode, g_key in (("fwd", None), ("fwd_grad", None), ("fwd_grad", "float32"),
                            ("bwd", "float32")):
            _compiled(plan, mode, dtype, t_key, g_key, smoothing, z, arch)
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# launchers (the registry impl signatures of the Triton family)


def _numel(x) -> int:
    n = 1
    for s in x.shape:
        n *= s
    return n


def _per_row_stride(x) -> int:
    """Stride between rows of a per-row array; 0 for a single value that every row shares."""
    return 0 if _numel(x) == 1 else x.stride(0)


def _launch(mode, logits, target, loss, lse, g, dx, ignore_index, label_smoothing, z_loss):
    m, n = logits.shape
    vec = C.vector_width(n, (logits, dx), ())
    plan = _plan(n, vec, logits.element_size())
    fn = _compiled(plan, mode, C.key_of(logits), dtype_name(target), C.key_of(g),
                   label_smoothing != 0.0, z_loss != 0.0)
    fn(C.device_index(logits), C.address(logits), C.address(target), C.address(loss),
       C.address(lse), C.address(g), C.address(dx), m, n, C.row_stride(logits),
       C.row_stride(target), _per_row_stride(g) if g is not None else 0, C.row_stride(dx),
       int(ignore_index), float(label_smoothing), float(z_loss), C.stream_handle(logits))


def _forward(logits, target, ignore_index, label_smoothing, z_loss, inplace_backward=False,
             grad_scale=None):
    m = logits.shape[0]
    loss = empty((m,), "float32", like=logits)
    lse = empty((m,), "float32", like=logits)
    if m:
        mode = "fwd_grad" if inplace_backward else "fwd"
        _launch(mode, logits, target, loss, lse, grad_scale if inplace_backward else None, None,
                ignore_index, label_smoothing, z_loss)
    return loss, lse


def _backward(logits, target, lse, grad_per_row, ignore_index, label_smoothing, z_loss):
    dlogits = empty(tuple(logits.shape), dtype_name(logits), like=logits)
    if logits.shape[0]:
        _launch("bwd", logits, target, None, lse, grad_per_row, dlogits, ignore_index,
                label_smoothing, z_loss)
    return dlogits


def _supports(logits, target, ignore_index, label_smoothing, z_loss, weight=None):
    if weight is not None:
        return "class weights are not implemented in the CuTeDSL kernel"
    reason = C.tensors_reason(logits)
    if reason is not None:
        return reason
    if logits.dim() != 2:
        return f"the CuTeDSL kernels take 2-D rows, got {logits.dim()}-D"
    if logits.shape[1] == 0:
        return "rows of length 0"
    if logits.shape[0] >= 2 ** 31 or logits.shape[1] >= 2 ** 31:
        return "more than 2**31 - 1 rows or classes"
    if not is_torch_tensor(target) or target.device != logits.device:
        return "targets must be a torch tensor on the logits' device"
    if dtype_name(target) not in _TARGET_DTYPES:
        return f"targets must be int32 or int64, not {dtype_name(target)}"
    return None


def _faster(logits, target, ignore_index, label_smoothing, z_loss, weight=None):
    """Where this backend beats Triton (the registry's per-input preference, declared in
    __init__; one H200, bf16): rows read with accesses of 4 bytes or more, e.g. (8192, 32768)
    forward 0.127 vs 0.166 ms and in place 0.300 vs 0.421 ms; rows of odd length (one 2-byte
    element per access) are faster on Triton (50257: 0.333 vs 0.166 ms)."""
    if _supports(logits, target, ignore_index, label_smoothing, z_loss, weight) is not None:
        return False
    return C.vector_width(logits.shape[1], (logits,), ()) * logits.element_size() >= 4


_registry.register(KERNEL, "cutedsl", _forward, _backward, _supports)
