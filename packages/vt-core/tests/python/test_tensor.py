"""Tensor creation, properties, numpy interop, Python conversions, repr, factories and dtype
conversions, each checked against torch."""

import gc
import math

import numpy as np
import pytest
import vt.core as vt
from reference import assert_same, from_torch, to_torch

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan

# Every dtype vt supports, by name (vt.<name> and torch.<name> both exist).
ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
NUMPY_DTYPES = [d for d in ALL_DTYPES if d != "bfloat16"]


def exact(actual, expected, **kw):
    assert_same(actual, expected, rtol=0, atol=0, **kw)


# --------------------------------------------------------------------------------------------
# vt.tensor(): dtype inference and the dtype= argument
# --------------------------------------------------------------------------------------------

TENSOR_DATA = {
    "bools": [True, False, True],
    "bools_2d": [[True], [False]],
    "ints": [1, -2, 3],
    "ints_2d": [[1, 2], [3, 4]],
    "ints_3d": [[[1], [2]], [[3], [4]]],
    "big_int": [2**62, -(2**62)],
    "floats": [1.5, -2.25, 0.1],
    "floats_2d": [[0.5, 1.0], [1e-3, 1e30]],
    "float_specials": [INF, -INF, NAN, -0.0],
    "int_and_float": [1, 2.5],
    "bool_and_int": [True, 2],
    "bool_and_float": [True, 2.5],
    "nested_mixed": [[1, 2.0], [True, 3]],
    "tuple": (1, 2, 3),
    "nested_tuples": ((1.0, 2.0), (3.0, 4.0)),
    "empty": [],
    "empty_2d": [[]],
    "empty_2x0": [[], []],
    "numpy_scalars_in_list": [np.int64(3), 4],
}

SCALARS = {"int": 3, "negative_int": -7, "float": 2.5, "bool": True, "false": False, "big_int": 2**40}


@pytest.mark.parametrize("data", TENSOR_DATA.values(), ids=TENSOR_DATA.keys())
def test_tensor_infers_dtype_from_lists_like_torch(data):
    exact(vt.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("value", SCALARS.values(), ids=SCALARS.keys())
def test_tensor_from_python_scalar_is_0d(value):
    exact(vt.tensor(value), torch.tensor(value))


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_tensor_from_0d_numpy_array_is_0d(dtype):
    arr = np.array(1, dtype=dtype)
    exact(vt.tensor(arr), torch.tensor(arr))


NUMPY_SCALARS = [
    pytest.param(getattr(np, d)(1), id=d)
    for d in ["bool_", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
]


@pytest.mark.parametrize("value", NUMPY_SCALARS)
def test_tensor_from_numpy_scalar_keeps_dtype(value):
    exact(vt.tensor(value), torch.tensor(value))


def test_tensor_from_list_of_0d_tensors():
    exact(vt.tensor([vt.zeros(()) + 1.5, 2.0]), torch.tensor([torch.tensor(1.5), 2.0]))


def test_tensor_int_overflow_raises():
    with pytest.raises(ValueError):
        torch.tensor([2**63])
    with pytest.raises(ValueError):
        vt.tensor([2**63])


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 0), (1, 2, 3)], ids=str)
def test_tensor_from_numpy_keeps_dtype(dtype, shape):
    arr = (np.arange(int(np.prod(shape))).reshape(shape) * 3 - 2).astype(dtype)
    exact(vt.tensor(arr), torch.tensor(arr))


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_tensor_from_non_contiguous_numpy(dtype):
    arr = np.arange(24).reshape(4, 6).astype(dtype).T[::2]
    t = vt.tensor(arr)
    exact(t, torch.tensor(arr))
    assert t.is_contiguous()


def test_tensor_copies_numpy_memory():
    arr = np.arange(4.0)
    t = vt.tensor(arr)
    arr[0] = 100.0
    exact(t, torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64))


def test_tensor_of_a_tensor_copies():
    a = vt.tensor([1.0, 2.0])
    b = vt.tensor(a)
    b.fill_(5)
    exact(a, torch.tensor([1.0, 2.0]))
    assert not b._is_view_of(a)


