"""Reductions beyond the op table: errors (torch's exception types), special values, ties,
result types, argument forms, and the accumulation accuracy the design promises."""

from __future__ import annotations

import math

import pytest
import torch
import vt.core as vt
from gil_probe import python_work_during
from reference import assert_same, from_torch, to_torch

NAN, INF = math.nan, math.inf


def _raises_like_torch(vt_call, torch_call, match: str):
    """Both raise the same exception type; vt's message names the problem."""
    with pytest.raises(Exception) as want:
        torch_call()
    with pytest.raises(want.type, match=match):
        vt_call()


# ---- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("op,args,match", [
    ("max", (), "numel\\(\\) == 0"),
    ("min", (), "numel\\(\\) == 0"),
    ("amax", (), "numel\\(\\) == 0"),
    ("argmax", (), "numel\\(\\) == 0"),
    ("argmin", (), "numel\\(\\) == 0"),
])
def test_full_reduction_of_empty_without_identity(op, args, match):
    t = torch.zeros(0, 3)
    _raises_like_torch(lambda: getattr(from_torch(t), op)(*args), lambda: getattr(t, op)(*args), match)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin", "argmax", "argmin"])
def test_reducing_an_empty_dim_without_identity(op):
    t = torch.zeros(0, 3)
    _raises_like_torch(lambda: getattr(from_torch(t), op)(0), lambda: getattr(t, op)(0),
                       "reduction dim 0 to have non-zero size")


@pytest.mark.parametrize("p", [INF, -INF])
def test_inf_norm_of_empty(p):
    t = torch.zeros(0, 3)
    _raises_like_torch(lambda: from_torch(t).norm(p), lambda: t.norm(p), "inf norm on an empty tensor")
    _raises_like_torch(lambda: from_torch(t).norm(p, dim=0), lambda: t.norm(p, dim=0), "dimension 0")


_X = torch.arange(6.0).view(2, 3)


@pytest.mark.parametrize("x,call,match", [
    (_X.long(), lambda m, x: m.mean(x), "could not infer output dtype"),
    (_X, lambda m, x: m.mean(x, dtype=m.int32), "could not infer output dtype"),
    (_X.long(), lambda m, x: m.var(x), "only support floating point"),
    (_X.bool(), lambda m, x: m.std(x, 0), "only support floating point"),
    (_X.int(), lambda m, x: m.var_mean(x), "only support floating point"),
    (_X.long(), lambda m, x: m.norm(x), "Expected a floating point"),
    (_X, lambda m, x: m.norm(x, dtype=m.int32), "dtype should be floating point"),
    (_X, lambda m, x: m.norm(x, dtype=m.float16), "without narrowing"),
    (_X, lambda m, x: m.norm(x, "abc"), "Order abc not supported"),
    (_X.view(1, 2, 3), lambda m, x: m.norm(x, "fro", dim=(0, 1, 2)), "dim must be a 2-tuple"),
    (_X.bool(), lambda m, x: m.argmax(x), "does not support bool"),
    (_X.bool(), lambda m, x: m.argmin(x, 0), "does not support bool"),
    (_X, lambda m, x: m.sum(x, (1, 1)), "appears multiple times"),
    (_X, lambda m, x: m.amax(x, (0, -2)), "appears multiple times"),
    (_X, lambda m, x: m.all(x, (1, -1)), "appears multiple times"),
    (_X, lambda m, x: m.amax(x, 2), "Dimension out of range"),
    (_X, lambda m, x: m.max(x, -3), "Dimension out of range"),
    (_X, lambda m, x: m.argmax(x, 2), "Dimension out of range"),
    (_X, lambda m, x: m.cumsum(x, 2), "Dimension out of range"),
    (_X, lambda m, x: m.var(x, 5), "Dimension out of range"),
    (_X, lambda m, x: m.logsumexp(x, -3), "Dimension out of range"),
    (_X, lambda m, x: m.prod(x, (0, 1)), "must be int|prod"),
    (_X, lambda m, x: m.max(x, (0, 1)), "must be int|max"),
    (_X, lambda m, x: m.cumsum(x), "dim"),
    (_X, lambda m, x: m.logsumexp(x), "dim"),
])
def test_bad_arguments_raise_torch_exception_types(x, call, match):
    _raises_like_torch(lambda: call(vt, from_torch(x)), lambda: call(torch, x), match)


