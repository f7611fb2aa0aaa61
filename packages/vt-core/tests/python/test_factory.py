"""Factories beyond the op table: torch's length and dtype rules, fill-value overflow, size
forms, preserve_format layouts of the *_like functions, the default dtype, tensor() inference,
and bad input (torch's exception types)."""

from __future__ import annotations

import numpy as np
import pytest
import vt.core as vt
from reference import assert_same

torch = pytest.importorskip("torch")


def exact(got, want, check_stride=False):
    assert_same(got, want, check_stride=check_stride, rtol=0, atol=0)


def both(call):
    return call(vt), call(torch)


# --------------------------------------------------------------------------------------------
# arange and linspace follow torch's per-dtype arithmetic exactly
# --------------------------------------------------------------------------------------------

ARANGE = {
    # int64 truncates the bounds first and counts in integers; other dtypes count in double.
    "int64_float_end": lambda m: m.arange(0, 5.5, dtype=m.int64),
    "int32_float_end": lambda m: m.arange(0, 5.5, dtype=m.int32),
    "int32_truncated_step": lambda m: m.arange(0, 1, 0.3, dtype=m.int32),
    "int64_float_start": lambda m: m.arange(0.5, 5, dtype=m.int64),
    "int32_float_step": lambda m: m.arange(-0.5, 5, 1.5, dtype=m.int32),
    "int64_float_step": lambda m: m.arange(0, 10, 2.5, dtype=m.int64),
    "int32_float_step_2": lambda m: m.arange(0, 10, 2.5, dtype=m.int32),
    "uint8_wraps": lambda m: m.arange(-3, 3, dtype=m.uint8),
    "inexact_length": lambda m: m.arange(1, 2.3, 0.1),
    "float16_tenths": lambda m: m.arange(0, 1, 0.1, dtype=m.float16),
    "bfloat16_rounding": lambda m: m.arange(1000, 1010, dtype=m.bfloat16),
    "tiny_range": lambda m: m.arange(0, 1e-300),
    "huge_int": lambda m: m.arange(0, 10**18, 10**17, dtype=m.int64),
    "int64_extremes": lambda m: m.arange(2**63 - 3, 2**63 - 1),
    "bool_start": lambda m: m.arange(True),
}


@pytest.mark.parametrize("call", ARANGE.values(), ids=ARANGE.keys())
def test_arange_matches_torch_exactly(call):
    exact(*both(call))


LINSPACE = {
    "float16": lambda m: m.linspace(0, 1, 11, dtype=m.float16),
    "bfloat16": lambda m: m.linspace(0, 1, 11, dtype=m.bfloat16),
    "bfloat16_wide": lambda m: m.linspace(1, 1000, 5, dtype=m.bfloat16),
    "float32": lambda m: m.linspace(0, 1, 11),
    "float64": lambda m: m.linspace(-1, 1, 15, dtype=m.float64),
    "int_truncates": lambda m: m.linspace(-5.7, 3.2, 6, dtype=m.int32),
    "uint8": lambda m: m.linspace(0, 255, 7, dtype=m.uint8),
    "int_decreasing": lambda m: m.linspace(10, 0, 7, dtype=m.int64),
    "one_step": lambda m: m.linspace(2, 9, 1),
    "constant": lambda m: m.linspace(3, 3, 4),
    "infinite_end": lambda m: m.linspace(0, float("inf"), 3),
    "keywords": lambda m: m.linspace(start=0, end=4, steps=3, dtype=m.float64),
}


@pytest.mark.parametrize("call", LINSPACE.values(), ids=LINSPACE.keys())
def test_linspace_matches_torch_exactly(call):
    exact(*both(call))


def test_eye_forms():
    for call in (lambda m: m.eye(3), lambda m: m.eye(n=2, m=4, dtype=m.int8), lambda m: m.eye(0),
                 lambda m: m.eye(4, 0, dtype=m.bool)):
        exact(*both(call), check_stride=True)


# --------------------------------------------------------------------------------------------
# full and fill values: torch's overflow rules
# --------------------------------------------------------------------------------------------