DTYPE_ARG_DATA = {"ints": [1, 0, 3], "floats": [[1.5, -2.5], [0.25, 7.0]], "bools": [True, False]}
# Negative float -> uint8 is undefined behaviour in C++ (and so in torch): not compared.
DTYPE_ARG_CASES = [(k, d) for k in DTYPE_ARG_DATA for d in ALL_DTYPES if (k, d) != ("floats", "uint8")]


@pytest.mark.parametrize("data, dtype", DTYPE_ARG_CASES, ids=[f"{k}-{d}" for k, d in DTYPE_ARG_CASES])
def test_tensor_dtype_argument(data, dtype):
    data = DTYPE_ARG_DATA[data]
    exact(vt.tensor(data, dtype=getattr(vt, dtype)), torch.tensor(data, dtype=getattr(torch, dtype)))


def test_tensor_float64_dtype_argument_keeps_precision():
    exact(vt.tensor([0.1, 1 / 3], dtype=vt.float64), torch.tensor([0.1, 1 / 3], dtype=torch.float64))


def test_tensor_dtype_argument_overflow_raises():
    with pytest.raises(RuntimeError, match="overflow"):
        torch.tensor([300], dtype=torch.int8)
    with pytest.raises(RuntimeError, match="overflow"):
        vt.tensor([300], dtype=vt.int8)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

# Each case builds the same tensor with m = torch or m = vt.
PROPERTY_CASES = {
    "0d": lambda m: m.zeros(()),
    "1d": lambda m: m.arange(5),
    "2d_f16": lambda m: m.zeros(2, 3, dtype=m.float16),
    "3d_f64": lambda m: m.ones(2, 3, 4, dtype=m.float64),
    "bool": lambda m: m.zeros(3, 1, dtype=m.bool),
    "bf16": lambda m: m.zeros(4, 2, dtype=m.bfloat16),
    "empty": lambda m: m.zeros(2, 0, 3),
    "transposed": lambda m: m.zeros(2, 3).t(),
    "sliced": lambda m: m.arange(24).reshape(4, 6)[1:, ::2],
    "expanded": lambda m: m.zeros(3, 1).expand(3, 4),
    "size1_dims": lambda m: m.zeros(1, 3, 1).transpose(0, 2),
    "permuted": lambda m: m.zeros(2, 3, 4, dtype=m.int16).permute(2, 0, 1),
}


@pytest.mark.parametrize("make", PROPERTY_CASES.values(), ids=PROPERTY_CASES.keys())
def test_properties_match_torch(make):
    t, ref = make(vt), make(torch)
    assert t.shape == tuple(ref.shape)
    assert t.size() == tuple(ref.size())
    assert [t.size(d) for d in range(-t.dim(), t.dim())] == [ref.size(d) for d in range(-ref.dim(), ref.dim())]
    assert t.stride() == ref.stride()
    assert [t.stride(d) for d in range(t.dim())] == [ref.stride(d) for d in range(ref.dim())]
    assert t.numel() == ref.numel() and t.nelement() == ref.nelement()
    assert t.dim() == ref.dim() and t.ndim == ref.ndim
    assert t.element_size() == ref.element_size() and t.itemsize == ref.itemsize
    assert t.nbytes == ref.nbytes
    assert t.is_contiguous() == ref.is_contiguous()
    assert t.storage_offset() == ref.storage_offset()
    assert t.is_floating_point() == ref.is_floating_point()
    assert t.dtype.name == str(ref.dtype).removeprefix("torch.")
    assert t.dtype.itemsize == ref.dtype.itemsize
    assert t.dtype.is_floating_point == ref.dtype.is_floating_point
    assert t.dtype.is_signed == ref.dtype.is_signed
    assert t.is_cpu and not t.is_cuda
    assert str(t.device) == "cpu"


# --------------------------------------------------------------------------------------------
# numpy(): zero-copy views
# --------------------------------------------------------------------------------------------

NUMPY_VIEW_CASES = {
    "contiguous": lambda m: m.arange(12, dtype=m.float32).reshape(3, 4),
    "transposed": lambda m: m.arange(12, dtype=m.float32).reshape(3, 4).t(),
    "sliced_with_offset": lambda m: m.arange(30, dtype=m.int32).reshape(5, 6)[1:, 2::2],
    "selected_row": lambda m: m.arange(12, dtype=m.int64).reshape(3, 4)[2],
    "0d_element": lambda m: m.arange(12, dtype=m.float64).reshape(3, 4)[1, 2],
}


