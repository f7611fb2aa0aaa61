"""What the CuTeDSL row kernels share: the row tiling, input checks, launch arguments, the
compile cache and the in-kernel helpers (predicated vector copies, warp + block reductions).

Every kernel here works on rows: a (rows, n) array with unit stride along n. One group of
`threads_per_row` threads owns one row and holds all of it in registers (one global read);
each thread moves `vec` elements per access (128 bits when alignment allows). The row length
n is a runtime value: one compiled kernel serves every n that maps to the same tiling.
"""

from __future__ import annotations

import ctypes
import functools
import operator
import threading
from dataclasses import dataclass

import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.runtime import make_fake_stream, make_ptr
from cutlass.memory import SmemAllocator

from .._checks import dtype_name
from .._compat import is_torch_tensor, torch
from .._launch import sm_count
from . import _disk_cache as disk_cache

CUTE_DTYPES = {"float32": cutlass.Float32, "float16": cutlass.Float16, "bfloat16": cutlass.BFloat16}
WARP = 32
# Longest row held in registers by one CTA (512 threads x 32 elements); longer rows need the
# Hopper cluster reduction, which is not implemented (the registry falls back to Triton).
MAX_N = 16384
_ELEMENTS_PER_THREAD = 32  # row elements each thread keeps in registers
_MIN_CTA_THREADS = 128  # short rows: several rows per CTA


