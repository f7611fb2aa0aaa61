"""Random sampling: generators, determinism, distributions, dtypes, layouts and bad input.

vt's streams are not torch's (vt uses Philox4x32-10, counter-based), so values are never compared
with torch's; distributions are checked with fixed seeds against exact moments and CDFs, at
tolerances several standard errors wide. Shapes, dtypes, strides and exception types are
compared with torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import vt.core as vt
from reference import to_torch

torch = pytest.importorskip("torch")

FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]
N = 1 << 17  # above the parallel grain, so threaded and serial runs are both exercised


def gen(seed: int = 0) -> vt.Generator:
    return vt.Generator().manual_seed(seed)


def values(t) -> np.ndarray:
    return to_torch(t).double().numpy() if t.dtype != vt.bool else to_torch(t).numpy()


def ks_statistic(samples: np.ndarray, cdf) -> float:
    x = np.sort(samples)
    f = cdf(x)
    n = len(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


# A Kolmogorov-Smirnov bound with p ~ 1e-3 for n samples, plus the CDF mass one rounding step of
# a 16-bit dtype can move: its spacing at `top` (the largest magnitude drawn) over `span`.
def ks_bound(n: int, dtype: str, top: float = 1.0, span: float = 1.0) -> float:
    bits = {"float16": 10, "bfloat16": 7}.get(dtype)
    rounding = 0.0 if bits is None else 2.0 ** (math.floor(math.log2(top)) - bits) / span
    return 1.95 / math.sqrt(n) + rounding


normal_cdf = np.vectorize(lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2))))


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------

def test_generator_defaults_match_torch():
    g, t = vt.Generator(), torch.Generator()
    assert g.initial_seed() == t.initial_seed() == 67280421310721
    assert str(g.device) == str(t.device) == "cpu"
    assert vt.Generator(device="cpu").device == vt.device("cpu")


@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5, 2**64 - 1, -1, -(2**63)])
def test_manual_seed_range_and_negative_seeds_like_torch(seed):
    g = vt.Generator()
    assert g.manual_seed(seed) is g
    assert g.initial_seed() == torch.Generator().manual_seed(seed).initial_seed()


@pytest.mark.parametrize("seed, error", [(2**64, ValueError), (-(2**63) - 1, ValueError), (1.5, RuntimeError)])
def test_generator_manual_seed_rejects_like_torch(seed, error):
    with pytest.raises(error):
        torch.Generator().manual_seed(seed)
    with pytest.raises(error):
        vt.Generator().manual_seed(seed)


def test_module_manual_seed_returns_the_default_generator():
    assert vt.manual_seed(5) is vt.default_generator
    assert vt.initial_seed() == 5
    assert vt.manual_seed(1.5).initial_seed() == torch.manual_seed(1.5).initial_seed() == 1
    assert vt.manual_seed(-1).initial_seed() == torch.manual_seed(-1).initial_seed()
    torch.manual_seed(0)


def test_seed_is_nondeterministic_and_recorded():
    g = vt.Generator()
    a, b = g.seed(), vt.Generator().seed()
    assert a != b and g.initial_seed() == a
    assert vt.seed() == vt.initial_seed()


def test_state_is_a_uint8_tensor_and_round_trips():
    g = gen(3)
    vt.rand(10, generator=g)
    state = g.get_state()
    assert state.dtype == vt.uint8 and state.shape == (16,)
    first = vt.rand(100, generator=g)
    assert g.set_state(state) is g
    assert (values(vt.rand(100, generator=g)) == values(first)).all()
    other = vt.Generator()
    other.set_state(state)
    assert (values(vt.rand(100, generator=other)) == values(first)).all()


def test_default_rng_state_round_trips():
    vt.manual_seed(11)
    state = vt.get_rng_state()
    a = vt.randn(50)
    vt.set_rng_state(state)
    assert (values(vt.randn(50)) == values(a)).all()


@pytest.mark.parametrize("bad, error", [
    (lambda m: m.zeros(16), TypeError),
    (lambda m: m.zeros(3, dtype=m.uint8), RuntimeError),
    (lambda m: [1, 2], TypeError),
])
def test_set_state_rejects_like_torch(bad, error):
    with pytest.raises(error):
        torch.Generator().set_state(bad(torch))
    with pytest.raises(error, match="state|uint8"):
        vt.Generator().set_state(bad(vt))


def test_generator_argument_must_be_a_generator():
    with pytest.raises(TypeError):
        torch.rand(2, generator="x")
    with pytest.raises(TypeError, match="generator"):
        vt.rand(2, generator="x")


# --------------------------------------------------------------------------------------------
# The stream: Philox4x32-10 keyed by the seed, one counter block per element
# --------------------------------------------------------------------------------------------

def test_stream_is_philox4x32_10():
    # Random123's known answer for key 0, counter 0: 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
    # float64 draws take 53 bits of each 64-bit word pair.
    got = values(vt.rand(2, generator=gen(0), dtype=vt.float64))
    words = [(0x6627E8D5 << 32) | 0xE169C58D, (0xBC57AC4C << 32) | 0x9B00DBD8]
    assert got.tolist() == [(w >> 11) / 2.0**53 for w in words]


def test_offset_advances_by_elements_drawn():
    g = gen(1)
    a = values(vt.rand(8, generator=g, dtype=vt.float64))
    b = values(vt.rand(8, generator=g, dtype=vt.float64))
    # Each call reserves one block per element (8 here) and float64 takes two draws per block,
    # so the second call's draws are elements 16..23 of one long stream.
    whole = values(vt.rand(24, generator=gen(1), dtype=vt.float64))
    assert (whole[:8] == a).all() and (whole[16:] == b).all()
    assert not np.isin(a, b).any()


OPS = {
    "rand": lambda g: vt.rand(N, generator=g),
    "randn": lambda g: vt.randn(N, generator=g, dtype=vt.float64),
    "randint": lambda g: vt.randint(-5, 1000, (N,), generator=g),
    "randperm": lambda g: vt.randperm(N, generator=g),
    "normal_": lambda g: vt.empty(N, dtype=vt.bfloat16).normal_(2, 3, generator=g),
    "uniform_": lambda g: vt.empty(512, 256).t().uniform_(-1, 1, generator=g),
    "exponential_": lambda g: vt.empty(N, dtype=vt.float16).exponential_(2, generator=g),
    "random_": lambda g: vt.empty(N, dtype=vt.int16).random_(generator=g),
    "bernoulli": lambda g: vt.bernoulli(vt.rand(N, generator=gen(9)), generator=g),
    "bernoulli_p": lambda g: vt.bernoulli(vt.empty(N, dtype=vt.uint8), 0.3, generator=g),
    "multinomial": lambda g: vt.multinomial(vt.rand(64, 300, generator=gen(9)), 200, generator=g),
    "multinomial_replacement": lambda g: vt.multinomial(vt.rand(64, 300, generator=gen(9)), 500, True, generator=g),
    "normal_tensor": lambda g: vt.normal(vt.zeros(N), vt.ones(N), generator=g),
}


@pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())
def test_same_seed_same_values_other_seed_or_next_call_differs(op):
    a, b = values(op(gen(5))), values(op(gen(5)))
    assert (a == b).all()
    assert not (values(op(gen(6))) == a).all()
    g = gen(5)
    op(g)
    assert not (values(op(g)) == a).all()


@pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())
def test_values_do_not_depend_on_the_thread_count(op):
    before = vt.get_num_threads()
    try:
        vt.set_num_threads(1)
        serial = values(op(gen(21)))
        vt.set_num_threads(4)
        threaded = values(op(gen(21)))
    finally:
        vt.set_num_threads(before)
    assert (serial == threaded).all()


def test_values_follow_logical_order_not_memory_layout():
    t = vt.empty(40, 30).t().uniform_(generator=gen(4))
    c = vt.empty(30, 40).uniform_(generator=gen(4))
    assert (values(t) == values(c)).all()


def test_default_generator_is_used_and_seeded():
    vt.manual_seed(123)
    a = values(vt.rand(100))
    vt.manual_seed(123)
    assert (values(vt.rand(100)) == a).all()
    assert (values(vt.rand(100, generator=gen(123))) == a).all()


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rand_is_uniform_in_unit_interval(dtype):
    x = values(vt.rand(N, generator=gen(1), dtype=getattr(vt, dtype)))
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.005 and abs(x.var() - 1 / 12) < 0.003
    assert ks_statistic(x, lambda v: v) < ks_bound(N, dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("low, high", [(-3.0, 5.0), (2.0, 2.5), (-1e3, 1e3)])
def test_uniform_range_and_cdf(dtype, low, high):
    x = values(vt.empty(N, dtype=getattr(vt, dtype)).uniform_(low, high, generator=gen(2)))
    assert x.min() >= low and x.max() < high
    assert ks_statistic(x, lambda v: (v - low) / (high - low)) < ks_bound(N, dtype, max(-low, high), high - low)


@pytest.mark.parametrize("dtype, spacing", [("bfloat16", 2.0**-8), ("float16", 2.0**-11)])
def test_uniform_rounds_down_so_every_value_is_equally_likely(dtype, spacing):
    # In [0.5, 1) the dtype's values are evenly spaced: each must be drawn equally often, and
    # the largest (1 - spacing) must be reached without ever rounding up to 1.
    x = values(vt.empty(N, dtype=getattr(vt, dtype)).uniform_(0.5, 1.0, generator=gen(3)))
    assert x.min() == 0.5 and x.max() == 1 - spacing
    counts = np.bincount(((x - 0.5) / spacing).astype(np.int64))
    expected = N * spacing / 0.5
    assert len(counts) == round(0.5 / spacing) and np.abs(counts - expected).max() < 5 * math.sqrt(expected)
    assert (values(vt.empty(10).uniform_(2, 2)) == 2).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_randn_is_standard_normal(dtype):
    x = values(vt.randn(N, generator=gen(3), dtype=getattr(vt, dtype)))
    assert abs(x.mean()) < 0.015 and abs(x.std() - 1) < 0.015
    assert ks_statistic(x, normal_cdf) < ks_bound(N, dtype) * 1.5
    assert abs(x).max() > 3.5  # tails are reached


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_normal_inplace_mean_std(dtype):
    x = values(vt.empty(N, dtype=getattr(vt, dtype)).normal_(5, 0.5, generator=gen(4)))
    assert abs(x.mean() - 5) < 0.01 and abs(x.std() - 0.5) < 0.01
    assert (values(vt.empty(10).normal_(3, 0.0)) == 3).all()


def test_normal_with_tensor_means_and_stds():
    mean = vt.tensor([-10.0, 0.0, 10.0]).expand(N // 4, 3)
    std = vt.tensor([[0.5], [2.0]]).expand(2, 3).contiguous().view(2, 1, 3)
    x = values(vt.normal(mean, std, generator=gen(5)))
    assert x.shape == (2, N // 4, 3)
    for i, s in enumerate([0.5, 2.0]):
        for j, m in enumerate([-10.0, 0.0, 10.0]):
            col = x[i, :, j]
            assert abs(col.mean() - m) < 6 * s / math.sqrt(len(col)) and abs(col.std() - s) < 0.03 * s
    y = values(vt.normal(2.0, vt.full((N,), 3.0), generator=gen(6)))
    assert abs(y.mean() - 2) < 0.03 and abs(y.std() - 3) < 0.03
    z = values(vt.normal(vt.full((N,), -1.0), 0.25, generator=gen(7)))
    assert abs(z.mean() + 1) < 0.003 and abs(z.std() - 0.25) < 0.003


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_exponential(dtype):
    lam = 2.0
    x = values(vt.empty(N, dtype=getattr(vt, dtype)).exponential_(lam, generator=gen(6)))
    assert x.min() >= 0 and abs(x.mean() - 1 / lam) < 0.01
    assert ks_statistic(x, lambda v: 1 - np.exp(-lam * v)) < ks_bound(N, dtype) * 2


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"])
def test_randint_is_uniform_over_the_range(dtype):
    low, high = (0, 200) if dtype == "uint8" else (-50, 77)
    x = values(vt.randint(low, high, (N,), generator=gen(7), dtype=getattr(vt, dtype)))
    counts = np.bincount((x - low).astype(np.int64), minlength=high - low)
    assert len(counts) == high - low and counts.min() > 0
    expected = N / (high - low)
    assert np.abs(counts - expected).max() < 5 * math.sqrt(expected)


def test_randint_full_int64_range_and_bool():
    x = values(vt.randint(-(2**63), 2**63 - 1, (1000,), generator=gen(8)))
    assert (x < -(2**62)).any() and (x > 2**62).any()
    b = vt.randint(0, 2, (1000,), dtype=vt.bool, generator=gen(8))
    assert b.dtype == vt.bool and 400 < values(b).sum() < 600


@pytest.mark.parametrize("dtype, high", [("bool", 1), ("uint8", 255), ("int8", 127), ("float16", 2048),
                                         ("bfloat16", 256), ("int64", 2**63 - 1)])
def test_random_without_bounds_covers_the_dtype(dtype, high):
    x = values(vt.empty(N, dtype=getattr(vt, dtype)).random_(generator=gen(9)))
    assert x.min() >= 0 and x.max() <= high
    if high < 10000:
        assert len(np.unique(x)) >= min(high + 1, 200)


def test_random_forms_match_torch_ranges():
    x = vt.empty(N)
    assert set(values(x.random_(5, generator=gen(1)))) == set(range(5))
    assert set(values(x.random_(-3, 2, generator=gen(1)))) == set(range(-3, 2))
    assert set(values(x.random_(2, to=4, generator=gen(1)))) == {2, 3}
    assert values(x.random_(to=3, generator=gen(1))).max() == 2


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.9, 1.0])
def test_bernoulli_scalar_p(dtype, p):
    x = values(vt.empty(N, dtype=getattr(vt, dtype)).bernoulli_(p, generator=gen(10)))
    assert set(np.unique(x)) <= {0, 1}
    assert abs(x.mean() - p) < 5 * math.sqrt(p * (1 - p) / N) + 1e-12


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bernoulli_tensor_p(dtype):
    p = vt.tensor([0.0, 0.1, 0.5, 0.95, 1.0], dtype=getattr(vt, dtype)).expand(N // 4, 5)
    x = vt.bernoulli(p, generator=gen(11))
    assert x.dtype == p.dtype and x.shape == p.shape
    col = values(x).mean(axis=0)
    want = values(p)[0]
    assert (np.abs(col - want) < 5 * np.sqrt(want * (1 - want) / (N // 4)) + 1e-12).all()
    # In place, p broadcasts to self and self keeps its dtype.
    y = vt.zeros(N // 4, 5, dtype=vt.int32).bernoulli_(vt.tensor([0.0, 1.0, 0.5, 0.5, 0.5]), generator=gen(12))
    v = values(y)
    assert y.dtype == vt.int32 and (v[:, 0] == 0).all() and (v[:, 1] == 1).all()


@pytest.mark.parametrize("call", [lambda m, x: m.bernoulli(x, 0.5), lambda m, x: m.bernoulli(x),
                                  lambda m, x: x.bernoulli(0.25), lambda m, x: m.normal(x, 1.0),
                                  lambda m, x: m.normal(1.0, x), lambda m, x: m.normal(x, x),
                                  lambda m, x: m.bernoulli(x.expand(2, 6, 8))])
def test_sampled_tensors_are_contiguous_like_torch(call):
    got, want = call(vt, vt.full((8, 6), 0.5).t()), call(torch, torch.full((8, 6), 0.5).t())
    assert (got.shape, got.stride(), got.dtype.name) == (tuple(want.shape), want.stride(), "float32")


def test_multinomial_with_replacement_frequencies():
    probs = vt.tensor([0.1, 0.0, 0.2, 0.7])
    x = values(vt.multinomial(probs * 3, N, replacement=True, generator=gen(13)))
    freq = np.bincount(x.astype(np.int64), minlength=4) / N
    assert freq[1] == 0
    assert np.abs(freq - [0.1, 0, 0.2, 0.7]).max() < 0.01


def test_multinomial_without_replacement_never_repeats():
    probs = vt.rand(200, 50, generator=gen(14)) + 0.01
    x = values(vt.multinomial(probs, 50, generator=gen(15))).astype(np.int64)
    assert x.shape == (200, 50)
    assert all(sorted(row) == list(range(50)) for row in x)
    few = values(vt.multinomial(probs, 10, generator=gen(16))).astype(np.int64)
    assert all(len(set(row)) == 10 for row in few)


def test_multinomial_without_replacement_first_pick_follows_probs():
    probs = vt.tensor([1.0, 2.0, 3.0, 4.0]).expand(20000, 4)
    x = values(vt.multinomial(probs, 2, generator=gen(17))).astype(np.int64)
    first = np.bincount(x[:, 0], minlength=4) / 20000
    assert np.abs(first - [0.1, 0.2, 0.3, 0.4]).max() < 0.015
    # P(second = 0) = sum over j != 0 of p_j * p_0 / (1 - p_j)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    want = sum(p[j] * p[0] / (1 - p[j]) for j in range(1, 4))
    assert abs((x[:, 1] == 0).mean() - want) < 0.012


def test_multinomial_zero_weights_come_last_in_index_order_like_torch():
    got = vt.multinomial(vt.tensor([0.0, 1.0, 0.0, 0.0]), 4, generator=gen(1))
    assert values(got).tolist() == [1, 0, 2, 3]
    assert values(vt.multinomial(vt.tensor([1.0, 0.0, 0.0]), 3)).tolist() == \
        torch.multinomial(torch.tensor([1.0, 0.0, 0.0]), 3).tolist()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_multinomial_dtypes_and_strided_rows(dtype):
    probs = vt.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=getattr(vt, dtype)).t().contiguous().t()
    x = values(vt.multinomial(probs, 1, generator=gen(2)))
    assert x.shape == (2, 1) and x[0, 0] in (0, 2) and x[1, 0] == 1
    assert vt.multinomial(vt.ones(0, 3), 1).shape == (0, 1)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"])
def test_randperm_is_a_permutation(dtype):
    n = {"uint8": 256, "int8": 128, "float16": 2049, "bfloat16": 257}.get(dtype, 10000)
    p = vt.randperm(n, generator=gen(18), dtype=getattr(vt, dtype))
    assert p.dtype == getattr(vt, dtype) and p.shape == (n,)
    v = values(p)
    assert sorted(v.tolist()) == list(range(n)) and (v != np.arange(n)).any()
    assert vt.randperm(0).shape == (0,)


def test_randperm_positions_are_uniform():
    g = gen(19)
    first = np.array([values(vt.randperm(5, generator=g))[0] for _ in range(5000)])
    counts = np.bincount(first.astype(np.int64), minlength=5)
    assert np.abs(counts - 1000).max() < 5 * math.sqrt(1000)


# --------------------------------------------------------------------------------------------
# dtypes, shapes, layouts and in-place semantics, against torch
# --------------------------------------------------------------------------------------------

FACTORIES = {
    "rand": lambda m, g: m.rand(2, 3, generator=g),
    "rand_size_kw": lambda m, g: m.rand(size=(4,), generator=g, dtype=m.float64),
    "randn": lambda m, g: m.randn((2, 0, 3), generator=g, dtype=m.float16),
    "randint": lambda m, g: m.randint(10, (3, 2), generator=g),
    "randint_low": lambda m, g: m.randint(-3, 10, (3,), generator=g, dtype=m.int8),
    "randint_kw": lambda m, g: m.randint(low=2, high=5, size=(2,), generator=g),
    "randint_high_kw": lambda m, g: m.randint(high=5, size=(2,), generator=g),
    "randint_float": lambda m, g: m.randint(0, 5, (3,), generator=g, dtype=m.float32),
    "randperm": lambda m, g: m.randperm(7, generator=g),
    "randperm_float": lambda m, g: m.randperm(7, generator=g, dtype=m.float32),
    "normal_floats": lambda m, g: m.normal(0.0, 1.0, (2, 3), generator=g),
    "normal_ints": lambda m, g: m.normal(0, 1, size=(2,), generator=g, dtype=m.float64),
    "normal_tensors": lambda m, g: m.normal(m.zeros(2, 3), m.ones(3), generator=g),
    "normal_std_broadcasts": lambda m, g: m.normal(m.zeros(3), m.ones(2, 3), generator=g),
    "normal_mean_dtype": lambda m, g: m.normal(m.zeros(3, dtype=m.float16), m.ones(3), generator=g),
    "normal_int_std": lambda m, g: m.normal(m.zeros(3), m.ones(3, dtype=m.int64), generator=g),
    "normal_tensor_float": lambda m, g: m.normal(m.zeros(2, 2, dtype=m.float64), 2.0, generator=g),
    "normal_mean_only": lambda m, g: m.normal(m.zeros(2), generator=g),
    "normal_float_tensor": lambda m, g: m.normal(2.0, m.ones(3, dtype=m.bfloat16), generator=g),
    "bernoulli": lambda m, g: m.bernoulli(m.full((2, 3), 0.5, dtype=m.float16), generator=g),
    "bernoulli_p": lambda m, g: m.bernoulli(m.zeros(3, dtype=m.float64), 0.5, generator=g),
    "bernoulli_method": lambda m, g: m.zeros(4).bernoulli(0.3, generator=g),
    "multinomial": lambda m, g: m.multinomial(m.ones(3, 5), 2, generator=g),
    "multinomial_method": lambda m, g: m.ones(5).multinomial(7, replacement=True, generator=g),
    "rand_like": lambda m, g: m.rand_like(m.zeros(4, 6, dtype=m.float64)[:, ::2].t(), generator=g),
    "randn_like": lambda m, g: m.randn_like(m.zeros(3, 4).t(), generator=g, dtype=m.bfloat16),
    "randint_like": lambda m, g: m.randint_like(m.zeros(2, 3).t(), 5, generator=g),
    "randint_like_low": lambda m, g: m.randint_like(m.zeros(3, dtype=m.int16), 2, 9, generator=g),
    "randint_like_kw": lambda m, g: m.randint_like(m.zeros(3), low=2, high=5, generator=g, dtype=m.int64),
}


@pytest.mark.parametrize("call", FACTORIES.values(), ids=FACTORIES.keys())
def test_shapes_dtypes_strides_match_torch(call):
    got, want = call(vt, gen(1)), call(torch, torch.Generator().manual_seed(1))
    assert (got.shape, got.stride(), got.dtype.name) == (tuple(want.shape), want.stride(),
                                                         str(want.dtype).removeprefix("torch."))


INPLACE = {
    "uniform_": lambda t, g: t.uniform_(-2, 2, generator=g),
    "normal_": lambda t, g: t.normal_(1, 2, generator=g),
    "exponential_": lambda t, g: t.exponential_(3, generator=g),
    "random_": lambda t, g: t.random_(0, 7, generator=g),
    "bernoulli_": lambda t, g: t.bernoulli_(0.4, generator=g),
    "bernoulli_tensor": lambda t, g: t.bernoulli_(vt.full((), 0.5), generator=g),
}


@pytest.mark.parametrize("op", INPLACE.values(), ids=INPLACE.keys())
def test_inplace_returns_self_bumps_version_and_writes_through_views(op):
    base = vt.full((4, 10), -7.0)
    view = base[:, 2:7]  # non-contiguous
    version = base._version
    assert op(view, gen(1)) is view
    assert base._version > version
    b = values(base)
    assert (b[:, :2] == -7).all() and (b[:, 7:] == -7).all() and (b[:, 2:7] != -7).any()
    fresh = vt.full((4, 5), -7.0)
    op(fresh, gen(1))
    assert (values(fresh) == b[:, 2:7]).all()  # same stream whatever the layout
    assert op(vt.zeros(0, 3), gen(1)).shape == (0, 3)
    assert op(vt.zeros(()), gen(1)).shape == ()


# --------------------------------------------------------------------------------------------
# Bad input raises torch's exception type
# --------------------------------------------------------------------------------------------

BAD = {
    "rand_int_dtype": (lambda m: m.rand(2, dtype=m.int64), NotImplementedError),
    "rand_bool_dtype": (lambda m: m.rand(2, dtype=m.bool), NotImplementedError),
    "randn_int_dtype": (lambda m: m.randn(2, dtype=m.int32), NotImplementedError),
    "rand_like_int": (lambda m: m.rand_like(m.zeros(2, dtype=m.int64)), NotImplementedError),
    "rand_negative_size": (lambda m: m.rand(-1), RuntimeError),
    "randn_negative_size": (lambda m: m.randn(2, -3), RuntimeError),
    "randint_empty_range": (lambda m: m.randint(5, 5, (3,)), RuntimeError),
    "randint_reversed_range": (lambda m: m.randint(6, 5, (3,)), RuntimeError),
    "randint_high_out_of_dtype": (lambda m: m.randint(0, 300, (3,), dtype=m.uint8), RuntimeError),
    "randint_low_out_of_dtype": (lambda m: m.randint(-1, 3, (3,), dtype=m.uint8), RuntimeError),
    "randint_bool_range": (lambda m: m.randint(0, 3, (3,), dtype=m.bool), RuntimeError),
    "randint_float_bounds": (lambda m: m.randint(0.5, 3, (3,)), TypeError),
    "randint_int_size": (lambda m: m.randint(0, 3, 2), TypeError),
    "randint_like_reversed": (lambda m: m.randint_like(m.zeros(2), 5, 3), RuntimeError),
    "normal_negative_std": (lambda m: m.zeros(3).normal_(0, -1), RuntimeError),
    "normal_nan_std": (lambda m: m.zeros(3).normal_(0, float("nan")), RuntimeError),
    "normal_int": (lambda m: m.zeros(3, dtype=m.int64).normal_(), NotImplementedError),
    "normal_tensor_negative_std": (lambda m: m.normal(m.zeros(3), -m.ones(3)), RuntimeError),
    "normal_float_negative_std": (lambda m: m.normal(m.zeros(3), -1.0), RuntimeError),
    "normal_int_mean": (lambda m: m.normal(m.zeros(3, dtype=m.int64), 1.0), NotImplementedError),
    "normal_shape_mismatch": (lambda m: m.normal(m.zeros(3), m.ones(4)), RuntimeError),
    "normal_tensor_with_size": (lambda m: m.normal(m.zeros(2), m.ones(2), (3,)), TypeError),
    "uniform_reversed": (lambda m: m.zeros(3).uniform_(1, 0), RuntimeError),
    "uniform_int": (lambda m: m.zeros(3, dtype=m.int32).uniform_(), NotImplementedError),
    "uniform_infinite": (lambda m: m.zeros(3).uniform_(0, float("inf")), RuntimeError),
    "uniform_nan": (lambda m: m.zeros(3).uniform_(float("nan"), 1), RuntimeError),
    "uniform_out_of_float16": (lambda m: m.zeros(3, dtype=m.float16).uniform_(0, 1e5), RuntimeError),
    "uniform_span_too_wide": (lambda m: m.zeros(3).uniform_(-3.4e38, 3.4e38), RuntimeError),
    "uniform_expanded": (lambda m: m.zeros(1).expand(3).uniform_(), RuntimeError),
    "exponential_zero": (lambda m: m.zeros(3).exponential_(0), RuntimeError),
    "exponential_negative": (lambda m: m.zeros(3).exponential_(-1), RuntimeError),
    "exponential_int": (lambda m: m.zeros(3, dtype=m.int64).exponential_(), RuntimeError),
    "bernoulli_p_above_one": (lambda m: m.bernoulli(m.zeros(3), 1.5), RuntimeError),
    "bernoulli_p_nan": (lambda m: m.zeros(3).bernoulli_(float("nan")), RuntimeError),
    "bernoulli_tensor_p_above_one": (lambda m: m.bernoulli(m.full((3,), 2.0)), RuntimeError),
    "bernoulli_tensor_p_negative": (lambda m: m.zeros(3).bernoulli_(m.full((3,), -0.5)), RuntimeError),
    "bernoulli_int_p": (lambda m: m.bernoulli(m.zeros(3, dtype=m.int64)), NotImplementedError),
    "bernoulli_p_does_not_broadcast": (lambda m: m.zeros(3).bernoulli_(m.full((2, 3), 0.5)), RuntimeError),
    "random_reversed": (lambda m: m.zeros(3).random_(2, 1), RuntimeError),
    "random_to_zero": (lambda m: m.zeros(3).random_(0), RuntimeError),
    "random_out_of_uint8": (lambda m: m.zeros(3, dtype=m.uint8).random_(0, 300), RuntimeError),
    "random_out_of_float16": (lambda m: m.zeros(3, dtype=m.float16).random_(0, 70000), RuntimeError),
    "multinomial_negative": (lambda m: m.multinomial(m.tensor([1.0, -1.0]), 1), RuntimeError),
    "multinomial_nan": (lambda m: m.multinomial(m.tensor([1.0, float("nan")]), 1), RuntimeError),
    "multinomial_inf": (lambda m: m.multinomial(m.tensor([1.0, float("inf")]), 1), RuntimeError),
    "multinomial_zero_sum": (lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1), RuntimeError),
    "multinomial_zero_sum_row": (lambda m: m.multinomial(m.tensor([[1.0, 1.0], [0.0, 0.0]]), 1), RuntimeError),
    "multinomial_too_many": (lambda m: m.multinomial(m.tensor([1.0, 1.0]), 3), RuntimeError),
    "multinomial_zero_samples": (lambda m: m.multinomial(m.tensor([1.0, 1.0]), 0), RuntimeError),
    "multinomial_negative_samples": (lambda m: m.multinomial(m.tensor([1.0, 1.0]), -1), RuntimeError),
    "multinomial_3d": (lambda m: m.multinomial(m.ones(2, 2, 2), 1), RuntimeError),
    "multinomial_0d": (lambda m: m.multinomial(m.ones(()), 1), RuntimeError),
    "multinomial_int": (lambda m: m.multinomial(m.tensor([1, 2]), 1), RuntimeError),
    "multinomial_no_categories": (lambda m: m.multinomial(m.ones(3, 0), 1), RuntimeError),
    "multinomial_empty_with_replacement": (lambda m: m.multinomial(m.ones(0), 1, True), RuntimeError),
    "randperm_negative": (lambda m: m.randperm(-1), RuntimeError),
    "randperm_bool": (lambda m: m.randperm(5, dtype=m.bool), NotImplementedError),
    "randperm_uint8_overflow": (lambda m: m.randperm(300, dtype=m.uint8), RuntimeError),
    "randperm_int8_overflow": (lambda m: m.randperm(129, dtype=m.int8), RuntimeError),
    "randperm_float16_inexact": (lambda m: m.randperm(3000, dtype=m.float16), RuntimeError),
    "randperm_float32_inexact": (lambda m: m.randperm(2**24 + 2, dtype=m.float32), RuntimeError),
}


@pytest.mark.parametrize("call, error", BAD.values(), ids=BAD.keys())
def test_bad_input_raises_like_torch(call, error):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error):
        call(vt)


@pytest.mark.parametrize("call, match", [
    (lambda: vt.randint(5, 5, (3,)), r"from.*less than.*to"),
    (lambda: vt.randint(0, 300, (3,), dtype=vt.uint8), r"to - 1 is out of bounds for uint8"),
    (lambda: vt.rand(2, dtype=vt.int64), r"uniform_.*int64"),
    (lambda: vt.multinomial(vt.tensor([1.0, -1.0]), 1), r"element < 0"),
    (lambda: vt.multinomial(vt.tensor([0.0, 0.0]), 1), r"sum of probabilities <= 0"),
    (lambda: vt.multinomial(vt.tensor([1.0, 1.0]), 3), r"n_sample > prob_dist.size\(-1\).*without replacement"),
    (lambda: vt.zeros(3).normal_(0, -1), r"std >= 0.0"),
    (lambda: vt.zeros(3).uniform_(1, 0), r"from=1 > to=0"),
    (lambda: vt.zeros(3).bernoulli_(1.5), r"p to be in \[0, 1\]"),
    (lambda: vt.zeros(1).expand(3).normal_(), r"more than one element"),
    (lambda: vt.randperm(300, dtype=vt.uint8), r"too large for uint8"),
])
def test_bad_input_messages_name_the_problem(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


RANDOM_FORMS = {  # each of torch's three forms, by position and by keyword
    "to_positional": lambda x, g: x.random_(5, generator=g),
    "from_to": lambda x, g: x.random_(3, 9, generator=g),
    "from_to_keywords": lambda x, g: x.random_(**{"from": 1, "to": 4}, generator=g),
    "from_positional_to_keyword": lambda x, g: x.random_(2, to=4, generator=g),
    "to_keyword": lambda x, g: x.random_(to=3, generator=g),
    "to_none": lambda x, g: x.random_(250, None, generator=g),
}


@pytest.mark.parametrize("form", RANDOM_FORMS)
def test_random_forms_cover_torchs_ranges(form):
    call = RANDOM_FORMS[form]
    want = call(torch.empty(N, dtype=torch.uint8), torch.Generator().manual_seed(1)).unique().tolist()
    x = vt.empty(N, dtype=vt.uint8)
    assert call(x, gen(1)) is x
    assert sorted(set(values(x).astype(int).tolist())) == want


@pytest.mark.parametrize("call", [
    lambda m, x: x.random_(**{"from": 1}),  # from alone is no form of torch's
    lambda m, x: x.random_(1, 2, 3),
    lambda m, x: x.random_(1.5),
    lambda m, x: x.random_(to=None),
    lambda m, x: x.random_(5, generator=1),
], ids=["from_only", "three", "float", "to_none", "generator_type"])
def test_random_bad_forms_raise_type_error_like_torch(call):
    with pytest.raises(TypeError):
        call(torch, torch.empty(4))
    with pytest.raises(TypeError):
        call(vt, vt.empty(4))


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32"])
def test_randperm_writes_out_in_its_dtype(dtype):
    out = vt.empty(50, dtype=getattr(vt, dtype))
    assert vt.randperm(50, generator=gen(4), out=out) is out
    want = torch.randperm(50, out=torch.empty(50, dtype=getattr(torch, dtype)))
    assert_same_kind = out.dtype.name == str(want.dtype).removeprefix("torch.")
    assert assert_same_kind and sorted(values(out).tolist()) == list(range(50))
    with pytest.raises(NotImplementedError, match="resizing out= tensors is not implemented"):
        vt.randperm(50, out=vt.empty(3, dtype=vt.int64))