@pytest.mark.parametrize("make", NUMPY_VIEW_CASES.values(), ids=NUMPY_VIEW_CASES.keys())
def test_numpy_shares_memory_both_ways(make):
    t, ref = make(vt), make(torch)
    arr, ref_arr = t.numpy(), ref.numpy()
    assert arr.dtype == ref_arr.dtype
    assert arr.shape == ref_arr.shape
    assert arr.strides == ref_arr.strides
    np.testing.assert_array_equal(arr, ref_arr)
    # numpy -> tensor: writing through the array is visible in the tensor (and its base).
    arr[...] = -1
    ref_arr[...] = -1
    exact(t, ref)
    # tensor -> numpy: an in-place op on the tensor is visible in the array.
    t.fill_(7)
    ref.fill_(7)
    np.testing.assert_array_equal(arr, ref_arr)
    assert arr.__array_interface__["data"][0] == t.data_ptr()


def test_numpy_write_is_visible_in_base_through_offset_view():
    base, ref_base = vt.arange(12).reshape(3, 4), torch.arange(12).reshape(3, 4)
    base[1:, 1::2].numpy()[0, 1] = 99
    ref_base[1:, 1::2].numpy()[0, 1] = 99
    exact(base, ref_base)


def test_numpy_array_keeps_the_memory_alive():
    arr = vt.arange(1000).numpy()
    gc.collect()
    vt.zeros(1000, dtype=vt.int64).fill_(-5)  # reuse freed memory if it were freed
    np.testing.assert_array_equal(arr, np.arange(1000))


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_numpy_dtype_matches_torch(dtype):
    t = vt.ones(2, 3, dtype=getattr(vt, dtype))
    assert t.numpy().dtype == torch.ones(2, 3, dtype=getattr(torch, dtype)).numpy().dtype


def test_numpy_of_bfloat16_raises_type_error():
    with pytest.raises(TypeError):
        torch.zeros(2, dtype=torch.bfloat16).numpy()
    with pytest.raises(TypeError, match="BFloat16"):
        vt.zeros(2, dtype=vt.bfloat16).numpy()


# --------------------------------------------------------------------------------------------
# Python conversions: item, tolist, bool, float, int, len, index
# --------------------------------------------------------------------------------------------

ONE_ELEMENT = {
    "0d_int": lambda m: m.tensor([7])[0],
    "0d_float": lambda m: m.tensor([-2.75])[0],
    "0d_bool": lambda m: m.tensor([True])[0],
    "1d_float": lambda m: m.tensor([0.5]),
    "2d_int": lambda m: m.tensor([[-3]]),
    "f16": lambda m: m.tensor([1.0009765625], dtype=m.float16),
    "bf16": lambda m: m.tensor([3.140625], dtype=m.bfloat16),
    "f64": lambda m: m.tensor(np.array([0.1])),
    "uint8": lambda m: m.tensor([255], dtype=m.uint8),
    "int8": lambda m: m.tensor([-128], dtype=m.int8),
    "int64_max": lambda m: m.tensor([2**63 - 1]),
    "neg_float": lambda m: m.tensor([-2.7]),
    "zero_float": lambda m: m.tensor([0.0]),
    "nan": lambda m: m.tensor([NAN]),
    "from_view": lambda m: m.arange(6).reshape(2, 3).t()[2, 1],
}


@pytest.mark.parametrize("make", ONE_ELEMENT.values(), ids=ONE_ELEMENT.keys())
def test_scalar_conversions_match_torch(make):
    t, ref = make(vt), make(torch)
    item, ref_item = t.item(), ref.item()
    assert type(item) is type(ref_item)
    assert item == ref_item or (math.isnan(item) and math.isnan(ref_item))
    assert bool(t) == bool(ref)
    f = float(t)
    assert f == float(ref) or (math.isnan(f) and math.isnan(float(ref)))
    if not (ref.is_floating_point() and math.isnan(ref.item())):
        assert int(t) == int(ref)
        assert type(int(t)) is int


