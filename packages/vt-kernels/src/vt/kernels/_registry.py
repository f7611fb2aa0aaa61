"""Which implementation runs each kernel: Triton, CuTeDSL or the torch reference.

Every kernel family registers one `Impl` per backend. A call picks the preferred backend (per
kernel, else global, else `VT_KERNELS_IMPL`, else the backend a family measured faster for these
inputs, else the default order) and falls back along the
default order when that backend cannot take the inputs (wrong device, unsupported shape, library
missing). `explain` says why each backend was or was not taken.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

BACKENDS = ("triton", "cutedsl", "reference")
_DEFAULT_ORDER = ("triton", "cutedsl", "reference")


@dataclass(frozen=True)
class Impl:
    kernel: str
    backend: str
    forward: Callable
    backward: Callable | None
    # Returns None when the inputs are supported, else the reason they are not.
    supports: Callable[..., str | None]


_impls: dict[str, dict[str, Impl]] = {}
_per_kernel: dict[str, str] = {}
_global: list[str | None] = [None]
_local = threading.local()  # use_impl overrides, innermost last
# kernel -> (backend, when(*args)): the default for inputs where that backend measured faster
_faster: dict[str, tuple[str, Callable[..., bool]]] = {}


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown kernel backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    return backend


def _env_choice() -> str | None:
    value = os.environ.get("VT_KERNELS_IMPL", "").strip().lower()
    return _check_backend(value) if value else None


# VT_KERNELS_IMPL is read once, when vt.kernels is imported (calls stay free of env lookups).
_ENV_CHOICE = _env_choice()


def _always(*args, **kwargs) -> None:
    return None


def register(kernel: str, backend: str, forward: Callable, backward: Callable | None = None,
             supports: Callable[..., str | None] | None = None) -> Impl:
    impl = Impl(kernel, _check_backend(backend), forward, backward, supports or _always)
    _impls.setdefault(kernel, {})[backend] = impl
    return impl


def prefer_when(kernel: str, backend: str, when: Callable[..., bool]) -> None:
    """Makes `backend` the default for `kernel` on the inputs where `when(*args)` is true (where
    it measured faster than the default order's first); any explicit choice still wins."""
    _table(kernel)
    _faster[kernel] = (_check_backend(backend), when)


def kernels() -> list[str]:
    return sorted(_impls)


def implementations(kernel: str) -> list[str]:
    return [b for b in BACKENDS if b in _table(kernel)]


def _table(kernel: str) -> dict[str, Impl]:
    try:
        return _impls[kernel]
    except KeyError:
        raise ValueError(f"unknown kernel {kernel!r}; known: {', '.join(kernels())}") from None


def set_impl(backend: str | None, kernel: str | None = None) -> None:
    """Prefers `backend` for `kernel` (or for every kernel); None returns to the default."""
    if backend is not None:
        _check_backend(backend)
    if kernel is None:
        _global[0] = backend
    elif backend is None:
        _table(kernel)
        _per_kernel.pop(kernel, None)
    else:
        _table(kernel)
        _per_kernel[kernel] = backend


def _chosen(kernel: str) -> str | None:
    """The backend chosen for `kernel` by use_impl, set_impl or VT_KERNELS_IMPL, if any."""
    stack = getattr(_local, "stack", ())
    for scope_kernel, backend in reversed(stack):
        if scope_kernel in (None, kernel):
            return backend
    return _per_kernel.get(kernel) or _global[0] or _ENV_CHOICE


def get_impl(kernel: str) -> str:
    """The backend a call of `kernel` tries first, before per-input defaults (`prefer_when`)."""
    _table(kernel)
    return _chosen(kernel) or _DEFAULT_ORDER[0]


def _first(kernel: str, args, kwargs) -> str:
    chosen = _chosen(kernel)
    if chosen:
        return chosen
    faster = _faster.get(kernel)
    if faster is not None and faster[1](*args, **kwargs):
        return faster[0]
    return _DEFAULT_ORDER[0]


@contextmanager
def use_impl(backend: str, kernel: str | None = None):
    """Prefers `backend` inside the block, on this thread only."""
    _check_backend(backend)
    if kernel is not None:
        _table(kernel)
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append((kernel, backend))
    try:
        yield
    finally:
        stack.pop()


def explain(kernel: str, *args, **kwargs) -> list[tuple[str, str | None]]:
    """(backend, reason it cannot run or None) in the order a call would try them."""
    table = _table(kernel)
    first = _first(kernel, args, kwargs)
    order = [first] + [b for b in _DEFAULT_ORDER if b != first]
    return [(b, table[b].supports(*args, **kwargs) if b in table else "not implemented")
            for b in order]


def select(kernel: str, *args, **kwargs) -> Impl:
    """The implementation that runs these inputs: the preferred one, else the first fallback."""
    table = _table(kernel)
    first = _first(kernel, args, kwargs)
    impl = table.get(first)
    if impl is not None and impl.supports(*args, **kwargs) is None:
        return impl
    reasons = []
    for backend in (first, *_DEFAULT_ORDER):
        impl = table.get(backend)
        if impl is None:
            continue
        reason = impl.supports(*args, **kwargs)
        if reason is None:
            return impl
        reasons.append(f"{backend}: {reason}")
    raise NotImplementedError(f"{kernel}: no implementation takes these inputs ({'; '.join(reasons)})")
