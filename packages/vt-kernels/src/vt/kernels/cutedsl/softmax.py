"""Softmax and log-softmax over the last dim in CuTeDSL: the "cutedsl" backend of the softmax
and log_softmax kernels.

Forward: the row stays in registers between the max and the sum of exponentials (one global
read, one write). Backward: softmax dx = y * (dy - sum(dy * y)); log-softmax
dx = dy - exp(y) * sum(dy); one read of y and dy, one write of dx.
"""

from __future__ import annotations

import math

import cuda.bindings.driver as cuda_driver
from cutlass import Float32, Int32, Int64, const_expr, cute

from .. import _registry
from .._arrays import empty_like
from . import _common as C

KERNELS = ("softmax", "log_softmax")
_LOG2_E = math.log2(math.e)


class _Forward:
    def __init__(self, tiling: C.RowTiling, log: bool):
        self.tiling = tiling
        self.log = log

    @cute.jit
    def __call__(self, px: cute.Pointer, py: cute.Pointer, m: Int32, n: Int32, ldx: Int64,
                 ldy: Int64, stream: cuda_driver.CUstream):
        t = self.tiling
        mX = C.rows_tensor(px, m, n, ldx, t.vec)
        mY = C.rows_tensor(py, m, n, ldy, t.vec)
        self.kernel(mX, mY).launch(grid=[cute.ceil_div(m, t.rows_per_cta), 1, 1],
                                   block=[t.cta_threads, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mX: cute.Tensor, mY: cute.Tensor):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        buffer = C.reduction_buffer(t, 2)
        rc = C.RowCopy(t, tidx, mX, bidx)
        # Masked columns read as -inf: they do not move the max and add exp(-inf) = 0.
        x = C.load_rows(rc, rc.part(mX), fill=-math.inf).load().to(Float32)
        row_max = C.row_reduce(x, "max", t, buffer, 0)
        shifted = x - row_max
        e = cute.math.exp2(shifted * _LOG2_E, fastmath=True)
        total = C.row_reduce(e, "sum", t, buffer, 1)
        if const_expr(self.log):
            y = shifted - cute.math.log(total, fastmath=True)
        else:
            y = e * (1.0 / total)
        C.store_rows(rc, y, rc.part(mY))


class _Backward:
    def __init__(self, tiling: C.RowTiling, log: bool):
        self.tiling = tiling
        self.log = log

    @cute.jit
    def __call__(self, py: cute.Pointer, pdy: cute.Pointer, pdx: cute.Pointer, m: Int32, n: Int32,
                 ldy: Int64, lddy: Int64, lddx: Int64, stream: cuda_driver.CUstream):
        t = self.tiling
        mY = C.rows_tensor(py, m, n, ldy, t.vec)
        mDY = C.rows_tensor(pdy, m, n, lddy, t.vec)
        mDX = C.rows_tensor(pdx, m, n, lddx, t.vec)
        self.kernel(mY, mDY, mDX).launch(grid=[cute.ceil_div(m, t.rows_per_cta), 1, 1],
                                         block=[t.cta_threads, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mY: cute.Tensor, mDY: cute.Tensor, mDX: cute.Tensor):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        buffer = C.reduction_buffer(t, 1)
        rc = C.RowCopy(t, tidx, mY, bidx)
        y = C.load_rows(rc, rc.part(mY)).load().to(Float32)
        dy = C.load_rows(rc, rc.part(mDY)).load().to(Float32)
        if const_expr(self.log):
            # Masked columns hold dy = 0: they add nothing to the sum.
            total = C.row_reduce(dy, "sum", t, buffer, 0)
            dx = dy - cute.math.exp2(y * _LOG2_E, fastmath=True) * total
        else:
            dx = y * (dy - C.row_reduce(dy * y, "sum", t, buffer, 0))
        C.store_rows(rc, dx, rc.part(mDX))


def _compiled_forward(tiling, x_key, log, arch=None):
    def build():
        vec, cols = tiling.vec, tiling.cols
        args = (C.pointer_arg(x_key, vec), C.pointer_arg(x_key, vec), Int32(1), Int32(cols),
                Int64(cols), Int64(cols), C.stream_arg())
        return _Forward(tiling, log), args, C.arch_options(arch)
    return C.compile_once(("softmax", "fwd", tiling, x_key, log, arch), build)


def _compiled_backward(tiling, y_key, dy_key, log, arch=None):
    def build():
        vec, cols = tiling.vec, tiling.cols
        args = (C.pointer_arg(y_key, vec), C.pointer_arg(dy_key, vec), C.pointer_arg(y_key, vec),
                Int32(1), Int32(cols), Int64(cols), Int64(cols), Int64(cols), C.stream_arg())
        return _Backward(tiling, log), args, C.arch_options(arch)
    return C.compile_once(("softmax", "bwd", tiling, y_key, dy_key, log, arch), build)


def compile_all(dtype: str, n: int, arch: str | None = None, every_option: bool = True) -> int:
    """Compiles softmax and log-softmax, forward and backward, for rows of n elements of
    `dtype` (there are no other options); returns the count."""
    tiling = C.row_tiling(n, C.widest_vector(dtype))
    for log in (False, True):
        _compiled_forward(tiling, dtype, log, arch)
        _compiled_backward(tiling, dtype, dtype, log, arch)
    return 4


# ---------------------------------------------------------------------------------------------
# launchers


def _forward(x, log):
    m, n = x.shape
    y = empty_like(x)
    if m == 0:
        return y
    vec = C.vector_width(n, (x, y), ())
    tiling = C.row_tiling(n, vec)
    fn = _compiled_forward(tiling, C.key_of(x), bool(log))
    fn(C.device_index(x), C.address(x), C.address(y), m, n, C.row_stride(x), C.row_stride(y),
       C.stream_handle(x))
    return y


def _backward(y, dy, log):
    m, n = y.shape
    dx = empty_like(y)
    if m == 0:
        return dx
    vec = C.vector_width(n, (y, dy, dx), ())
    tiling = C.row_tiling(n, vec)
    fn = _compiled_backward(tiling, C.key_of(y), C.key_of(dy), bool(log))
    fn(C.device_index(y), C.address(y), C.address(dy), C.address(dx), m, n, C.row_stride(y),
       C.row_stride(dy), C.row_stride(dx), C.stream_handle(y))
    return dx


def _supports(x, log=False):
    return C.tensors_reason(x) or C.rows_reason(x)


for _kernel in KERNELS:
    _registry.register(_kernel, "cutedsl", _forward, _backward, _supports)
