"""Drop-in torch.nn modules whose forward runs the vt.kernels functions.

Where torch has the module, the class subclasses it: constructor arguments, parameters,
state_dict keys and repr are torch's own, so a checkpoint loads either way and isinstance checks
keep working. Under torch.compile the modules call the custom ops of vt.kernels.torch_ops, which
the compiler traces without graph breaks; eagerly they call the functional APIs directly.
"""

from __future__ import annotations

import math
import warnings

from ._compat import compiling, torch

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


def _normalized_rows(cls: str, x, normalized_shape: tuple):
    """x as 2-D rows of its trailing `normalized_shape` dims flattened (the norm kernels take one
    row dim): a view where the strides allow, else a copy."""
    if tuple(x.shape[-len(normalized_shape):]) != normalized_shape:
        # torch's RMSNorm raises ValueError for an input of fewer dims, else RuntimeError
        few_dims = cls == "RMSNorm" and x.dim() < len(normalized_shape)
        raise (ValueError if few_dims else RuntimeError)(
            f"vt.kernels.nn.{cls}: normalized_shape {normalized_shape} expects input of shape "
            f"(*, {', '.join(map(str, normalized_shape))}), got {tuple(x.shape)}")
    return x.reshape(-1, math.prod(normalized_shape))


def _flat(param):
    """A weight or bias of normalized_shape as one row; its gradient returns in its own shape."""
    return None if param is None else param.reshape(-1)


class RMSNorm(nn.RMSNorm):
    """torch.nn.RMSNorm (eps=None takes torch.finfo(input.dtype).eps); several trailing dims in
    normalized_shape are normalized as one flattened row."""

    def forward(self, x):
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        fn = torch_ops.rms_norm if compiling() else rms_norm
        if self.weight is not None and len(self.normalized_shape) == 1:
            return fn(x, self.weight, eps)  # the functional checks x's last dim against weight
        rows = _normalized_rows("RMSNorm", x, self.normalized_shape)
        return fn(rows, _flat(self.weight), eps).view(x.shape)


class LayerNorm(nn.LayerNorm):
    """torch.nn.LayerNorm; several trailing dims in normalized_shape are normalized as one
    flattened row."""

    def forward(self, x):
        fn = torch_ops.layer_norm if compiling() else layer_norm
        if self.weight is not None and len(self.normalized_shape) == 1:
            return fn(x, self.weight, self.bias, self.eps)  # the functional checks x's last dim
        rows = _normalized_rows("LayerNorm", x, self.normalized_shape)
        return fn(rows, _flat(self.weight), _flat(self.bias), self.eps).view(x.shape)


class GELU(nn.GELU):
    """torch.nn.GELU (approximate "none" or "tanh")."""

    def forward(self, x):
        fn = torch_ops.gelu if compiling() else gelu
        return fn(x, self.approximate)


class Embedding(nn.Embedding):
    """torch.nn.Embedding, with all its arguments.

    max_norm / norm_type: before each lookup the rows used whose norm exceeds max_norm are
    rescaled in place on the device (no host sync), outside autograd, as torch does.
    scale_grad_by_freq divides each row's gradient by its index's count in the input.
    sparse=True makes the weight's gradient a sparse COO tensor with one entry per token
    (padding tokens' entries are zero rather than dropped, which would need a host sync; the
    dense values match torch's); unlike torch it may be combined with scale_grad_by_freq.
    deterministic=True (not a torch argument) sums the weight's dense gradient in a fixed order,
    so it is bitwise reproducible.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None, deterministic=False):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse, _weight, _freeze, device=device, dtype=dtype)
        self.deterministic = deterministic

    def forward(self, input):
        fn = torch_ops.embedding if compiling() else embedding
        return fn(input, self.weight, self.padding_idx, self.deterministic,
                  max_norm=self.max_norm, norm_type=self.norm_type,
                  scale_grad_by_freq=self.scale_grad_by_freq, sparse=self.sparse)

    def extra_repr(self):
        return super().extra_repr() + (", deterministic=True" if self.deterministic else "")


def _implicit_dim(name: str, ndim: int) -> int:
    """torch's deprecated dim for dim=None, with its warning: 0 for 0-, 1- and 3-dim inputs, else
    1 (the dim after a batch dim)."""
    if not compiling():  # Dynamo cannot trace warnings.warn: a graph break for a message
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      "to include dim=X as an argument.", stacklevel=5)  # the module's caller
    return 0 if ndim in (0, 1, 3) else 1


class _SoftmaxForward:
    """The forward of Softmax and LogSoftmax: `_eager` (the functional) or, under torch.compile,
    `_compiled` (the custom op); `_name` is the function torch's warning names."""

    def forward(self, x):
        dim = self.dim if self.dim is not None else _implicit_dim(self._name, x.dim())
        fn = self._compiled if compiling() else self._eager
        return fn(x, dim)


class Softmax(_SoftmaxForward, nn.Softmax):
    """torch.nn.Softmax (dim=None: torch's deprecated implicit dim and its warning, eagerly)."""

    _name = "softmax"
    _eager = staticmethod(softmax)
    _compiled = staticmethod(torch_ops.softmax)


class LogSoftmax(_SoftmaxForward, nn.LogSoftmax):
    """torch.nn.LogSoftmax (dim=None: torch's deprecated implicit dim and its warning, eagerly)."""

    _name = "log_softmax"
    _eager = staticmethod(log_softmax)
    _compiled = staticmethod(torch_ops.log_softmax)


class CrossEntropyLoss(nn.CrossEntropyLoss):
    """torch.nn.CrossEntropyLoss: class-index targets (with ignore_index) or class-probability
    targets (float, the input's shape), optional class weights (the `weight` buffer, as torch
    registers it), label smoothing.

    Takes input (C,), (N, C) or (N, C, d1, ...) with the classes at dim 1 as torch does; inputs
    of more than two dims (and probability targets with them) are moved to classes-last once (a
    copy). Under torch.compile, probability targets run eagerly behind a graph break.
    """

    def forward(self, input, target):
        logits = input.movedim(1, -1) if input.dim() > 2 else input
        if input.dim() > 2 and target.is_floating_point() and target.dim() == input.dim():
            target = target.movedim(1, -1)
        fn = torch_ops.cross_entropy if compiling() else cross_entropy
        return fn(logits, target, ignore_index=self.ignore_index,
                  label_smoothing=self.label_smoothing, reduction=self.reduction,
                  weight=self.weight)


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
        fn = torch_ops.swiglu if compiling() else swiglu
        return self.down(fn(self.gate_up(x)))


class GeGLU(_GatedMLP):
    """down(gelu(gate) * up) (approximate "none": erf form, or "tanh")."""

    def __init__(self, hidden, intermediate, bias=False, approximate="none", device=None,
                 dtype=None):
        super().__init__(hidden, intermediate, bias, device=device, dtype=dtype)
        self.approximate = approximate

    def forward(self, x):
        fn = torch_ops.geglu if compiling() else geglu
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
        fn = torch_ops.linear_cross_entropy if compiling() else linear_cross_entropy
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
        if compiling():
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
