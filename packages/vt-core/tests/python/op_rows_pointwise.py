"""Op table rows: elementwise ops (arithmetic, math functions, comparisons, logical and bitwise
ops, clamp, where, lerp, addcmul/addcdiv)."""

from __future__ import annotations

import torch

import vt.core as vt
from op_table import (ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES, OpInfo, Sample, binary_samples,
                      make, mixed_dtype_samples, unary_samples)

INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")
INTEGRAL_DTYPES = ("bool",) + INT_DTYPES


def _is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def _nonzero(t: torch.Tensor) -> torch.Tensor:
    """t with zeros replaced by ones (integer divisors), keeping its layout."""
    return t.masked_fill(t == 0, 1)


def special_samples(dtype: str):
    """unary_samples plus NaN, +-inf and signed zeros for floating dtypes."""
    yield from unary_samples(dtype)
    if _is_float(dtype):
        vals = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1.5, -2.5, 0.5, -0.5, 2.5]
        yield Sample((torch.tensor(vals, dtype=getattr(torch, dtype)),), desc="special")


def signed_divisor_samples(dtype: str):
    """Divisions by divisors of both signs (never zero for integers); floats also divide by 0."""
    for s in binary_samples(dtype):
        a, b = s.args
        if isinstance(b, torch.Tensor) and not _is_float(dtype):
            b = _nonzero(b)
        yield Sample((a, -3 if s.desc == "scalar" and not _is_float(dtype) else b), desc=s.desc)
    if _is_float(dtype):
        yield Sample((make((2, 5), dtype, seed=3), make((5,), dtype, seed=4).masked_fill_(
            torch.arange(5) == 0, 0)), desc="by zero")
        yield Sample((make((7,), dtype, seed=5), -1.5), desc="negative number")


def binary_nan_samples(dtype: str):
    yield from binary_samples(dtype)
    if _is_float(dtype):
        nan = float("nan")
        t = getattr(torch, dtype)
        yield Sample((torch.tensor([nan, 1.0, nan, -0.0, 2.0], dtype=t),
                      torch.tensor([1.0, nan, nan, 0.0, 2.0], dtype=t)), desc="nan")


def tensor_only_samples(dtype: str):
    return (s for s in binary_samples(dtype) if s.desc != "scalar")


def shift_samples(dtype: str):
    yield from tensor_only_samples(dtype)
    bits = torch.iinfo(getattr(torch, dtype)).bits
    amounts = torch.tensor([0, 1, bits - 1, bits, bits + 1, -1], dtype=getattr(torch, dtype))
    if dtype == "uint8":
        amounts = torch.tensor([0, 1, bits - 1, bits, bits + 1, 255], dtype=torch.uint8)
    values = make((6,), dtype, seed=7, low=-100, high=100)
    yield Sample((values, amounts), desc="amounts")
    yield Sample((make((3, 4), dtype, seed=1), 3), desc="scalar")


def pow_samples(dtype: str):
    yield from tensor_only_samples(dtype)
    exponents = (0, 1, 2, 3) if not _is_float(dtype) else (0, 1, 2, 3, 0.5, -0.5, -1, -2, 2.5)
    for e in exponents:
        yield Sample((make((4, 5), dtype, seed=1, low=0 if isinstance(e, float) else -4), e),
                     desc=f"**{e}")


def ternary_samples(dtype: str, *, nonzero_last: bool = False):
    """(self, a, b) with broadcasting, a transposed operand, empty, 0-dim and a big case."""
    low = 1 if nonzero_last else -4
    yield Sample((make((5, 7), dtype, seed=1), make((5, 7), dtype, seed=2),
                  make((5, 7), dtype, seed=3, low=low)), desc="same")
    yield Sample((make((3, 1), dtype, seed=1), make((1, 4), dtype, seed=2),
                  make((4,), dtype, seed=3, low=low)), desc="broadcast")
    yield Sample((make((4, 6), dtype, seed=1, transpose=True), make((6, 4), dtype, seed=2),
                  make((4, 6), dtype, seed=3, low=low, transpose=True)), desc="transposed")
    yield Sample((make((0, 3), dtype), make((3,), dtype), make((1, 3), dtype, low=low)),
                 desc="empty")
    yield Sample((make((), dtype, seed=1), make((), dtype, seed=2), make((), dtype, seed=3,
                                                                          low=low)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=1), make((400,), dtype, seed=2),
                  make((300, 1), dtype, seed=3, low=low)), desc="parallel")


