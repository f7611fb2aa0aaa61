"""Elementwise ops beyond the op table: errors (torch's exception types), in-place and out=
semantics, Python operators, Python numbers as operands, and special values."""

from __future__ import annotations

import pytest
import torch
import vt.core as vt
from gil_probe import python_work_during
from reference import assert_same, from_torch, to_torch

T = torch.tensor
I = T([5, -3, 0, 7])
F = T([1.5, -2.5, float("nan"), 0.0])
B = T([True, False, True, False])


def _both(fn, *args, **kwargs):
    """fn applied to torch args and to their vt copies."""
    conv = [from_torch(a) if isinstance(a, torch.Tensor) else a for a in args]
    kw = {k: from_torch(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    return fn(torch, *args, **kwargs), fn(vt, *conv, **kw)


def _raises_like_torch(fn, *args, match=None, **kwargs):
    """fn raises in torch and in vt, with the same exception type; vt's message matches."""
    with pytest.raises(Exception) as want:
        fn(torch, *args, **kwargs)
    conv = [from_torch(a) if isinstance(a, torch.Tensor) else a for a in args]
    with pytest.raises(want.type, match=match):
        fn(vt, *conv, **kwargs)


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn,args", [
    (lambda m, a: m.abs(a), (B,)),
    (lambda m, a: m.floor(a), (B,)),
    (lambda m, a: m.bitwise_not(a), (F,)),
    (lambda m, a, b: m.bitwise_and(a, b), (I, F)),
    (lambda m, a: m.bitwise_or(a, 2.0), (I,)),
    (lambda m, a: a << 1, (F,)),
    (lambda m, a: m.nn.functional.gelu(a) if m is torch else m.gelu(a), (I,)),
    (lambda m, a: m.nn.functional.silu(a) if m is torch else m.silu(a), (I,)),
    (lambda m, a: m.round(a, decimals=1), (I,)),
    (lambda m, a: m.pow(a, a), (B,)),
    (lambda m, a: m.remainder(a, a), (B,)),
    (lambda m, a: m.div(a, a, rounding_mode="floor"), (B,)),
    (lambda m, a: m.lerp(a, a, 0.5), (I,)),
    (lambda m, a: m.addcmul(a, a, a), (B,)),
    (lambda m, a: m.clamp(a, False, True), (B,)),
])
def test_unsupported_dtypes_raise_not_implemented(fn, args):
    _raises_like_torch(fn, *args, match="not implemented for")


@pytest.mark.parametrize("fn", [
    lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    lambda m, a, b: m.floor_divide(a, b),
    lambda m, a, b: m.remainder(a, b),
    lambda m, a, b: m.fmod(a, b),
    lambda m, a, b: a // b,
    lambda m, a, b: a % b,
    lambda m, a, b: a // 0,
    lambda m, a, b: a.remainder_(0),
])
def test_integer_division_by_zero_raises(fn):
    _raises_like_torch(fn, I.clone(), T([1, 2, 0, 3]), match="ZeroDivisionError")


@pytest.mark.parametrize("fn,args,match", [
    (lambda m, a: a ** -1, (I,), "negative integer powers"),
    (lambda m, a: m.pow(a, -2), (B,), "negative integer powers"),
    (lambda m, a: m.relu(a), (B,), "Boolean inputs not supported for relu"),
    (lambda m, a: -a, (B,), "Negation"),
    (lambda m, a: a - a, (B,), "Subtraction"),
    (lambda m, a: m.clamp(a), (I,), "At least one of 'min' or 'max'"),
    (lambda m, a: m.clamp(a, min=None, max=None), (F,), "At least one of 'min' or 'max'"),
    (lambda m, a: m.where(a, a, a), (I,), "condition to be a boolean tensor"),
    (lambda m, a: m.lerp(a, a.double(), 0.5), (F,), "expected dtype .* for `end`"),
    (lambda m, a: m.lerp(a, a, a.double()), (F,), "expected dtype .* for `weight`"),
    (lambda m, a: m.addcdiv(a.float(), a, a), (I,), "Integer division with addcdiv"),
    (lambda m, a: (m.nn.functional.gelu if m is torch else m.gelu)(a, approximate="x"), (F,),
     "approximate argument must be either none or tanh"),
    (lambda m, a: m.div(a, a, rounding_mode="round"), (F,), "rounding_mode"),
    (lambda m, a: a.clone().div_(2), (I,), "can't be cast"),
    (lambda m, a: a.clone().sqrt_(), (I,), "can't be cast"),
    (lambda m, a: a.clone().eq_(a).add_(0.5), (I,), "can't be cast"),
    (lambda m, a: a[:3].clone().add_(a.reshape(2, 2)), (I,), "shape"),
    (lambda m, a: m.add(a, a, out=m.empty(4, dtype=m.int64)), (F,), "can't be cast"),
])
def test_bad_arguments_raise_like_torch(fn, args, match):
    _raises_like_torch(fn, *args, match=match)