# ---- NaN, inf, ties ------------------------------------------------------------------------

NAN_ROWS = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, 5.0, 1.0], [NAN, NAN, 0.0, 7.0], [-INF, INF, INF, -INF]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_with_nan_and_ties_match_torch(op, dtype):
    t = torch.tensor(NAN_ROWS, dtype=getattr(torch, dtype))
    v = from_torch(t)
    for dim in (0, 1):
        want = getattr(t, op)(dim)
        got = getattr(v, op)(dim)
        assert_same(got.values, want.values, rtol=0, atol=0)
        assert_same(got.indices, want.indices)
    assert_same(getattr(v, op)(), getattr(t, op)(), rtol=0, atol=0)
    assert_same(getattr(v, "a" + op)(1), getattr(t, "a" + op)(1), rtol=0, atol=0)
    assert_same(getattr(v, "arg" + op)(1), getattr(t, "arg" + op)(1))
    assert_same(getattr(v, "arg" + op)(), getattr(t, "arg" + op)())


def test_first_nan_wins_in_long_rows_and_columns():
    # Long enough for the blocked search (rows) and for the parallel split (columns).
    t = torch.rand(3, 5000)
    t[0, 4000], t[0, 4500], t[1, 10] = NAN, NAN, NAN
    for dim in (0, 1):
        for src in (t, t.t().contiguous()):
            want, got = src.max(dim), from_torch(src).max(dim)
            assert_same(got.values, want.values, rtol=0, atol=0)
            assert_same(got.indices, want.indices)
    assert vt.argmax(from_torch(t)).item() == torch.argmax(t).item() == 4000


def test_ties_pick_the_first_index_across_threads():
    t = torch.zeros(4, 300000)
    t[:, 7] = 1
    t[:, 299990] = 1
    t[2, 5] = 1
    for op in ("argmax", "argmin"):
        assert_same(getattr(vt, op)(from_torch(t), 1), getattr(torch, op)(t, 1))
    assert vt.argmax(from_torch(t)).item() == torch.argmax(t).item() == 7
    flat = torch.zeros(1_000_000)
    flat[999_999] = flat[500_000] = 2.0
    assert vt.argmax(from_torch(flat)).item() == 500_000


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_reductions_propagate_nan_and_inf(dtype):
    t = torch.tensor(NAN_ROWS, dtype=getattr(torch, dtype))
    v = from_torch(t)
    for name in ("sum", "mean", "prod", "var", "std", "amax", "amin", "logsumexp"):
        want = getattr(t, name)(1)
        assert_same(getattr(v, name)(1), want, rtol=1e-2, atol=1e-2)
    for p in (2, 1, INF, -INF, 0, 3):
        assert_same(v.norm(p, 1), t.norm(p, 1), rtol=1e-2, atol=1e-2)


def test_logsumexp_is_stable_and_handles_infinite_rows():
    t = torch.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [-INF, -INF], [INF, 1.0], [INF, -INF], [NAN, INF]])
    assert_same(from_torch(t).logsumexp(1), t.logsumexp(1))
    assert from_torch(t).logsumexp(1)[0].item() == pytest.approx(1000 + math.log(2))


# ---- result types and argument forms ----------------------------------------------------------

def test_max_with_dim_returns_a_named_tuple():
    t = torch.tensor([[1.0, 3.0], [4.0, 2.0]])
    r = vt.max(from_torch(t), dim=1, keepdim=True)
    assert isinstance(r, tuple) and len(r) == 2
    values, indices = r
    assert values is r.values or values.data_ptr() == r.values.data_ptr()
    assert_same(r.values, t.max(1, True).values)
    assert_same(r.indices, t.max(1, True).indices)
    assert type(r).__name__ == "max" and type(vt.min(from_torch(t), 0)).__name__ == "min"
    assert type(r) is vt.return_types.max


