"""Finite-difference checks of the engine's gradients (torch.autograd.gradcheck's method):
central differences in float64 compared with the analytical vector-Jacobian products."""

from __future__ import annotations

import vt.core as _core
from vt.autograd.engine import grad as _grad


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs) -> list:
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _flat(t) -> list[float]:
    return [float(v) for v in t.reshape(-1).tolist()] if t.numel() else []


def _numerical_jacobian(fn, inputs, i: int, eps: float) -> list[list[list[float]]]:
    """jac[k][j][o]: d output_k[o] / d input_i[j]."""
    x = inputs[i]
    flat = x.detach().reshape(-1)
    base = _flat(flat)
    columns = []
    for j in range(len(base)):
        def at(v):
            perturbed = flat.clone()
            perturbed[j] = v
            args = list(inputs)
            args[i] = perturbed.reshape(x.shape)
            return [_flat(o.detach()) for o in _outputs(fn, args)]
        hi, lo = at(base[j] + eps), at(base[j] - eps)
        columns.append([[(a - b) / (2 * eps) for a, b in zip(h, l)] for h, l in zip(hi, lo)])
    n_out = len(columns[0]) if columns else 0
    return [[columns[j][k] for j in range(len(base))] for k in range(n_out)]


def _refuse_forward_ad(**flags: bool) -> None:
    named = [name for name, on in flags.items() if on]
    if named:
        raise NotImplementedError(f"gradcheck: {', '.join(named)}=True needs forward-mode AD, which vt.autograd "
                                  "does not implement")


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None) -> bool:
    """True when the gradients of func at inputs (float64 tensors that require grad) match
    central finite differences.

    Every gradient is compared element by element (fast_mode only selects torch's cheaper
    projection, so it changes nothing here); check_batched_grad passes by construction, since
    batched gradients are computed one vector at a time; options that need forward-mode AD raise
    NotImplementedError. check_grad_dtypes also requires each gradient's dtype to be its input's.
    """
    _refuse_forward_ad(check_forward_ad=check_forward_ad, check_batched_forward_grad=check_batched_forward_grad)
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not check_backward_ad:
        return True
    diff = [i for i, t in enumerate(inputs) if isinstance(t, _core.Tensor) and t.requires_grad]
    for i in diff:
        if inputs[i].dtype != _core.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs")
    outs = _outputs(func, inputs)
    jacobians = {i: _numerical_jacobian(func, inputs, i, eps) for i in diff}  # once for all outputs
    for k, out in enumerate(outs):
        if not out.requires_grad:
            continue
        n = out.numel()
        numerical = {i: jacobians[i][k] for i in diff}
        for o in range(n):
            seed = _core.zeros(out.shape, dtype=out.dtype).reshape(-1)
            seed[o] = 1.0
            grads = _grad([out], [inputs[i] for i in diff], [seed.reshape(out.shape)],
                          retain_graph=True, allow_unused=True)
            for i, g in zip(diff, grads):
                if check_grad_dtypes and g is not None and g.dtype != inputs[i].dtype:
                    if raise_exception:
                        raise GradcheckError(f"Gradient has dtype mismatch: input {i} is {inputs[i].dtype}, "
                                             f"its gradient {g.dtype}")
                    return False
                analytical = _flat(g) if g is not None else [0.0] * inputs[i].numel()
                for j, a in enumerate(analytical):
                    num = numerical[i][j][o]
                    if abs(a - num) > atol + rtol * abs(num):
                        if raise_exception:
                            raise GradcheckError(
                                f"Jacobian mismatch for output {k} with respect to input {i}: "
                                f"element ({j}, {o}) numerical {num} analytical {a}")
                        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """gradcheck of the first derivative (vector-Jacobian products built with create_graph)."""
    _refuse_forward_ad(check_fwd_over_rev=check_fwd_over_rev)
    if not check_rev_over_rev:
        return True
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        gen = _core.Generator().manual_seed(0) if hasattr(_core, "Generator") else None
        grad_outputs = [(_core.randn(o.shape, dtype=o.dtype, generator=gen) if gen is not None
                         else _core.randn(o.shape, dtype=o.dtype)).requires_grad_(True) for o in outs]
    grad_outputs = list(grad_outputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, _core.Tensor) and t.requires_grad]

    def first_derivative(*args):
        # Finite differences call this with plain tensors: they must still be differentiable.
        args = [a if not isinstance(a, _core.Tensor) or a.requires_grad or a.dtype != _core.float64
                else a.detach().requires_grad_() for a in args]
        xs, gs = args[:len(inputs)], args[len(inputs):]
        ys = _outputs(func, xs)
        grads = _grad(ys, [xs[i] for i in diff], list(gs), create_graph=True, allow_unused=True)
        return tuple(g if g is not None else _core.zeros(xs[i].shape, dtype=xs[i].dtype)
                     for g, i in zip(grads, diff))

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, check_grad_dtypes=check_grad_dtypes)