@pytest.mark.parametrize("fn", [
    lambda m, a: m.maximum(a, 2),
    lambda m, a: m.atan2(a, 2),
    lambda m, a: m.logical_and(a, 1),
    lambda m, a: m.clamp(a, min=a, max=2),
    lambda m, a: m.add(a, "x"),
    lambda m, a: m.exp(3),
    lambda m, a: m.eq(a, a, out=3),
])
def test_wrong_argument_types_raise_type_error(fn):
    _raises_like_torch(fn, F)


def test_bitwise_on_float_is_a_runtime_error():
    # torch raises NotImplementedError, a RuntimeError, for every bitwise op on floats.
    for fn in (lambda t: t & t, lambda t: t | 1, lambda t: t ^ t, lambda t: ~t, lambda t: t >> 1):
        with pytest.raises(RuntimeError, match="not implemented for 'float32'"):
            fn(vt.ones(3))


# -- in-place and out= ----------------------------------------------------------------------

INPLACE = [
    ("abs_", ()), ("neg_", ()), ("sign_", ()), ("floor_", ()), ("ceil_", ()), ("trunc_", ()),
    ("round_", ()), ("exp_", ()), ("exp2_", ()), ("expm1_", ()), ("log1p_", ()), ("sqrt_", ()),
    ("rsqrt_", ()), ("reciprocal_", ()), ("sin_", ()), ("cos_", ()), ("tan_", ()),
    ("tanh_", ()), ("sigmoid_", ()), ("erf_", ()), ("relu_", ()), ("log_", ()), ("log2_", ()),
    ("nan_to_num_", ()), ("logical_not_", ()), ("clamp_", (-0.5, 0.5)), ("clamp_min_", (0.2,)),
    ("clamp_max_", (0.2,)), ("pow_", (2,)), ("pow_", ("t",)), ("floor_divide_", ("t",)),
    ("remainder_", (0.7,)), ("fmod_", ("t",)), ("atan2_", ("t",)), ("eq_", ("t",)),
    ("lt_", (0.1,)), ("ge_", ("t",)), ("logical_and_", ("t",)), ("logical_xor_", ("t",)),
    ("lerp_", ("t", 0.3)), ("lerp_", ("t", "t")), ("addcmul_", ("t", "t")),
    ("addcdiv_", ("t", "t")), ("mul_", ("t",)), ("div_", (3,)), ("clamp_", ("t", None)),
]


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}{a}" for n, a in INPLACE])
def test_inplace_returns_self_bumps_version_and_matches_torch(name, args):
    # A transposed self: in-place ops must write through its strides.
    base = torch.linspace(-1.7, 2.3, 12, dtype=torch.float64).view(3, 4).t()
    other = torch.linspace(0.4, 3.1, 12, dtype=torch.float64).view(4, 3)
    targs = [other if a == "t" else a for a in args]
    want = getattr(base.clone(), name)(*targs)
    x = from_torch(base)
    version, ptr = x._version, x.data_ptr()
    got = getattr(x, name)(*[from_torch(a) if isinstance(a, torch.Tensor) else a for a in targs])
    assert got is x
    assert x.data_ptr() == ptr and x._version > version
    assert_same(x, want, check_stride=True)