def where_samples(dtype: str):
    for s in ternary_samples(dtype):
        yield Sample((make(s.args[0].shape, "bool", seed=9), s.args[1], s.args[2]), desc=s.desc)
    number = True if dtype == "bool" else 2.5 if _is_float(dtype) else 3
    yield Sample((make((3, 4), "bool", seed=9), make((3, 4), dtype, seed=1), number), desc="number")


def lerp_samples(dtype: str):
    for s in ternary_samples(dtype):
        yield s
        yield Sample(s.args[:2] + (0.3,), desc=s.desc + " weight=0.3")
    yield Sample((make((4,), dtype, seed=1), make((4,), dtype, seed=2), 1.7), desc="weight=1.7")


def clamp_samples(dtype: str):
    for s in unary_samples(dtype):
        yield Sample(s.args, {"min": -1, "max": 2}, desc=s.desc)
    x = make((4, 5), dtype, seed=5)
    yield Sample((x,), {"min": 1}, desc="min only")
    yield Sample((x,), {"max": -1}, desc="max only")
    yield Sample((x,), {"min": 2, "max": -1}, desc="min > max")
    yield Sample((x,), {"min": -0.5, "max": 1.5}, desc="float bounds")
    if _is_float(dtype):
        yield Sample((torch.tensor([float("nan"), 1.0, -5.0], dtype=x.dtype),), {"min": -1, "max": 1},
                     desc="nan")


def clamp_tensor_samples(dtype: str):
    """Tensor bounds, given positionally (the table converts positional tensors only)."""
    for s in ternary_samples(dtype):
        yield Sample(s.args, desc=s.desc)
    x = make((4, 5), dtype, seed=5)
    yield Sample((x, make((5,), dtype, seed=6)), desc="min only")
    yield Sample((x, None, make((4, 1), dtype, seed=7)), desc="max only")


def finite_special_samples(dtype: str):
    """special_samples without infinities (torch's gelu(inf) is NaN)."""
    for s in special_samples(dtype):
        if s.desc == "special":
            s = Sample((s.args[0][s.args[0].isfinite() | s.args[0].isnan()],), desc=s.desc)
        yield s


def tensors_only(samples):
    return lambda dt: (s for s in samples(dt) if all(isinstance(a, torch.Tensor) for a in s.args))


def _unary_row(name, dtypes, samples=special_samples, **kwargs):
    vt_fn, torch_fn = getattr(vt, name), getattr(torch, name)
    if kwargs:
        suffix = ",".join(f"{k}={v}" for k, v in kwargs.items())
        return OpInfo(f"{name}({suffix})", lambda a: vt_fn(a, **kwargs), lambda a: torch_fn(a, **kwargs),
                      dtypes, samples)
    return OpInfo(name, vt_fn, torch_fn, dtypes, samples)


def _binary_row(name, dtypes, samples=binary_samples, *, torch_name=None):
    return OpInfo(name, getattr(vt, name), getattr(torch, torch_name or name), dtypes, samples)


_MATH = ("exp2", "expm1", "log", "log2", "log1p", "sqrt", "rsqrt", "reciprocal", "sin", "cos",
         "tan", "tanh", "sigmoid", "erf")
_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")

