"""backward() and grad(): torch.autograd's entry points over the native engine."""

from __future__ import annotations

import warnings
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


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None) -> None:
    """Accumulates the gradients of `tensors` into the .grad of the leaves of their graph.
    grad_variables is torch's deprecated name of grad_tensors."""
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both passed to "
                               "`backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
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


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, without touching any .grad.
    only_inputs is deprecated in torch and ignored: nothing but `inputs` gets a gradient.

    With is_grads_batched, dimension 0 of every grad_output indexes independent vectors and the
    results are stacked along a new dimension 0 (one backward per vector: what torch computes
    with vmap, e.g. a Jacobian from grad_outputs = eye(n)).
    """
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.",
                      FutureWarning, stacklevel=2)
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
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


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads) -> tuple:
    grads = _as_list(grad_outputs, "grad")
    if not grads or any(g is None for g in grads):
        raise RuntimeError("grad: is_grads_batched=True needs a grad_output tensor (with a leading batch "
                           "dimension) for every output")
    sizes = {g.shape[0] if g.dim() > 0 else None for g in grads}
    if None in sizes or len(sizes) != 1:
        raise RuntimeError("grad: with is_grads_batched=True every grad_output needs the same size in dimension 0, "
                           f"got shapes {[tuple(g.shape) for g in grads]}")
    n = sizes.pop()
    if n == 0:
        raise NotImplementedError("grad: is_grads_batched=True with a batch of 0 grad_outputs")
    keep = create_graph if retain_graph is None else retain_graph
    rows = [grad(outputs, inputs, [g[i] for g in grads], retain_graph=True if i < n - 1 else keep,
                 create_graph=create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads)
            for i in range(n)]
    return tuple(None if column[0] is None else _core.stack(list(column)) for column in zip(*rows))
