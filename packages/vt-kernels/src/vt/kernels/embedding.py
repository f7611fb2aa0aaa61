"""Embedding lookup: gather rows of a weight table; backward scatter-adds rows into dweight.

Backward sums the gradient rows of each distinct index in float32 and writes every row of dweight
exactly once (zero for rows no token used and for padding_idx). The default sums with float32
atomic adds (fast; the order of the adds, hence the last bits, varies between runs);
`deterministic=True` sorts the indices and sums each run of equal indices in token order, so two
runs give bitwise equal results (this needs torch.sort: torch tensors only).

Both sums land in a (tokens, dim) float32 buffer, one row per distinct index: `owner[v]` is the
buffer row holding vocabulary row v's sum (one of its tokens in the atomic path, the start of its
run in the sorted path), or -1; a last pass writes dweight from it.

The torch options, off the default path: `max_norm` rescales in place, before the lookup, the rows
the indices use whose norm exceeds it (the "embedding_renorm" kernel: one token per distinct index
claims its row, as in the atomic backward, and rescales it); `scale_grad_by_freq` counts the
tokens of each index (integer atomics) and the last pass divides the row's sum by the count;
`sparse` returns torch's sparse COO gradient, one entry per token (torch ops, torch tensors only).
"""

from __future__ import annotations

import math

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty, fill_, zeros
from ._checks import check_float, check_same_device, dtype_name
from ._compat import compiling, is_torch_tensor, needs_autograd, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import as_rows, reference_reason, triton_reason

KERNEL = "embedding"
RENORM_KERNEL = "embedding_renorm"
INDEX_DTYPES = ("int32", "int64")
_TILE = 4096  # elements per program: BLOCK_T rows of BLOCK_D columns


# ---------------------------------------------------------------------------------------------
# Triton kernels


