"""vt.core.tensor(): tensors from Python data, with torch's dtype inference and errors."""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from vt.core import _C

_NUMPY_TO_VT = {
    np.dtype(np.bool_): _C.bool,
    np.dtype(np.uint8): _C.uint8,
    np.dtype(np.int8): _C.int8,
    np.dtype(np.int16): _C.int16,
    np.dtype(np.int32): _C.int32,
    np.dtype(np.int64): _C.int64,
    np.dtype(np.float16): _C.float16,
    np.dtype(np.float32): _C.float32,
    np.dtype(np.float64): _C.float64,
}
_INTEGER_RANGES = {d: np.iinfo(n) for n, d in _NUMPY_TO_VT.items() if n.kind in "iu"}


def _flatten(data, depth: builtins.int, shape: list, flat: list) -> None:
    """Walks nested sequences depth-first, checking they are rectangular, into `flat`."""
    if isinstance(data, (list, tuple)):
        if len(shape) <= depth:
            shape.append(len(data))
        elif shape[depth] != len(data):
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {len(data)})")
        for item in data:
            is_seq = isinstance(item, (list, tuple))
            if not is_seq and len(shape) > depth + 1:
                raise TypeError(f"not a sequence (got {type(item).__name__} at dim {depth + 1})")
            if is_seq and flat and len(shape) == depth + 1:
                raise TypeError(f"not a sequence (got a list where a number was expected at dim {depth + 1})")
            _flatten(item, depth + 1, shape, flat)
        return
    flat.append(_number(data))


def _number(value):
    if isinstance(value, _C.Tensor):
        if value.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (builtins.bool, numbers.Integral, numbers.Real)):
        return value
    if isinstance(value, (str, bytes)):
        raise ValueError(f"too many dimensions '{type(value).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(value).__name__}")


def _from_python(data, dtype):
    """Python numbers and nested sequences: bools give bool, ints int64, floats the default dtype."""
    shape: list = []
    flat: list = []
    if isinstance(data, (list, tuple)):
        _flatten(data, 0, shape, flat)
    else:
        flat.append(_number(data))
    if any(isinstance(v, builtins.float) for v in flat):
        kind, inferred = np.float64, _C.get_default_dtype()
    elif flat and all(isinstance(v, builtins.bool) for v in flat):
        kind, inferred = np.bool_, _C.bool
    else:
        kind, inferred = np.int64, _C.int64 if flat or dtype is not None else _C.get_default_dtype()
        if not flat:
            kind = np.float32
    target = dtype if dtype is not None else inferred
    if kind is np.int64:
        int64 = _INTEGER_RANGES[_C.int64]
        if any(not int64.min <= v <= int64.max for v in flat):
            raise ValueError("Overflow when unpacking long long")
        info = _INTEGER_RANGES.get(target)
        if info is not None and any(not info.min <= v <= info.max for v in flat):
            raise RuntimeError(f"value cannot be converted to type {target.name} without overflow")
    try:
        arr = np.array(flat, dtype=kind).reshape(shape)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    out = _C._from_numpy_copy(np.asarray(arr, order="C"))
    # Python floats convert to the target straight from double, as torch does.
    return out if out.dtype == target else out.to(target)


def tensor(data, dtype: _C.dtype | None = None, device=None) -> _C.Tensor:
    """A new tensor holding a copy of data (nested lists, numbers, numpy arrays or tensors)."""
    if dtype is not None and not isinstance(dtype, _C.dtype):
        raise TypeError(f"tensor(): argument 'dtype' must be a vt dtype, not {type(dtype).__name__}")
    if isinstance(data, _C.Tensor):
        out = data.clone()
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data, order="C")
        if arr.dtype not in _NUMPY_TO_VT:
            raise TypeError(
                f"can't convert np.ndarray of type numpy.{arr.dtype}. The only supported types are: "
                "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
            )
        out = _C._from_numpy_copy(arr)
    elif isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    else:
        out = _from_python(data, dtype)
    if dtype is not None and out.dtype != dtype:
        out = out.to(dtype)
    if device is not None:
        out = out.to(device)
    return out
