"""torch is optional: kernels also run on any DLPack / CUDA-array-interface producer."""

from __future__ import annotations

try:
    import torch
except ImportError:  # a CuPy-only environment
    torch = None


def is_torch_tensor(x) -> bool:
    return torch is not None and isinstance(x, torch.Tensor)


def compiling() -> bool:
    """True while torch.compile traces (the functional API then calls the torch_ops custom ops)."""
    return torch is not None and torch.compiler.is_compiling()


def needs_autograd(*tensors) -> bool:
    """True when torch autograd must record the call (some input requires grad, grad mode on)."""
    if torch is None or not torch.is_grad_enabled():
        return False
    return any(is_torch_tensor(t) and t.requires_grad for t in tensors)


def require_torch(what: str):
    if torch is None:
        raise NotImplementedError(f"{what} needs torch, which is not installed")
    return torch