@pytest.mark.parametrize("value, error", [(NAN, ValueError), (INF, OverflowError)])
def test_int_of_nonfinite_raises_like_torch(value, error):
    with pytest.raises(error):
        int(torch.tensor([value]))
    with pytest.raises(error):
        int(vt.tensor([value]))


def test_index_protocol():
    assert list(range(vt.tensor([3])[0])) == list(range(torch.tensor(3)))
    assert [10, 20, 30][vt.tensor([-1])[0]] == 30
    with pytest.raises(TypeError):
        [1, 2][torch.tensor(1.0)]
    with pytest.raises(TypeError):
        [1, 2][vt.tensor([1.0])[0]]


TOLIST_CASES = {
    **ONE_ELEMENT,
    "ints_2d": lambda m: m.arange(6).reshape(2, 3),
    "transposed": lambda m: m.arange(6).reshape(2, 3).t(),
    "sliced": lambda m: m.arange(20, dtype=m.float32).reshape(4, 5)[1:, ::2],
    "expanded": lambda m: m.tensor([True, False]).expand(3, 2),
    "empty": lambda m: m.zeros(2, 0),
    "empty_1d": lambda m: m.zeros(0, dtype=m.int32),
    "0d": lambda m: m.ones(()),
    "f16": lambda m: m.tensor([0.1, 65504.0, -INF], dtype=m.float16),
    "bf16_2d": lambda m: m.tensor([[1.5, -3.0], [1e20, 0.0]], dtype=m.bfloat16),
}


@pytest.mark.parametrize("make", TOLIST_CASES.values(), ids=TOLIST_CASES.keys())
def test_tolist_matches_torch(make):
    got, want = make(vt).tolist(), make(torch).tolist()
    assert repr(got) == repr(want)  # repr also compares the Python types (int/float/bool) and NaNs


@pytest.mark.parametrize("make", [lambda m: m.zeros(4), lambda m: m.zeros(2, 3).t(), lambda m: m.zeros(0, 5)])
def test_len_matches_torch(make):
    assert len(make(vt)) == len(make(torch))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m: m.tensor([1, 2]).item(), RuntimeError, "2 elements"),
        (lambda m: len(m.zeros(())), TypeError, "0-d"),
        (lambda m: bool(m.tensor([1, 2])), RuntimeError, "ambiguous"),
        (lambda m: bool(m.zeros(0)), RuntimeError, "ambiguous"),
        (lambda m: m.zeros(0).item(), RuntimeError, "0 elements"),
        (lambda m: int(m.tensor([1, 2])), (RuntimeError, ValueError), "element"),
    ],
    ids=["item_of_2", "len_of_0d", "bool_of_2", "bool_of_empty", "item_of_empty", "int_of_2"],
)
def test_scalar_conversion_errors(call, error, match):
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error, match=match):
        call(vt)


def test_float_of_two_elements_raises_value_error():
    with pytest.raises(ValueError):
        float(torch.zeros(2))
    with pytest.raises(ValueError):
        float(vt.zeros(2))


# --------------------------------------------------------------------------------------------
# repr
# --------------------------------------------------------------------------------------------

REPR_CASES = {
    "ints": lambda m: m.tensor([1, -20, 300]),
    "int32_2d": lambda m: m.tensor([[1, 2], [3, 4]], dtype=m.int32),
    "uint8": lambda m: m.tensor([0, 7, 255], dtype=m.uint8),
    "floats": lambda m: m.tensor([1.5, -2.25, 0.1]),
    "float_ints": lambda m: m.tensor([1.0, 2.0, -3.0]),
    "float_sci": lambda m: m.tensor([1e-8, 1.0, 1e10]),
    "float_special": lambda m: m.tensor([INF, -INF, NAN, 0.5]),
    "float64": lambda m: m.tensor(np.array([0.1, 0.25])),
    "float16": lambda m: m.tensor([1.5, -2.25, 0.1], dtype=m.float16),
    "bfloat16": lambda m: m.tensor([1.5, -2.25, 3.0], dtype=m.bfloat16),
    "bool": lambda m: m.tensor([True, False, True]),
    "bool_2d": lambda m: m.tensor([[True], [False]]),
    "2d": lambda m: m.arange(12, dtype=m.float32).reshape(3, 4) / 7,
    "3d": lambda m: m.arange(24).reshape(2, 3, 4),
    "empty": lambda m: m.zeros(0),
    "empty_2d_int": lambda m: m.zeros(2, 0, dtype=m.int64),
    "empty_f16": lambda m: m.zeros(0, 3, dtype=m.float16),
    "0d": lambda m: m.ones(()) * 2.5,
    "0d_int": lambda m: m.arange(3)[1],
    "transposed": lambda m: m.arange(6, dtype=m.float32).reshape(2, 3).t(),
    "sliced": lambda m: m.arange(30).reshape(5, 6)[1::2, ::3],
    "expanded": lambda m: m.tensor([1.5, 2.0]).expand(3, 2),
    "long_1d": lambda m: m.arange(2000),
}


