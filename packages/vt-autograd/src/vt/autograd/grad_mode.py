"""Grad-mode context managers (thread-local, as in torch): no_grad, enable_grad,
set_grad_enabled, inference_mode. Each also works as a function decorator."""

from __future__ import annotations

import functools
import threading

from vt.autograd import _C

_inference = threading.local()


def is_grad_enabled() -> bool:
    return _C.is_grad_enabled()


def is_inference_mode_enabled() -> bool:
    """True inside inference_mode() on this thread (and False inside inference_mode(False))."""
    return getattr(_inference, "enabled", False)


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
    """Records no graph, like no_grad, and makes is_inference_mode_enabled() true; vt tensors
    carry no per-tensor autograd state to skip, so tensors made here are ordinary tensors (torch
    would mark them as inference tensors and refuse them in autograd later).
    inference_mode(False) turns the flag off and leaves grad mode as it is."""

    def __init__(self, mode: bool = True) -> None:
        self._enabled = bool(mode)

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        self._prev_inference = is_inference_mode_enabled()
        _inference.enabled = self._enabled
        if self._enabled:
            _C.set_grad_enabled(False)
        return self

    def __exit__(self, *exc) -> None:
        _C.set_grad_enabled(self._prev)
        _inference.enabled = self._prev_inference

    def __call__(self, fn):
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        return wrapper
