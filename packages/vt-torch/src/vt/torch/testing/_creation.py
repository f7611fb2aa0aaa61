"""torch.testing.make_tensor: random test tensors of any vt dtype, drawn uniformly from [low, high)."""

from __future__ import annotations

import collections.abc
import math
import warnings

import vt.core as _core

# name -> (lowest finite value, greatest finite value, smallest positive normal value)
_FLOAT_RANGES = {
    "float16": (-65504.0, 65504.0, 2.0 ** -14),
    "bfloat16": (-3.3895313892515355e38, 3.3895313892515355e38, 2.0 ** -126),
    "float32": (-3.4028234663852886e38, 3.4028234663852886e38, 2.0 ** -126),
    "float64": (-1.7976931348623157e308, 1.7976931348623157e308, 2.0 ** -1022),
}
# name -> (lowest value, highest value + 1): randint's high is exclusive
_INT_RANGES = {
    "uint8": (0, 2 ** 8),
    "int8": (-2 ** 7, 2 ** 7),
    "int16": (-2 ** 15, 2 ** 15),
    "int32": (-2 ** 31, 2 ** 31),
    "int64": (-2 ** 63, 2 ** 63 - 1),  # the bound itself must fit in int64
}


def _bounds(dtype, low, high, *, lowest, highest, default_low, default_high, integral: bool):
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and not integral:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating types is "
                      "deprecated; use `torch.full(...)` instead.", FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but torch.{dtype.name} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    return (math.ceil(low), math.ceil(high)) if integral else (low, high)


def _uniform(shape, dtype, device, low: float, high: float):
    t = _core.empty(shape, dtype=dtype, device=device)
    if high - low >= _FLOAT_RANGES[dtype.name][1]:
        return t.uniform_(low / 2, high / 2).mul_(2)  # the span itself would overflow the dtype
    return t.uniform_(low, high)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False, memory_format=None):
    """A tensor of the given shape, dtype and device filled with values drawn uniformly from
    [low, high), as torch.testing.make_tensor.

    Defaults: bool [0, 2), uint8 [0, 10), signed integers [-9, 10), floating [-9, 9); bounds
    outside the dtype's finite range are clamped to it. noncontiguous gives a strided view of a
    larger tensor; exclude_zero replaces zeros by 1 (integers, bool) or the dtype's smallest
    positive normal value (floating).
    """
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got noncontiguous={noncontiguous} and memory_format={memory_format}")
    if memory_format is not None:
        raise NotImplementedError("make_tensor(memory_format=...): vt tensors have no memory formats "
                                  "other than the default contiguous one")
    integral = dtype == _core.bool or dtype.name in _INT_RANGES
    if requires_grad and integral:
        raise ValueError("`requires_grad=True` is not supported for boolean and integral dtypes, "
                         f"but got dtype=torch.{dtype.name}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])

    if dtype == _core.bool:
        low, high = _bounds(dtype, low, high, lowest=0, highest=2, default_low=0, default_high=2, integral=True)
        result = _core.randint(low, high, shape, dtype=dtype, device=device)
    elif dtype.name in _INT_RANGES:
        lowest, highest = _INT_RANGES[dtype.name]
        low, high = _bounds(dtype, low, high, lowest=lowest, highest=highest, default_low=-9, default_high=10,
                            integral=True)
        result = _core.randint(low, high, shape, dtype=dtype, device=device)
    elif dtype.name in _FLOAT_RANGES:
        lowest, highest, _ = _FLOAT_RANGES[dtype.name]
        low, high = _bounds(dtype, low, high, lowest=lowest, highest=highest, default_low=-9, default_high=9,
                            integral=False)
        result = _uniform(shape, dtype, device, low, high)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor().")

    if noncontiguous:
        result = result[..., 1::2]
    if exclude_zero:
        replacement = 1 if integral else _FLOAT_RANGES[dtype.name][2]
        result.masked_fill_(result == 0, replacement)  # in place: keeps a noncontiguous layout
    if requires_grad:
        result.requires_grad_(True)
    return result
