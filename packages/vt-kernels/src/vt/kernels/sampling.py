"""Token sampling from logits (batch, vocab): temperature, top-k, top-p (nucleus) and the draw,
fused in one kernel without sorting the vocabulary.

Each row finds its thresholds by searching over the values: logits map to int32 keys in the same
order, and each search pass counts (top-k) or sums the probability mass (top-p) of the keys at or
above 16 candidate thresholds at once, so 8 passes over the row pin the exact threshold.
Filtering keeps every token at or above a threshold (ties with the k-th largest value stay, as in
Hugging Face's top-k); top-p keeps the smallest set of the most likely tokens whose mass reaches
top_p. The draw inverts the CDF of the kept tokens in vocabulary order with one uniform number per
row: from torch (`generator`) for torch tensors, from an in-kernel Philox stream with an integer
seed otherwise. temperature == 0 is greedy argmax (the first index of the maximum).

Impl signature: forward(logits2d, temperature, top_k, top_p, uniform, seed) -> int64 tokens, where
top_k / top_p are None when they filter nothing and `uniform` is a float32 (batch,) array or None
(then `seed` drives Philox).
"""

from __future__ import annotations

import random

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty
from ._checks import check_float
from ._compat import is_torch_tensor, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import interpreting, reference_reason, triton_reason

KERNEL = "sample"
_THRESHOLDS = 16  # candidate thresholds per search pass
_SEARCH_PASSES = 8  # 16 ** 8 = 2 ** 32 keys: the exact threshold
_TILE = 1024  # elements of one (rows, vocab) block; times _THRESHOLDS in the search


# ---------------------------------------------------------------------------------------------
# Triton kernel


# Thresholds are searched over int32 keys ordered as the float32 values are (a negative float's
# low 31 bits count down); the map is its own inverse. Keys from -inf to +inf are all non-NaN, so
# the candidates convert back to floats and each element is compared as a float. Helpers are
# written inline: Triton's interpreter (the CPU tests) pays dearly for every nested call.
_MINUS_INF_KEY = tl.constexpr(-2139095041)  # the key of -inf (0xFF800000 ^ 0x7FFFFFFF)


