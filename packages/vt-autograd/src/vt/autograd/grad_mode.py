"""Grad-mode context managers (thread-local, as in torch): no_grad, enable_grad,
set_grad_enabled, inference_mode. Each also works as a function decorator."""

from __future__ import annotations

import functools

from vt.autograd import _C


def is_grad_enabled() -> bool:
    return _C.is_grad_enabled()


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
    """Like no_grad (vt keeps no extra per-tensor state to skip); inference_mode(False) is a no-op
    region that leaves grad mode as it is."""

    def __init__(self, mode: bool = True) -> None:
        self._enabled = bool(mode)

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        if self._enabled:
            _C.set_grad_enabled(False)
        return self

    def __call__(self, fn):
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(enabled):
                return fn(*args, **kwargs)

        return wrapper
