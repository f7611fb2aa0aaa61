"""parameters_to_vector / vector_to_parameters."""

from __future__ import annotations

import vt.core as _core
from vt.autograd import no_grad


def parameters_to_vector(parameters):
    return _core.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    if not isinstance(vec, _core.Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[offset:offset + n].view(*p.shape))
            offset += n
