"""clip_grad_norm_ and clip_grad_value_, torch's semantics (total norm over all gradients,
scaled by max_norm / (total + 1e-6) clamped to 1, with no host sync on the scaling path)."""

from __future__ import annotations

import math

import vt.core as _core
from vt.autograd import no_grad


def _grads(parameters) -> list:
    if isinstance(parameters, _core.Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None):
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return _core.tensor(0.0)
    with no_grad():
        norms = _core.stack([g.norm(norm_type).to(_core.float32) if g.dtype != _core.float64 else g.norm(norm_type)
                             for g in grads])
        total = norms.amax() if math.isinf(norm_type) else norms.norm(norm_type)
        if error_if_nonfinite and not total.isfinite().item():
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                               "non-finite, so it cannot be clipped. To disable this error and scale the "
                               "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
