"""Custom differentiable operations written in Python, as torch.autograd.Function:

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y
"""

from __future__ import annotations

import functools

import vt.core as _core
from vt.autograd import _C
from vt.autograd.grad_mode import no_grad


class FunctionCtx:
    """What forward() leaves for backward(): saved tensors and flags."""

    def __init__(self) -> None:
        self._to_save: tuple = ()
        self._saved = None
        self._dirty: tuple = ()
        self._non_differentiable: tuple = ()
        self.materialize_grads = True
        self.needs_input_grad: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, _core.Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{len(self._to_save)} is of type {type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError("saved_tensors can only be read in backward(), and only once per "
                               "backward unless retain_graph=True was given")
        return self._saved

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """Subclass with static forward(ctx, *args) and backward(ctx, *grads), then call
    YourFunction.apply(*args)."""

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError("Function instances are not callable: use the class's apply() method")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, _core.Tensor) and a.requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        return _C.function_apply(cls.__name__, cls.backward, ctx, tuple(args), outputs,
                                 list(ctx._to_save), list(ctx._dirty), list(ctx._non_differentiable),
                                 ctx.materialize_grads)


def once_differentiable(fn):
    """Marks a backward() as not itself differentiable: it runs without recording a graph, so a
    create_graph backward through it gives gradients that do not require grad."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)

    return wrapper
