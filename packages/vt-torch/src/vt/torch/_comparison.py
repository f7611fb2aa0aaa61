"""torch.isclose, allclose and equal: elementwise closeness with torch's rules for infinities,
NaN and integer inputs."""

from __future__ import annotations

import builtins

import vt.core as _core
from vt.core import Tensor

_DTYPE_NAMES = {_core.bool: "Bool", _core.uint8: "Byte", _core.int8: "Char", _core.int16: "Short",
                _core.int32: "Int", _core.int64: "Long", _core.float16: "Half", _core.bfloat16: "BFloat16",
                _core.float32: "Float", _core.float64: "Double"}


def _require_tensors(op: str, input, other) -> None:
    for position, (name, value) in enumerate((("input", input), ("other", other)), start=1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, not "
                            f"{type(value).__name__}")


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise. Equal values (equal infinities
    included) are close; an infinity is not close to anything else, NaN only to NaN with
    equal_nan."""
    _require_tensors("isclose", input, other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{_DTYPE_NAMES[input.dtype]} did not match {_DTYPE_NAMES[other.dtype]}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    close = input == other
    if equal_nan and input.is_floating_point():
        close = close | (input.isnan() & other.isnan())
    if rtol == 0 and atol == 0:
        return close
    if not input.is_floating_point():  # integers (and bools) differ without wrapping around
        input, other = input.to(_core.get_default_dtype()), other.to(_core.get_default_dtype())
    allowed = (other * rtol).abs() + atol
    actual = (input - other).abs()
    # An infinite or NaN error (an infinity against anything but itself) is never within bounds.
    return close | (actual.isfinite() & (actual <= allowed))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when input and other have the same shape and equal elements (NaN equals nothing)."""
    _require_tensors("equal", input, other)
    return tuple(input.shape) == tuple(other.shape) and builtins.bool((input == other).all().item())
