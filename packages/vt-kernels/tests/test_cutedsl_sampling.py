"""The CuTeDSL sampling backend.

Without a GPU (CI) the kernels are compiled for sm_90a, their launch arguments are checked
against the DSL's own marshalling, the row walks are checked to visit every column once, and a
numpy model of the radix select and the segmented draw is checked against the torch reference.
With a GPU the tokens must equal the Triton kernel's tokens for the same uniform numbers.
"""

import importlib
import os

import numpy as np
import pytest
import torch
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from tolerances import DTYPES

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.cutedsl import sampling as cs  # registers the backend

family = importlib.import_module("vt.kernels.sampling")

ARCH = None if ON_GPU else "sm_90a"


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, plans, launch arguments, the algorithm, registration


def test_every_option_compiles_for_sm90():
    # greedy, both filters dividing by T, and every filter combination multiplying by 1 / T
    # (T a power of two): 512 threads, 16-byte loads
    assert cs.compile_all("bfloat16", 128256, ARCH) == 6


@pytest.mark.parametrize("dtype, n", [("float32", 32000), ("float16", 7), ("bfloat16", 50257)],
                         ids=["float32-4-wide", "one-warp", "odd-vocab-scalar-loads"])
def test_other_dtypes_and_widths_compile(dtype, n):
    assert cs.compile_all(dtype, n, ARCH, every_option=False) == 2


def _coalesced_order(plan, nv, t):
    """The vectors thread t reads in a search pass, in its order (see _Sample._bins)."""
    per_round = plan.threads * plan.unroll
    rounds = nv // per_round
    order = [r * per_round + u * plan.threads + t for r in range(rounds)
             for u in range(plan.unroll)]
    return order + list(range(rounds * per_round + t, nv, plan.threads))