@fast_launch
@triton.jit
def _sample_kernel(X, U, OUT, M, V, stride_x, temperature, top_k, top_p, seed,
                   GREEDY: tl.constexpr, HAS_TOP_K: tl.constexpr, HAS_TOP_P: tl.constexpr,
                   HAS_UNIFORM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_V: tl.constexpr,
                   NUM_THR: tl.constexpr, SEARCH_PASSES: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    X += rows.to(tl.int64)[:, None] * stride_x
    cols0 = tl.arange(0, BLOCK_V)
    if GREEDY:
        best = tl.full([BLOCK_M], float("-inf"), tl.float32)
        token = tl.zeros([BLOCK_M], dtype=tl.int32)
        for start in range(0, V, BLOCK_V):
            cols = start + cols0
            mask = row_mask[:, None] & (cols < V)[None, :]
            x = tl.load(X + cols[None, :], mask=mask, other=float("-inf")).to(tl.float32)
            chunk_best = tl.max(x, axis=1)
            chunk_token = tl.argmax(x, axis=1) + start
            token = tl.where(chunk_best > best, chunk_token, token)  # strict: the first maximum
            best = tl.maximum(best, chunk_best)
        tl.store(OUT + rows, token.to(tl.int64), mask=row_mask)
    else:
        z_max = tl.full([BLOCK_M], float("-inf"), tl.float32)
        for start in range(0, V, BLOCK_V):
            cols = start + cols0
            mask = row_mask[:, None] & (cols < V)[None, :]
            x = tl.load(X + cols[None, :], mask=mask, other=float("-inf"))
            z = x.to(tl.float32) / temperature
            z_max = tl.maximum(z_max, tl.max(z, axis=1))
        z_max = tl.where(row_mask, z_max, 0.0)  # rows past the batch: no inf - inf below
        max_bits = z_max.to(tl.int32, bitcast=True)
        max_key = tl.where(max_bits < 0, max_bits ^ 0x7FFFFFFF, max_bits).to(tl.int64)
        j = tl.arange(0, NUM_THR)[None, :]
        keep_from = tl.full([BLOCK_M], float("-inf"), tl.float32)  # tokens kept: z >= keep_from
        keep_key = tl.full([BLOCK_M], _MINUS_INF_KEY, tl.int64)
        if HAS_TOP_K:
            # The largest key with at least top_k values at or above it: the k-th largest.
            lo, hi = keep_key, max_key
            for _ in range(0, SEARCH_PASSES):
                step = (hi - lo) // NUM_THR + 1
                thr = lo[:, None] + step[:, None] * j
                thr_bits = tl.minimum(thr, hi[:, None]).to(tl.int32)
                thr_bits = tl.where(thr_bits < 0, thr_bits ^ 0x7FFFFFFF, thr_bits)
                thr_f = thr_bits.to(tl.float32, bitcast=True)
                # Per-thread partial counts: one cross-thread reduction per pass, not per block.
                partial = tl.zeros([BLOCK_M, BLOCK_V, NUM_THR], dtype=tl.int32)
                for start in range(0, V, BLOCK_V):
                    cols = start + cols0
                    mask = row_mask[:, None] & (cols < V)[None, :]
                    x = tl.load(X + cols[None, :], mask=mask, other=float("-inf"))
                    z = x.to(tl.float32) / temperature
                    above = (z[:, :, None] >= thr_f[:, None, :]) & mask[:, :, None]
                    partial += above.to(tl.int32)
                count = tl.sum(partial, axis=1)
                ok = (count >= top_k) & (thr <= hi[:, None])
                best = tl.max(tl.where(ok, j, 0), axis=1)
                lo = lo + best.to(tl.int64) * step
                hi = tl.minimum(hi, lo + step - 1)
            keep_key = lo
            lo_bits = lo.to(tl.int32)
            lo_bits = tl.where(lo_bits < 0, lo_bits ^ 0x7FFFFFFF, lo_bits)
            keep_from = lo_bits.to(tl.float32, bitcast=True)
        if HAS_TOP_P:
            # The largest key whose kept tokens at or above it hold top_p of the kept mass.
            lo, hi = keep_key, max_key
            goal = tl.zeros([BLOCK_M], dtype=tl.float32)
            kept_mass = tl.zeros([BLOCK_M], dtype=tl.float32)
            for it in range(0, SEARCH_PASSES):
                step = (hi - lo) // NUM_THR + 1
                thr = lo[:, None] + step[:, None] * j
                thr_bits = tl.minimum(thr, hi[:, None]).to(tl.int32)
                thr_bits = tl.where(thr_bits < 0, thr_bits ^ 0x7FFFFFFF, thr_bits)
                thr_f = thr_bits.to(tl.float32, bitcast=True)
                partial = tl.zeros([BLOCK_M, BLOCK_V, NUM_THR], dtype=tl.float32)
                for start in range(0, V, BLOCK_V):
                    cols = start + cols0
                    mask = row_mask[:, None] & (cols < V)[None, :]
                    x = tl.load(X + cols[None, :], mask=mask, other=float("-inf"))
                    z = x.to(tl.float32) / temperature
                    kept = mask & (z >= keep_from[:, None])
                    e = tl.where(kept, tl.exp(z - z_max[:, None]), 0.0)
                    partial += tl.where(z[:, :, None] >= thr_f[:, None, :], e[:, :, None], 0.0)
                mass = tl.sum(partial, axis=1)
                # The first pass's lowest candidate is keep_key itself: its mass is the kept total.
                total = tl.sum(tl.where(j == 0, mass, 0.0), axis=1)
                goal = tl.where(it == 0, top_p * total, goal)
                ok = (mass >= goal[:, None]) & (thr <= hi[:, None])
                best = tl.max(tl.where(ok, j, 0), axis=1)
                kept_mass = tl.sum(tl.where(j == best[:, None], mass, 0.0), axis=1)
                lo = lo + best.to(tl.int64) * step
                hi = tl.minimum(hi, lo + step - 1)
            lo_bits = lo.to(tl.int32)
            lo_bits = tl.where(lo_bits < 0, lo_bits ^ 0x7FFFFFFF, lo_bits)
            keep_from = lo_bits.to(tl.float32, bitcast=True)
        else:
            partial_mass = tl.zeros([BLOCK_M, BLOCK_V], dtype=tl.float32)
            for start in range(0, V, BLOCK_V):
                cols = start + cols0
                mask = row_mask[:, None] & (cols < V)[None, :]
                x = tl.load(X + cols[None, :], mask=mask, other=float("-inf"))
                z = x.to(tl.float32) / temperature
                kept = mask & (z >= keep_from[:, None])
                partial_mass += tl.where(kept, tl.exp(z - z_max[:, None]), 0.0)
            kept_mass = tl.sum(partial_mass, axis=1)
        # The draw: the first kept token whose running mass passes u * kept mass.
        if HAS_UNIFORM:
            u = tl.load(U + rows, mask=row_mask, other=0.0)
        else:
            u = tl.rand(seed, rows)
        target = u * kept_mass
        carry = tl.zeros([BLOCK_M], dtype=tl.float32)
        token = tl.full([BLOCK_M], 2147483647, tl.int32)
        last_kept = tl.zeros([BLOCK_M], dtype=tl.int32)
        for start in range(0, V, BLOCK_V):
            cols = start + cols0
            mask = row_mask[:, None] & (cols < V)[None, :]
            x = tl.load(X + cols[None, :], mask=mask, other=float("-inf"))
            z = x.to(tl.float32) / temperature
            kept = mask & (z >= keep_from[:, None])
            e = tl.where(kept, tl.exp(z - z_max[:, None]), 0.0)
            running = tl.cumsum(e, axis=1) + carry[:, None]
            hit = kept & (running > target[:, None])
            token = tl.minimum(token, tl.min(tl.where(hit, cols[None, :], 2147483647), axis=1))
            last_kept = tl.maximum(last_kept, tl.max(tl.where(kept, cols[None, :], 0), axis=1))
            carry += tl.sum(e, axis=1)
        # Rounding can leave u * mass just above the running total: then the last kept token.
        token = tl.where(token == 2147483647, last_kept, token)
        tl.store(OUT + rows, token.to(tl.int64), mask=row_mask)


def _blocks(m: int, v: int) -> tuple[int, int]:
    block_v = min(triton.next_power_of_2(max(v, 1)), _TILE)
    # The interpreter pays per operation, not per element: it takes many more rows at once.
    rows = 16 * _TILE if interpreting() else _TILE
    block_m = max(1, min(triton.next_power_of_2(max(m, 1)), rows // block_v))
    return block_m, block_v


def _triton_forward(logits, temperature, top_k, top_p, uniform, seed):
    m, v = logits.shape
    out = empty((m,), "int64", like=logits)
    block_m, block_v = _blocks(m, v)
    if m:
        _sample_kernel[(triton.cdiv(m, block_m),)](
            logits, uniform, out, m, v, logits.stride(0), float(temperature) or 1.0,
            top_k or 0, float(top_p or 1.0), seed, GREEDY=temperature == 0,
            HAS_TOP_K=top_k is not None, HAS_TOP_P=top_p is not None,
            HAS_UNIFORM=uniform is not None, BLOCK_M=block_m, BLOCK_V=block_v,
            NUM_THR=_THRESHOLDS, SEARCH_PASSES=_SEARCH_PASSES, num_warps=8)
    return out


def _triton_supports(logits, temperature, top_k, top_p, uniform, seed):
    return triton_reason(logits, uniform)


# ---------------------------------------------------------------------------------------------
# torch reference: the same thresholds and draw, found by sorting


def _reference_forward(logits, temperature, top_k, top_p, uniform, seed):
    if temperature == 0:
        return logits.argmax(-1)
    if uniform is None:
        raise NotImplementedError("sample: the torch reference takes uniform numbers from torch, "
                                  "not a Philox seed")
    z = logits.float() / temperature
    keep = torch.ones_like(z, dtype=torch.bool)
    if top_k is not None:
        keep &= z >= z.topk(top_k, dim=-1).values[:, -1:]
    e = torch.where(keep, torch.exp(z - z.amax(-1, keepdim=True)), 0.0)
    if top_p is not None:
        values, order = e.sort(-1, descending=True)
        before = values.cumsum(-1) - values  # mass of the more likely tokens
        in_nucleus = before < top_p * e.sum(-1, keepdim=True)
        smallest = torch.where(in_nucleus, z.gather(-1, order), float("inf")).amin(-1, keepdim=True)
        keep &= z >= smallest
        e = torch.where(keep, e, 0.0)
    running = e.cumsum(-1)
    hit = keep & (running > (uniform * e.sum(-1))[:, None])
    columns = torch.arange(z.shape[-1], device=z.device)
    first_hit = torch.where(hit, columns, z.shape[-1]).amin(-1)
    last_kept = torch.where(keep, columns, -1).amax(-1)
    return torch.where(first_hit < z.shape[-1], first_hit, last_kept)


def _reference_supports(logits, temperature, top_k, top_p, uniform, seed):
    return reference_reason(logits, uniform)


_registry.register(KERNEL, "triton", _triton_forward, None, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, None, _reference_supports)


# ---------------------------------------------------------------------------------------------
# the functional API


def _check(op, logits, temperature, top_k, top_p):
    check_float(op, "logits", logits)
    if len(logits.shape) != 2:
        raise RuntimeError(f"{op}: logits must be 2-D (batch, vocab), got shape "
                           f"{tuple(logits.shape)}")
    if logits.shape[1] == 0:
        raise RuntimeError(f"{op}: logits have an empty vocabulary (shape {tuple(logits.shape)})")
    if not temperature >= 0:
        raise ValueError(f"{op}: temperature must be >= 0, got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{op}: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"{op}: top_p must be in (0, 1] or None, got {top_p}")


@foreign_arrays
def sample(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Token ids (int64, shape (batch,)) drawn from logits (batch, vocab).

    `generator`: a torch.Generator on the logits' device (torch tensors), an int seed, or None
    (torch's default generator; a random seed for arrays of other libraries).
    """
    op = "sample"
    _check(op, logits, temperature, top_k, top_p)
    vocab = logits.shape[1]
    top_k = top_k if top_k is not None and top_k < vocab else None  # None: filters nothing
    top_p = top_p if top_p is not None and top_p < 1 else None
    uniform, seed = None, 0
    if temperature != 0:
        if is_torch_tensor(logits):
            if isinstance(generator, int):
                generator = torch.Generator(device=logits.device).manual_seed(generator)
            uniform = torch.rand((logits.shape[0],), generator=generator, device=logits.device,
                                 dtype=torch.float32)
        else:
            seed = generator if isinstance(generator, int) else random.getrandbits(31)
    if logits.stride(1) != 1 and vocab > 1:
        logits = logits.contiguous()
    args = (logits, float(temperature), top_k, top_p, uniform, seed)
    return _registry.select(KERNEL, *args).forward(*args)
