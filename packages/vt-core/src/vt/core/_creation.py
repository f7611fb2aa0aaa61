"""vt.core.tensor(): tensors from Python data, with torch's dtype inference."""

from __future__ import annotations

import builtins

import numpy as np

from vt.core import _C

# numpy kinds a tensor can hold, and the vt dtype of each numpy dtype.
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


def _check_nested(data, depth: builtins.int = 0) -> None:
    """Rejects ragged and non-numeric nested sequences with torch's exception types."""
    if isinstance(data, (list, tuple)):
        lengths = {len(x) for x in data if isinstance(x, (list, tuple))}
        kinds = {isinstance(x, (list, tuple)) for x in data}
        if len(kinds) > 1 or len(lengths) > 1:
            raise ValueError(f"expected sequence of equal lengths at dim {depth + 1} (got a ragged list)")
        for x in data:
            _check_nested(x, depth + 1)
    elif not isinstance(data, (builtins.bool, builtins.int, builtins.float, np.generic, _C.Tensor)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")


def tensor(data, dtype: _C.dtype | None = None, device=None) -> _C.Tensor:
    """A new tensor holding a copy of data (nested lists, numbers, numpy arrays or tensors).

    Python bools give bool, ints int64 and floats the default dtype; numpy arrays keep their
    dtype, as in torch.
    """
    if isinstance(data, _C.Tensor):
        out = data.clone()
    elif isinstance(data, np.ndarray):
        if data.dtype not in _NUMPY_TO_VT:
            raise TypeError(
                f"can't convert np.ndarray of type numpy.{data.dtype}. The only supported types are: "
                "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
            )
        out = _C._from_numpy_copy(np.asarray(data, order="C"))
    else:
        _check_nested(data)
        arr = np.array(data)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32) if _C.get_default_dtype() == _C.float32 else arr
            inferred = _C.get_default_dtype()
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
            inferred = _C.int64
        elif arr.dtype == np.bool_:
            inferred = _C.bool
        else:
            raise TypeError(f"new(): invalid data type '{arr.dtype}'")
        out = _C._from_numpy_copy(np.asarray(arr, order="C"))
        if out.dtype != inferred:
            out = out.to(inferred)
    if dtype is not None and out.dtype != dtype:
        out = out.to(dtype)
    if device is not None:
        out = out.to(device)
    return out