def _segment_order(plan, nv, t):
    """The vectors thread t reads in the draw (see _Sample._segment)."""
    segment = -(-nv // plan.threads)
    begin = t * segment
    end = min(begin + segment, nv)
    rounds = max(end - begin, 0) // plan.unroll
    order = [begin + r * plan.unroll + u for r in range(rounds) for u in range(plan.unroll)]
    return order + list(range(begin + rounds * plan.unroll, end))


@pytest.mark.parametrize("n, vec, itemsize", [
    (1, 1, 4), (7, 1, 2), (1000, 8, 2), (1000, 4, 4), (32000, 8, 2), (50257, 1, 2),
    (128256, 8, 2), (128256, 4, 4), (262144, 8, 2)])
def test_row_walks_visit_every_column_once_in_increasing_order_per_thread(n, vec, itemsize):
    plan = cs._plan(n, vec, itemsize)
    assert 32 <= plan.threads <= 512 and plan.threads & (plan.threads - 1) == 0
    assert plan.vec * plan.unroll * itemsize in (64, itemsize * vec)  # 64 B of loads in flight
    nv = n // vec
    for walk in (_coalesced_order, _segment_order):
        orders = [walk(plan, nv, t) for t in range(plan.threads)]
        assert sorted(v for order in orders for v in order) == list(range(nv))
        # Greedy keeps the first maximum of a thread by walking its columns in order.
        assert all(order == sorted(order) for order in orders)
    # The draw scans the segments in thread order: they must follow each other along the row.
    starts = [order[0] for order in (_segment_order(plan, nv, t) for t in range(plan.threads))
              if order]
    assert starts == sorted(starts)


def test_temperatures_that_are_powers_of_two_scale_by_an_exact_inverse():
    assert cs._scale(1.0) == (1.0, False)
    assert cs._scale(0.25) == (4.0, False) and cs._scale(2.0) == (0.5, False)
    assert cs._scale(0.7) == (0.7, True) and cs._scale(3.0) == (3.0, True)
    assert cs._scale(2.0 ** -127)[1] and cs._scale(2.0 ** 127)[1]  # inverse not normal
    x = np.float32(np.random.default_rng(0).standard_normal(1000) * 10)
    for t in (0.125, 0.5, 1.0, 4.0, 2.0 ** 100):
        scale, _ = cs._scale(t)
        assert np.array_equal(x * np.float32(scale), x / np.float32(t))


@pytest.mark.parametrize("greedy, has_top_k, has_top_p, divide", cs.variants(False))
def test_fast_launch_arguments_match_the_dsl_marshalling(greedy, has_top_k, has_top_p, divide):
    assert_launch_arguments_match(cs._compiled(cs._plan(128256, 8, 2), "bfloat16", greedy,
                                               has_top_k, has_top_p, divide, ARCH))


# A numpy model of the kernel's algorithm (float32 throughout): radix select over the ordered
# keys (8 passes of 16 bins), then the draw over per-thread segments.

_SIGN = np.uint32(0x80000000)


def _ordered(v):
    bits = v.astype(np.float32).view(np.int32)
    return np.where(bits < 0, bits ^ np.int32(0x7FFFFFFF), bits).view(np.uint32) ^ _SIGN


def _float_of(u):
    key = np.array([u ^ _SIGN], dtype=np.uint32).view(np.int32)
    return np.where(key < 0, key ^ np.int32(0x7FFFFFFF), key).view(np.float32)[0]


def _radix(keys, weights, goal=None, top_p=None):
    prefix, above = 0, np.float32(0)
    for p in range(8):
        shift = 28 - 4 * p
        match = (keys & np.uint32(~((16 << shift) - 1) & 0xFFFFFFFF)) == np.uint32(prefix)
        digits = (keys[match] >> np.uint32(shift)) & np.uint32(15)
        totals = np.bincount(digits, weights=weights[match], minlength=16).astype(np.float32)
        suffix = above
        if goal is None:  # top-p: top_p of the kept mass, summed as the digit search sums it
            goal = np.float32(top_p * np.float32(sum(totals[::-1].tolist())))
        digit = 0
        for d in range(15, 0, -1):
            suffix = np.float32(suffix + totals[d])
            if suffix >= goal:
                digit += 1
            else:
                above = suffix
        prefix |= digit << shift
    return prefix


def _model(x, temperature, top_k, top_p, u, threads=32):
    x = x.astype(np.float32)
    t = np.float32(temperature)
    z = x / t
    e = np.exp(z - x.max() / t).astype(np.float32)
    keep_from = np.float32(-np.inf)
    if top_k:
        keep_from = _float_of(_radix(_ordered(x), np.ones_like(x), np.float32(top_k))) / t
    if top_p:
        keep_from = _float_of(_radix(_ordered(z), np.where(z >= keep_from, e, np.float32(0)),
                                     top_p=np.float32(top_p)))
    kept = z >= keep_from
    segment = -(-len(x) // threads)
    pieces = [range(s * segment, min(s * segment + segment, len(x))) for s in range(threads)]
    masses = [np.float32(sum((e[i] for i in piece if kept[i]), np.float32(0))) for piece in pieces]
    target = np.float32(np.float32(u) * np.float32(sum(masses)))
    before = np.float32(0)
    for piece, mass in zip(pieces, masses):
        if before + mass > target:
            local = np.float32(0)
            for i in piece:
                if kept[i]:
                    local = np.float32(local + e[i])
                    if before + local > target:
                        return i
        before = np.float32(before + mass)
    return int(np.nonzero(kept)[0].max())


@pytest.mark.parametrize("n", [1, 7, 300])
def test_the_radix_select_and_segmented_draw_match_the_reference(n):
    rng = np.random.default_rng(n)
    for trial in range(12):
        x = (2 * rng.standard_normal(n)).astype(np.float32)
        if trial % 3 == 1:
            x = np.round(x)  # ties
        if trial % 3 == 2:
            x[rng.integers(0, n, n // 3 + 1)] = -np.inf
            x[-1] = 0.5
        for top_k, top_p in [(None, None), (1, None), (5, None), (None, 0.5), (None, 1e-6),
                             (None, 0.999), (10, 0.8)]:
            u = rng.random(dtype=np.float32)
            temperature = (1.0, 0.7, 1.3)[trial % 3]
            k = top_k if top_k is not None and top_k < n else None
            expected = family._reference_forward(torch.from_numpy(x)[None], temperature, k,
                                                 top_p, torch.tensor([u]), 0).item()
            assert _model(x, temperature, k, top_p, u) == expected, (trial, top_k, top_p)


def test_backend_is_registered_and_declines_what_it_cannot_run():
    assert "cutedsl" in vk.implementations("sample")
    x, u = torch.randn(4, 64), torch.rand(4)
    assert "CUDA" in cs._supports(x, 1.0, None, None, u, 0)
    reasons = dict(_registry.explain("sample", x, 1.0, None, None, u, 0))
    assert "CUDA" in reasons["cutedsl"]
    with vk.use_impl("cutedsl"):  # falls back to the next backend that takes CPU tensors
        assert _registry.select("sample", x, 1.0, None, None, u, 0).backend != "cutedsl"


# ---------------------------------------------------------------------------------------------
# on a GPU: the same tokens as the Triton kernel

VOCABS = [1, 7, 1000, 32000, 50257, 128256]
FILTERS = [(1.0, None, None), (0.8, 50, None), (1.0, None, 0.9), (0.7, 20, 0.8), (1.0, 1, None),
           (1.2, None, 1e-4), (0.5, None, 0.999), (0.9, 3000, 0.95)]


def _logits(m, v, dtype, seed, scale=3.0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return (torch.randn((m, v), device="cuda", generator=g) * scale).to(dtype)


def _uniform(m, seed):
    return torch.rand((m,), device="cuda", generator=torch.Generator("cuda").manual_seed(seed))


def _kept(row, temperature, top_k, top_p):
    """The tokens the filters keep in one row (float32, as the torch reference keeps them)."""
    z = row.float() / temperature
    keep = torch.ones_like(z, dtype=torch.bool)
    if top_k is not None:
        keep &= z >= z.topk(top_k).values[-1]
    e = torch.where(keep, torch.exp(z - z.max()), 0.0)
    if top_p is not None:
        values, order = e.sort(descending=True)
        in_nucleus = values.cumsum(0) - values < top_p * e.sum()
        keep &= z >= z[order][in_nucleus].min()
    return keep, z


def _assert_same_draws(got, expected, logits, temperature, top_k, top_p, uniform, rtol=1e-5):
    """got == expected, except in rows where the target u * mass lies within rounding (rtol of
    the kept mass) of the boundary between the two tokens: float32 sums in other orders."""
    v = logits.shape[1]
    top_k = top_k if top_k is not None and top_k < v else None
    top_p = top_p if top_p is not None and top_p < 1 else None
    for row in torch.nonzero(got != expected).flatten().tolist():
        keep, z = _kept(logits[row], temperature, top_k, top_p)
        low, high = sorted((int(got[row]), int(expected[row])))
        assert bool(keep[low]) and bool(keep[high]), (row, low, high)
        mass = torch.where(keep, torch.exp(z.double() - z.max()), 0.0)
        cum = mass.cumsum(0)
        target = float(uniform[row]) * float(cum[-1])
        tol = rtol * float(cum[-1])
        # The two tokens are next to each other in the CDF, up to tokens of negligible mass.
        assert abs(float(cum[low]) - target) <= tol, (row, low, high)
        assert abs(float(cum[high] - mass[high]) - target) <= tol, (row, low, high)


def _both(logits, temperature, top_k, top_p, uniform):
    """(cutedsl tokens, Triton tokens) with the wrapper's normalization of the filters."""
    v = logits.shape[1]
    top_k = top_k if top_k is not None and top_k < v else None
    top_p = top_p if top_p is not None and top_p < 1 else None
    args = (logits, temperature, top_k, top_p, uniform, 0)
    assert cs._supports(*args) is None
    return cs._forward(*args), family._triton_forward(*args)


@pytest.mark.cuda
@pytest.mark.parametrize("temperature, top_k, top_p", FILTERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", VOCABS)
def test_tokens_equal_the_triton_kernels(vocab, dtype, temperature, top_k, top_p):
    m = 9 if vocab > 8192 else 37
    logits = _logits(m, vocab, dtype, vocab)
    uniform = _uniform(m, 1)
    got, expected = _both(logits, temperature, top_k, top_p, uniform)
    assert got.dtype == torch.int64 and got.shape == (m,)
    _assert_same_draws(got, expected, logits, temperature, top_k, top_p, uniform)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", VOCABS + [262144, 300001])
def test_greedy_is_the_first_argmax(vocab, dtype):
    logits = _logits(5, vocab, dtype, 3)
    logits[1] = 0.0  # all equal: the first
    logits[2, vocab // 2:] = 100.0  # ties in the second half of the row
    tokens = cs._forward(logits, 0.0, None, None, None, 0)
    assert tokens.tolist() == logits.float().argmax(-1).tolist()


@pytest.mark.cuda
@pytest.mark.parametrize("vocab", [7, 1000, 128256, 262144])
def test_ties_and_minus_inf_logits(vocab):
    g = torch.Generator(device="cuda").manual_seed(5)
    logits = torch.randint(-3, 4, (12, vocab), device="cuda", generator=g).float()  # many ties
    logits[torch.rand(12, vocab, device="cuda", generator=g) < 0.3] = float("-inf")
    logits[:, 0] = 1.0  # every row keeps a finite token
    logits[3] = float("-inf")
    logits[3, vocab - 1] = 0.0  # one finite token, last in its row
    uniform = _uniform(12, 6)
    for temperature, top_k, top_p in [(1.0, 1, None), (1.0, 3, None), (0.5, None, 0.3),
                                      (1.0, 2, 0.5), (2.0, None, None)]:
        got, expected = _both(logits, temperature, top_k, top_p, uniform)
        _assert_same_draws(got, expected, logits, temperature, top_k, top_p, uniform)
        k = top_k if top_k is not None and top_k < vocab else None
        reference = family._reference_forward(logits, temperature, k, top_p, uniform, 0)
        _assert_same_draws(got, reference, logits, temperature, top_k, top_p, uniform)


@pytest.mark.cuda
def test_uniform_extremes_pick_the_first_and_last_kept_tokens():
    logits = _logits(4, 1000, torch.float32, 7)
    uniform = torch.tensor([0.0, 0.0, 1.0 - 2 ** -24, 1.0 - 2 ** -24], device="cuda")
    for top_k in (None, 10):
        got, expected = _both(logits, 1.0, top_k, None, uniform)
        _assert_same_draws(got, expected, logits, 1.0, top_k, None, uniform)


@pytest.mark.cuda
def test_strided_and_offset_rows_take_narrower_loads():
    base = _logits(6, 32003, torch.bfloat16, 8)
    for logits in (base[:, :32000], base[:, 1:32001], base[::2, :32000]):
        uniform = _uniform(logits.shape[0], 9)
        got, expected = _both(logits, 0.9, 40, 0.9, uniform)
        _assert_same_draws(got, expected, logits, 0.9, 40, 0.9, uniform)


@pytest.mark.cuda
def test_empirical_distribution_matches_the_filtered_softmax():
    from test_sampling import filtered_probs

    row = torch.tensor([[2.0, 1.5, 1.2, 1.0, 0.8, 0.3, 0.0, -1.0, -2.0, -3.0]], device="cuda")
    draws = 20000
    with vk.use_impl("cutedsl"):
        assert _registry.select("sample", row, 0.7, 7, 0.95, _uniform(1, 0), 0).backend == \
            "cutedsl"
        tokens = vk.sample(row.expand(draws, -1), temperature=0.7, top_k=7, top_p=0.95,
                           generator=torch.Generator("cuda").manual_seed(1234))
    expected = filtered_probs(row[0].cpu(), 0.7, 7, 0.95)
    counts = torch.bincount(tokens.cpu(), minlength=10).double()
    support = expected > 0
    assert (counts[~support] == 0).all()
    chi2 = ((counts[support] - draws * expected[support]) ** 2 / (draws * expected[support])).sum()
    assert chi2 < 25.7, (counts, draws * expected)  # the 99.99% quantile of chi2(5)


@pytest.mark.cuda
def test_registry_selects_cutedsl_and_falls_back_for_the_philox_draw():
    logits = _logits(3, 1000, torch.bfloat16, 10)
    uniform = _uniform(3, 11)
    with vk.use_impl("cutedsl"):
        assert _registry.select("sample", logits, 1.0, 5, None, uniform, 0).backend == "cutedsl"
        assert _registry.select("sample", logits, 0.0, None, None, None, 0).backend == "cutedsl"
        # The seed path (uniform None) is Triton's in-kernel Philox stream.
        assert _registry.select("sample", logits, 1.0, 5, None, None, 7).backend == "triton"
        assert "Philox" in cs._supports(logits, 1.0, 5, None, None, 7)
        huge = torch.empty((1, cs.MAX_VOCAB), device="cuda", dtype=torch.bfloat16)
        assert _registry.select("sample", huge, 1.0, None, None, _uniform(1, 0),
                                0).backend == "triton"


@pytest.mark.cuda
def test_cutedsl_is_the_default_where_it_takes_the_inputs():
    logits = _logits(3, 1000, torch.float32, 12)
    assert _registry.select("sample", logits, 1.0, 5, 0.9, _uniform(3, 13), 0).backend == \
        "cutedsl"
    assert _registry.select("sample", logits, 1.0, 5, 0.9, None, 7).backend == "triton"
    with vk.use_impl("triton", "sample"):
        assert _registry.select("sample", logits, 1.0, 5, 0.9, _uniform(3, 13), 0).backend == \
            "triton"
