"""backward() and grad(): torch.autograd's entry points over the native engine."""

from __future__ import annotations

from collections.abc import Sequence

import vt.core as _core
from vt.autograd import _C


def _as_list(x, what: str) -> list | None:
    if x is None:
        return None
    if isinstance(x, _core.Tensor):
        return [x]
    if isinstance(x, Sequence):
        return list(x)
    raise TypeError(f"{what}: expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Accumulates the gradients of `tensors` into the .grad of the leaves of their graph."""
    roots = _as_list(tensors, "backward")
    grads = _as_list(grad_tensors, "backward")
    if grads is not None and len(grads) != len(roots):
        raise RuntimeError(f"got {len(grads)} gradients for {len(roots)} tensors")
    ins = _as_list(inputs, "backward")
    if ins is not None and len(ins) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    _C.backward(roots, grads, bool(retain_graph), bool(create_graph), ins)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, without touching any .grad."""
    if is_grads_batched:
        raise NotImplementedError("vt.autograd.grad: is_grads_batched=True is not implemented")
    outs = _as_list(outputs, "grad")
    ins = _as_list(inputs, "grad")
    grads = _as_list(grad_outputs, "grad")
    if grads is not None and len(grads) != len(outs):
        raise RuntimeError(f"grad_outputs has {len(grads)} tensors but outputs has {len(outs)}")
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    return tuple(_C.run_grad(outs, ins, grads, bool(retain_graph), bool(create_graph),
                             bool(allow_unused), bool(materialize_grads)))
