"""Grad-mode context managers (thread-local, as in torch): no_grad, enable_grad,
set_grad_enabled, inference_mode. Each also works as a function decorator."""

from __future__ import annotations

import functools

import vt.core as _core
from vt.autograd import _C


def is_grad_enabled() -> bool:
    return _C.is_grad_enabled()


def is_inference_mode_enabled() -> bool:
    """True inside inference_mode() on this thread (and False inside inference_mode(False))."""
    return _core._is_inference_mode_enabled()


class _GradMode:
    """Sets grad mode on entry and restores the previous mode on exit."""

    _mode: bool = True

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C.set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc) -> None:
        _C.set_grad_enabled(self._prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradMode):  # noqa: N801 (torch's name)
    """Operations inside record no graph: results do not require grad."""

    _mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Turns recording back on inside a no_grad region; @enable_grad also works without ()."""

    _mode = True

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class set_grad_enabled(_GradMode):  # noqa: N801
    """Sets grad mode to `mode`: at once when called, and for the with-block when used as one."""

    def __init__(self, mode: bool) -> None:
        self._prev = _C.is_grad_enabled()
        self._mode = bool(mode)
        _C.set_grad_enabled(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        _C.set_grad_enabled(self._prev)

    def __call__(self, fn):
        mode = self._mode
        _C.set_grad_enabled(self._prev)  # used as a decorator: only the calls change the mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(_GradMode):  # noqa: N801
    """Records no graph, like no_grad, and makes the tensors created inside inference tensors
    (Tensor.is_inference()): outside inference mode they may not be updated in place, made to
    require grad or saved for backward, as in torch. inference_mode(False) turns the mode off
    and leaves grad mode as it is."""

    def __init__(self, mode: bool = True) -> None:
        self._enabled = bool(mode)

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        self._prev_inference = _core._set_inference_mode(self._enabled)
        if self._enabled:
            _C.set_grad_enabled(False)
        return self

    def __exit__(self, *exc) -> None:
        _C.set_grad_enabled(self._prev)
        _core._set_inference_mode(self._prev_inference)

    def __call__(self, fn):
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        return wrapper
