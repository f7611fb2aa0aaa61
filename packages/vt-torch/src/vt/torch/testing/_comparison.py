"""torch.testing.assert_close for vt tensors, Python numbers and nested sequences/mappings of them.

Pass/fail decisions, default tolerances and the wording of every failure message follow
torch.testing, so a test suite written against torch reads the same under vt. All value
comparisons run as a handful of whole-tensor vt ops; nothing loops over elements in Python.
"""

from __future__ import annotations

import cmath
import collections.abc
from collections.abc import Callable
from typing import Any

import vt.core as _core

try:
    import numpy as _np
except ImportError:  # numpy is optional: without it only vt tensors and Python numbers compare
    _np = None

# (rtol, atol) by dtype name; every other dtype (integers, bool) compares exactly.
_DEFAULT_TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex32": (1e-3, 1e-5),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}
# Python numbers take the tolerances of the dtype torch would give them.
_NUMBER_DTYPE_NAMES = {int: "int64", float: "float64", complex: "complex128"}


class _Mismatch(Exception):
    """One failed comparison: the exception type to raise, its message and the item path
    (indices and keys) that leads to it inside nested inputs."""

    def __init__(self, exc_type: type, message: str, path: tuple = ()):
        super().__init__(message)
        self.exc_type = exc_type
        self.message = message
        self.path = path

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if isinstance(msg, str):
            return self.exc_type(msg)
        text = self.message
        if self.path:
            text += "\n\nThe failure occurred for item " + "".join(str([item]) for item in self.path)
        return self.exc_type(msg(text) if callable(msg) else text)


class _Unsupported(Exception):
    """The inputs are not of the kind a comparer handles; the next one is tried."""


def _tolerances(dtype_names, rtol, atol, path) -> tuple[float, float]:
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                        f"but got no {'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    pairs = [_DEFAULT_TOLERANCES.get(name, (0.0, 0.0)) for name in dtype_names]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _diff_line(kind: str, diff, index, tol, exact: bool) -> str:
    line = f"{kind.title()} difference: {diff}" if index is None else \
        f"Greatest {kind} difference: {diff} at index {index}"
    return line if exact else f"{line} (up to {tol} allowed)"


def _mismatch_message(what: str, extra: str, abs_diff, abs_index, atol, rel_diff, rel_index, rtol) -> str:
    exact = rtol == 0 and atol == 0
    return "\n".join([f"{what} are not {'equal' if exact else 'close'}!", "", extra,
                      _diff_line("absolute", abs_diff, abs_index, atol, exact),
                      _diff_line("relative", rel_diff, rel_index, rtol, exact)])


def _scalar_message(actual, expected, rtol, atol) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_message("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                             rel_diff, None, rtol)


def _unravel(flat: int, shape: tuple) -> tuple:
    index = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        index.append(rest)
    return tuple(reversed(index))


def _tensor_message(actual, expected, matches, rtol, atol) -> str:
    total = matches.numel()
    mismatched = total - int(matches.sum().item())
    extra = f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"
    a, e, m = actual.flatten(), expected.flatten(), matches.flatten()
    if not a.dtype.is_floating_point:
        a, e = a.to(_core.int64), e.to(_core.int64)  # differences of narrow integers overflow
    abs_diff = (a - e).abs().masked_fill(m, 0)
    rel_diff = (abs_diff / e.abs()).masked_fill(m, 0)
    abs_max, abs_at = abs_diff.max(0)
    rel_max, rel_at = rel_diff.max(0)
    shape = tuple(matches.shape)
    return _mismatch_message("Tensor-likes", extra, abs_max.item(), _unravel(abs_at.item(), shape), atol,
                             rel_max.item(), _unravel(rel_at.item(), shape), rtol)


def _isclose(actual, expected, rtol: float, atol: float, equal_nan: bool):
    """Elementwise closeness with torch.isclose's rules: equal values (infinities included)
    match, NaNs match only with equal_nan, and the error must be finite and within tolerance."""
    close = actual == expected
    if equal_nan and actual.dtype.is_floating_point:
        close = close.logical_or(actual.isnan().logical_and(expected.isnan()))
    if rtol == 0 and atol == 0:
        return close
    if not actual.dtype.is_floating_point:
        actual, expected = actual.to(_core.float32), expected.to(_core.float32)
    error = (actual - expected).abs()
    allowed = (expected * rtol).abs() + atol
    return close.logical_or(error.isfinite().logical_and(error <= allowed))


def _format_dtype(dtype) -> str:
    return f"torch.{dtype.name}"


def _format_shape(shape) -> str:
    return f"torch.Size({list(shape)})"


class _Options:
    def __init__(self, allow_subclasses, rtol, atol, equal_nan, check_device, check_dtype, check_stride):
        self.allow_subclasses = allow_subclasses
        self.rtol, self.atol = rtol, atol
        self.equal_nan = equal_nan
        self.check_device = check_device
        self.check_dtype = check_dtype
        self.check_stride = check_stride


def _as_tensor_pair(actual, expected, options: _Options):
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if not related or (not options.allow_subclasses and type(actual) is not type(expected)):
        raise _Unsupported
    if isinstance(actual, _core.Tensor):
        return actual, expected
    if _np is not None and isinstance(actual, _np.ndarray):
        return _core.tensor(actual), _core.tensor(expected)
    raise _Unsupported


def _compare_tensors(actual, expected, options: _Options, path: tuple):
    rtol, atol = _tolerances((actual.dtype.name, expected.dtype.name), options.rtol, options.atol, path)

    def attribute_mismatch(name, a, e):
        raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {a} != {e}.", path)

    if tuple(actual.shape) != tuple(expected.shape):
        attribute_mismatch("shape", _format_shape(actual.shape), _format_shape(expected.shape))
    if options.check_stride and actual.stride() != expected.stride():
        attribute_mismatch("stride()", actual.stride(), expected.stride())
    if options.check_device and actual.device != expected.device:
        attribute_mismatch("device", actual.device, expected.device)
    if options.check_dtype and actual.dtype != expected.dtype:
        attribute_mismatch("dtype", _format_dtype(actual.dtype), _format_dtype(expected.dtype))

    if actual.device != expected.device:
        actual, expected = actual.cpu(), expected.cpu()
    if actual.dtype != expected.dtype:
        common = _core.promote_types(actual.dtype, expected.dtype)
        actual, expected = actual.to(common), expected.to(common)
    actual, expected = actual.detach(), expected.detach()

    matches = _isclose(actual, expected, rtol, atol, options.equal_nan)
    if bool(matches.all().item()):
        return
    if actual.dim() == 0:
        raise _Mismatch(AssertionError, _scalar_message(actual.item(), expected.item(), rtol, atol), path)
    raise _Mismatch(AssertionError, _tensor_message(actual, expected, matches, rtol, atol), path)


def _is_bool(x) -> bool:
    return isinstance(x, bool) or (_np is not None and isinstance(x, _np.bool_))


def _as_number(x):
    if _np is not None and isinstance(x, _np.number):
        return x.item()
    return x if isinstance(x, (int, float, complex)) and not isinstance(x, bool) else None


def _compare_numbers(actual, expected, options: _Options, path: tuple):
    rtol, atol = _tolerances([_NUMBER_DTYPE_NAMES[type(x)] for x in (actual, expected)],
                             options.rtol, options.atol, path)
    if options.check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError,
                        f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    if actual == expected:
        return
    if options.equal_nan and cmath.isnan(actual) and cmath.isnan(expected):
        return
    diff = abs(actual - expected)
    if cmath.isfinite(diff) and diff <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_message(actual, expected, rtol, atol), path)


