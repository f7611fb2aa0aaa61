"""vt.torch.testing against torch.testing: the same inputs pass or fail in both, with the same
exception type and the same message."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
import vt.torch as vtorch
from vt.torch.testing import assert_close, make_tensor

NAN, INF = math.nan, math.inf

# Each case builds (actual, expected) with either library's factories, plus assert_close keywords.
CASES = {
    "float_mismatch": (lambda L: (L.tensor([1., 2, 3, 4]), L.tensor([1., 2.5, 3, 5])), {}),
    "float_match_within_tolerance": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2 + 1e-6])), {}),
    "matrix_index": (lambda L: (L.tensor([[1., 2], [3, 4]]), L.tensor([[1., 2.5], [3, 5]])), {}),
    "three_dim_index": (lambda L: (L.zeros(2, 3, 4), L.zeros(2, 3, 4).index_add(2, L.tensor([3]), L.ones(2, 3, 1))), {}),
    "int_mismatch": (lambda L: (L.tensor([1, 2, 3]), L.tensor([1, 2, 4])), {}),
    "int_equal": (lambda L: (L.tensor([1, 2, 3]), L.tensor([1, 2, 3])), {}),
    "bool_mismatch": (lambda L: (L.tensor([True, False]), L.tensor([True, True])), {}),
    "dtype_mismatch": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2], dtype=L.float64)), {}),
    "int_dtype_mismatch": (lambda L: (L.tensor([1, 2]), L.tensor([1, 2], dtype=L.int32)), {}),
    "shape_mismatch": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2, 3])), {}),
    "zero_dim": (lambda L: (L.tensor(1.), L.tensor(1.5)), {}),
    "zero_dim_int": (lambda L: (L.tensor(5), L.tensor(7)), {}),
    "nan_not_equal": (lambda L: (L.tensor([NAN]), L.tensor([NAN])), {}),
    "nan_equal_nan": (lambda L: (L.tensor([NAN]), L.tensor([NAN])), {"equal_nan": True}),
    "nan_mixed": (lambda L: (L.zeros(3), L.tensor([1., NAN, 0])), {}),
    "inf_equal": (lambda L: (L.tensor([1., INF]), L.tensor([1., INF])), {}),
    "inf_opposite": (lambda L: (L.tensor([1., INF]), L.tensor([1., -INF])), {}),
    "finite_vs_inf": (lambda L: (L.tensor([1., 1.]), L.tensor([1., INF])), {}),
    "near_zero": (lambda L: (L.tensor([0., 0]), L.tensor([1e-9, 1.])), {}),
    "large_values": (lambda L: (L.tensor([100000., 2.]), L.tensor([100001., 2])), {}),
    "explicit_tolerances_pass": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2.1])), {"rtol": 0.1, "atol": 0}),
    "explicit_zero_tolerance": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2 + 1e-6])), {"rtol": 0, "atol": 0}),
    "only_rtol": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2.1])), {"rtol": 0.1}),
    "only_atol": (lambda L: (L.tensor([1.]), L.tensor([1.])), {"atol": 1e-3}),
    "half_pass": (lambda L: (L.tensor([1., 2]).half(), L.tensor([1., 2.001]).half()), {}),
    "half_fail": (lambda L: (L.tensor([1., 2]).half(), L.tensor([1., 2.01]).half()), {}),
    "bfloat16_pass": (lambda L: (L.tensor([1., 2]).bfloat16(), L.tensor([1., 2.01]).bfloat16()), {}),
    "float64_fail": (lambda L: (L.tensor([1., 2], dtype=L.float64), L.tensor([1., 2 + 1e-6], dtype=L.float64)), {}),
    "promoted_dtypes": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2.1]).half()), {"check_dtype": False}),
    "promoted_int_float": (lambda L: (L.tensor([1, 2]), L.tensor([1., 2.5])), {"check_dtype": False}),
    "stride_mismatch": (lambda L: (L.zeros(2, 3).t(), L.zeros(3, 2)), {"check_stride": True}),
    "stride_ignored": (lambda L: (L.zeros(2, 3).t(), L.zeros(3, 2)), {}),
    "empty": (lambda L: (L.zeros(0), L.zeros(0)), {}),
    "custom_msg_pass": (lambda L: (L.tensor([1., 2]), L.tensor([1., 2])), {"msg": "custom"}),
    "custom_msg_fail": (lambda L: (L.tensor([1., 2]), L.tensor([1., 3])), {"msg": "custom"}),
    "callable_msg": (lambda L: (L.tensor([1., 2]), L.tensor([1., 3])), {"msg": lambda m: f"Header\n\n{m}\n\nFooter"}),
    "callable_msg_nested": (lambda L: ([L.tensor(1.), L.tensor([2., 3.])], [L.tensor(1.), L.tensor([2., 4.])]),
                            {"msg": lambda m: m.upper()}),
    "float_numbers": (lambda L: (1.0, 1.5), {}),
    "float_numbers_close": (lambda L: (1.0, 1.0 + 1e-9), {}),
    "int_numbers": (lambda L: (1, 2), {}),
    "int_vs_float": (lambda L: (1, 1.0), {}),
    "int_vs_float_unchecked": (lambda L: (1, 1.0), {"check_dtype": False}),
    "nan_number": (lambda L: (1.0, NAN), {}),
    "nan_numbers_equal_nan": (lambda L: (NAN, NAN), {"equal_nan": True}),
    "inf_numbers": (lambda L: (INF, INF), {}),
    "complex_numbers": (lambda L: (1 + 1j, 1 + 2j), {}),
    "zero_expected_number": (lambda L: (1e-3, 0.0), {}),
    "bools": (lambda L: (True, False), {}),
    "bools_equal": (lambda L: (True, True), {}),
    "nones": (lambda L: (None, None), {}),
    "none_vs_number": (lambda L: (None, 1), {}),
    "sequence_item": (lambda L: ([L.tensor(1.), L.tensor(2.)], [L.tensor(1.), L.tensor(2.5)]), {}),
    "tuple_vs_list": (lambda L: ((L.tensor(1.), 2), [L.tensor(1.), 2]), {}),
    "mapping_item": (lambda L: ({"a": L.tensor(1.), "b": L.tensor(2.)}, {"a": L.tensor(1.), "b": L.tensor(3.)}), {}),
    "nested_path": (lambda L: ({"x": [1, {"y": L.tensor([1., 2.])}]}, {"x": [1, {"y": L.tensor([1., 5.])}]}), {}),
    "sequence_lengths": (lambda L: ([1, 2], [1, 2, 3]), {}),
    "mapping_keys": (lambda L: ({"a": 1, "c": 2}, {"b": 1, "c": 2}), {}),
    "structure_error_ignores_msg": (lambda L: ([1, 2], [1, 2, 3]), {"msg": "custom"}),
    "tolerance_error_in_sequence": (lambda L: ([1.0, 2.0], [1.0, 2.0]), {"rtol": 1e-3}),
    "numbers_in_sequences": (lambda L: ([1, 2.0, True], [1, 2.5, True]), {}),
}

# Messages that name Python types differ in the class names only (vt.core._C.Tensor vs torch.Tensor).
TYPE_ERROR_CASES = {
    "tensor_vs_list": lambda L: (L.tensor([1., 2]), [1., 2]),
    "tensor_vs_number": lambda L: (L.tensor([1.]), 1.0),
    "strings": lambda L: ("a", "a"),
}


def _outcome(assert_fn, actual, expected, kwargs):
    try:
        assert_fn(actual, expected, **kwargs)
    except Exception as error:
        return type(error), str(error)
    return None, None


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_outcome_and_message_as_torch(name):
    build, kwargs = CASES[name]
    expected_type, expected_msg = _outcome(torch.testing.assert_close, *build(torch), kwargs)
    actual_type, actual_msg = _outcome(assert_close, *build(vtorch), kwargs)
    assert actual_type is expected_type, f"{name}: vt raised {actual_type}, torch raised {expected_type}"
    if expected_msg is not None:
        assert actual_msg.splitlines() == expected_msg.splitlines()


@pytest.mark.parametrize("name", sorted(TYPE_ERROR_CASES))
def test_unsupported_input_types_are_type_errors(name):
    with pytest.raises(TypeError, match="No comparison pair was able to handle inputs of type"):
        torch.testing.assert_close(*TYPE_ERROR_CASES[name](torch))
    with pytest.raises(TypeError, match="No comparison pair was able to handle inputs of type"):
        assert_close(*TYPE_ERROR_CASES[name](vtorch))


def test_allow_subclasses_false_refuses_a_parameter_against_a_tensor():
    p = vtorch.nn.Parameter(vtorch.ones(2))
    assert_close(p, vtorch.ones(2))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(p, vtorch.ones(2), allow_subclasses=False)


def test_tensors_that_require_grad_compare_by_value():
    a = vtorch.tensor([1.0, 2.0], requires_grad=True)
    assert_close(a * 2, vtorch.tensor([2.0, 4.0]))


def test_numpy_arrays_compare_like_tensors():
    np = pytest.importorskip("numpy")
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 3.0]))


def test_large_tensor_mismatch_statistics():
    base = torch.randn(64, 128, generator=torch.Generator().manual_seed(0))
    noisy = base.clone()
    noisy[::3, ::5] += 1e-3
    expected_type, expected_msg = _outcome(torch.testing.assert_close, base, noisy, {})
    from reference import from_torch
    actual_type, actual_msg = _outcome(assert_close, from_torch(base), from_torch(noisy), {})
    assert actual_type is expected_type is AssertionError
    assert actual_msg.splitlines() == expected_msg.splitlines()


# make_tensor


@pytest.mark.parametrize("dtype_name, low, high", [
    ("float32", -9, 9), ("float64", -9, 9), ("float16", -9, 9), ("bfloat16", -9, 9),
    ("int64", -9, 10), ("int32", -9, 10), ("int8", -9, 10), ("uint8", 0, 10), ("bool", 0, 2)])
def test_make_tensor_default_ranges(dtype_name, low, high):
    t = make_tensor(2000, dtype=getattr(vtorch, dtype_name), device="cpu")
    assert t.shape == (2000,) and t.dtype == getattr(vtorch, dtype_name)
    values = t.to(vtorch.float64)
    assert values.min().item() >= low and values.max().item() < high
    if dtype_name != "bool":
        assert values.max().item() - values.min().item() > (high - low) / 2  # spread over the range
    else:
        assert 0 < values.sum().item() < 2000


def test_make_tensor_shapes_bounds_and_grad():
    assert make_tensor((2, 3), dtype=vtorch.float32, device="cpu").shape == (2, 3)
    assert make_tensor([4], dtype=vtorch.float32, device="cpu").shape == (4,)
    assert make_tensor(dtype=vtorch.float32, device="cpu").shape == ()
    t = make_tensor(1000, dtype=vtorch.float32, device="cpu", low=2.5, high=3.0, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert 2.5 <= t.min().item() and t.max().item() < 3.0
    ints = make_tensor(1000, dtype=vtorch.int64, device="cpu", low=-2.5, high=1.5)  # ceil: [-2, 2)
    assert set(ints.tolist()) == {-2, -1, 0, 1}
    huge = make_tensor(100, dtype=vtorch.float16, device="cpu", low=-1e9, high=1e9)  # clamped
    assert bool(huge.isfinite().all().item())


def test_make_tensor_noncontiguous_matches_torch_layout():
    t = make_tensor(3, 4, dtype=vtorch.float32, device="cpu", noncontiguous=True)
    r = torch.testing.make_tensor(3, 4, dtype=torch.float32, device="cpu", noncontiguous=True)
    assert t.shape == tuple(r.shape) and t.stride() == r.stride() and not t.is_contiguous()
    single = make_tensor(1, dtype=vtorch.float32, device="cpu", noncontiguous=True)
    assert single.is_contiguous()  # fewer than two elements: ignored, as in torch


def test_make_tensor_exclude_zero():
    for dtype in (vtorch.bool, vtorch.int64):
        t = make_tensor(500, dtype=dtype, device="cpu", low=0, high=2, exclude_zero=True)
        assert bool((t != 0).all().item())
    f = make_tensor(500, dtype=vtorch.float16, device="cpu", low=0, high=1e-7, exclude_zero=True)
    assert bool((f != 0).all().item())
    nc = make_tensor(4, 6, dtype=vtorch.int8, device="cpu", low=0, high=2, exclude_zero=True, noncontiguous=True)
    assert not nc.is_contiguous() and bool((nc == 1).all().item())


@pytest.mark.parametrize("kwargs", [
    {"dtype_name": "float32", "low": 3, "high": 1},
    {"dtype_name": "int64", "low": 2, "high": 2},
    {"dtype_name": "float32", "low": math.nan},
    {"dtype_name": "uint8", "low": -20, "high": -10},
    {"dtype_name": "int64", "requires_grad": True},
    {"dtype_name": "float32", "noncontiguous": True, "memory_format": "channels_last"},
])
def test_make_tensor_errors_match_torch(kwargs):
    kwargs = dict(kwargs)
    name = kwargs.pop("dtype_name")
    if kwargs.get("memory_format"):
        kwargs_torch = {**kwargs, "memory_format": torch.channels_last}
    else:
        kwargs_torch = kwargs
    with pytest.raises(ValueError) as torch_error:
        torch.testing.make_tensor(4, dtype=getattr(torch, name), device="cpu", **kwargs_torch)
    with pytest.raises(ValueError) as vt_error:
        make_tensor(4, dtype=getattr(vtorch, name), device="cpu", **kwargs)
    assert str(vt_error.value).split(",")[0].split(" but")[0] == str(torch_error.value).split(",")[0].split(" but")[0]


def test_make_tensor_memory_format_is_not_implemented():
    with pytest.raises(NotImplementedError, match="memory_format"):
        make_tensor(2, 2, dtype=vtorch.float32, device="cpu", memory_format="channels_last")


def test_reachable_as_torch_testing():
    assert vtorch.testing.assert_close is assert_close
    assert vtorch.testing.make_tensor is make_tensor
