"""Drop-in torch.nn modules whose forward runs the vt.kernels functions.

Where torch has the module, the class subclasses it: constructor arguments, parameters,
state_dict keys and repr are torch's own, so a checkpoint loads either way and isinstance checks
keep working. Under torch.compile the modules call the custom ops of vt.kernels.torch_ops, which
the compiler traces without graph breaks; eagerly they call the functional APIs directly.
"""

from __future__ import annotations

import numbers

from ._compat import torch

if torch is None:
    raise ImportError("vt.kernels.nn defines torch.nn modules and needs torch, which is not "
                      "installed")

from torch import nn

from . import torch_ops
from .activations import geglu, gelu, swiglu
from .cross_entropy import cross_entropy
from .embedding import embedding
from .layer_norm import layer_norm
from .linear_cross_entropy import linear_cross_entropy
from .rms_norm import rms_norm
from .rotary import apply_rotary
from .softmax import log_softmax, softmax


def _compiling() -> bool:
    return torch.compiler.is_compiling()


def _last_dim_only(cls: str, normalized_shape) -> None:
    shape = ((normalized_shape,) if isinstance(normalized_shape, numbers.Integral)
             else tuple(normalized_shape))
    if len(shape) != 1:
        raise NotImplementedError(f"vt.kernels.nn.{cls}: normalizing over several trailing dims "
                                  f"{shape} is not implemented; only the last dim is")


class RMSNorm(nn.RMSNorm):
    """torch.nn.RMSNorm over the last dim (eps=None takes torch.finfo(input.dtype).eps)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        _last_dim_only("RMSNorm", normalized_shape)
        super().__init__(normalized_shape, eps, elementwise_affine, device=device, dtype=dtype)

    def forward(self, x):
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        fn = torch_ops.rms_norm if _compiling() else rms_norm
        return fn(x, self.weight, eps)


class LayerNorm(nn.LayerNorm):
    """torch.nn.LayerNorm over the last dim."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        _last_dim_only("LayerNorm", normalized_shape)
        super().__init__(normalized_shape, eps, elementwise_affine, bias, device=device,
                         dtype=dtype)

    def forward(self, x):
        fn = torch_ops.layer_norm if _compiling() else layer_norm
        return fn(x, self.weight, self.bias, self.eps)


class GELU(nn.GELU):
    """torch.nn.GELU (approximate "none" or "tanh")."""

    def forward(self, x):
        fn = torch_ops.gelu if _compiling() else gelu
        return fn(x, self.approximate)


class Embedding(nn.Embedding):
    """torch.nn.Embedding without max_norm, scale_grad_by_freq or sparse gradients.

    deterministic=True (not a torch argument) sums the weight's gradient in a fixed order, so it
    is bitwise reproducible.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None, deterministic=False):
        for name, value, default in (("max_norm", max_norm, None),
                                     ("scale_grad_by_freq", scale_grad_by_freq, False),
                                     ("sparse", sparse, False)):
            if value != default:
                raise NotImplementedError(f"vt.kernels.nn.Embedding: {name}={value!r} is not "
                                          f"implemented ({name}={default} only)")
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse, _weight, _freeze, device=device, dtype=dtype)
        self.deterministic = deterministic

    def forward(self, input):
        fn = torch_ops.embedding if _compiling() else embedding
        return fn(input, self.weight, self.padding_idx, self.deterministic)

    def extra_repr(self):
        return super().extra_repr() + (", deterministic=True" if self.deterministic else "")


def _explicit_dim(cls: str, dim) -> None:
    if dim is None:
        raise NotImplementedError(f"vt.kernels.nn.{cls}: dim=None (torch's deprecated implicit "
                                  "choice of dim) is not implemented; pass dim")


class Softmax(nn.Softmax):
    """torch.nn.Softmax along an explicit dim."""

    def __init__(self, dim=None):
        _explicit_dim("Softmax", dim)
        super().__init__(dim)

    def forward(self, x):
        fn = torch_ops.softmax if _compiling() else softmax
        return fn(x, self.dim)


class LogSoftmax(nn.LogSoftmax):
    """torch.nn.LogSoftmax along an explicit dim."""

    def __init__(self, dim=None):
        _explicit_dim("LogSoftmax", dim)
        super().__init__(dim)

    def forward(self, x):
        fn = torch_ops.log_softmax if _compiling() else log_softmax
        return fn(x, self.dim)


class CrossEntropyLoss(nn.CrossEntropyLoss):
    """torch.nn.CrossEntropyLoss for class-index targets, without class weights.

    Takes input (C,), (N, C) or (N, C, d1, ...) with the classes at dim 1 as torch does; inputs
    of more than two dims are moved to classes-last once (a copy).
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        if weight is not None:
            raise NotImplementedError("vt.kernels.nn.CrossEntropyLoss: class weights are not "
                                      "implemented (weight=None only)")
        super().__init__(None, size_average, ignore_index, reduce, reduction, label_smoothing)

    def forward(self, input, target):
        if target.is_floating_point():
            raise NotImplementedError("vt.kernels.nn.CrossEntropyLoss: class probabilities as "
                                      "targets are not implemented (class indices only)")
        logits = input.movedim(1, -1) if input.dim() > 2 else input
        fn = torch_ops.cross_entropy if _compiling() else cross_entropy
        return fn(logits, target, ignore_index=self.ignore_index,
                  label_smoothing=self.label_smoothing, reduction=self.reduction)