@pytest.mark.parametrize("make", REPR_CASES.values(), ids=REPR_CASES.keys())
def test_repr_matches_torch(make):
    assert repr(make(vt)) == repr(make(torch)).replace("torch.", "vt.")


# --------------------------------------------------------------------------------------------
# Factories
# --------------------------------------------------------------------------------------------

SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 1, 1, 2)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_ones_match_torch(name, shape, dtype):
    exact(getattr(vt, name)(shape, dtype=getattr(vt, dtype)), getattr(torch, name)(shape, dtype=getattr(torch, dtype)),
          check_stride=True)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_empty_shape_dtype_stride(shape, dtype):
    t, ref = vt.empty(shape, dtype=getattr(vt, dtype)), torch.empty(shape, dtype=getattr(torch, dtype))
    assert (t.shape, t.stride(), t.dtype.name, t.is_contiguous()) == (
        tuple(ref.shape), ref.stride(), str(ref.dtype)[6:], ref.is_contiguous())


@pytest.mark.parametrize(
    "call",
    [lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3)), lambda m: m.zeros([2, 3]), lambda m: m.ones(4),
     lambda m: m.ones(()), lambda m: m.zeros(2, 3, dtype=m.int8)],
    ids=["varargs", "tuple", "list", "one_int", "0d", "dtype"],
)
def test_factory_size_forms(call):
    exact(call(vt), call(torch), check_stride=True)


FULL_CASES = {
    "float_value": lambda m: m.full((2, 3), 1.5),
    "int_value": lambda m: m.full((2,), 7),
    "negative_int": lambda m: m.full((3, 1), -2),
    "bool_value": lambda m: m.full((2, 2), True),
    "false": lambda m: m.full((1,), False),
    "inf": lambda m: m.full((2,), -INF),
    "nan": lambda m: m.full((2,), NAN),
    "0d": lambda m: m.full((), 3),
    "empty": lambda m: m.full((0, 2), 1.0),
    "dtype_f16": lambda m: m.full((2,), 7, dtype=m.float16),
    "dtype_int_from_float": lambda m: m.full((2,), -2.7, dtype=m.int32),
    "dtype_bool_from_float": lambda m: m.full((2,), 0.5, dtype=m.bool),
    "dtype_bf16": lambda m: m.full((2,), 1.0 / 3, dtype=m.bfloat16),
    "dtype_f64": lambda m: m.full((2,), 0.1, dtype=m.float64),
    "big_int": lambda m: m.full((1,), 2**62),
}


@pytest.mark.parametrize("make", FULL_CASES.values(), ids=FULL_CASES.keys())
def test_full_matches_torch(make):
    exact(make(vt), make(torch), check_stride=True)


ARANGE_CASES = {
    "end": lambda m: m.arange(5),
    "start_end": lambda m: m.arange(-3, 3),
    "step": lambda m: m.arange(1, 10, 3),
    "negative_step": lambda m: m.arange(10, 0, -3),
    "empty": lambda m: m.arange(0),
    "empty_range": lambda m: m.arange(5, 5),
    "float_end": lambda m: m.arange(4.0),
    "float_step": lambda m: m.arange(0, 1, 0.1),
    "float_step_inexact": lambda m: m.arange(0, 2.3, 0.3),
    "float_negative_step": lambda m: m.arange(5.0, -1.0, -1.5),
    "int_start_float_step": lambda m: m.arange(1, 2.5, 0.5),
    "dtype_f64": lambda m: m.arange(0, 5, dtype=m.float64),
    "dtype_f64_step": lambda m: m.arange(0, 1, 0.1, dtype=m.float64),
    "dtype_int32": lambda m: m.arange(-4, 4, 2, dtype=m.int32),
    "dtype_f16": lambda m: m.arange(0, 8, dtype=m.float16),
    "dtype_bf16": lambda m: m.arange(0, 300, 7, dtype=m.bfloat16),
    "dtype_uint8": lambda m: m.arange(250, 256, dtype=m.uint8),
    "big": lambda m: m.arange(10000),
}


