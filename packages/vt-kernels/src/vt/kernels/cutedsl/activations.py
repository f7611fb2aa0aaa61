"""GELU, SwiGLU and GeGLU in CuTeDSL: the "cutedsl" backend of the gelu, swiglu and geglu
kernels (semantics and impl signatures as in vt.kernels.activations).

Elementwise: one CTA per tile, each thread moving 64 bytes of every operand as predicated
128-bit vectors. A tile is a block of one long row (256 threads side by side) or several short
rows (one power-of-two thread group per row, at least 128 threads a CTA). Contiguous inputs are
one flat row, so short rows waste no threads; packed [gate | up] rows are read in place through
a second pointer at column n with the same row stride. Math in float32 as the Triton kernels.
"""

from __future__ import annotations

import functools
import math

import cuda.bindings.driver as cuda_driver
from cutlass import Float32, Int32, Int64, const_expr, cute

from .. import _registry
from .._arrays import empty
from .._checks import dtype_name
from . import _common as C

KERNELS = ("gelu", "swiglu", "geglu")
SILU, GELU, GELU_TANH = "silu", "gelu", "gelu_tanh"
_GELU_CODES = {"none": GELU, "tanh": GELU_TANH}
# Kernel shapes: unary forward y = act(x); unary backward dx = dy * act'(x); gated forward
# out = act(g) * u; gated backward (dgate, dup) = (dout * u * act'(g), dout * act(g)).
UNARY_FWD, UNARY_BWD, GATED_FWD, GATED_BWD = "unary_fwd", "unary_bwd", "gated_fwd", "gated_bwd"
# (inputs, outputs) of each shape
_ARITY = {UNARY_FWD: (1, 1), UNARY_BWD: (2, 1), GATED_FWD: (2, 1), GATED_BWD: (3, 2)}

_LOG2_E = math.log2(math.e)
_TILE_THREADS = 256  # threads side by side on one long row
_MIN_CTA_THREADS = 128
_BYTES_PER_THREAD = 64  # of each operand, in flight per thread (four 128-bit vectors)
# Column offsets stay 32-bit: a tile's last column must not pass 2**31.
MAX_N = 2 ** 31 - 2 ** 16
MAX_TILES = 2 ** 31 - 1


# ---------------------------------------------------------------------------------------------
# tiling