@fast_launch
@triton.jit
def _embedding_fwd(IDX, W, OUT, n, dim, num_weights, stride_w, stride_out,
                   BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
    t = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    t_mask = t < n
    idx = tl.load(IDX + t, mask=t_mask, other=0).to(tl.int64)
    tl.device_assert((idx >= 0) & (idx < num_weights), "embedding: index out of range")
    mask = t_mask[:, None] & (d < dim)[None, :]
    rows = tl.load(W + idx[:, None] * stride_w + d[None, :], mask=mask)
    tl.store(OUT + t[:, None].to(tl.int64) * stride_out + d[None, :], rows, mask=mask)


@fast_launch
@triton.jit
def _claim_rows(IDX, OWNER, n, num_weights, padding_idx, BLOCK: tl.constexpr):
    # Any one token per distinct index will do as the owner of its sum: take the last.
    t = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    idx = tl.load(IDX + t, mask=t < n, other=0).to(tl.int64)
    tl.device_assert((idx >= 0) & (idx < num_weights), "embedding: index out of range")
    in_range = (idx >= 0) & (idx < num_weights)  # asserts are off outside debug builds
    tl.atomic_max(OWNER + idx, t, mask=(t < n) & in_range & (idx != padding_idx))


@fast_launch
@triton.jit
def _sum_rows_atomic(IDX, OWNER, DY, BUF, n, dim, padding_idx, stride_dy, stride_buf,
                     OWNERS: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
    # OWNERS: owner tokens store their own row; then (a second launch) the others add theirs.
    t = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    idx = tl.load(IDX + t, mask=t < n, other=0).to(tl.int64)
    live = (t < n) & (idx != padding_idx)
    owner = tl.load(OWNER + idx, mask=live, other=-1)
    if OWNERS:
        live = live & (owner == t)
    else:
        live = live & (owner != t)
    mask = live[:, None] & (d < dim)[None, :]
    dy = tl.load(DY + t[:, None].to(tl.int64) * stride_dy + d[None, :], mask=mask, other=0.0)
    dst = BUF + owner[:, None].to(tl.int64) * stride_buf + d[None, :]
    if OWNERS:
        tl.store(dst, dy.to(tl.float32), mask=mask)
    else:
        tl.atomic_add(dst, dy.to(tl.float32), mask=mask, sem="relaxed")


@fast_launch
@triton.jit
def _sum_runs_sorted(SORTED, PERM, OWNER, DY, BUF, n, dim, padding_idx, stride_dy, stride_buf,
                     ROWS: tl.constexpr, BLOCK_D: tl.constexpr):
    # The program at the start of each run of equal sorted indices sums the run in token order.
    i = tl.program_id(0)
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    d_mask = d < dim
    value = tl.load(SORTED + i)
    previous = tl.load(SORTED + i - 1, mask=i > 0, other=-1)
    is_start = ((i == 0) | (previous != value)) & (value != padding_idx)
    acc = tl.zeros([BLOCK_D], dtype=tl.float32)
    j = i
    more = is_start
    while more:
        rows = j + tl.arange(0, ROWS)
        in_run = (rows < n) & (tl.load(SORTED + rows, mask=rows < n, other=-1) == value)
        token = tl.load(PERM + rows, mask=in_run, other=0).to(tl.int64)
        tile = tl.load(DY + token[:, None] * stride_dy + d[None, :],
                       mask=in_run[:, None] & d_mask[None, :], other=0.0)
        acc += tl.sum(tile.to(tl.float32), axis=0)
        j += ROWS
        more = tl.sum(in_run.to(tl.int32), axis=0) == ROWS  # the run may go on past this tile
    tl.store(BUF + i.to(tl.int64) * stride_buf + d, acc, mask=d_mask & is_start)
    tl.store(OWNER + value, i, mask=is_start & (tl.program_id(1) == 0))


@fast_launch
@triton.jit
def _count_tokens(IDX, COUNTS, n, num_weights, BLOCK: tl.constexpr):
    t = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    idx = tl.load(IDX + t, mask=t < n, other=0).to(tl.int64)
    tl.device_assert((idx >= 0) & (idx < num_weights), "embedding: index out of range")
    # Integer adds: any order is exact. An index out of range (asserts are off outside debug
    # builds) adds nowhere rather than outside COUNTS.
    tl.atomic_add(COUNTS + idx, 1, mask=(t < n) & (idx >= 0) & (idx < num_weights),
                  sem="relaxed")


@fast_launch
@triton.jit
def _write_dweight(OWNER, COUNTS, BUF, DW, num_weights, dim, stride_buf, stride_dw,
                   SCALE_BY_FREQ: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
    # Every row of dweight once: its summed row (over its token count with SCALE_BY_FREQ), or
    # zeros. COUNTS is not read without SCALE_BY_FREQ.
    v = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    owner = tl.load(OWNER + v, mask=v < num_weights, other=-1)
    d_mask = (d < dim)[None, :]
    rows = tl.load(BUF + owner[:, None].to(tl.int64) * stride_buf + d[None, :],
                   mask=(owner >= 0)[:, None] & d_mask, other=0.0)
    if SCALE_BY_FREQ:
        count = tl.load(COUNTS + v, mask=owner >= 0, other=1)
        rows = rows / count[:, None].to(tl.float32)
    tl.store(DW + v[:, None].to(tl.int64) * stride_dw + d[None, :], rows.to(DW.dtype.element_ty),
             mask=(v < num_weights)[:, None] & d_mask)


@fast_launch
@triton.jit
def _renorm_rows(IDX, OWNER, W, n, dim, stride_w0, stride_w1, max_norm, norm_type,
                 NORM: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr):
    # The owner token of each distinct index (see _claim_rows) rescales its row, so each row is
    # read and written by one program only. NORM names the norm_type: "l2", "l1", "max" (inf),
    # "min" (-inf), "count" (0: nonzero entries) or "p" (any other, through exp2/log2).
    t = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
    idx = tl.load(IDX + t, mask=t < n, other=0).to(tl.int64)
    mine = (t < n) & (tl.load(OWNER + idx, mask=t < n, other=-1) == t)
    rows = W + idx[:, None] * stride_w0
    if NORM == "min":
        acc = tl.full([BLOCK_T, BLOCK_D], float("inf"), tl.float32)
    else:
        acc = tl.zeros([BLOCK_T, BLOCK_D], tl.float32)
    for start in range(0, dim, BLOCK_D):
        d = start + tl.arange(0, BLOCK_D)
        mask = mine[:, None] & (d < dim)[None, :]
        x = tl.abs(tl.load(rows + d[None, :].to(tl.int64) * stride_w1, mask=mask,
                           other=0.0).to(tl.float32))
        if NORM == "l2":
            acc += x * x
        elif NORM == "l1":
            acc += x
        elif NORM == "max":
            acc = tl.maximum(acc, x)
        elif NORM == "min":
            acc = tl.minimum(acc, tl.where(mask, x, float("inf")))
        elif NORM == "count":
            acc += (x != 0).to(tl.float32)
        else:
            acc += tl.where(mask, tl.exp2(norm_type * tl.log2(x)), 0.0)
    if NORM == "l2":
        norm = tl.sqrt_rn(tl.sum(acc, axis=1))
    elif NORM == "max":
        norm = tl.max(acc, axis=1)
    elif NORM == "min":
        norm = tl.min(acc, axis=1)
    elif NORM == "p":
        norm = tl.exp2(tl.log2(tl.sum(acc, axis=1)) / norm_type)
    else:
        norm = tl.sum(acc, axis=1)
    shrink = mine & (norm > max_norm)
    scale = tl.div_rn(max_norm, norm + 1e-7)  # torch's formula, correctly rounded
    for start in range(0, dim, BLOCK_D):
        d = start + tl.arange(0, BLOCK_D)
        mask = shrink[:, None] & (d < dim)[None, :]
        ptrs = rows + d[None, :].to(tl.int64) * stride_w1
        x = tl.load(ptrs, mask=mask, other=0.0).to(tl.float32)
        tl.store(ptrs, (x * scale[:, None]).to(W.dtype.element_ty), mask=mask)


def _blocks(rows: int, dim: int) -> tuple[int, int]:
    block_d = min(triton.next_power_of_2(max(dim, 1)), 2048)
    block_t = max(1, min(triton.next_power_of_2(max(rows, 1)), _TILE // block_d))
    return block_t, block_d


def _triton_forward(indices, weight):
    n = indices.shape[0]
    num_weights, dim = weight.shape
    out = empty((n, dim), dtype_name(weight), like=weight)
    block_t, block_d = _blocks(n, dim)
    if n and dim:
        _embedding_fwd[(triton.cdiv(n, block_t), triton.cdiv(dim, block_d))](
            indices, weight, out, n, dim, num_weights, weight.stride(0), out.stride(0),
            BLOCK_T=block_t, BLOCK_D=block_d, num_warps=4)
    return out


def _triton_backward(dy, indices, num_weights, padding_idx, deterministic,
                     scale_grad_by_freq=False):
    n, dim = dy.shape
    pad = -1 if padding_idx is None else padding_idx
    dw = empty((num_weights, dim), dtype_name(dy), like=dy)
    owner = fill_(empty((num_weights,), "int32", like=dy), -1.0)
    counts = zeros((num_weights,), "int32", like=dy) if scale_grad_by_freq else owner
    buf = empty((max(n, 1), dim), "float32", like=dy)
    block_t, block_d = _blocks(n, dim)
    if n and dim:
        if scale_grad_by_freq:
            _count_tokens[(triton.cdiv(n, 1024),)](indices, counts, n, num_weights, BLOCK=1024)
        if deterministic:
            if not is_torch_tensor(indices):
                raise NotImplementedError("embedding: deterministic backward sorts the indices "
                                          "with torch.sort and needs torch tensors")
            sorted_idx, perm = torch.sort(indices, stable=True)
            _sum_runs_sorted[(n, triton.cdiv(dim, block_d))](
                sorted_idx, perm, owner, dy, buf, n, dim, pad, dy.stride(0), buf.stride(0),
                ROWS=4, BLOCK_D=block_d, num_warps=4)
        else:
            _claim_rows[(triton.cdiv(n, 1024),)](indices, owner, n, num_weights, pad, BLOCK=1024)
            grid = (triton.cdiv(n, block_t), triton.cdiv(dim, block_d))
            for owners in (True, False):
                _sum_rows_atomic[grid](indices, owner, dy, buf, n, dim, pad, dy.stride(0),
                                       buf.stride(0), OWNERS=owners, BLOCK_T=block_t,
                                       BLOCK_D=block_d, num_warps=4)
    if num_weights and dim:
        block_v, block_d = _blocks(num_weights, dim)
        _write_dweight[(triton.cdiv(num_weights, block_v), triton.cdiv(dim, block_d))](
            owner, counts, buf, dw, num_weights, dim, buf.stride(0), dw.stride(0),
            SCALE_BY_FREQ=scale_grad_by_freq, BLOCK_T=block_v, BLOCK_D=block_d, num_warps=4)
    return dw


def _triton_supports(indices, weight, scale_grad_by_freq=False):
    return triton_reason(indices, weight)


def _norm_kind(norm_type: float) -> str:
    """_renorm_rows' NORM for a norm_type."""
    return {2.0: "l2", 1.0: "l1", math.inf: "max", -math.inf: "min", 0.0: "count"}.get(
        norm_type, "p")


def _triton_renorm(indices, weight, max_norm, norm_type):
    n = indices.shape[0]
    num_weights, dim = weight.shape
    if not (n and dim):
        return
    owner = fill_(empty((num_weights,), "int32", like=weight), -1.0)
    _claim_rows[(triton.cdiv(n, 1024),)](indices, owner, n, num_weights, -1, BLOCK=1024)
    block_t, block_d = _blocks(n, dim)
    _renorm_rows[(triton.cdiv(n, block_t),)](
        indices, owner, weight, n, dim, weight.stride(0), weight.stride(1), max_norm, norm_type,
        NORM=_norm_kind(norm_type), BLOCK_T=block_t, BLOCK_D=block_d, num_warps=4)
    if is_torch_tensor(weight):  # an in-place change, as torch.embedding_renorm_ records it
        torch.autograd.graph.increment_version(weight)


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_forward(indices, weight):
    return weight[indices.long()]


def _reference_backward(dy, indices, num_weights, padding_idx, deterministic,
                        scale_grad_by_freq=False):
    dw = torch.zeros((num_weights, dy.shape[1]), dtype=torch.float32, device=dy.device)
    dw.index_put_((indices.long(),), dy.float(), accumulate=True)
    if scale_grad_by_freq:
        dw /= _token_counts(indices, num_weights).clamp_(min=1)[:, None]
    if padding_idx is not None:
        dw[padding_idx] = 0
    return dw.to(dy.dtype)


def _reference_supports(indices, weight, scale_grad_by_freq=False):
    return reference_reason(indices, weight)


def _reference_renorm(indices, weight, max_norm, norm_type):
    with torch.no_grad():
        idx = indices.long()
        rows = weight[idx].float()
        norm = torch.linalg.vector_norm(rows, norm_type, dim=1, keepdim=True)
        scale = torch.where(norm > max_norm, max_norm / (norm + 1e-7), 1.0)
        weight[idx] = (rows * scale).to(weight.dtype)  # repeated indices write equal rows


def _token_counts(indices, num_weights):
    """How many tokens use each row, as float32 (torch ops, no host sync unlike bincount)."""
    counts = torch.zeros(num_weights, dtype=torch.float32, device=indices.device)
    return counts.index_add_(0, indices.long(), counts.new_ones(indices.shape[0]))


def _sparse_weight_grad(dy, indices, num_weights, padding_idx, scale_grad_by_freq):
    """dweight as torch's sparse COO gradient: a row per token (torch drops padding tokens, which
    needs a host sync; here their rows are zero), divided by the token's count with
    scale_grad_by_freq."""
    idx = indices.long()
    values = dy
    if scale_grad_by_freq:
        values = (dy.float() / _token_counts(idx, num_weights)[idx, None]).to(dy.dtype)
    if padding_idx is not None:
        values = values.masked_fill((idx == padding_idx)[:, None], 0)
    return torch.sparse_coo_tensor(idx.view(1, -1), values, (num_weights, dy.shape[1]),
                                   check_invariants=False)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)
_registry.register(RENORM_KERNEL, "triton", _triton_renorm, None, triton_reason)
_registry.register(RENORM_KERNEL, "reference", _reference_renorm, None, reference_reason)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class EmbeddingFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, indices, weight, padding_idx, deterministic, impl):
            ctx.save_for_backward(indices)
            ctx.num_weights = weight.shape[0]
            ctx.padding_idx = padding_idx
            ctx.deterministic = deterministic
            ctx.impl = impl
            return impl.forward(indices, weight)

        @staticmethod
        def backward(ctx, dy):
            indices, = ctx.saved_tensors
            dw = ctx.impl.backward(as_rows(dy), indices, ctx.num_weights, ctx.padding_idx,
                                   ctx.deterministic)
            return None, dw, None, None, None

    class EmbeddingOptionsFunction(EmbeddingFunction):
        """EmbeddingFunction with a weight gradient scaled by index frequency and/or sparse."""

        @staticmethod
        def forward(ctx, indices, weight, padding_idx, deterministic, impl, scale_grad_by_freq,
                    sparse):
            ctx.scale_grad_by_freq = scale_grad_by_freq
            ctx.sparse = sparse
            return EmbeddingFunction.forward(ctx, indices, weight, padding_idx, deterministic, impl)

        @staticmethod
        def backward(ctx, dy):
            indices, = ctx.saved_tensors
            if ctx.sparse:
                dw = _sparse_weight_grad(as_rows(dy), indices, ctx.num_weights, ctx.padding_idx,
                                         ctx.scale_grad_by_freq)
            else:
                dw = ctx.impl.backward(as_rows(dy), indices, ctx.num_weights, ctx.padding_idx,
                                       ctx.deterministic,
                                       scale_grad_by_freq=ctx.scale_grad_by_freq)
            return None, dw, None, None, None, None, None


def _flat_indices(indices):
    flat = indices.reshape(-1)
    return flat if flat.shape[0] <= 1 or flat.stride(0) == 1 else flat.contiguous()


def _padding(op, padding_idx, num_weights):
    """padding_idx as a row number (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -num_weights <= padding_idx < num_weights:
        raise ValueError(f"{op}: padding_idx {padding_idx} is out of range for {num_weights} "
                         "embeddings")
    return padding_idx + num_weights if padding_idx < 0 else padding_idx


def _check(op, indices, weight):
    if dtype_name(indices) not in INDEX_DTYPES:
        raise TypeError(f"{op}: indices must be int64 or int32, got {dtype_name(indices)}")
    check_float(op, "weight", weight)
    if len(weight.shape) != 2:
        raise RuntimeError(f"{op}: weight must be 2-D (num_embeddings, dim), got shape "
                           f"{tuple(weight.shape)}")
    check_same_device(op, indices=indices, weight=weight)


def _weight_rows(weight):
    return weight if weight.stride(1) == 1 or weight.shape[1] <= 1 else weight.contiguous()


@foreign_arrays
def embedding(indices, weight, padding_idx=None, deterministic=False, *, max_norm=None,
              norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """F.embedding: the rows of `weight` (num_embeddings, dim) at `indices` (any shape).

    padding_idx rows get no gradient; `deterministic=True` makes dweight bitwise reproducible.
    max_norm, norm_type, scale_grad_by_freq and sparse as in F.embedding: with max_norm, the
    rows used whose norm_type-norm exceeds it are first rescaled in place to norm max_norm;
    scale_grad_by_freq divides each row's gradient by its index's count in `indices`; sparse
    makes weight's gradient a sparse COO tensor (torch tensors; padding tokens' rows are zero
    entries, and unlike torch it may be combined with scale_grad_by_freq).
    """
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.embedding(indices, weight, padding_idx, deterministic, max_norm=max_norm,
                                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                                   sparse=sparse)
    op = "embedding"
    _check(op, indices, weight)
    padding_idx = _padding(op, padding_idx, weight.shape[0])
    flat = _flat_indices(indices)
    if max_norm is not None or scale_grad_by_freq or sparse:
        out = _embedding_with_options(flat, weight, padding_idx, bool(deterministic), max_norm,
                                      norm_type, bool(scale_grad_by_freq), bool(sparse))
        return out.view(*indices.shape, weight.shape[1])
    rows = _weight_rows(weight)
    impl = _registry.select(KERNEL, flat, rows)
    if needs_autograd(weight):
        out = EmbeddingFunction.apply(flat, rows, padding_idx, bool(deterministic), impl)
    else:
        out = impl.forward(flat, rows)
    return out.view(*indices.shape, weight.shape[1])


def _embedding_with_options(flat, weight, padding_idx, deterministic, max_norm, norm_type,
                            scale_grad_by_freq, sparse):
    """The (tokens, dim) rows of embedding() when max_norm, scale_grad_by_freq or sparse is on."""
    if max_norm is not None:
        _renorm(flat, weight, max_norm, norm_type)
    rows = _weight_rows(weight)
    # The backend's backward divides by the counts; sparse gradients are built with torch ops.
    impl = _registry.select(KERNEL, flat, rows,
                            scale_grad_by_freq=scale_grad_by_freq and not sparse)
    if not needs_autograd(weight):
        return impl.forward(flat, rows)
    if scale_grad_by_freq or sparse:
        return EmbeddingOptionsFunction.apply(flat, rows, padding_idx, deterministic, impl,
                                              scale_grad_by_freq, sparse)
    return EmbeddingFunction.apply(flat, rows, padding_idx, deterministic, impl)


def _renorm(flat, weight, max_norm, norm_type):
    _registry.select(RENORM_KERNEL, flat, weight).forward(flat, weight, float(max_norm),
                                                          float(norm_type))


@foreign_arrays
def embedding_renorm_(weight, indices, max_norm, norm_type=2.0):
    """torch.embedding_renorm_: rescales in place, outside autograd, each row of `weight` that
    `indices` (any shape) names and whose norm_type-norm exceeds max_norm, by
    max_norm / (norm + 1e-7)."""
    _check("embedding_renorm_", indices, weight)
    _renorm(_flat_indices(indices), weight, max_norm, norm_type)


@foreign_arrays
def embedding_forward(indices1d, weight):
    """The (tokens, dim) rows of `weight` at 1-D `indices1d`, without autograd."""
    _check("embedding_forward", indices1d, weight)
    flat, rows = _flat_indices(indices1d), _weight_rows(weight)
    return _registry.select(KERNEL, flat, rows).forward(flat, rows)


@foreign_arrays
def embedding_backward(dy2d, indices1d, num_weights, padding_idx=None, deterministic=False, *,
                       scale_grad_by_freq=False, sparse=False):
    """dweight (num_weights, dim) in dy's dtype from the (tokens, dim) gradient of the rows.

    scale_grad_by_freq divides each row by its index's count in indices1d; sparse=True returns
    torch's sparse COO gradient instead (torch tensors only).
    """
    op = "embedding_backward"
    check_float(op, "dy", dy2d)
    if dtype_name(indices1d) not in INDEX_DTYPES:
        raise TypeError(f"{op}: indices must be int64 or int32, got {dtype_name(indices1d)}")
    check_same_device(op, dy=dy2d, indices=indices1d)
    flat = _flat_indices(indices1d)
    if tuple(dy2d.shape[:1]) != tuple(flat.shape):
        raise RuntimeError(f"{op}: dy has shape {tuple(dy2d.shape)}, expected "
                           f"({flat.shape[0]}, dim)")
    padding_idx = _padding(op, padding_idx, num_weights)
    if sparse:
        if not (is_torch_tensor(dy2d) and is_torch_tensor(flat)):
            raise NotImplementedError(f"{op}: sparse=True builds a torch sparse COO tensor and "
                                      "needs torch tensors")
        return _sparse_weight_grad(as_rows(dy2d), flat, num_weights, padding_idx,
                                   bool(scale_grad_by_freq))
    if scale_grad_by_freq:
        impl = _registry.select(KERNEL, flat, dy2d, scale_grad_by_freq=True)
        return impl.backward(as_rows(dy2d), flat, num_weights, padding_idx, bool(deterministic),
                             scale_grad_by_freq=True)
    impl = _registry.select(KERNEL, flat, dy2d)
    return impl.backward(as_rows(dy2d), flat, num_weights, padding_idx, bool(deterministic))