def test_div_inplace_with_rounding_mode_keeps_integers():
    want = I.clone().div_(T([2, -2, 3, -4]), rounding_mode="floor")
    x = from_torch(I)
    assert x.div_(from_torch(T([2, -2, 3, -4])), rounding_mode="floor") is x
    assert_same(x, want)


OUT = [
    ("exp", (), "float32"), ("abs", (), "float32"), ("sigmoid", (), "float64"),
    ("eq", ("t",), "float32"), ("lt", (0.5,), "int32"), ("logical_not", (), "int64"),
    ("logical_or", ("t",), "float32"), ("add", ("t",), "float64"), ("mul", (2,), "float32"),
    ("div", ("t",), "float64"), ("pow", (2,), "float32"), ("remainder", ("t",), "float32"),
    ("maximum", ("t",), "float32"), ("minimum", ("t",), "float32"), ("clamp", (-1, 1), "float32"),
    ("where", ("c", "t"), "float32"), ("lerp", ("t", 0.25), "float32"),
    ("addcmul", ("t", "t"), "float64"), ("round", (), "float32"), ("nan_to_num", (), "float32"),
    ("bitwise_and", ("i",), "int64"), ("atan2", ("t",), "float32"),
]


@pytest.mark.parametrize("name,args,out_dtype", OUT, ids=[o[0] + str(o[1]) for o in OUT])
def test_out_writes_the_given_tensor_and_returns_it(name, args, out_dtype):
    x = torch.linspace(-2, 2, 6).view(2, 3)
    ints = torch.tensor([[1, 2, 3], [4, 5, 6]])
    lookup = {"t": torch.linspace(0.5, 1.5, 6).view(2, 3), "c": x > 0, "i": ints}
    first = ints if name == "bitwise_and" else x
    if name == "where":
        first, args = lookup["c"], (x, "t")
    targs = [lookup.get(a, a) if isinstance(a, str) else a for a in args]
    out_t = torch.full((3, 2), 7, dtype=getattr(torch, out_dtype)).t()  # a transposed out
    want = getattr(torch, name)(first, *targs, out=out_t)
    out_v = from_torch(torch.full((3, 2), 7, dtype=getattr(torch, out_dtype)).t())
    version = out_v._version
    got = getattr(vt, name)(from_torch(first),
                            *[from_torch(a) if isinstance(a, torch.Tensor) else a for a in targs],
                            out=out_v)
    assert got is out_v and out_v._version > version
    assert_same(out_v, want, check_stride=True)


def test_out_with_number_operands():
    a = torch.arange(6).view(2, 3)
    for fn in (lambda m, o: m.add(a if m is torch else from_torch(a), 2.5, out=o),
               lambda m, o: m.pow(2, a if m is torch else from_torch(a), out=o),
               lambda m, o: m.clamp_min(a if m is torch else from_torch(a), 2.5, out=o)):
        want = fn(torch, torch.empty(2, 3))
        out = vt.empty(2, 3)
        assert fn(vt, out) is out
        assert_same(out, want)


# -- operators and numbers ------------------------------------------------------------------

def test_operators_return_bool_tensors_and_reflect():
    a = torch.tensor([[1, -2, 3], [4, 0, -6]])
    v = from_torch(a)
    for expr in (lambda t: t == 3, lambda t: t != 3, lambda t: t < 0, lambda t: t <= 0,
                 lambda t: t > 0, lambda t: t >= 1, lambda t: 2 < t, lambda t: t == t,
                 lambda t: abs(t), lambda t: ~t, lambda t: t ** 2, lambda t: 2 ** t,
                 lambda t: t // 4, lambda t: 7 // (t + 10), lambda t: t % 4, lambda t: -7 % (t + 10),
                 lambda t: t & 6, lambda t: 6 & t, lambda t: t | 8, lambda t: 8 ^ t, lambda t: t << 2,
                 lambda t: 1 << (t + 6), lambda t: t >> 1, lambda t: 64 >> (t + 6), lambda t: t ** 0.5,
                 lambda t: 2.5 ** t, lambda t: 1 - t, lambda t: 1 / (t + 10), lambda t: (t > 0) & (t < 4),
                 lambda t: (t > 0) | (t < -4), lambda t: (t > 0) ^ True):
        assert_same(expr(v), expr(a))


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^=",
                                "<<=", ">>="])
