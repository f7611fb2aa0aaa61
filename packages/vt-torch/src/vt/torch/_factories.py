"""Factories with torch's extra keywords: requires_grad (and the layout/pin_memory keywords
that CPU tensors ignore)."""

from __future__ import annotations

import functools

import vt.core as _core


def _with_requires_grad(fn):
    @functools.wraps(fn)
    def factory(*args, requires_grad: bool = False, pin_memory: bool = False, layout=None, **kwargs):
        t = fn(*args, **kwargs)
        return t.requires_grad_() if requires_grad else t

    return factory


arange = _with_requires_grad(_core.arange)
empty = _with_requires_grad(_core.empty)
empty_like = _with_requires_grad(_core.empty_like)
eye = _with_requires_grad(_core.eye)
full = _with_requires_grad(_core.full)
full_like = _with_requires_grad(_core.full_like)
linspace = _with_requires_grad(_core.linspace)
ones = _with_requires_grad(_core.ones)
ones_like = _with_requires_grad(_core.ones_like)
rand = _with_requires_grad(_core.rand)
rand_like = _with_requires_grad(_core.rand_like)
randint = _with_requires_grad(_core.randint)
randint_like = _with_requires_grad(_core.randint_like)
randn = _with_requires_grad(_core.randn)
randn_like = _with_requires_grad(_core.randn_like)
randperm = _with_requires_grad(_core.randperm)
tensor = _with_requires_grad(_core.tensor)
zeros = _with_requires_grad(_core.zeros)
zeros_like = _with_requires_grad(_core.zeros_like)
