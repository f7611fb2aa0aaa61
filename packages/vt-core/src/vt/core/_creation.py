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


def _is_sequence(data) -> builtins.bool:
    return isinstance(data, (list, tuple)) or (isinstance(data, np.ndarray) and data.ndim > 0)


def _flatten(data, depth: builtins.int, shape: list, flat: list) -> None:
    """Walks nested sequences (numpy arrays included) depth-first, checking they are rectangular."""
    if _is_sequence(data):
        if len(shape) <= depth:
            shape.append(len(data))
        elif shape[depth] != len(data):
            raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {len(data)})")
        for item in data:
            is_seq = _is_sequence(item)
            if not is_seq and len(shape) > depth + 1:
                raise TypeError(f"not a sequence (got {type(item).__name__} at dim {depth + 1})")
            if is_seq and flat and len(shape) == depth + 1:
                raise TypeError(f"not a sequence (got a list where a number was expected at dim {depth + 1})")
            _flatten(item, depth + 1, shape, flat)
        return
    flat.append(_element(data))


def _element(value):
    """A leaf as torch sees it: a Python number, a numpy scalar (keeping its dtype) or a 0-d tensor."""
    if isinstance(value, _C.Tensor):
        if value.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return value
    if isinstance(value, np.ndarray):  # 0-d
        return value[()]
    if isinstance(value, (np.generic, builtins.bool, numbers.Integral, numbers.Real)):
        return value
    if isinstance(value, (str, bytes)):
        raise ValueError(f"too many dimensions '{type(value).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(value).__name__}")


def _element_dtype(value):
    """torch's per-element dtype: bool, int64, the default float, or the dtype a numpy scalar or
    tensor carries."""
    if isinstance(value, _C.Tensor):
        return value.dtype
    if isinstance(value, np.generic):
        known = _NUMPY_TO_VT.get(value.dtype)
        if known is not None:
            return known
        value = value.item()
    if isinstance(value, builtins.bool):
        return _C.bool
    if isinstance(value, numbers.Integral):
        return _C.int64
    return _C.get_default_dtype()


def _number(value):
    if isinstance(value, _C.Tensor):
        return value.item()
    return value.item() if isinstance(value, np.generic) else value


def _check_range(values: list, target) -> None:
    """torch's overflow rule for a target integer dtype: ints must fit (uint8 also takes -255..-1,
    wrapping), floats must lie within the range (NaN and infinities never do)."""
    info = _INTEGER_RANGES.get(target)
    if info is None:
        return
    low = -builtins.int(info.max) if target == _C.uint8 else builtins.int(info.min)
    for v in values:
        if isinstance(v, builtins.bool):
            continue
        if isinstance(v, builtins.float):
            ok = info.min <= v < 2.0**63 if target == _C.int64 else info.min <= v <= info.max
        else:
            ok = low <= v <= info.max
        if not ok:
            raise RuntimeError(f"value cannot be converted to type {target.name} without overflow")


def _from_python(data, dtype):
    """Python numbers and nested sequences: each element's dtype (bool, int64, the default float,
    a numpy scalar's or a 0-d tensor's) is promoted across the data, as torch does."""
    shape: list = []
    flat: list = []
    if _is_sequence(data):
        _flatten(data, 0, shape, flat)
    else:
        flat.append(_element(data))
    inferred = None
    for item in flat:
        d = _element_dtype(item)
        inferred = d if inferred is None else _C.promote_types(inferred, d)
    if inferred is None:
        inferred = _C.get_default_dtype()
    target = dtype if dtype is not None else inferred
    values = [_number(v) for v in flat]
    int64 = _INTEGER_RANGES[_C.int64]
    if any(isinstance(v, builtins.int) and not isinstance(v, builtins.bool) and not int64.min <= v <= int64.max
           for v in values):
        raise ValueError("Overflow when unpacking long long")
    _check_range(values, target)
    kind = np.bool_ if inferred == _C.bool else np.float64 if inferred.is_floating_point else np.int64
    arr = np.array(values, dtype=kind).reshape(shape)
    out = _C._from_numpy_copy(np.asarray(arr, order="C"))
    # Values convert to the target straight from double (or int64), as torch does.
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
