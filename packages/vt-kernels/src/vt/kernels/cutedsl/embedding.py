"""Embedding lookup in CuTeDSL: the "cutedsl" backend of the embedding kernel (impl signatures
and semantics as in vt.kernels.embedding).

Forward: a gather. One thread group per token moves its weight row with 128-bit vectors (several
tokens per CTA for short rows); the weight row is a broadcast view at the token's index, so the
row copy partitions it like the output tile.
Backward, as the Triton path: every distinct index sums its tokens' rows in float32 into a
(tokens, dim) buffer row that `owner[v]` names, then one gather writes dweight from the buffer
(zero rows where owner[v] is none). `owner` holds buffer row + 1, so zeros() initializes it.
  atomic (default): the last token of each index claims its row (atomic max), owners store their
    dy row, the other tokens add theirs with float32 atomics (a second launch, after the stores);
  deterministic: torch.sort(stable=True) on the host side, then the thread group at the start of
    each run of equal sorted indices sums the run in token order.
Out-of-range indices (and padding_idx) never load or store: the forward writes a zero row for
them, the backward drops their tokens.
"""

from __future__ import annotations

import cuda.bindings.driver as cuda_driver
import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.runtime import make_ptr

from .. import _registry
from .._arrays import empty, zeros
from .._checks import dtype_name
from .._compat import is_torch_tensor, torch
from ..embedding import INDEX_DTYPES, KERNEL
from . import _common as C

_INDEX_TYPES = {"int32": Int32, "int64": Int64}
_CLAIM_THREADS = 256
_MAX_ROWS = 2 ** 31 - 2 ** 10  # token + 1 (the owner encoding) and the claim grid fit int32


# ---------------------------------------------------------------------------------------------
# in-kernel helpers


def _row_view(mRows: cute.Tensor, row, tiling: C.RowTiling):
    """Row `row` of a row-major tensor seen as rows_per_cta identical rows: each thread group's
    partition of tile 0 is that row, so groups gathering different rows share one copy."""
    return cute.make_tensor(mRows[row, None].iterator,
                            cute.make_layout((tiling.rows_per_cta, mRows.shape[1]), stride=(0, 1)))


def _predicate(rc: C.RowCopy, flag):
    """The row copy's column predicate and `flag` (one per vector)."""
    pred = cute.make_rmem_tensor_like(rc.col_pred, cutlass.Boolean)
    for v in range(cute.size(pred, mode=[0])):
        for k in range(cute.size(pred, mode=[2])):
            pred[v, 0, k] = rc.col_pred[v, 0, k] & flag
    return pred


def _load(rc: C.RowCopy, src: cute.Tensor, pred) -> cute.Tensor:
    frag = rc.fragment(src.element_type)
    frag.fill(0.0)
    cute.copy(rc.atom(src.element_type), src, frag, pred=pred)
    return frag


def _load_row(rc: C.RowCopy, mRows: cute.Tensor, row) -> cute.Tensor:
    """This thread's vectors of row `row` (the columns that exist)."""
    return _load(rc, rc.part(_row_view(mRows, row, rc.tiling), 0), rc.col_pred)


def _store(rc: C.RowCopy, value, dst: cute.Tensor, pred):
    frag = rc.fragment(dst.element_type)
    frag.store(value.to(dst.element_type))
    cute.copy(rc.atom(dst.element_type), frag, dst, pred=pred)


def _usable(index, num_rows, padding_idx):
    """The index names a row (and not the padding row)."""
    return (index >= 0) & (index < num_rows) & (index != padding_idx)


# ---------------------------------------------------------------------------------------------
# kernels