@pytest.mark.parametrize("make", ARANGE_CASES.values(), ids=ARANGE_CASES.keys())
def test_arange_matches_torch(make):
    exact(make(vt), make(torch))


# --------------------------------------------------------------------------------------------
# dtype conversions
# --------------------------------------------------------------------------------------------

SOURCES = {
    "floats": lambda m: m.tensor([0.0, -0.0, 1.5, -1.5, 2.7, -2.7, 100.25, -99.9, 0.49]),
    "specials": lambda m: m.tensor([INF, -INF, NAN, 1e-45, 3.4e38, 65519.0, 65520.0, 1.00390625, 1.01171875]),
    "f64": lambda m: m.tensor(np.array([0.1, 1 / 3, 1e300, -1e-300, 2.0**-30])),
    "ints": lambda m: m.tensor([0, 1, -1, 127, -128, 255, 300, -300, 70000, 2**40 + 1]),
    "small_ints": lambda m: m.tensor([0, 1, 2, 100, 127], dtype=m.int8),
    "uint8": lambda m: m.tensor([0, 1, 200, 255], dtype=m.uint8),
    "bools": lambda m: m.tensor([True, False, True]),
    "f16": lambda m: m.tensor([0.1, -65504.0, 1.5, INF], dtype=m.float16),
    "bf16": lambda m: m.tensor([0.1, -3e38, 1.5, -INF], dtype=m.bfloat16),
    "transposed": lambda m: m.tensor([[1.25, -2.5], [3.75, -4.0]]).t(),
}


def _defined(src, dst):
    """C++ (and so torch) leaves NaN, infinite and out-of-range float -> integer conversions
    undefined; those pairs are not compared."""
    if dst == "bool" or dst.startswith(("float", "bfloat")) or src in ("ints", "small_ints", "uint8", "bools"):
        return True
    if src in ("specials", "f64", "f16", "bf16"):
        return False
    return dst != "uint8"  # "floats" and "transposed" hold negative values


CONVERSIONS = [(s, d) for s in SOURCES for d in ALL_DTYPES if _defined(s, d)]


@pytest.mark.parametrize("src, dst", CONVERSIONS, ids=[f"{s}-to-{d}" for s, d in CONVERSIONS])
def test_to_dtype_matches_torch(src, dst):
    t, ref = SOURCES[src](vt), SOURCES[src](torch)
    exact(t.to(getattr(vt, dst)), ref.to(getattr(torch, dst)), check_stride=True)
    exact(t.to(dtype=getattr(vt, dst)), ref.to(dtype=getattr(torch, dst)), check_stride=True)


SHORTHANDS = ["float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool"]


@pytest.mark.parametrize("method", SHORTHANDS)
@pytest.mark.parametrize("src", ["floats", "ints", "bools", "transposed"])
def test_conversion_shorthands_match_torch(src, method):
    t, ref = SOURCES[src](vt), SOURCES[src](torch)
    if method == "byte" and src in ("floats", "transposed"):
        t, ref = t * t, ref * ref  # negative float -> uint8 is undefined
    exact(getattr(t, method)(), getattr(ref, method)(), check_stride=True)


def test_to_same_dtype_returns_self_and_copy_true_copies():
    t, ref = vt.arange(4.0), torch.arange(4.0)
    assert t.to(vt.float32).data_ptr() == t.data_ptr()
    assert ref.to(torch.float32).data_ptr() == ref.data_ptr()
    assert t.float().data_ptr() == t.data_ptr()
    copied = t.to(vt.float32, copy=True)
    assert copied.data_ptr() != t.data_ptr() and not copied._is_view_of(t)
    exact(copied, ref.to(torch.float32, copy=True))