def test_augmented_assignment_keeps_the_object(op):
    dtype = torch.float64 if op == "/=" else torch.int64
    a = torch.tensor([[5, -3], [8, 2]], dtype=dtype)
    v = from_torch(a)
    alias, version = v, v._version
    scope = {"a": a, "v": v}
    exec(f"a {op} 3\nv {op} 3", scope)
    assert scope["v"] is alias and alias._version > version
    assert_same(alias, scope["a"])


def test_comparison_with_unsupported_objects_and_hashing():
    v = vt.ones(3)
    assert (v == None) is False and (v != "a") is True
    assert {v: 1}[v] == 1 and len({v, vt.ones(3)}) == 2 and hash(v) == hash(v)


def test_where_with_only_a_condition_gives_nonzero_indices():
    c = torch.tensor([[True, False, True], [False, True, True]])
    got, want = vt.where(from_torch(c)), torch.where(c)
    assert isinstance(got, tuple) and len(got) == len(want) == 2
    for g, w in zip(got, want):
        assert_same(g, w)


def test_numbers_as_first_operand_of_module_functions():
    a = torch.tensor([1, 2, 3])
    for fn in (lambda m, t: m.pow(2, t), lambda m, t: m.remainder(-7, t),
               lambda m, t: m.bitwise_left_shift(1, t), lambda m, t: m.bitwise_and(6, t),
               lambda m, t: m.add(2, t), lambda m, t: m.mul(1.5, t), lambda m, t: m.where(t > 1, 1, 0),
               lambda m, t: m.where(t > 1, 1.0, t), lambda m, t: m.where(t > 1, t, 2.5)):
        want, got = _both(fn, a)
        assert_same(got, want)


@pytest.mark.parametrize("fn", [
    lambda m, t: m.clamp(t, min=0.5),
    lambda m, t: m.clamp(t, max=m.tensor(2.5)),
    lambda m, t: m.clamp(t, min=m.tensor([0, 1, 2], dtype=m.float64)),
    lambda m, t: t.clamp_max(1.5),
    lambda m, t: m.maximum(t, m.tensor([1.5])),
    lambda m, t: t == 2.5,
    lambda m, t: t ** 2.0,
    lambda m, t: m.sigmoid(t),
    lambda m, t: m.addcmul(t, t, t, value=0.5),
    lambda m, t: m.addcmul(t.int(), t, t.short()),
    lambda m, t: m.div(t, 2, rounding_mode="floor"),
    lambda m, t: m.div(t, 2.5, rounding_mode="trunc"),
    lambda m, t: m.floor_divide(t.to(m.uint8), 3),
])
def test_promotion_matches_torch(fn):
    want, got = _both(fn, T([3, -1, 0]))
    assert_same(got, want)