FILL_OK = {
    "uint8_negative_wraps": lambda m: m.full((2,), -1, dtype=m.uint8),
    "uint8_most_negative": lambda m: m.full((2,), -255, dtype=m.uint8),
    "float_truncates_to_int": lambda m: m.full((2,), -2.9, dtype=m.int64),
    "float16_max": lambda m: m.full((2,), -65504.0, dtype=m.float16),
    "float16_inf": lambda m: m.full((2,), float("-inf"), dtype=m.float16),
    "bfloat16_rounds": lambda m: m.full((2,), 1e5, dtype=m.bfloat16),
    "bool_from_nan": lambda m: m.full((2,), float("nan"), dtype=m.bool),
    "float32_inf": lambda m: m.full((2,), float("inf"), dtype=m.float32),
    "int64_near_limit": lambda m: m.full((2,), 9.2e18, dtype=m.int64),
    "full_like_keeps_dtype": lambda m: m.full_like(m.zeros(3, dtype=m.int32), 2.7),
    "full_like_bool_value": lambda m: m.full_like(m.zeros(3), True),
    "full_like_dtype": lambda m: m.full_like(m.zeros(3, dtype=m.int32), 7, dtype=m.float16),
}


@pytest.mark.parametrize("call", FILL_OK.values(), ids=FILL_OK.keys())
def test_fill_values_torch_accepts(call):
    exact(*both(call))


FILL_OVERFLOW = {
    "uint8_300": lambda m: m.full((2,), 300, dtype=m.uint8),
    "uint8_minus_256": lambda m: m.full((2,), -256, dtype=m.uint8),
    "uint8_negative_float": lambda m: m.full((1,), -0.5, dtype=m.uint8),
    "uint8_fraction_above": lambda m: m.full((1,), 255.5, dtype=m.uint8),
    "int8_below": lambda m: m.full((1,), -128.5, dtype=m.int8),
    "int32_big_float": lambda m: m.full((2,), 1e10, dtype=m.int32),
    "int64_nan": lambda m: m.full((2,), float("nan"), dtype=m.int64),
    "int64_inf": lambda m: m.full((1,), float("inf"), dtype=m.int64),
    "int64_beyond": lambda m: m.full((1,), 9.3e18, dtype=m.int64),
    "float32_beyond": lambda m: m.full((2,), 1e300, dtype=m.float32),
    "float16_beyond": lambda m: m.full((2,), 65519.0, dtype=m.float16),
    "float16_int_beyond": lambda m: m.full((2,), -100000, dtype=m.float16),
    "bfloat16_beyond": lambda m: m.full((2,), 3.4e38, dtype=m.bfloat16),
    "full_like_uint8": lambda m: m.full_like(m.zeros(3, dtype=m.uint8), 300),
}


@pytest.mark.parametrize("call", FILL_OVERFLOW.values(), ids=FILL_OVERFLOW.keys())
def test_fill_values_that_overflow_raise_like_torch(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match="without overflow"):
        call(vt)


# --------------------------------------------------------------------------------------------
# Size forms and the default dtype
# --------------------------------------------------------------------------------------------

SIZE_FORMS = {
    "size_keyword": lambda m: m.zeros(size=(2, 3)),
    "size_keyword_list": lambda m: m.ones(size=[4], dtype=m.int16),
    "empty_size_keyword": lambda m: m.empty(size=(0, 2)).shape,
    "rand_size_keyword": lambda m: m.rand(size=(2, 3)).shape,
    "full_list": lambda m: m.full([2, 2], 1.5),
    "full_empty_size": lambda m: m.full([], 3),
}


@pytest.mark.parametrize("call", SIZE_FORMS.values(), ids=SIZE_FORMS.keys())
def test_size_forms_like_torch(call):
    got, want = both(call)
    if isinstance(want, torch.Tensor):
        exact(got, want, check_stride=True)
    else:
        assert tuple(got) == tuple(want)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_factories_follow_the_default_dtype(dtype):
    calls = [lambda m: m.zeros(2), lambda m: m.ones(2), lambda m: m.empty(2), lambda m: m.full((2,), 1.5),
             lambda m: m.arange(0.0, 2.0), lambda m: m.linspace(0, 1, 3), lambda m: m.eye(2),
             lambda m: m.rand(2), lambda m: m.randn(2), lambda m: m.normal(0.0, 1.0, (2,)),
             lambda m: m.tensor([1.5]), lambda m: m.full((2,), 3), lambda m: m.arange(3)]
    before_vt, before_torch = vt.get_default_dtype(), torch.get_default_dtype()
    try:
        vt.set_default_dtype(getattr(vt, dtype))
        torch.set_default_dtype(getattr(torch, dtype))
        for call in calls:
            got, want = both(call)
            assert got.dtype.name == str(want.dtype).removeprefix("torch.")
    finally:
        vt.set_default_dtype(before_vt)
        torch.set_default_dtype(before_torch)