class _Gather:
    """out[r] = src[idx[r] - shift] where that row exists, else zeros (in out's dtype)."""

    def __init__(self, tiling: C.RowTiling, shift: int):
        self.tiling = tiling
        self.shift = shift

    @cute.jit
    def __call__(self, pidx: cute.Pointer, psrc: cute.Pointer, pout: cute.Pointer, m: Int32,
                 n: Int32, num_src: Int32, ldsrc: Int64, ldout: Int64,
                 stream: cuda_driver.CUstream):
        t = self.tiling
        mIdx = cute.make_tensor(pidx, cute.make_layout((m,)))
        mSrc = C.rows_tensor(psrc, num_src, n, ldsrc, t.vec)
        mOut = C.rows_tensor(pout, m, n, ldout, t.vec)
        self.kernel(mIdx, mSrc, mOut).launch(grid=[cute.ceil_div(m, t.rows_per_cta), 1, 1],
                                             block=[t.cta_threads, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mIdx: cute.Tensor, mSrc: cute.Tensor, mOut: cute.Tensor):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        rc = C.RowCopy(t, tidx, mOut, bidx)
        m = mOut.shape[0]
        row = Int64(mIdx[cutlass.min(rc.row, m - 1)]) - self.shift  # clamped: rows past m
        found = rc.in_rows & (row >= 0) & (row < mSrc.shape[0])
        frag = _load(rc, rc.part(_row_view(mSrc, row, t), 0), _predicate(rc, found))
        _store(rc, frag.load(), rc.part(mOut), rc.pred)


class _Claim:
    """owner[idx[t]] = max over its tokens of t + 1 (one thread per token)."""

    @cute.jit
    def __call__(self, pidx: cute.Pointer, powner: cute.Pointer, n: Int32, num_weights: Int32,
                 padding_idx: Int32, stream: cuda_driver.CUstream):
        mIdx = cute.make_tensor(pidx, cute.make_layout((n,)))
        mOwner = cute.make_tensor(powner, cute.make_layout((num_weights,)))
        self.kernel(mIdx, mOwner, padding_idx).launch(
            grid=[cute.ceil_div(n, _CLAIM_THREADS), 1, 1], block=[_CLAIM_THREADS, 1, 1],
            stream=stream)

    @cute.kernel
    def kernel(self, mIdx: cute.Tensor, mOwner: cute.Tensor, padding_idx: Int32):
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        token = bidx * _CLAIM_THREADS + tidx
        if token < mIdx.shape[0]:
            index = Int64(mIdx[token])
            if _usable(index, mOwner.shape[0], padding_idx):
                cute.arch.atomic_max(mOwner.iterator + index, Int32(token + 1), sem="relaxed",
                                     scope="gpu")


class _Scatter:
    """Owners store their dy row into their buffer row (owners=True); then every other token
    adds its row there with float32 atomics (owners=False)."""

    def __init__(self, tiling: C.RowTiling, owners: bool):
        self.tiling = tiling
        self.owners = owners

    @cute.jit
    def __call__(self, pidx: cute.Pointer, powner: cute.Pointer, pdy: cute.Pointer,
                 pbuf: cute.Pointer, n: Int32, dim: Int32, num_weights: Int32, padding_idx: Int32,
                 lddy: Int64, ldbuf: Int64, stream: cuda_driver.CUstream):
        t = self.tiling
        mIdx = cute.make_tensor(pidx, cute.make_layout((n,)))
        mOwner = cute.make_tensor(powner, cute.make_layout((num_weights,)))
        mDY = C.rows_tensor(pdy, n, dim, lddy, t.vec)
        mBuf = C.rows_tensor(pbuf, n, dim, ldbuf, t.vec)
        self.kernel(mIdx, mOwner, mDY, mBuf, padding_idx).launch(
            grid=[cute.ceil_div(n, t.rows_per_cta), 1, 1], block=[t.cta_threads, 1, 1],
            stream=stream)

    @cute.kernel
    def kernel(self, mIdx: cute.Tensor, mOwner: cute.Tensor, mDY: cute.Tensor, mBuf: cute.Tensor,
               padding_idx: Int32):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        rc = C.RowCopy(t, tidx, mDY, bidx)
        token = rc.row
        index = Int64(mIdx[cutlass.min(token, mIdx.shape[0] - 1)])
        live = rc.in_rows & _usable(index, mOwner.shape[0], padding_idx)
        owner = Int32(-1)
        if live:
            owner = mOwner[index] - 1
        if const_expr(self.owners):
            live = live & (owner == token)
        else:
            live = live & (owner != token)
        pred = _predicate(rc, live)
        dy = _load(rc, rc.part(mDY), pred)
        dst = rc.part(_row_view(mBuf, cutlass.max(owner, 0), t), 0)
        if const_expr(self.owners):
            _store(rc, dy.load().to(Float32), dst, pred)
        else:
            _atomic_add_rows(rc, dy, dst, pred)


@cute.jit
def _atomic_add_rows(rc: C.RowCopy, frag: cute.Tensor, dst: cute.Tensor, pred: cute.Tensor):
    """dst += frag element by element (float32 atomics), on the vectors `pred` allows."""
    values = rc.fragment(Float32)
    values.store(frag.load().to(Float32))
    vec = rc.tiling.vec
    vectors = cute.size(pred, mode=[0])
    # values and dst share the partition shape ((vec, vectors), 1, k): element i is in vector
    # (i // vec) % vectors of column block i // (vec * vectors)
    for i in cutlass.range_constexpr(cute.size(values)):
        if pred[(i // vec) % vectors, 0, i // (vec * vectors)]:
            cute.arch.atomic_add(dst.iterator + cute.crd2idx(i, dst.layout), values[i],
                                 sem="relaxed", scope="gpu")


class _SumRuns:
    """Deterministic sums: the thread group at the start of each run of equal sorted indices
    adds the run's dy rows in token order and stores the sum into its own buffer row."""

    def __init__(self, tiling: C.RowTiling):
        self.tiling = tiling

    @cute.jit
    def __call__(self, psorted: cute.Pointer, pperm: cute.Pointer, powner: cute.Pointer,
                 pdy: cute.Pointer, pbuf: cute.Pointer, n: Int32, dim: Int32, num_weights: Int32,
                 padding_idx: Int32, lddy: Int64, ldbuf: Int64, stream: cuda_driver.CUstream):
        t = self.tiling
        mSorted = cute.make_tensor(psorted, cute.make_layout((n,)))
        mPerm = cute.make_tensor(pperm, cute.make_layout((n,)))
        mOwner = cute.make_tensor(powner, cute.make_layout((num_weights,)))
        mDY = C.rows_tensor(pdy, n, dim, lddy, t.vec)
        mBuf = C.rows_tensor(pbuf, n, dim, ldbuf, t.vec)
        self.kernel(mSorted, mPerm, mOwner, mDY, mBuf, padding_idx).launch(
            grid=[cute.ceil_div(n, t.rows_per_cta), 1, 1], block=[t.cta_threads, 1, 1],
            stream=stream)

    @cute.kernel
    def kernel(self, mSorted: cute.Tensor, mPerm: cute.Tensor, mOwner: cute.Tensor,
               mDY: cute.Tensor, mBuf: cute.Tensor, padding_idx: Int32):
        t = self.tiling
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        rc = C.RowCopy(t, tidx, mBuf, bidx)
        n = mSorted.shape[0]
        i = cutlass.min(rc.row, n - 1)  # clamped: rows past n read a valid entry, then idle
        value = Int64(mSorted[i])
        previous = Int64(mSorted[cutlass.max(i - 1, 0)])
        start = rc.in_rows & _usable(value, mOwner.shape[0], padding_idx) & (
            (i == 0) | (previous != value))
        acc = rc.fragment(Float32)
        acc.fill(0.0)
        j = i
        more = start  # only a run's first position walks the run
        while more:
            token = Int64(mPerm[j])
            dy = _load_row(rc, mDY, token)  # no rc.method() here: the loop would carry rc
            acc.store(acc.load() + dy.load().to(Float32))
            j = j + 1
            more = (j < n) & (Int64(mSorted[cutlass.min(j, n - 1)]) == value)
        cute.copy(rc.atom(Float32), acc, rc.part(mBuf), pred=_predicate(rc, start))
        if rc.row_leader & start:
            mOwner[value] = i + 1


# ---------------------------------------------------------------------------------------------
# compile cache


def _index_arg(dtype_key: str):
    dtype = _INDEX_TYPES[dtype_key]
    return make_ptr(dtype, 0, cute.AddressSpace.gmem, assumed_align=dtype.width // 8)


def _compiled_gather(tiling, idx_key, src_key, out_key, shift, arch=None):
    def build():
        vec, cols = tiling.vec, tiling.cols
        args = (_index_arg(idx_key), C.pointer_arg(src_key, vec), C.pointer_arg(out_key, vec),
                Int32(1), Int32(cols), Int32(1), Int64(cols), Int64(cols), C.stream_arg())
        return _Gather(tiling, shift), args, C.arch_options(arch)
    return C.compile_once((KERNEL, "gather", tiling, idx_key, src_key, out_key, shift, arch),
                          build)


def _compiled_claim(idx_key, arch=None):
    def build():
        args = (_index_arg(idx_key), _index_arg("int32"), Int32(1), Int32(1), Int32(-1),
                C.stream_arg())
        return _Claim(), args, C.arch_options(arch)
    return C.compile_once((KERNEL, "claim", idx_key, arch), build)


def _compiled_scatter(tiling, idx_key, dy_key, owners, arch=None):
    def build():
        vec, cols = tiling.vec, tiling.cols
        args = (_index_arg(idx_key), _index_arg("int32"), C.pointer_arg(dy_key, vec),
                C.pointer_arg("float32", vec), Int32(1), Int32(cols), Int32(1), Int32(-1),
                Int64(cols), Int64(cols), C.stream_arg())
        return _Scatter(tiling, owners), args, C.arch_options(arch)
    return C.compile_once((KERNEL, "scatter", tiling, idx_key, dy_key, owners, arch), build)


def _compiled_sum_runs(tiling, idx_key, dy_key, arch=None):
    def build():
        vec, cols = tiling.vec, tiling.cols
        args = (_index_arg(idx_key), _index_arg("int64"), _index_arg("int32"),
                C.pointer_arg(dy_key, vec), C.pointer_arg("float32", vec), Int32(1), Int32(cols),
                Int32(1), Int32(-1), Int64(cols), Int64(cols), C.stream_arg())
        return _SumRuns(tiling), args, C.arch_options(arch)
    return C.compile_once((KERNEL, "sum_runs", tiling, idx_key, dy_key, arch), build)


def compile_all(dtype: str, dim: int, arch: str | None = None) -> int:
    """Compiles the forward and both backward paths for rows of `dim` elements of `dtype` and
    int32 / int64 indices (the widest vectors dim allows); returns the count."""
    count = 0
    fwd = C.row_tiling(dim, _widest(dim, (dtype,)))
    bwd = C.row_tiling(dim, _widest(dim, (dtype, "float32")))
    for idx_key in INDEX_DTYPES:
        _compiled_gather(fwd, idx_key, dtype, dtype, 0, arch)
        _compiled_claim(idx_key, arch)
        _compiled_scatter(bwd, idx_key, dtype, True, arch)
        _compiled_scatter(bwd, idx_key, dtype, False, arch)
        _compiled_sum_runs(bwd, idx_key, dtype, arch)
        count += 5
    _compiled_gather(bwd, "int32", "float32", dtype, 1, arch)
    return count + 1


def _widest(dim: int, dtypes) -> int:
    vec = min(C.widest_vector(d) for d in dtypes)
    while dim % vec:
        vec //= 2
    return vec


# ---------------------------------------------------------------------------------------------
# launchers


def _gather(indices, src, out, shift):
    m, n = out.shape
    vec = C.vector_width(n, (src, out), ())
    tiling = C.row_tiling(n, vec)
    fn = _compiled_gather(tiling, dtype_name(indices), C.key_of(src), C.key_of(out), shift)
    fn(C.device_index(out), indices.data_ptr(), src.data_ptr(), out.data_ptr(), m, n,
       src.shape[0], C.row_stride(src), C.row_stride(out), C.stream_handle(out))


def _forward(indices, weight):
    n = indices.shape[0]
    dim = weight.shape[1]
    out = empty((n, dim), dtype_name(weight), like=weight)
    if n and dim:
        _gather(indices, weight, out, 0)
    return out


def _backward(dy, indices, num_weights, padding_idx, deterministic):
    n, dim = dy.shape
    pad = -1 if padding_idx is None else padding_idx
    dw = empty((num_weights, dim), dtype_name(dy), like=dy)
    owner = zeros((num_weights,), "int32", like=dy)
    buf = empty((max(n, 1), dim), "float32", like=dy)
    if n and dim:
        tiling = C.row_tiling(dim, C.vector_width(dim, (dy, buf), ()))
        device, stream, idx_key = C.device_index(dy), C.stream_handle(dy), dtype_name(indices)
        sizes = (n, dim, num_weights, pad, C.row_stride(dy), buf.stride(0), stream)
        if deterministic:
            sorted_idx, perm = torch.sort(indices, stable=True)
            _compiled_sum_runs(tiling, idx_key, C.key_of(dy))(
                device, sorted_idx.data_ptr(), perm.data_ptr(), owner.data_ptr(), dy.data_ptr(),
                buf.data_ptr(), *sizes)
        else:
            _compiled_claim(idx_key)(device, indices.data_ptr(), owner.data_ptr(), n,
                                     num_weights, pad, stream)
            for owners in (True, False):
                _compiled_scatter(tiling, idx_key, C.key_of(dy), owners)(
                    device, indices.data_ptr(), owner.data_ptr(), dy.data_ptr(), buf.data_ptr(),
                    *sizes)
    if num_weights and dim:
        _gather(owner, buf, dw, 1)  # owner 0 (no token) reads no row
    return dw


def _supports(indices, rows, scale_grad_by_freq=False):
    """`rows` is the weight (forward) or dy (backward): 2-D, unit stride along dim."""
    if scale_grad_by_freq:
        return "the CuTeDSL embedding backward does not divide by index counts (scale_grad_by_freq)"
    if not is_torch_tensor(indices) or dtype_name(indices) not in INDEX_DTYPES:
        return "the CuTeDSL embedding takes int32 or int64 torch index tensors"
    reason = C.tensors_reason(rows)
    if reason is not None:
        return reason
    if indices.device != rows.device:
        return "indices and rows are on different devices"
    if rows.dim() != 2:
        return f"the CuTeDSL embedding takes 2-D rows, got {rows.dim()}-D"
    if indices.dim() != 1 or (indices.shape[0] > 1 and indices.stride(0) != 1):
        return "the CuTeDSL embedding takes contiguous 1-D indices"
    if rows.shape[1] > C.MAX_N:
        return f"rows of {rows.shape[1]} elements exceed {C.MAX_N} (one CTA holds a row)"
    if max(indices.shape[0], rows.shape[0]) > _MAX_ROWS:
        return f"more than {_MAX_ROWS} tokens or embeddings"
    return None


_registry.register(KERNEL, "cutedsl", _forward, _backward, _supports)