# -- special values -------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("fn,args", [
    (lambda m, a, b: m.maximum(a, b), (T([NAN, 1.0, -0.0, 0.0]), T([1.0, NAN, 0.0, -0.0]))),
    (lambda m, a, b: m.minimum(a, b), (T([NAN, 1.0, -0.0, 0.0]), T([1.0, NAN, 0.0, -0.0]))),
    (lambda m, a: m.clamp(a, -1, 1), (T([NAN, INF, -INF, 0.5]),)),
    (lambda m, a: m.clamp(a, min=NAN), (T([1.0, -1.0]),)),
    (lambda m, a: m.sign(a), (T([NAN, -0.0, 0.0, -INF, 3.0]),)),
    (lambda m, a: m.round(a), (T([0.5, 1.5, 2.5, -0.5, -1.5, -2.5]),)),
    (lambda m, a: m.round(a, decimals=1), (T([0.25, 0.35, -1.45, 1234.5678]),)),
    (lambda m, a: m.round(a, decimals=-2), (T([1250.0, 1350.0, -49.9, 1e30]),)),
    (lambda m, a, b: m.remainder(a, b), (T([5.0, -5.0, 5.0, -0.0]), T([INF, INF, -INF, 3.0]))),
    (lambda m, a, b: m.fmod(a, b), (T([5.0, -5.0, 5.0, 1.0]), T([INF, 3.0, 0.0, -0.0]))),
    (lambda m, a, b: a // b, (T([7.5, -7.5, 1.0, -1.0, 0.0]), T([-0.5, 2.0, 0.0, 0.0, -3.0]))),
    (lambda m, a, b: m.div(a, b, rounding_mode="trunc"), (T([7.5, -7.5, 1.0]), T([2.0, 2.0, 0.0]))),
    (lambda m, a: m.nan_to_num(a), (T([NAN, INF, -INF, 1.0], dtype=torch.float16),)),
    (lambda m, a: m.nan_to_num(a), (T([NAN, INF, -INF, 1.0], dtype=torch.bfloat16),)),
    (lambda m, a: m.nan_to_num(a, posinf=1.0), (T([NAN, INF, -INF, 1.0], dtype=torch.float64),)),
    (lambda m, a: m.isinf(a), (T([INF, -INF, NAN, 65504.0], dtype=torch.float16),)),
    (lambda m, a: m.isfinite(a), (T([INF, -INF, NAN, 1.0], dtype=torch.bfloat16),)),
    (lambda m, a, b: m.bitwise_left_shift(a, b), (T([1, 1, 3, -1], dtype=torch.int8),
                                                  T([7, 8, -1, 100], dtype=torch.int8))),
    (lambda m, a, b: m.bitwise_right_shift(a, b), (T([-128, 127, -1, 5], dtype=torch.int8),
                                                   T([9, 8, -1, 1], dtype=torch.int8))),
    (lambda m, a, b: m.pow(a, b), (T([2, 1, -1, -1, 0, 3]), T([-1, -5, -3, -2, 0, 40]))),
    (lambda m, a: m.abs(a), (T([-128, 127, 0], dtype=torch.int8),)),
    (lambda m, a: m.pow(a, 2), (T([NAN, -INF, 0.5]),)),
    (lambda m, a: m.sigmoid(a), (T([-100.0, 100.0, NAN], dtype=torch.float16),)),
    (lambda m, a, b: m.lerp(a, b, 0.5), (T([1.0, NAN, -INF]), T([3.0, 1.0, INF]))),
    (lambda m, a: m.relu(a), (T([NAN, -INF, INF, -0.0]),)),
])
def test_special_values_match_torch(fn, args):
    want, got = _both(fn, *args)
    assert_same(got, want, rtol=0, atol=0) if want.is_floating_point() else assert_same(got, want)


def test_large_inputs_run_in_parallel_and_match():
    a = torch.randn(700, 900, generator=torch.Generator().manual_seed(0))
    b = torch.randn(900, generator=torch.Generator().manual_seed(1))
    for fn in (lambda m, x, y: m.where(x > y, x, y), lambda m, x, y: m.lerp(x, y.expand(700, 900), 0.7),
               lambda m, x, y: (x < y) | (x > 1), lambda m, x, y: m.remainder(x, y),
               lambda m, x, y: m.clamp(x, min=-y, max=y.abs())):
        want, got = _both(fn, a, b)
        assert_same(got, want)
    assert to_torch(vt.tanh(from_torch(a))).allclose(torch.tanh(a), rtol=1e-6, atol=1e-6)


# -- torch's keywords and defaults ----------------------------------------------------------

X = T([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]])
POS = T([[0.5, 1.5, 2.0], [3.0, 0.25, 1.0]])


