"""isclose, allclose and equal (vt/torch/_comparison.py) against torch: infinities, NaN,
integer and bool inputs, broadcasting, torch's keywords and its errors."""

from __future__ import annotations

import math

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

INF, NAN = math.inf, math.nan

PAIRS = {
    "infinities": ([1.0, INF, -INF, INF, -INF, 1e30, NAN, 0.0], [INF, INF, -INF, -INF, 5.0, INF, NAN, -0.0]),
    "near": ([1.0, 1.0, 100.0, 1e-9, 0.0], [1.0 + 1e-6, 1.01, 100.001, 0.0, 1e-7]),
    "large": ([1e8, 3e38, -3e38], [1e8 + 1, INF, -3e38]),
}


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("kwargs", [{}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 1e-2}, {"atol": 1.0, "equal_nan": True},
                                    {"rtol": 0.0, "atol": 0.0, "equal_nan": True}])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_isclose_matches_torch(pair, kwargs, dtype):
    a, b = (torch.tensor(v, dtype=getattr(torch, dtype)) for v in PAIRS[pair])
    got = vtorch.isclose(input=from_torch(a), other=from_torch(b), **kwargs)
    assert_same(got, torch.isclose(input=a, other=b, **kwargs))
    assert vtorch.allclose(from_torch(a), from_torch(b), **kwargs) == torch.allclose(a, b, **kwargs)


def test_an_infinity_is_close_only_to_itself():
    one, inf = vtorch.tensor([1.0]), vtorch.tensor([INF])
    assert not vtorch.isclose(one, inf).item() and not vtorch.isclose(inf, one).item()
    assert not vtorch.isclose(inf, -inf).item() and vtorch.isclose(inf, inf).item()
    assert not vtorch.allclose(one, inf) and not torch.allclose(torch.tensor([1.0]), torch.tensor([INF]))


@pytest.mark.parametrize("values, kwargs", [
    (([0, 5, 7], [3, 0, 7]), {"atol": 3}),  # integers differ without wrapping around
    (([200, 5], [0, 250]), {"rtol": 0.5}),
    (([True, False], [False, False]), {"atol": 1}),
    (([1, 2], [1, 3]), {}),
])
@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "bool"])
def test_isclose_of_integers_and_bools_matches_torch(values, kwargs, dtype):
    a, b = (torch.tensor(v).to(getattr(torch, dtype)) for v in values)
    assert_same(vtorch.isclose(from_torch(a), from_torch(b), **kwargs), torch.isclose(a, b, **kwargs))


def test_isclose_broadcasts_like_torch():
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([[1.0], [2.0]])
    assert_same(vtorch.isclose(from_torch(a), from_torch(b)), torch.isclose(a, b))
    assert vtorch.allclose(from_torch(a), from_torch(b)) == torch.allclose(a, b)


@pytest.mark.parametrize("call, error, match", [
    (lambda m: m.isclose(m.tensor([1, 2]), m.tensor([1.0, 2.0])), RuntimeError, "Long did not match Float"),
    (lambda m: m.allclose(m.tensor([1.0], dtype=m.float64), m.tensor([1.0])), RuntimeError,
     "Double did not match Float"),
    (lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0]), rtol=-1), RuntimeError, "rtol must be greater"),
    (lambda m: m.isclose(m.tensor([1.0]), m.tensor([1.0]), atol=-1), RuntimeError, "atol must be greater"),
    (lambda m: m.isclose(m.tensor([1.0]), 1.0), TypeError, "argument 'other' \\(position 2\\) must be Tensor"),
    (lambda m: m.equal([1.0], m.tensor([1.0])), TypeError, "argument 'input' \\(position 1\\) must be Tensor"),
], ids=["dtype_mismatch", "allclose_dtype_mismatch", "negative_rtol", "negative_atol", "number_other", "list_input"])
def test_bad_input_raises_like_torch(call, error, match):
    with pytest.raises(error, match=match):
        call(torch)
    with pytest.raises(error, match=match):
        call(vtorch)


@pytest.mark.parametrize("a, b", [
    ([1.0, 2.0], [1.0, 2.0]), ([1.0, NAN], [1.0, NAN]), ([1.0, 2.0], [[1.0, 2.0]]), ([0.0], [-0.0]),
    ([1, 2], [1.0, 2.0]), ([INF], [INF]), ([], []),
])
def test_equal_matches_torch(a, b):
    ta, tb = torch.tensor(a), torch.tensor(b)
    want = torch.equal(input=ta, other=tb)
    assert vtorch.equal(input=from_torch(ta), other=from_torch(tb)) is want
    assert from_torch(ta).equal(other=from_torch(tb)) is ta.equal(other=tb) is want
