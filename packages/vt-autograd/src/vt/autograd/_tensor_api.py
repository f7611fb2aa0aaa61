"""The autograd attributes of vt.core.Tensor, installed when vt.autograd is imported (vt-core
alone has no autograd state: its tensors never require grad)."""

from __future__ import annotations

from vt.autograd import _C


def _requires_grad_(self, requires_grad: bool = True):
    _C.set_requires_grad(self, bool(requires_grad))
    return self


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    from vt.autograd.engine import backward

    backward(self, None if gradient is None else [gradient], retain_graph, create_graph, inputs=inputs)


def _register_hook(self, hook):
    return _C.register_hook(self, hook)


def _repr_suffixes(t) -> list[str]:
    fn = _C.grad_fn(t)
    if fn is not None:
        return [f"grad_fn=<{fn.name()}>"]
    return ["requires_grad=True"] if _C.requires_grad(t) else []


def install(tensor_type) -> None:
    from vt.core import _printing

    _printing.tensor_suffixes = _repr_suffixes
    tensor_type.requires_grad = property(_C.requires_grad, lambda self, v: _C.set_requires_grad(self, bool(v)))
    tensor_type.grad = property(_C.grad, _C.set_grad, lambda self: _C.set_grad(self, None))
    tensor_type.grad_fn = property(_C.grad_fn)
    tensor_type.is_leaf = property(_C.is_leaf)
    tensor_type.output_nr = property(_C.output_nr)
    tensor_type.retains_grad = property(_C.retains_grad)
    tensor_type.requires_grad_ = _requires_grad_
    tensor_type.retain_grad = lambda self: _C.retain_grad(self)
    tensor_type.backward = _backward
    tensor_type.register_hook = _register_hook
    tensor_type.register_post_accumulate_grad_hook = lambda self, hook: _C.register_post_accumulate_grad_hook(self, hook)
    tensor_type.detach = lambda self: _C.detach(self)
    tensor_type.detach_ = lambda self: (_C.detach_(self), self)[1]