# --------------------------------------------------------------------------------------------
# *_like: torch's preserve_format
# --------------------------------------------------------------------------------------------

LAYOUTS = {
    "contiguous": lambda m: m.zeros(3, 4),
    "transposed": lambda m: m.zeros(4, 6).t(),
    "sliced_transposed": lambda m: m.zeros(4, 6)[:, ::2].t(),
    "permuted": lambda m: m.zeros(2, 3, 4).permute(2, 0, 1),
    "permuted_sliced": lambda m: m.zeros(2, 3, 4).permute(2, 0, 1)[::2],
    "size_one_dim": lambda m: m.zeros(4, 1, 3).permute(1, 2, 0),
    "expanded": lambda m: m.zeros(3, 4).expand(2, 3, 4),
    "expanded_inner": lambda m: m.zeros(3, 1).expand(3, 4),
    "equal_strides": lambda m: m.zeros(1, 5).expand(3, 5).t(),
    "zero_size": lambda m: m.zeros(0, 3).t(),
    "0-dim": lambda m: m.zeros(()),
}
LIKE = {
    "empty_like": lambda m, x: m.empty_like(x),
    "zeros_like": lambda m, x: m.zeros_like(x),
    "ones_like": lambda m, x: m.ones_like(x, dtype=m.int16),
    "full_like": lambda m, x: m.full_like(x, 2.5),
    "rand_like": lambda m, x: m.rand_like(x),
    "randn_like": lambda m, x: m.randn_like(x, dtype=m.float64),
    "randint_like": lambda m, x: m.randint_like(x, 3, 9),
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("like", LIKE.values(), ids=LIKE.keys())
def test_like_functions_preserve_the_layout_like_torch(like, layout):
    got, want = like(vt, layout(vt)), like(torch, layout(torch))
    assert (got.shape, got.stride(), got.dtype.name) == (tuple(want.shape), want.stride(),
                                                         str(want.dtype).removeprefix("torch."))
    if like not in (LIKE["empty_like"], LIKE["rand_like"], LIKE["randn_like"], LIKE["randint_like"]):
        exact(got, want)


def test_like_functions_take_device_and_do_not_alias():
    x = vt.ones(3)
    y = vt.zeros_like(x, device="cpu")
    y.fill_(5)
    assert x.tolist() == [1.0, 1.0, 1.0] and y.device == vt.device("cpu")
    e = vt.empty_like(x)
    assert e.data_ptr() != x.data_ptr()


# --------------------------------------------------------------------------------------------
# tensor(): dtype inference and range checks
# --------------------------------------------------------------------------------------------

TENSOR = {
    "numpy_float64_in_list": lambda m: m.tensor([np.float64(1.5), 2]),
    "numpy_float32_and_int": lambda m: m.tensor([np.float32(1.5), 2]),
    "numpy_int32_and_int": lambda m: m.tensor([np.int32(1), 2]),
    "numpy_int32_only": lambda m: m.tensor([np.int32(1), np.int32(2)]),
    "numpy_float16_and_int": lambda m: m.tensor([np.float16(1), 2]),
    "numpy_bool_and_bool": lambda m: m.tensor([np.bool_(True), False]),
    "list_of_arrays": lambda m: m.tensor([np.array([1, 2], dtype=np.int16), np.array([3, 4], dtype=np.int16)]),
    "0d_tensor_dtype": lambda m: m.tensor([m.tensor(1.5, dtype=m.float64), 2]),
    "uint8_wraps_negative": lambda m: m.tensor([-1, -129, -255], dtype=m.uint8),
    "float_to_int_in_range": lambda m: m.tensor([2.9, -3.9], dtype=m.int8),
    "float16_overflow_is_inf": lambda m: m.tensor([1e5], dtype=m.float16),
    "float32_overflow_is_inf": lambda m: m.tensor([1e300], dtype=m.float32),
    "bool_from_any": lambda m: m.tensor([2, 0], dtype=m.bool),
}


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays:UserWarning")
@pytest.mark.parametrize("call", TENSOR.values(), ids=TENSOR.keys())
def test_tensor_matches_torch(call):
    exact(*both(call))


@pytest.mark.parametrize("call", [
    lambda m: m.tensor([-256], dtype=m.uint8),
    lambda m: m.tensor([-0.5], dtype=m.uint8),
    lambda m: m.tensor([300.0], dtype=m.uint8),
    lambda m: m.tensor([1e20], dtype=m.int64),
    lambda m: m.tensor([float("nan")], dtype=m.int32),
    lambda m: m.tensor([float("inf")], dtype=m.int16),
    lambda m: m.tensor([200], dtype=m.int8),
], ids=["uint8_-256", "uint8_-0.5", "uint8_300.0", "int64_1e20", "int32_nan", "int16_inf", "int8_200"])
def test_tensor_overflow_raises_like_torch(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match="without overflow"):
        call(vt)


# --------------------------------------------------------------------------------------------
# Bad input raises torch's exception type with a message naming the problem
# --------------------------------------------------------------------------------------------

BAD = {
    "zeros_negative": (lambda m: m.zeros(-1), RuntimeError, "negative dimension"),
    "ones_size_and_keyword": (lambda m: m.ones(2, size=(3,)), TypeError, "size"),
    "zeros_float_in_size": (lambda m: m.zeros(2, 3.0), TypeError, "float"),
    "zeros_bool_size": (lambda m: m.zeros(True), TypeError, "bool"),
    "full_int_size": (lambda m: m.full(2, 1.0), TypeError, "size"),
    "full_negative": (lambda m: m.full((-1,), 2), RuntimeError, "negative dimension"),
    "arange_zero_step": (lambda m: m.arange(0, 10, 0), RuntimeError, "step must be nonzero"),
    "arange_wrong_sign": (lambda m: m.arange(10, 0, 3), RuntimeError, "lower bound inconsistent"),
    "arange_inf": (lambda m: m.arange(0, float("inf")), RuntimeError, "unsupported range"),
    "arange_bool": (lambda m: m.arange(5, dtype=m.bool), NotImplementedError, "bool"),
    "arange_int64_step_truncates_to_zero": (lambda m: m.arange(0, 1, 0.3, dtype=m.int64), ValueError,
                                            "step must be nonzero"),
    "linspace_negative_steps": (lambda m: m.linspace(0, 1, -1), RuntimeError, "non-negative"),
    "linspace_float_steps": (lambda m: m.linspace(0, 1, 2.5), TypeError, "incompatible function arguments"),
    "linspace_bool": (lambda m: m.linspace(0, 1, 3, dtype=m.bool), NotImplementedError, "bool"),
    "eye_negative_n": (lambda m: m.eye(-1), RuntimeError, "n must be greater or equal to 0"),
    "eye_negative_m": (lambda m: m.eye(2, -1), RuntimeError, "m must be greater or equal to 0"),
    "zeros_like_not_tensor": (lambda m: m.zeros_like([1, 2]), TypeError, "Tensor"),
    "full_like_string": (lambda m: m.full_like(m.zeros(2), "a"), TypeError, "str"),
    "empty_like_string_dtype": (lambda m: m.empty_like(m.zeros(2), dtype="float32"), TypeError, "dtype"),
}


@pytest.mark.parametrize("call, error, match", BAD.values(), ids=BAD.keys())
def test_bad_input_raises_like_torch(call, error, match):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error, match=match):
        call(vt)


# --------------------------------------------------------------------------------------------
# result_type takes each of torch's keyword forms
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m: m.result_type(tensor=m.ones(2, dtype=m.int32), other=2.5),
    lambda m: m.result_type(m.ones(2, dtype=m.int32), other=m.ones(1, dtype=m.int64)),
    lambda m: m.result_type(scalar=2, tensor=m.ones(2, dtype=m.float16)),
    lambda m: m.result_type(scalar1=2, scalar2=True),
    lambda m: m.result_type(scalar1=2, scalar2=3.5),
    lambda m: m.result_type(True, m.ones(2, dtype=m.uint8)),
], ids=["tensor_other", "tensor_other_tensor", "scalar_tensor", "scalars_int_bool", "scalars_int_float",
        "positional"])
def test_result_type_keywords_match_torch(call):
    got, want = both(call)
    assert got.name == str(want).removeprefix("torch.")