def _leaf_comparison(actual, expected, options: _Options, path: tuple) -> Callable[[], None]:
    """The comparison for two non-container inputs, chosen the way torch picks its pair types:
    None, then booleans, then numbers, then tensor-likes."""
    if actual is None or expected is None:
        def compare_none():
            if not (actual is None and expected is None):
                raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", path)
        return compare_none
    if _is_bool(actual) and _is_bool(expected):
        a, e = bool(actual), bool(expected)

        def compare_bools():
            if a is not e:
                raise _Mismatch(AssertionError, f"Booleans mismatch: {a} is not {e}", path)
        return compare_bools
    a, e = _as_number(actual), _as_number(expected)
    if a is not None and e is not None:
        _tolerances([_NUMBER_DTYPE_NAMES[type(x)] for x in (a, e)], options.rtol, options.atol, path)
        return lambda: _compare_numbers(a, e, options, path)
    try:
        a, e = _as_tensor_pair(actual, expected, options)
    except _Unsupported:
        raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} "
                        f"and {type(expected)}.", path) from None
    _tolerances((a.dtype.name, e.dtype.name), options.rtol, options.atol, path)
    return lambda: _compare_tensors(a, e, options, path)


def _is_sequence(x) -> bool:
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, str)


def _comparisons(actual, expected, options: _Options, path: tuple = ()) -> list:
    """Walks nested sequences and mappings in step, checking their structure first (as torch
    does, before any value is compared) and collecting one comparison per leaf pair."""
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError,
                            f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        found = []
        for i in range(len(actual)):
            found += _comparisons(actual[i], expected[i], options, (*path, i))
        return found
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise _Mismatch(AssertionError,
                            "The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(expected_keys - actual_keys)}\n"
                            f"Additional keys in the actual mapping: {sorted(actual_keys - expected_keys)}", path)
        try:
            keys = sorted(actual_keys)
        except TypeError:  # keys of mixed types keep their mapping order
            keys = list(actual.keys())
        found = []
        for key in keys:
            found += _comparisons(actual[key], expected[key], options, (*path, key))
        return found
    return [_leaf_comparison(actual, expected, options, path)]


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Asserts that actual and expected are close, as torch.testing.assert_close.

    Tensors must match in shape (and, unless disabled, device, dtype and strides) and satisfy
    |actual - expected| <= atol + rtol * |expected| elementwise; rtol and atol default to the
    loosest per-dtype tolerances of the two inputs (float32: 1.3e-6 and 1e-5; integers and bool:
    exact). Python numbers, None, booleans and nested sequences/mappings of all of these compare
    item by item. vt tensors are always strided, so check_layout has nothing to compare.
    """
    __tracebackhide__ = True
    options = _Options(allow_subclasses, rtol, atol, equal_nan, check_device, check_dtype, check_stride)
    try:
        comparisons = _comparisons(actual, expected, options)
    except _Mismatch as mismatch:
        raise mismatch.to_error() from None
    for compare in comparisons:
        try:
            compare()
        except _Mismatch as mismatch:
            raise mismatch.to_error(msg) from None