def test_conversions_that_change_nothing_return_the_same_object_like_torch():
    t, ref = vt.arange(4.0), torch.arange(4.0)
    for convert in (lambda x: x.to("cpu"), lambda x: x.float(), lambda x: x.contiguous(), lambda x: x.cpu(),
                    lambda x: x.to(x), lambda x: x.to(device="cpu", dtype=x.dtype)):
        assert convert(ref) is ref
        assert convert(t) is t
    assert t.double() is not t and t.t().contiguous() is not t
    assert t.to("cpu", copy=True) is not t


def test_to_other_dtype_does_not_alias():
    t = vt.arange(4)
    f = t.float()
    f.fill_(9)
    exact(t, torch.arange(4))


def test_to_accepts_a_tensor_and_a_device():
    t = vt.tensor([1.5, -2.5])
    exact(t.to(vt.zeros(1, dtype=vt.int16)), torch.tensor([1.5, -2.5]).to(torch.zeros(1, dtype=torch.int16)))
    exact(t.to("cpu", vt.float64), torch.tensor([1.5, -2.5]).to("cpu", torch.float64))
    exact(t.to(device=vt.device("cpu")), torch.tensor([1.5, -2.5]))


# --------------------------------------------------------------------------------------------
# default dtype
# --------------------------------------------------------------------------------------------


@pytest.fixture
def restore_default_dtype():
    vt_before, torch_before = vt.get_default_dtype(), torch.get_default_dtype()
    yield
    vt.set_default_dtype(vt_before)
    torch.set_default_dtype(torch_before)


def test_default_dtype_starts_as_float32():
    assert vt.get_default_dtype() is vt.float32
    assert torch.get_default_dtype() is torch.float32