@dataclass(frozen=True)
class RowTiling:
    vec: int  # elements per vector access
    threads_per_row: int
    vecs_per_thread: int
    rows_per_cta: int

    @property
    def cta_threads(self) -> int:
        return self.threads_per_row * self.rows_per_cta

    @property
    def cols(self) -> int:
        """Columns one tile covers (>= n; the rest is masked)."""
        return self.vec * self.threads_per_row * self.vecs_per_thread

    @property
    def warps_per_row(self) -> int:
        return max(1, self.threads_per_row // WARP)


def _next_pow2(v: int) -> int:
    return 1 << max(0, (v - 1).bit_length())


@functools.lru_cache(maxsize=1024)
def row_tiling(n: int, vec: int) -> RowTiling:
    """About 32 elements per thread, a power-of-two thread group per row, at least 128 threads
    per CTA. Rows of every length in one bucket share the tiling (and the compiled kernel)."""
    vectors = -(-n // vec)
    target = max(1, _ELEMENTS_PER_THREAD // vec)
    threads = _next_pow2(-(-vectors // target))
    return RowTiling(vec, threads, -(-vectors // threads), max(1, _MIN_CTA_THREADS // threads))


def vector_width(n: int, rows: tuple, vectors: tuple) -> int:
    """The widest access (elements, at most 128 bits of the widest dtype) that n, every row
    stride and every base address allow."""
    tensors = [t for t in rows + vectors if t is not None]
    vec = 16 // max(t.element_size() for t in tensors)

    def aligned(v):
        if n % v:
            return False
        for t in tensors:
            if t.data_ptr() % (v * t.element_size()):
                return False
        return all(t.shape[0] <= 1 or t.stride(0) % v == 0 for t in rows if t is not None)

    while vec > 1 and not aligned(vec):
        vec //= 2
    return vec


# ---------------------------------------------------------------------------------------------
# input checks (supports)


def tensors_reason(*tensors) -> str | None:
    """None when every tensor is a CUDA torch tensor of a supported dtype with unit stride along
    its last dim, else why the CuTeDSL kernels cannot take them."""
    for t in tensors:
        if t is None:
            continue
        if not is_torch_tensor(t):
            return f"the CuTeDSL kernels take torch tensors, not {type(t).__name__}"
        if t.device.type != "cuda":
            return f"the CuTeDSL kernels need CUDA tensors (got a {t.device.type} tensor)"
        if dtype_name(t) not in CUTE_DTYPES:
            return f"the CuTeDSL kernels take float32, float16 or bfloat16, not {dtype_name(t)}"
        if t.dim() and t.shape[-1] > 1 and t.stride(-1) != 1:
            return "the CuTeDSL kernels need unit stride along the last dim"
    return None


def rows_reason(x) -> str | None:
    if x.dim() != 2:
        return f"the CuTeDSL kernels take 2-D rows, got {x.dim()}-D"
    n = x.shape[1]
    if n == 0:
        return "rows of length 0"
    if n > MAX_N:
        return f"rows of {n} elements exceed {MAX_N} (the cluster reduction is not implemented)"
    if x.shape[0] >= 2 ** 31:
        return "more than 2**31 - 1 rows"
    return None


# ---------------------------------------------------------------------------------------------
# launch arguments and the compile cache


def key_of(t) -> str | None:
    return dtype_name(t) if t is not None else None


def address(t) -> int | None:
    return t.data_ptr() if t is not None else None


def row_stride(t) -> int:
    """The row stride (0 for a single row, whose stride never matters)."""
    return t.stride(0) if t is not None and t.shape[0] > 1 else 0


def device_index(t) -> int:
    return t.device.index if t.device.index is not None else torch.cuda.current_device()


def stream_handle(t) -> int:
    """The current stream of t's GPU: the raw handle, which Triton's launches read too (a
    torch.cuda.Stream object costs microseconds a call)."""
    return torch._C._cuda_getCurrentRawStream(t.get_device())


def pointer_arg(dtype_key: str | None, vec: int = 1):
    """A placeholder pointer for compiling without data, aligned to one access of `vec`
    elements (dtype_key None: the argument is absent and compiled out)."""
    if dtype_key is None:
        return None
    dtype = CUTE_DTYPES[dtype_key]
    return make_ptr(dtype, 0, cute.AddressSpace.gmem, assumed_align=vec * dtype.width // 8)


def stream_arg():
    return make_fake_stream()


def _slot_type(arg):
    """How the compiled host function receives an argument: a pointer to a value of this C type."""
    if arg is None:
        return None
    if isinstance(arg, (cute.Pointer, type(make_fake_stream()))):
        return ctypes.c_void_p
    return {Int32: ctypes.c_int32, Int64: ctypes.c_int64, Float32: ctypes.c_float}[type(arg)]


class Kernel:
    """A compiled kernel and its launch. Each argument goes straight into a C slot of the
    compiled host function (the DSL's generic argument conversion costs tens of microseconds
    a call); absent optional arguments (None at compile time) are compiled out and skipped."""

    def __init__(self, compiled, placeholder_args):
        self.compiled = compiled
        self.placeholders = placeholder_args
        self.slots = tuple(_slot_type(a) for a in placeholder_args)
        self._executors = {}

    def pack(self, values):
        """(C values kept alive, the host function's argument list) for `values`, given in the
        compiled signature's order: device addresses, integers, floats, the stream handle."""
        held = [slot(v) for slot, v in zip(self.slots, values, strict=True) if slot is not None]
        return held, [ctypes.addressof(h) for h in held]

    def __call__(self, device: int, *values):
        """Launches on `device` (the tensors' GPU) with argument `values` (see `pack`)."""
        if torch.cuda.current_device() == device:
            self._launch(device, values)
        else:
            with torch.cuda.device(device):  # loading and launching use the current context
                self._launch(device, values)

    def _launch(self, device, values):
        executor = self._executors.get(device)
        if executor is None:
            executor = self._executors[device] = self.compiled.to(device)  # loads the module
        held, args = self.pack(values)
        executor.run_compiled_program(args)
        del held  # the C values had to live until the launch returned


_compiled: dict = {}
_compile_lock = threading.Lock()


def compile_once(key, build) -> Kernel:
    """The compiled kernel for `key`, from memory, else from the disk cache, else compiled.
    `build()` returns (jit program, placeholder arguments, compile options or None); it is cheap
    (the tracing and lowering happen in cute.compile)."""
    kernel = _compiled.get(key)
    if kernel is None:
        with _compile_lock:
            kernel = _compiled.get(key)
            if kernel is None:
                kernel = _compiled[key] = _load_or_compile(key, build)
    return kernel


def _load_or_compile(key, build) -> Kernel:
    program, args, options = build()
    name = disk_cache.entry_name(key, options) if disk_cache.enabled() else None
    compiled = disk_cache.load(name) if name else None
    if compiled is None:
        compiled = cute.compile(program, *args, options=options) if options else \
            cute.compile(program, *args)
        if name:
            disk_cache.store(name, compiled)
    return Kernel(compiled, args)


def arch_options(arch: str | None) -> str | None:
    """Compile options for an explicit target (e.g. "sm_90a" on a machine without a GPU)."""
    return f"--gpu-arch {arch}" if arch else None


def grid_for_device(t) -> int:
    return sm_count(device_index(t))


# ---------------------------------------------------------------------------------------------
# in-kernel helpers (run while a kernel is traced)


def rows_tensor(ptr, m, n, ld, vec: int):
    """A (m, n) row-major view; the row stride is a multiple of the access width."""
    return cute.make_tensor(ptr, cute.make_layout((m, n), stride=(cute.assume(ld, divby=vec), 1)))


def broadcast_rows(ptr, n, tiling: RowTiling):
    """A length-n vector seen as rows_per_cta identical rows (weight, bias)."""
    return cute.make_tensor(ptr, cute.make_layout((tiling.rows_per_cta, n), stride=(0, 1)))


def tiler(tiling: RowTiling):
    return (tiling.rows_per_cta, tiling.cols)


def tv_layout(tiling: RowTiling):
    """Thread t owns row t // threads_per_row of the tile and, within it, vectors
    t % threads_per_row, + threads_per_row, ... (consecutive threads read consecutive 16 B)."""
    t, r, v, j = tiling.threads_per_row, tiling.rows_per_cta, tiling.vec, tiling.vecs_per_thread
    return cute.make_layout(((t, r), (v, j)), stride=((r * v, 1), (r, r * t * v)))


def column_predicate(coords: cute.Tensor, n, row_ok=None) -> cute.Tensor:
    """One flag per vector of a thread's partitioned coordinates: its columns are inside a row
    of n (and, with `row_ok`, its row exists)."""
    vectors, rest_m, rest_k = (cute.size(coords, mode=[0, 1]), cute.size(coords, mode=[1]),
                               cute.size(coords, mode=[2]))
    pred = cute.make_rmem_tensor(
        cute.make_layout((vectors, rest_m, rest_k), stride=(rest_k, 0, 1)), cutlass.Boolean)
    for v in range(pred.shape[0]):
        for k in range(pred.shape[2]):
            inside = cute.elem_less(coords[(0, v), 0, k][1], n)
            pred[v, 0, k] = inside if row_ok is None else inside & row_ok
    return pred


class RowCopy:
    """One thread's view of a row tile: its coordinates, the column predicate and the vector
    copies. Every tensor is partitioned the same way, whatever its dtype."""

    def __init__(self, tiling: RowTiling, tidx, ref: cute.Tensor, tile):
        self.tiling = tiling
        self.tidx = tidx
        self.tile = tile
        self.dtype = ref.element_type
        tiled = cute.make_tiled_copy(self.atom(self.dtype), tv_layout(tiling), tiler(tiling))
        self.thr = tiled.get_slice(tidx)
        shape = ref.shape
        self.ref = self.part(ref)
        self.coords = self.part(cute.make_identity_tensor(shape))
        first = self.coords[(0, 0), 0, 0]
        self.row = first[0]
        self.in_rows = first[0] < shape[0]
        # The thread that writes the row's statistics.
        self.row_leader = self.in_rows & (first[1] == 0)
        self.group = tidx // tiling.threads_per_row  # this thread's row within the CTA's tile
        self.col_pred = self._predicate(shape[1], None)
        self.pred = self._predicate(shape[1], self.in_rows)

    def atom(self, dtype):
        return cute.make_copy_atom(cute.nvgpu.CopyUniversalOp(), dtype,
                                   num_bits_per_copy=self.tiling.vec * dtype.width)

    def _predicate(self, n, in_rows):
        return column_predicate(self.coords, n, in_rows)

    def part(self, tensor, tile=None):
        """This thread's vectors of `tensor`'s tile."""
        g = cute.local_tile(tensor, tiler(self.tiling), (self.tile if tile is None else tile, 0))
        return self.thr.partition_S(g)

    def fragment(self, dtype=None):
        return cute.make_rmem_tensor_like(self.ref, dtype or self.dtype)

    def copy(self, src, dst, rows_only=True):
        """Copies the unmasked vectors (one access each when they fit in 128 bits); with
        rows_only=False the row bound is ignored (broadcast vectors)."""
        pred = self.pred if rows_only else self.col_pred
        if self.tiling.vec * src.element_type.width <= 128:
            cute.copy(self.atom(src.element_type), src, dst, pred=pred)
        else:
            _copy_wide(src, dst, pred)


@cute.jit
def _copy_wide(src: cute.Tensor, dst: cute.Tensor, pred: cute.Tensor):
    for v in cutlass.range_constexpr(cute.size(pred, mode=[0])):
        if pred[v, 0, 0]:
            cute.autovec_copy(src[(None, v), 0, 0], dst[(None, v), 0, 0])


@cute.jit
def load_rows(rc: RowCopy, part: cute.Tensor, fill: cutlass.Constexpr = 0.0) -> cute.Tensor:
    """Loads this thread's vectors (masked columns and rows read as `fill`)."""
    frag = rc.fragment(part.element_type)
    frag.fill(fill)
    rc.copy(part, frag)
    return frag


@cute.jit
def load_vector(rc: RowCopy, part: cute.Tensor) -> cute.Tensor:
    """Loads a broadcast vector (weight, bias): every thread needs it, whatever its row."""
    frag = rc.fragment(part.element_type)
    frag.fill(0.0)
    rc.copy(part, frag, rows_only=False)
    return frag


@cute.jit
def store_rows(rc: RowCopy, value: cute.TensorSSA, part: cute.Tensor):
    """Rounds `value` to the destination dtype and stores the valid columns of valid rows."""
    frag = rc.fragment(part.element_type)
    frag.store(value.to(part.element_type))
    rc.copy(frag, part)


@cute.jit
def zero_masked(rc: RowCopy, value: cute.TensorSSA) -> cute.TensorSSA:
    """`value` with the masked columns set to 0 (for sums of values that are not 0 there)."""
    frag = rc.fragment(Float32)
    frag.store(value)
    pred = rc.col_pred
    for v in cutlass.range_constexpr(cute.size(pred, mode=[0])):
        if not pred[v, 0, 0]:
            frag[(None, v), 0, 0].fill(0.0)
    return frag.load()


def partial_rows(ptr, grid, n, tiling: RowTiling):
    """A (grid, n) float32 array of per-CTA partial sums, seen as tiles of rows_per_cta rows
    that all alias the CTA's one row (the row groups add up before one of them stores)."""
    ld = cute.assume(Int64(n), divby=tiling.vec)
    return cute.make_tensor(ptr, cute.make_layout(((tiling.rows_per_cta, grid), n),
                                                  stride=((0, ld), 1)))


class ColumnSums:
    """Per-CTA float32 column sums over the rows a backward walks (dweight, dbias). They live
    in shared memory, one row per row group, each thread owning its own columns (no barrier
    while adding), which keeps them out of the registers the row data needs. Inside a dynamic
    loop, add to the `mine` tensor (objects cannot be carried through such loops)."""

    def __init__(self, rc: RowCopy):
        t = rc.tiling
        self.rc = rc
        self.smem = SmemAllocator().allocate_tensor(
            Float32, cute.make_ordered_layout(tiler(t), order=(1, 0)), byte_alignment=16)
        self.mine = rc.part(self.smem, 0)
        zero = rc.fragment(Float32)
        zero.fill(0.0)
        cute.autovec_copy(zero, self.mine)

    def store(self, mPartial: cute.Tensor, cta):
        """Adds up the row groups and stores row `cta` of the (ctas, n) partial sums from the
        first row group."""
        rc, t = self.rc, self.rc.tiling
        if t.rows_per_cta > 1:
            cute.arch.barrier()
            total = _sum_row_groups(rc.tidx % t.threads_per_row, self.smem, rc.fragment(Float32),
                                    rc.atom(rc.dtype), t)
        else:
            total = rc.fragment(Float32)
            cute.autovec_copy(self.mine, total)
        pred = cute.make_rmem_tensor_like(rc.col_pred, cutlass.Boolean)
        first_group = rc.group == 0
        for v in range(cute.size(pred, mode=[0])):
            pred[v, 0, 0] = rc.col_pred[v, 0, 0] & first_group
        part = rc.part(mPartial, cta)
        if t.vec * 32 <= 128:
            cute.copy(rc.atom(Float32), total, part, pred=pred)
        else:
            _copy_wide(total, part, pred)


@cute.jit
def _sum_row_groups(lane, smem: cute.Tensor, total: cute.Tensor, atom, t: cutlass.Constexpr):
    # Every group sums the same columns over all groups; only group 0 stores the result.
    total.fill(0.0)
    tiled = cute.make_tiled_copy(atom, tv_layout(t), tiler(t))
    for r in cutlass.range(t.rows_per_cta, unroll=1):
        other = cute.make_rmem_tensor_like(total, Float32)
        cute.autovec_copy(tiled.get_slice(lane + r * t.threads_per_row).partition_S(smem), other)
        total.store(total.load() + other.load())
    return total


def end_of_tile(tiling: RowTiling):
    """Between the row tiles of a backward: a CTA barrier when rows span warps (the next tile
    reuses the reduction slots), else a warp sync. Either also keeps the ColumnSums in shared
    memory: with no barrier in the loop the compiler holds them in registers, and spills."""
    if tiling.warps_per_row > 1:
        cute.arch.barrier()
    else:
        cute.arch.sync_warp()


def backward_ctas_per_sm(tiling: RowTiling) -> int:
    """Resident CTAs per SM that a backward aims for: 512 threads (16 warps), which caps it at
    128 registers a thread. Its launch also prefers all of the SM's shared memory (carveout
    100%): the ColumnSums of those CTAs take up to 128 KB, and L1 has little to cache here."""
    return max(1, 512 // tiling.cta_threads)


def backward_grid(x, m: int, tiling: RowTiling) -> int:
    """CTAs for a backward that walks row tiles: one wave of resident CTAs, never more CTAs
    than tiles (each CTA leaves one float32 partial row)."""
    tiles = -(-m // tiling.rows_per_cta)
    return max(1, min(tiles, grid_for_device(x) * backward_ctas_per_sm(tiling)))


def reduction_buffer(tiling: RowTiling, slots: int):
    """Shared memory for the cross-warp step of `row_reduce`: one value per (row, warp, slot)."""
    if tiling.warps_per_row == 1:
        return None
    layout = cute.make_layout((tiling.rows_per_cta, tiling.warps_per_row, slots))
    return SmemAllocator().allocate_tensor(Float32, layout, byte_alignment=16)


def fmax(a, b):
    """max as a reduction operator (warp_reduction and block reductions)."""
    return cute.arch.fmax(a, b)


@cute.jit
def row_reduce(value, kind: cutlass.Constexpr, tiling: cutlass.Constexpr, buffer,
               slot: cutlass.Constexpr):
    """The sum ("sum") or max ("max") over a row of this thread group's values (TensorSSA or
    scalar), returned to every thread of the row. Each slot of `buffer` serves one reduction;
    reusing a slot needs a barrier between the two uses."""
    op = operator.add if const_expr(kind == "sum") else fmax
    if const_expr(isinstance(value, cute.TensorSSA)):
        if const_expr(kind == "sum"):
            value = value.reduce(cute.ReductionOp.ADD, init_val=0.0, reduction_profile=0)
        else:
            value = value.reduce(cute.ReductionOp.MAX, init_val=-Float32.inf, reduction_profile=0)
    value = cute.arch.warp_reduction(value, op, threads_in_group=min(tiling.threads_per_row, WARP))
    if const_expr(tiling.warps_per_row > 1):
        warp = cute.arch.warp_idx()
        row, col = warp // tiling.warps_per_row, warp % tiling.warps_per_row
        if cute.arch.lane_idx() == 0:
            buffer[row, col, slot] = value
        cute.arch.barrier()
        value = buffer[row, 0, slot]
        for i in cutlass.range_constexpr(1, tiling.warps_per_row):
            value = op(value, buffer[row, i, slot])
    return value


def widest_vector(dtype: str) -> int:
    """Elements of `dtype` in one 128-bit access."""
    return 128 // CUTE_DTYPES[dtype].width