def test_var_std_argument_forms_match_torch():
    t = torch.linspace(-2, 3, 24).view(4, 6) ** 2
    v = from_torch(t)
    forms = [((), {}), ((False,), {}), ((1,), {}), ((1, False), {}), ((1, True, True), {}),
             ((), {"dim": 0, "correction": 0}), ((), {"dim": (0, 1), "correction": 3}),
             ((), {"dim": 1, "unbiased": False, "keepdim": True}), ((), {"correction": 0.5})]
    for args, kwargs in forms:
        for name in ("var", "std"):
            assert_same(getattr(v, name)(*args, **kwargs), getattr(t, name)(*args, **kwargs))
            assert_same(getattr(vt, name)(v, *args, **kwargs), getattr(torch, name)(t, *args, **kwargs))
        for name in ("var_mean", "std_mean"):
            got, want = getattr(vt, name)(v, *args, **kwargs), getattr(torch, name)(t, *args, **kwargs)
            assert isinstance(got, tuple) and len(got) == 2
            assert_same(got[0], want[0])
            assert_same(got[1], want[1])


def test_var_of_few_elements_matches_torch():
    for t in (torch.tensor([3.0]), torch.zeros(0), torch.tensor(2.5), torch.zeros(0, 3)):
        with pytest.warns(UserWarning):
            want = t.var(0) if t.dim() else t.var()
        got = from_torch(t).var(0) if t.dim() else from_torch(t).var()
        assert_same(got, want)
    with pytest.warns(UserWarning):
        want = torch.tensor([1.0, 2.0]).var(correction=5)
    assert_same(from_torch(torch.tensor([1.0, 2.0])).var(correction=5), want)


def test_var_is_accurate_with_a_large_mean():
    # A one-pass sum of squares would lose every digit here.
    t = torch.tensor([1e8 + 1, 1e8 + 2, 1e8 + 3, 1e8 + 4], dtype=torch.float64)
    assert from_torch(t).var().item() == pytest.approx(5 / 3, rel=1e-12)
    f = torch.full((10000,), 1e4) + torch.arange(10000) % 2
    assert from_torch(f).var().item() == pytest.approx(f.double().var().item(), rel=1e-6)


def test_norm_forms_match_torch():
    t = torch.linspace(-3, 2, 12).view(3, 4)
    v = from_torch(t)
    assert_same(v.norm(), t.norm())
    assert_same(vt.norm(v, "fro", dim=(0, 1)), torch.norm(t, "fro", dim=(0, 1)))
    assert_same(vt.norm(v, p=None, dim=1), torch.norm(t, p=None, dim=1))
    assert_same(v.norm(dim=0, p=1.5, keepdim=True), t.norm(dim=0, p=1.5, keepdim=True))
    assert_same(v.norm(2, dtype=vt.float64), t.norm(2, dtype=torch.float64))
    assert_same(from_torch(torch.tensor([0.0, 2.0, 0.0, NAN])).norm(0), torch.tensor([0.0, 2.0, 0.0, NAN]).norm(0))
    with pytest.raises(NotImplementedError, match="nuc"):
        v.norm("nuc")


def test_all_any_results_and_empty_dims():
    u = torch.tensor([[0, 3], [2, 1]], dtype=torch.uint8)
    assert_same(from_torch(u).all(), u.all())  # uint8 in, uint8 out
    assert_same(vt.any(from_torch(u), 1), torch.any(u, 1))
    f = torch.tensor([[NAN, 0.0], [0.5, -1.0]])
    assert_same(from_torch(f).all(1), f.all(1))
    assert_same(vt.all(from_torch(f), dim=()), torch.all(f, dim=()))
    assert_same(vt.any(from_torch(torch.zeros(0, 2))), torch.any(torch.zeros(0, 2)))
    assert_same(vt.all(from_torch(torch.zeros(0, 2))), torch.all(torch.zeros(0, 2)))


def test_empty_reductions_give_identities():
    e = torch.zeros(0, 3)
    v = from_torch(e)
    assert_same(v.sum(), e.sum())
    assert_same(v.prod(), e.prod())
    assert_same(v.to(vt.int32).prod(), e.int().prod())
    assert_same(v.mean(), e.mean())  # nan
    assert_same(v.mean(0), e.mean(0))
    assert_same(v.norm(), e.norm())
    assert_same(v.logsumexp(0), e.logsumexp(0))
    assert_same(v.sum(0, keepdim=True), e.sum(0, keepdim=True))