DEFAULT_DTYPE_USERS = {
    "tensor_list": lambda m: m.tensor([0.1, 2.0]),
    "tensor_mixed": lambda m: m.tensor([1, 0.5]),
    "tensor_ints": lambda m: m.tensor([1, 2]),
    "zeros": lambda m: m.zeros(2),
    "ones": lambda m: m.ones(2, 1),
    "full_float": lambda m: m.full((2,), 0.1),
    "full_int": lambda m: m.full((2,), 3),
    "arange_float": lambda m: m.arange(0.0, 1.0, 0.25),
    "arange_int": lambda m: m.arange(3),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make", DEFAULT_DTYPE_USERS.values(), ids=DEFAULT_DTYPE_USERS.keys())
def test_default_dtype_round_trip(make, dtype, restore_default_dtype):
    vt.set_default_dtype(getattr(vt, dtype))
    torch.set_default_dtype(getattr(torch, dtype))
    assert vt.get_default_dtype() is getattr(vt, dtype)
    exact(make(vt), make(torch))


# --------------------------------------------------------------------------------------------
# The reference helpers themselves (every other comparison relies on them)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_torch_round_trip_helpers(dtype):
    ref = torch.tensor([[0.0, 1.0, -2.0], [3.5, 100.0, 1.0]]).to(getattr(torch, dtype)).t()
    t = from_torch(ref)
    assert_same(t, ref, rtol=0, atol=0, check_stride=True)  # the transposed layout carries over
    back = to_torch(t.t())
    assert back.dtype == ref.dtype and torch.equal(back, ref.t())
    with pytest.raises(AssertionError):
        assert_same(t, ref.to(torch.float64) if dtype != "float64" else ref.to(torch.float32))
    with pytest.raises(AssertionError):
        assert_same(t.t(), ref, check_stride=False)  # shapes differ
    if ref.numel() and dtype != "bool":
        with pytest.raises(AssertionError):
            assert_same(t, ref + 1)


# --------------------------------------------------------------------------------------------
# Methods called with torch's keywords and defaults: type, copy_, expand
# --------------------------------------------------------------------------------------------

TYPE_NAMES = {"bool": "BoolTensor", "uint8": "ByteTensor", "int8": "CharTensor", "int16": "ShortTensor",
              "int32": "IntTensor", "int64": "LongTensor", "float16": "HalfTensor", "bfloat16": "BFloat16Tensor",
              "float32": "FloatTensor", "float64": "DoubleTensor"}


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_type_without_arguments_names_the_tensor_type(dtype):
    want = torch.zeros(2, dtype=getattr(torch, dtype)).type()
    assert want == f"torch.{TYPE_NAMES[dtype]}"
    got = vt.zeros(2, dtype=getattr(vt, dtype)).type()
    assert got == want.replace("torch.", "vt.")  # vt's names carry vt's prefix, as its dtypes do
    assert vt.zeros(2, dtype=getattr(vt, dtype)).type(non_blocking=True) == got


@pytest.mark.parametrize("target", ["float64", "int32", "bool"])
def test_type_converts_by_dtype_or_type_name_like_torch(target):
    t = torch.tensor([[1.5, -2.0], [0.0, 3.25]])
    x = from_torch(t)
    name = TYPE_NAMES[target]
    want = t.type(getattr(torch, target))
    exact(x.type(getattr(vt, target)), want)
    exact(x.type(dtype=getattr(vt, target), non_blocking=False),
          t.type(dtype=getattr(torch, target), non_blocking=False))
    exact(x.type(f"torch.{name}"), t.type(f"torch.{name}"))
    exact(x.type(f"vt.{name}"), want)
    exact(x.type(x.type(getattr(vt, target)).type()), want)  # a type name round-trips


def test_type_returns_the_tensor_itself_when_nothing_changes():
    t, x = torch.ones(2), vt.ones(2)
    assert t.type(torch.float32) is t and t.type("torch.FloatTensor") is t
    assert x.type(vt.float32) is x and x.type("vt.FloatTensor") is x and x.type("torch.FloatTensor") is x


def test_type_rejects_unknown_names_like_torch():
    for name in ("float", "torch.Float", "torch.FloatTensorX"):
        with pytest.raises(ValueError, match=f"invalid type: '{name}'"):
            torch.ones(2).type(name)
        with pytest.raises(ValueError, match=f"invalid type: '{name}'"):
            vt.ones(2).type(name)
    with pytest.raises(TypeError):
        vt.ones(2).type(3)


def test_type_to_a_cuda_name_moves_the_tensor_as_to_does():
    x = vt.ones(2)
    try:
        expected = x.to("cuda").to(vt.float64)
    except RuntimeError as e:  # no CUDA device plugin: the same error as to("cuda")
        with pytest.raises(RuntimeError, match=str(e)[:40]):
            x.type("vt.cuda.DoubleTensor")
        return
    got = x.type("torch.cuda.DoubleTensor")
    assert got.device == expected.device and got.type() == "vt.cuda.DoubleTensor"
    assert got.type("vt.FloatTensor").device == vt.device("cpu")


def test_copy_takes_torch_keywords():
    src_t = torch.arange(6.0).reshape(2, 3)
    for kwargs in ({"other": None}, {"non_blocking": True}, {"other": None, "non_blocking": False}):
        t, x = torch.zeros(2, 3), vt.zeros(2, 3)
        args_t = {k: (src_t if k == "other" else v) for k, v in kwargs.items()}
        args_x = {k: (from_torch(src_t) if k == "other" else v) for k, v in kwargs.items()}
        got = x.copy_(**args_x) if "other" in kwargs else x.copy_(from_torch(src_t), **args_x)
        want = t.copy_(**args_t) if "other" in kwargs else t.copy_(src_t, **args_t)
        assert got is x
        exact(got, want)
    x = vt.zeros(2)
    assert x.fill_(1.5) is x and x.zero_() is x and x.fill_(vt.tensor(2.0)) is x  # in place: self comes back
    with pytest.raises(TypeError):  # torch's keyword is other, not src
        torch.zeros(2).copy_(src=torch.ones(2))
    with pytest.raises(TypeError):
        vt.zeros(2).copy_(src=vt.ones(2))


@pytest.mark.parametrize("call", [
    lambda x: x.expand(2, 3, 4, implicit=True),
    lambda x: x.expand((2, 3, 4), implicit=False),
    lambda x: x.expand(size=(2, 3, 4)),
    lambda x: x.expand(size=[2, -1, -1], implicit=True),
], ids=["varargs_implicit", "tuple", "size_keyword", "size_keyword_minus1"])
def test_expand_takes_torch_keywords(call):
    t = torch.arange(12.0).reshape(3, 4)
    exact(call(from_torch(t)), call(t))