@pytest.mark.parametrize("fn,args", [
    (lambda m, a: m.pow(a, exponent=2), (X,)),
    (lambda m, a: m.pow(input=a, exponent=3), (X,)),
    (lambda m, a, b: m.pow(a, exponent=b), (POS, X)),
    (lambda m, a: m.pow(self=2, exponent=a), (X,)),
    (lambda m, a: m.pow(self=2.5, exponent=a, out=m.empty(2, 3)), (X,)),
    (lambda m, a: a.pow(exponent=2), (X,)),
    (lambda m, a: a.clone().pow_(exponent=0.5), (POS,)),
    (lambda m, a: m.clamp_min(a, min=0.0), (X,)),
    (lambda m, a, b: m.clamp_min(input=a, min=b), (X, POS)),
    (lambda m, a: m.clamp_max(a, max=1.0), (X,)),
    (lambda m, a: m.clamp_max(a, max=1.0, out=m.empty(2, 3)), (X,)),
    (lambda m, a: a.clamp_min(min=0.0), (X,)),
    (lambda m, a: a.clamp_max(max=-1), (X,)),
    (lambda m, a: a.clone().clamp_min_(min=1.0), (X,)),
    (lambda m, a, b: a.clone().clamp_max_(max=b), (X, POS)),
    (lambda m, a: m.nan_to_num(a), (T([NAN, INF, -INF, 1.0]),)),
    (lambda m, a: m.nan_to_num(a, None, 5.0), (T([NAN, INF, -INF, 1.0]),)),
    (lambda m, a: m.nan_to_num(a, nan=None, neginf=-7.0), (T([NAN, INF, -INF, 1.0]),)),
    (lambda m, a: a.nan_to_num(nan=None), (T([NAN, INF, -INF, 1.0], dtype=torch.float16),)),
    (lambda m, a: a.clone().nan_to_num_(None, posinf=1.0), (T([NAN, INF, -INF, 1.0]),)),
], ids=["pow_exponent", "pow_input_exponent", "pow_tensor_exponent", "pow_self_number", "pow_self_out",
        "method_pow", "method_pow_", "clamp_min", "clamp_min_tensor", "clamp_max", "clamp_max_out",
        "method_clamp_min", "method_clamp_max", "method_clamp_min_", "method_clamp_max_", "nan_to_num_default",
        "nan_to_num_none", "nan_to_num_none_kw", "method_nan_to_num", "method_nan_to_num_"])
def test_torch_keywords_and_defaults(fn, args):
    want, got = _both(fn, *args)
    assert_same(got, want, rtol=0, atol=0)


def test_renamed_arguments_are_named_in_errors():
    for fn in (lambda m: m.pow(m.ones(2), "a"), lambda m: m.clamp_min(m.ones(2), "a"),
               lambda m: m.ones(2).clamp_max("a")):
        with pytest.raises(TypeError):
            fn(torch)
    with pytest.raises(TypeError, match="argument 'exponent' \\(position 2\\) must be Tensor, not str"):
        vt.pow(vt.ones(2), "a")
    with pytest.raises(TypeError, match="argument 'min' \\(position 2\\) must be Tensor, not str"):
        vt.clamp_min(vt.ones(2), "a")
    with pytest.raises(TypeError):  # torch's keyword is exponent, as the number-first form's is self
        vt.pow(vt.ones(2), other=2)


def test_large_pointwise_ops_release_the_gil_while_they_compute():
    x = vt.rand(1 << 24) + 0.5  # pow of 16M elements: a hundred milliseconds or more
    for op in (lambda: x.pow(x), lambda: vt.pow(x, x), lambda: x ** x):
        python_end, op_end = python_work_during(op)
        assert python_end < op_end - 0.02


def test_in_place_pointwise_ops_release_the_gil_too():
    x = vt.rand(1 << 24) + 0.5
    python_end, op_end = python_work_during(lambda: x.pow_(1.0001))
    assert python_end < op_end - 0.02