class _GatedMLP(nn.Module):
    """down(act(gate) * up) with gate and up from one Linear of 2 * intermediate features, whose
    output rows hold [gate | up] (one GEMM; the fused activation reads the packed rows)."""

    def __init__(self, hidden, intermediate, bias=False, device=None, dtype=None):
        super().__init__()
        self.hidden = hidden
        self.intermediate = intermediate
        self.gate_up = nn.Linear(hidden, 2 * intermediate, bias=bias, device=device, dtype=dtype)
        self.down = nn.Linear(intermediate, hidden, bias=bias, device=device, dtype=dtype)

    def extra_repr(self):
        return f"hidden={self.hidden}, intermediate={self.intermediate}"


class SwiGLU(_GatedMLP):
    """The LLaMA MLP: down(silu(gate) * up)."""

    def forward(self, x):
        fn = torch_ops.swiglu if _compiling() else swiglu
        return self.down(fn(self.gate_up(x)))


class GeGLU(_GatedMLP):
    """down(gelu(gate) * up) (approximate "none": erf form, or "tanh")."""

    def __init__(self, hidden, intermediate, bias=False, approximate="none", device=None,
                 dtype=None):
        super().__init__(hidden, intermediate, bias, device=device, dtype=dtype)
        self.approximate = approximate

    def forward(self, x):
        fn = torch_ops.geglu if _compiling() else geglu
        return self.down(fn(self.gate_up(x), approximate=self.approximate))

    def extra_repr(self):
        return f"{super().extra_repr()}, approximate={self.approximate!r}"


class LinearCrossEntropyLoss(nn.Module):
    """cross_entropy(hidden @ weight.T + bias, target) without materializing all logits.

    forward(hidden (..., H), weight (V, H), target (...), bias (V,) or None); the weight is the
    lm_head's (passed in, not owned). For "mean" and "sum" the gradients are computed during the
    forward, so backward runs once per forward (under torch.compile, backward recomputes the
    logits instead).
    """

    def __init__(self, ignore_index=-100, reduction="mean", label_smoothing=0.0, z_loss=0.0,
                 chunk_size=None):
        super().__init__()
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.z_loss = z_loss
        self.chunk_size = chunk_size

    def forward(self, hidden, weight, target, bias=None):
        fn = torch_ops.linear_cross_entropy if _compiling() else linear_cross_entropy
        return fn(hidden, weight, target, bias, ignore_index=self.ignore_index,
                  label_smoothing=self.label_smoothing, reduction=self.reduction,
                  chunk_size=self.chunk_size, z_loss=self.z_loss)

    def extra_repr(self):
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}, z_loss={self.z_loss}")


class RotaryEmbedding(nn.Module):
    """RoPE over head_dim for positions [0, max_seq_len): owns the cos/sin tables (float32
    (max_seq_len, head_dim / 2) buffers, not saved in the state_dict) and rotates (q, k).

    interleaved=False pairs channels (i, i + head_dim / 2) (GPT-NeoX, Llama); True pairs
    (2i, 2i + 1) (GPT-J).
    """

    def __init__(self, head_dim, max_seq_len, base=10000.0, interleaved=False, device=None):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RotaryEmbedding: head_dim must be even, got {head_dim}")
        self.head_dim = head_dim
        self.max_seq_len = max_seq_len
        self.base = base
        self.interleaved = interleaved
        cos, sin = self._tables(device)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def _tables(self, device):
        exponents = torch.arange(0, self.head_dim, 2, device=device, dtype=torch.float64)
        inv_freq = 1.0 / self.base ** (exponents / self.head_dim)
        positions = torch.arange(self.max_seq_len, device=device, dtype=torch.float64)
        angles = torch.outer(positions, inv_freq)  # float64 angles: exact at long positions
        return angles.cos().float(), angles.sin().float()

    def forward(self, q, k=None, position_offset=0, layout="bhsd"):
        """(q_out, k_out or None); q, k (batch, heads, seq, head_dim) for layout "bhsd" or
        (batch, seq, heads, head_dim) for "bshd"; position_offset an int or an int tensor
        (batch,)."""
        if _compiling():
            return torch_ops.apply_rotary(q, k, self.cos, self.sin, position_offset,
                                          self.interleaved, layout)
        return apply_rotary(q, k, self.cos, self.sin, position_offset, self.interleaved, layout)

    def extra_repr(self):
        return (f"head_dim={self.head_dim}, max_seq_len={self.max_seq_len}, base={self.base}, "
                f"interleaved={self.interleaved}")


__all__ = [
    "GELU",
    "CrossEntropyLoss",
    "Embedding",
    "GeGLU",
    "LayerNorm",
    "LinearCrossEntropyLoss",
    "LogSoftmax",
    "RMSNorm",
    "RotaryEmbedding",
    "Softmax",
    "SwiGLU",
]
