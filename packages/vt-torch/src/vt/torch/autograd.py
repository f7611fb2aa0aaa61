"""torch.autograd's names, served by vt.autograd."""

from vt.autograd import (  # noqa: F401
    Function, backward, enable_grad, grad, gradcheck, gradgradcheck, inference_mode,
    is_grad_enabled, no_grad, set_grad_enabled,
)
from vt.autograd.function import FunctionCtx, once_differentiable  # noqa: F401
