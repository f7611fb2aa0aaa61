"""vt.core.ops.<namespace>.<name>: call any dispatcher op by name, boxed.

    vt.core.ops.vt.add.Tensor(a, b, alpha=2)
    vt.core.ops.hello.scale_add(a, b)
Handles are looked up once and cached on the namespace object.
"""

from __future__ import annotations

from vt.core import _C


class _Overloads:
    """An op name whose overloads are reached as attributes (add.Tensor, add.Scalar)."""

    def __init__(self, qualified: str):
        self._qualified = qualified

    def __getattr__(self, overload: str) -> _C._OpHandle:
        handle = _C._OpHandle(f"{self._qualified}.{overload}")
        setattr(self, overload, handle)
        return handle

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self._qualified} has overloads; call one, e.g. {self._qualified}.Tensor(...)")


class _Namespace:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, op: str):
        qualified = f"{self._name}::{op}"
        found = _C._OpHandle(qualified) if _C._has_op(qualified) else _Overloads(qualified)
        setattr(self, op, found)
        return found


def __getattr__(namespace: str) -> _Namespace:
    if namespace.startswith("__"):
        raise AttributeError(namespace)
    ns = _Namespace(namespace)
    globals()[namespace] = ns
    return ns