def test_integer_results_and_dtype_argument():
    i8 = torch.tensor([100, 100, 3], dtype=torch.int8)
    v = from_torch(i8)
    assert_same(v.sum(), i8.sum())  # int64, no wrap
    assert_same(v.prod(), i8.prod())
    assert_same(v.prod(dtype=vt.int8), i8.prod(dtype=torch.int8))  # wraps like torch
    assert_same(v.cumsum(0), i8.cumsum(0))
    assert_same(v.cumsum(0, dtype=vt.int8), i8.cumsum(0, dtype=torch.int8))
    assert_same(v.cumprod(0, dtype=vt.float32), i8.cumprod(0, dtype=torch.float32))
    b = torch.tensor([True, False, True])
    assert_same(from_torch(b).sum(), b.sum())
    assert_same(from_torch(b).cumsum(0), b.cumsum(0))
    assert_same(from_torch(b).logsumexp(0), b.logsumexp(0))
    assert_same(from_torch(b).max(), b.max())


def test_float32_sum_accumulates_wider_than_torch_promises():
    # 2^24 + many ones: float32 accumulation would stall at 2^24.
    t = torch.ones(1 << 20)
    t[0], t[1] = float(1 << 24), 0.0
    total = (1 << 24) + (1 << 20) - 2  # even, so exact in float32
    assert from_torch(t).sum().item() == float(total)
    assert from_torch(t).mean().item() == pytest.approx(total / (1 << 20), rel=1e-7)


def test_results_are_new_tensors_and_inputs_are_untouched():
    t = torch.linspace(-1, 1, 12).view(3, 4)
    v = from_torch(t)
    version = v._version
    for r in (v.sum(0), v.amax(0), v.cumsum(1), v.var(1), v.logsumexp(1), v.max(0).values):
        assert r.data_ptr() != v.data_ptr()
    assert v._version == version
    assert_same(v, t)


@pytest.mark.parametrize("threads", [1, 3])
def test_results_do_not_depend_on_thread_count(threads):
    t = torch.rand(700, 900, dtype=torch.float64)
    old = vt.get_num_threads()
    vt.set_num_threads(threads)
    try:
        v = from_torch(t)
        assert_same(v.sum(), t.sum())
        assert_same(v.var(0), t.var(0))
        assert_same(v.max(1).indices, t.max(1).indices)
        assert_same(v.logsumexp(0), t.logsumexp(0))
    finally:
        vt.set_num_threads(old)


def test_reduction_results_round_trip_through_torch():
    t = torch.rand(5, 7)
    assert torch.equal(to_torch(from_torch(t).amax(1)), t.amax(1))


# ---- torch.norm's argument order: out before dtype -------------------------------------------

_N = torch.tensor([[3.0, -4.0, 1.0], [0.5, 2.0, -2.0]])


@pytest.mark.parametrize("call", [
    lambda m, x: m.norm(x, 2, 1, False, None, m.float64),
    lambda m, x: m.norm(x, p=1, dim=0, keepdim=True, dtype=m.float64),
    lambda m, x: m.norm(x, "fro", None, False, m.empty(())),
    lambda m, x: m.norm(x, 2, 1, True, out=m.empty(2, 1)),
    lambda m, x: x.norm(2, 1, False, m.float64),
], ids=["dtype_sixth", "keywords", "out_fifth", "out_keyword", "method_dtype_fourth"])
def test_norm_takes_torch_positions_and_keywords(call):
    assert_same(call(vt, from_torch(_N)), call(torch, _N))


def test_norm_out_is_written_and_returned():
    out = vt.empty(2)
    assert vt.norm(from_torch(_N), 2, 1, out=out) is out
    assert_same(out, torch.norm(_N, 2, 1))
    _raises_like_torch(lambda: vt.norm(from_torch(_N), out=vt.empty((), dtype=vt.float64)),
                       lambda: torch.norm(_N, out=torch.empty((), dtype=torch.float64)),
                       "Expected out tensor to have dtype float32, but got float64")
    with pytest.raises(NotImplementedError, match="resizing out= tensors is not implemented"):
        vt.norm(from_torch(_N), out=vt.empty(3))


def test_large_reductions_release_the_gil_while_they_compute():
    x = vt.rand(1 << 26)  # a scan of 64M elements: tens to hundreds of milliseconds
    python_end, op_end = python_work_during(lambda: vt.cumsum(x, 0))
    assert python_end < op_end - 0.02