@functools.lru_cache(maxsize=1024)
def tiling_for(n: int, vec: int, element_size: int) -> C.RowTiling:
    """Rows of n elements in `vec`-element vectors. A row that one tile of 256 threads covers
    gets a power-of-two thread group (several rows per CTA); a longer row is cut into column
    tiles, smaller ones when the last tile would leave more than 1/16 of its lanes idle."""
    per_thread = max(1, _BYTES_PER_THREAD // (vec * element_size))  # vectors
    vectors = -(-n // vec)
    if vectors <= _TILE_THREADS * per_thread:
        threads = 1 << (-(-vectors // per_thread) - 1).bit_length()  # the next power of two
        return C.RowTiling(vec, threads, -(-vectors // threads),
                           max(1, _MIN_CTA_THREADS // threads))
    threads = _TILE_THREADS

    def waste(threads, per_thread):
        cols = threads * per_thread * vec
        return -(-n // cols) * cols - n

    while waste(threads, per_thread) > n // 16 and (per_thread > 1 or threads > _MIN_CTA_THREADS):
        if per_thread > 1:
            per_thread //= 2
        else:
            threads //= 2
    return C.RowTiling(vec, threads, per_thread, 1)


def tiles(m: int, n: int, tiling: C.RowTiling) -> int:
    return -(-m // tiling.rows_per_cta) * -(-n // tiling.cols)


def vector_width(n: int, operands) -> int:
    """The widest access (elements, at most 128 bits of the widest dtype) that n and every
    operand's (address, element size, row stride) allow."""
    vec = 16 // max(size for _, size, _ in operands)
    while vec > 1 and not (n % vec == 0 and all(
            address % (vec * size) == 0 and stride % vec == 0
            for address, size, stride in operands)):
        vec //= 2
    return vec


# ---------------------------------------------------------------------------------------------
# kernels


class _TileCopy(C.RowCopy):
    """RowCopy of the tile at (row tile, column tile): long rows span several column tiles."""

    def __init__(self, tiling: C.RowTiling, tidx, ref: cute.Tensor, row_tile, col_tile):
        self.col_tile = col_tile
        super().__init__(tiling, tidx, ref, row_tile)

    def part(self, tensor, tile=None):
        g = cute.local_tile(tensor, C.tiler(self.tiling), (self.tile, self.col_tile))
        return self.thr.partition_S(g)


@cute.jit
def _sigmoid(x):
    return 1.0 / (1.0 + cute.math.exp2(x * -_LOG2_E, fastmath=True))


@cute.jit
def _activation(x, act: cute.Constexpr):
    if const_expr(act == SILU):
        y = x * _sigmoid(x)
    elif const_expr(act == GELU):
        y = 0.5 * x * (1.0 + cute.math.erf(x * 0.7071067811865476))
    else:
        # 0.5 * (1 + tanh(u)) == sigmoid(2u): no tanh, and stable for large |u|.
        y = x * _sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x))
    return y


@cute.jit
def _activation_and_grad(x, act: cute.Constexpr):
    if const_expr(act == SILU):
        s = _sigmoid(x)
        y = x * s
        dy = s * (1.0 + x * (1.0 - s))
    elif const_expr(act == GELU):
        cdf = 0.5 * (1.0 + cute.math.erf(x * 0.7071067811865476))
        y = x * cdf
        dy = cdf + x * 0.3989422804014327 * cute.math.exp2(x * x * (-0.5 * _LOG2_E),
                                                          fastmath=True)
    else:
        s = _sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x))
        y = x * s
        dy = s + 2.0 * x * s * (1.0 - s) * 0.7978845608028654 * (1.0 + 0.134145 * x * x)
    return y, dy


class _Elementwise:
    """One of the four kernel shapes (UNARY_FWD ... GATED_BWD) for one activation. Inputs
    a, b, c and outputs o1, o2 are (m, n) rows with their own row strides; absent ones are
    None at compile time."""

    def __init__(self, tiling: C.RowTiling, shape: str, act: str):
        self.tiling = tiling
        self.shape = shape
        self.act = act

    @cute.jit
    def __call__(self, pa: cute.Pointer, pb: cute.Pointer, pc: cute.Pointer, po1: cute.Pointer,
                 po2: cute.Pointer, m: Int32, n: Int32, lda: Int64, ldb: Int64, ldc: Int64,
                 ldo1: Int64, ldo2: Int64, stream: cuda_driver.CUstream):
        t = self.tiling
        inputs, outputs = _ARITY[self.shape]
        mA = C.rows_tensor(pa, m, n, lda, t.vec)
        mO1 = C.rows_tensor(po1, m, n, ldo1, t.vec)
        mB = C.rows_tensor(pb, m, n, ldb, t.vec) if const_expr(inputs > 1) else None
        mC = C.rows_tensor(pc, m, n, ldc, t.vec) if const_expr(inputs > 2) else None
        mO2 = C.rows_tensor(po2, m, n, ldo2, t.vec) if const_expr(outputs > 1) else None
        col_tiles = cute.ceil_div(n, t.cols)
        self.kernel(mA, mB, mC, mO1, mO2, col_tiles).launch(
            grid=[cute.ceil_div(m, t.rows_per_cta) * col_tiles, 1, 1], block=[t.cta_threads, 1, 1],
            stream=stream)

    @cute.kernel
    def kernel(self, mA: cute.Tensor, mB, mC, mO1: cute.Tensor, mO2, col_tiles: Int32):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        tc = _TileCopy(t, tidx, mA, bidx // col_tiles, bidx % col_tiles)
        # Every load is issued before the math (the bytes in flight hide the latency).
        a = C.load_rows(tc, tc.part(mA))
        if const_expr(mB is not None):
            b = C.load_rows(tc, tc.part(mB))
        if const_expr(mC is not None):
            c = C.load_rows(tc, tc.part(mC))
        if const_expr(self.shape == UNARY_FWD):
            C.store_rows(tc, _activation(a.load().to(Float32), self.act), tc.part(mO1))
        elif const_expr(self.shape == UNARY_BWD):
            _, grad = _activation_and_grad(b.load().to(Float32), self.act)  # a = dy, b = x
            C.store_rows(tc, a.load().to(Float32) * grad, tc.part(mO1))
        elif const_expr(self.shape == GATED_FWD):
            y = _activation(a.load().to(Float32), self.act) * b.load().to(Float32)  # a = g, b = u
            C.store_rows(tc, y, tc.part(mO1))
        else:
            # a = dout, b = gate, c = up; o1 = dgate, o2 = dup
            y, grad = _activation_and_grad(b.load().to(Float32), self.act)
            dout = a.load().to(Float32)
            C.store_rows(tc, dout * c.load().to(Float32) * grad, tc.part(mO1))
            C.store_rows(tc, dout * y, tc.part(mO2))


def _compiled(tiling, shape, act, keys, arch=None):
    """keys: the dtypes of (a, b, c, o1, o2), None where the shape has no such operand."""
    def build():
        vec, cols = tiling.vec, tiling.cols
        args = (*(C.pointer_arg(key, vec) for key in keys), Int32(1), Int32(cols),
                *(Int64(cols) for _ in keys), C.stream_arg())
        return _Elementwise(tiling, shape, act), args, C.arch_options(arch)
    return C.compile_once(("activations", shape, act, tiling, keys, arch), build)


def _keys(shape, dtype):
    inputs, outputs = _ARITY[shape]
    return tuple(dtype if i < inputs else None for i in range(3)) + \
        tuple(dtype if i < outputs else None for i in range(2))


def compile_all(dtype: str, n: int, arch: str | None = None) -> int:
    """Compiles every kernel shape of every activation for rows of n elements of `dtype`
    (128-bit access); returns the count."""
    tiling = tiling_for(n, C.widest_vector(dtype), C.CUTE_DTYPES[dtype].width // 8)
    variants = [(shape, act) for act in (GELU, GELU_TANH) for shape in (UNARY_FWD, UNARY_BWD)]
    variants += [(shape, act) for act in (SILU, GELU, GELU_TANH)
                 for shape in (GATED_FWD, GATED_BWD)]
    for shape, act in variants:
        _compiled(tiling, shape, act, _keys(shape, dtype), arch)
    return len(variants)


# ---------------------------------------------------------------------------------------------
# launchers


class _Operand:
    """Rows of a tensor from `column` on: what a launch passes for it."""

    __slots__ = ("address", "key", "size", "stride")

    def __init__(self, t, column: int = 0):
        self.key = dtype_name(t)
        self.size = t.element_size()
        self.address = t.data_ptr() + column * self.size
        self.stride = C.row_stride(t)


def _launch(shape, act, like, m, n, a, b, c, o1, o2):
    """Launches `shape` on (m, n) rows of the operands (None where absent)."""
    operands = [op for op in (a, b, c, o1, o2) if op is not None]
    if m > 1 and m * n <= MAX_N and all(op.stride == n for op in operands):
        m, n = 1, m * n  # dense rows: one flat row
        for op in operands:
            op.stride = 0
    vec = vector_width(n, [(op.address, op.size, op.stride) for op in operands])
    tiling = tiling_for(n, vec, max(op.size for op in operands))
    all_ops = (a, b, c, o1, o2)
    fn = _compiled(tiling, shape, act, tuple(op.key if op else None for op in all_ops))
    fn(C.device_index(like), *(op.address if op else None for op in all_ops), m, n,
       *(op.stride if op else 0 for op in all_ops), C.stream_handle(like))


def _unary_forward(x, act):
    m, n = x.shape
    y = empty((m, n), dtype_name(x), like=x)
    if m * n:
        _launch(UNARY_FWD, act, x, m, n, _Operand(x), None, None, _Operand(y), None)
    return y


def _unary_backward(dy, x, act):
    m, n = x.shape
    dx = empty((m, n), dtype_name(x), like=x)
    if m * n:
        _launch(UNARY_BWD, act, x, m, n, _Operand(dy), _Operand(x), None, _Operand(dx), None)
    return dx


def _gated_forward(x, up, act):
    m = x.shape[0]
    n = x.shape[1] // 2 if up is None else x.shape[1]
    out = empty((m, n), dtype_name(x), like=x)
    if m * n:
        # Packed rows: up is the second half of x's rows, read through a pointer at column n.
        u = _Operand(x, n) if up is None else _Operand(up)
        _launch(GATED_FWD, act, x, m, n, _Operand(x), u, None, _Operand(out), None)
    return out


def _gated_backward(dout, x, up, act):
    m = x.shape[0]
    n = x.shape[1] // 2 if up is None else x.shape[1]
    dx = empty(tuple(x.shape), dtype_name(x), like=x)
    dup = empty((m, n), dtype_name(up), like=up) if up is not None else None
    if m * n:
        if up is None:  # both gradients land in dx's two halves
            u, du = _Operand(x, n), _Operand(dx, n)
        else:
            u, du = _Operand(up), _Operand(dup)
        _launch(GATED_BWD, act, x, m, n, _Operand(dout), _Operand(x), u, _Operand(dx), du)
    return dx, dup


def _gelu_forward(x, approximate):
    return _unary_forward(x, _GELU_CODES[approximate])


def _gelu_backward(dy, x, approximate):
    return _unary_backward(dy, x, _GELU_CODES[approximate])


def _swiglu_forward(x, up):
    return _gated_forward(x, up, SILU)


def _swiglu_backward(dout, x, up):
    return _gated_backward(dout, x, up, SILU)


def _geglu_forward(x, up, approximate):
    return _gated_forward(x, up, _GELU_CODES[approximate])


def _geglu_backward(dout, x, up, approximate):
    return _gated_backward(dout, x, up, _GELU_CODES[approximate])


def _rows_reason(x, n) -> str | None:
    if x.dim() != 2:
        return f"the CuTeDSL kernels take 2-D rows, got {x.dim()}-D"
    if n > MAX_N:
        return f"rows of {n} elements exceed {MAX_N} (32-bit column offsets)"
    if x.shape[0] >= 2 ** 31:
        return "more than 2**31 - 1 rows"
    if n and tiles(x.shape[0], n, tiling_for(n, 1, 4)) > MAX_TILES:  # the narrowest tiling
        return "more than 2**31 - 1 tiles"
    return None


def _unary_supports(x, approximate):
    return C.tensors_reason(x) or _rows_reason(x, x.shape[1] if x.dim() == 2 else 0)


def _gated_supports(x, up, *args):
    reason = C.tensors_reason(x, up)
    if reason is None and up is not None and (up.dtype != x.dtype or up.shape != x.shape):
        reason = "up and gate differ in dtype or shape"
    if reason is None:
        n = x.shape[1] // 2 if up is None and x.dim() == 2 else (x.shape[1] if x.dim() == 2 else 0)
        reason = _rows_reason(x, n)
    return reason


_registry.register("gelu", "cutedsl", _gelu_forward, _gelu_backward, _unary_supports)
_registry.register("swiglu", "cutedsl", _swiglu_forward, _swiglu_backward, _gated_supports)
_registry.register("geglu", "cutedsl", _geglu_forward, _geglu_backward, _gated_supports)
