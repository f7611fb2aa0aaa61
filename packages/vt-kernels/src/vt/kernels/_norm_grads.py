"""dweight and dbias of a row norm in a pass of their own, for rows too long for a backward
program to also keep float32 sums of them in registers (they would spill): each program sums
dy * xhat and dy over a block of columns and a share of the rows, and one launch adds up the
shares. xhat = (x - mean) * rstd, or x * rstd for RMSNorm (no mean).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ._arrays import column_sums, empty
from ._checks import dtype_name
from ._fast_launch import fast_launch
from ._launch import sm_count

# Tiles of 32 rows of 512 columns of 16-bit inputs (16 rows of wider ones: three stages of x and
# dy stay within 192 KB of shared memory), about two programs per SM: the fastest of a sweep on
# H200 (rows of 16384: 92 us for x and dy, 68% of the copy floor; 128-column tiles 330 us).
_BLOCK_C = 512


@fast_launch
@triton.jit
def _norm_param_grads(DY, X, MEAN, RSTD, PARTIAL, stride_dy, stride_x, M, N, rows_per_program,
                      HAS_MEAN: tl.constexpr, HAS_WEIGHT: tl.constexpr, HAS_BIAS: tl.constexpr,
                      BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, STAGES: tl.constexpr):
    # Program (c, s) sums columns block c over rows [s * rows_per_program, ...) into row s of
    # PARTIAL's dweight rows, then of its dbias rows.
    cols = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    split = tl.program_id(1)
    splits = tl.num_programs(1)
    first = split * rows_per_program
    last = tl.minimum(first + rows_per_program, M)
    dw = tl.zeros([BLOCK_C], dtype=tl.float32)
    db = tl.zeros([BLOCK_C], dtype=tl.float32)
    for start in tl.range(first, last, BLOCK_R, num_stages=STAGES):
        rows = start + tl.arange(0, BLOCK_R)
        in_rows = rows < last
        mask = in_rows[:, None] & (cols[None, :] < N)
        rows64 = rows.to(tl.int64)[:, None]
        dy = tl.load(DY + rows64 * stride_dy + cols[None, :], mask=mask, other=0.0).to(tl.float32)
        if HAS_WEIGHT:
            x = tl.load(X + rows64 * stride_x + cols[None, :], mask=mask, other=0.0).to(tl.float32)
            rstd = tl.load(RSTD + rows, mask=in_rows, other=0.0)
            if HAS_MEAN:
                x = x - tl.load(MEAN + rows, mask=in_rows, other=0.0)[:, None]
            dw += tl.sum(dy * x * rstd[:, None], axis=0)
        if HAS_BIAS:
            db += tl.sum(dy, axis=0)
    split64 = split.to(tl.int64)
    if HAS_WEIGHT:
        tl.store(PARTIAL + split64 * N + cols, dw, mask=cols < N)
    if HAS_BIAS:
        if HAS_WEIGHT:
            split64 += splits
        tl.store(PARTIAL + split64 * N + cols, db, mask=cols < N)


def norm_param_grads(dy, x, mean, rstd, weight, bias) -> tuple:
    """(dweight, dbias) of a row norm, each None where its parameter is; x, dy: (m, n) rows with
    unit stride along n, m >= 1; mean None for RMSNorm."""
    m, n = x.shape
    params = [p for p in (weight, bias) if p is not None]
    if not params:
        return None, None
    col_blocks = triton.cdiv(n, _BLOCK_C)
    block_r = 32 if x.element_size() + dy.element_size() <= 4 else 16
    # About two programs per SM in all, each with a contiguous share of the rows.
    splits = max(1, min(triton.cdiv(m, block_r), 2 * sm_count(x.device.index or 0) // col_blocks))
    rows_per_program = max(1, triton.cdiv(triton.cdiv(m, splits), block_r)) * block_r
    splits = max(1, triton.cdiv(m, rows_per_program))
    partial = empty((len(params), splits, n), "float32", like=x)
    _norm_param_grads[(col_blocks, splits)](
        dy, x, mean, rstd, partial, dy.stride(0), x.stride(0), m, n, rows_per_program,
        HAS_MEAN=mean is not None, HAS_WEIGHT=weight is not None, HAS_BIAS=bias is not None,
        BLOCK_R=block_r, BLOCK_C=_BLOCK_C, STAGES=3)
    return sum_partials(partial, weight, bias)


def sum_partials(partial, weight, bias) -> tuple:
    """(dweight, dbias) from a (params, programs, n) float32 array of per-program partial rows:
    dweight's rows first when weight is not None, then dbias's; each None where its parameter
    is."""
    grads = column_sums(partial, tuple(dtype_name(p) for p in (weight, bias) if p is not None))
    return (grads[0] if weight is not None else None, grads[-1] if bias is not None else None)