ROWS: list[OpInfo] = [
    OpInfo("add", lambda a, b: vt.add(a, b), torch.add, ALL_DTYPES, binary_samples),
    OpInfo("add_alpha", lambda a, b: vt.add(a, b, alpha=2), lambda a, b: torch.add(a, b, alpha=2),
           NUMERIC_DTYPES, binary_samples),
    OpInfo("add_mixed", lambda a, b: a + b, lambda a, b: a + b, ("mixed",), mixed_dtype_samples),
    OpInfo("sub", lambda a, b: vt.sub(a, b), torch.sub, NUMERIC_DTYPES, binary_samples),
    OpInfo("sub_alpha", lambda a, b: a.sub(b, alpha=3), lambda a, b: a.sub(b, alpha=3),
           NUMERIC_DTYPES, binary_samples),
    OpInfo("rsub", lambda a, b: b - a, lambda a, b: b - a, NUMERIC_DTYPES, binary_samples),
    OpInfo("mul", lambda a, b: a * b, lambda a, b: a * b, ALL_DTYPES, binary_samples),
    OpInfo("mul_mixed", lambda a, b: a * b, lambda a, b: a * b, ("mixed",), mixed_dtype_samples),
    OpInfo("div", lambda a, b: a / b, lambda a, b: a / b, ALL_DTYPES,
           lambda dt: binary_samples(dt, nonzero_rhs=True)),
    OpInfo("rdiv", lambda a, b: b / a, lambda a, b: b / a, NUMERIC_DTYPES,
           lambda dt: (s for s in binary_samples(dt, nonzero_rhs=True) if s.desc == "scalar")),
    OpInfo("div_mixed", lambda a, b: a / b, lambda a, b: a / b, ("mixed",), mixed_dtype_samples),
    OpInfo("neg", lambda a: -a, lambda a: -a, NUMERIC_DTYPES, unary_samples),
    OpInfo("exp", vt.exp, torch.exp, ALL_DTYPES, special_samples),
    *[_unary_row(n, ALL_DTYPES) for n in _MATH],
    _unary_row("abs", NUMERIC_DTYPES),
    _unary_row("sign", ALL_DTYPES),
    _unary_row("relu", NUMERIC_DTYPES),
    *[_unary_row(n, NUMERIC_DTYPES) for n in ("floor", "ceil", "trunc", "round")],
    _unary_row("round", FLOAT_DTYPES, decimals=2),
    _unary_row("round", FLOAT_DTYPES, decimals=-1),
    _unary_row("logical_not", ALL_DTYPES),
    _unary_row("bitwise_not", INTEGRAL_DTYPES, unary_samples),
    *[_unary_row(n, ALL_DTYPES) for n in ("isnan", "isinf", "isfinite", "nan_to_num")],
    _unary_row("nan_to_num", FLOAT_DTYPES, nan=1.5, posinf=100.0, neginf=-7.0),
    OpInfo("silu", vt.silu, torch.nn.functional.silu, FLOAT_DTYPES, special_samples),
    OpInfo("gelu", vt.gelu, torch.nn.functional.gelu, FLOAT_DTYPES, finite_special_samples),
    OpInfo("gelu_tanh", lambda a: vt.gelu(a, approximate="tanh"),
           lambda a: torch.nn.functional.gelu(a, approximate="tanh"), FLOAT_DTYPES,
           finite_special_samples),
    OpInfo("clamp", vt.clamp, torch.clamp, NUMERIC_DTYPES, clamp_samples),
    OpInfo("clamp_tensor", vt.clamp, torch.clamp, NUMERIC_DTYPES, clamp_tensor_samples),
    OpInfo("clamp_min", vt.clamp_min, torch.clamp_min, NUMERIC_DTYPES, binary_nan_samples),
    OpInfo("clamp_max", vt.clamp_max, torch.clamp_max, NUMERIC_DTYPES, binary_nan_samples),
    OpInfo("div_trunc", lambda a, b: vt.div(a, b, rounding_mode="trunc"),
           lambda a, b: torch.div(a, b, rounding_mode="trunc"), NUMERIC_DTYPES,
           signed_divisor_samples),
    OpInfo("div_floor", lambda a, b: a.div(b, rounding_mode="floor"),
           lambda a, b: a.div(b, rounding_mode="floor"), NUMERIC_DTYPES, signed_divisor_samples),
    OpInfo("floordiv", lambda a, b: a // b, lambda a, b: a // b, NUMERIC_DTYPES,
           signed_divisor_samples),
    OpInfo("mod", lambda a, b: a % b, lambda a, b: a % b, NUMERIC_DTYPES, signed_divisor_samples),
    _binary_row("fmod", NUMERIC_DTYPES, signed_divisor_samples),
    _binary_row("remainder", NUMERIC_DTYPES, signed_divisor_samples),
    _binary_row("floor_divide", NUMERIC_DTYPES, signed_divisor_samples),
    OpInfo("rfloordiv", lambda a, b: 7 // b, lambda a, b: 7 // b, NUMERIC_DTYPES,
           tensors_only(signed_divisor_samples)),
    OpInfo("rmod", lambda a, b: -7 % b, lambda a, b: -7 % b, NUMERIC_DTYPES,
           tensors_only(signed_divisor_samples)),
    OpInfo("pow", lambda a, b: a ** b, lambda a, b: a ** b, NUMERIC_DTYPES, pow_samples),
    OpInfo("rpow", lambda a: 2 ** a, lambda a: 2 ** a, NUMERIC_DTYPES, unary_samples),
    OpInfo("rpow_float", lambda a: 1.5 ** a, lambda a: 1.5 ** a, ALL_DTYPES, unary_samples),
    # torch refuses uint8 ** 300 (the exponent overflows uint8)
    _binary_row("pow", ("mixed",),
                lambda dt: (s for s in mixed_dtype_samples(dt) if s.desc != "uint8 with 300")),
    _binary_row("atan2", ALL_DTYPES, tensor_only_samples),
    *[_binary_row(n, ALL_DTYPES, binary_nan_samples) for n in _COMPARISONS],
    *[_binary_row(n, ("mixed",), mixed_dtype_samples) for n in _COMPARISONS],
    *[_binary_row(n, ALL_DTYPES, tensors_only(binary_nan_samples)) for n in ("maximum", "minimum")],
    *[_binary_row(n, ("mixed",), tensors_only(mixed_dtype_samples)) for n in ("maximum", "minimum")],
    *[_binary_row(n, ALL_DTYPES, tensor_only_samples)
      for n in ("logical_and", "logical_or", "logical_xor")],
    *[_binary_row(n, INTEGRAL_DTYPES) for n in ("bitwise_and", "bitwise_or", "bitwise_xor")],
    OpInfo("and", lambda a, b: a & b, lambda a, b: a & b, INTEGRAL_DTYPES, binary_samples),
    OpInfo("or", lambda a, b: a | b, lambda a, b: a | b, INTEGRAL_DTYPES, binary_samples),
    OpInfo("xor", lambda a, b: a ^ b, lambda a, b: a ^ b, INTEGRAL_DTYPES, binary_samples),
    OpInfo("lshift", lambda a, b: a << b, lambda a, b: a << b, INT_DTYPES, shift_samples),
    OpInfo("rshift", lambda a, b: a >> b, lambda a, b: a >> b, INT_DTYPES, shift_samples),
    OpInfo("where", vt.where, torch.where, ALL_DTYPES, where_samples),
    OpInfo("where_scalars", lambda c, a, b: vt.where(c, 1.5, -2), lambda c, a, b: torch.where(c, 1.5, -2),
           ("bool",), where_samples),
    OpInfo("lerp", vt.lerp, torch.lerp, FLOAT_DTYPES, lerp_samples),
    OpInfo("addcmul", lambda s, a, b: vt.addcmul(s, a, b, value=2),
           lambda s, a, b: torch.addcmul(s, a, b, value=2), NUMERIC_DTYPES, ternary_samples),
    OpInfo("addcdiv", lambda s, a, b: vt.addcdiv(s, a, b, value=0.5),
           lambda s, a, b: torch.addcdiv(s, a, b, value=0.5), FLOAT_DTYPES,
           lambda dt: ternary_samples(dt, nonzero_last=True)),
]
