"""torch.library custom ops over the kernel families, so that torch.compile traces each kernel
as one opaque node (no graph break) in the forward and in the backward.

Every op lives in the namespace "vt_kernels" (torch.ops.vt_kernels.<name>), has a fake (meta)
implementation giving the real outputs' shapes, dtypes and strides, and an autograd formula that
calls a second custom op, <name>_backward, built on the family's explicit backward function, so
that AOTAutograd traces the backward as well. Op bodies run the families' explicit forward and
backward functions on plain tensors (no autograd inside).

Forward ops also return what their backward needs (row statistics, logsumexp); the Python
functions here (`rms_norm`, `cross_entropy`, ...) return only the values the matching vt.kernels
function returns. Backward ops whose gradients may be absent (no weight, no k) return a list.
"""

from __future__ import annotations

import math

from ._compat import torch

if torch is None:
    raise ImportError("vt.kernels.torch_ops registers torch.library custom ops and needs torch, "
                      "which is not installed")

from torch import Tensor

from . import _registry
from ._checks import dtype_name
from ._launch import as_rows
from .activations import (
    _check_approximate,
    geglu_backward,
    geglu_forward,
    gelu_backward,
    gelu_forward,
    swiglu_backward,
    swiglu_forward,
)
from .attention import _check as _attention_check
from .attention import attention_backward as _attention_backward
from .attention import attention_forward
from .cross_entropy import KERNEL as _CE_KERNEL
from .cross_entropy import _check as _cross_entropy_check
from .cross_entropy import cross_entropy_backward as _cross_entropy_backward
from .cross_entropy import cross_entropy_forward, reduce_rows
from .layer_norm import _check as _layer_norm_check
from .layer_norm import layer_norm_backward as _layer_norm_backward
from .layer_norm import layer_norm_forward
from .rms_norm import _check as _rms_norm_check
from .rms_norm import rms_norm_backward as _rms_norm_backward
from .rms_norm import rms_norm_forward
from .rotary import _check as _rotary_check
from .rotary import rotary_backward, rotary_forward
from .softmax import log_softmax_backward as _log_softmax_backward
from .softmax import log_softmax_forward, softmax_forward
from .softmax import softmax_backward as _softmax_backward

NAMESPACE = "vt_kernels"


# The Python wrappers below run the families' own input checks (metadata only, so they also
# run while torch.compile traces on fake tensors); the raw torch.ops.vt_kernels ops do not.


def _op(name):
    return torch.library.custom_op(f"{NAMESPACE}::{name}", mutates_args=())


def _rows_count(x) -> int:
    return math.prod(x.shape[:-1])


def _like(x, shape=None, dtype=None):
    """A contiguous fake output: the real ops always return fresh contiguous tensors."""
    return x.new_empty(tuple(x.shape) if shape is None else shape, dtype=dtype or x.dtype)


def _flat(x):
    """x as one unit-stride row (copying a strided tensor once), for the elementwise kernels."""
    return x.contiguous().reshape(1, -1)


# ---------------------------------------------------------------------------------------------
# rms_norm


@_op("rms_norm")
def _rms_norm(x: Tensor, weight: Tensor | None, eps: float) -> tuple[Tensor, Tensor]:
    y, _, rstd = rms_norm_forward(as_rows(x), weight, eps)
    return y.view(x.shape), rstd


@_rms_norm.register_fake
def _(x, weight, eps):
    return _like(x), _like(x, (_rows_count(x),), torch.float32)


@_op("rms_norm_backward")
def _rms_norm_bwd(dy: Tensor, x: Tensor, weight: Tensor | None, rstd: Tensor) -> list[Tensor]:
    dx, dw = _rms_norm_backward(as_rows(dy), as_rows(x), weight, rstd)
    return [dx.view(x.shape)] + ([dw] if weight is not None else [])


@_rms_norm_bwd.register_fake
def _(dy, x, weight, rstd):
    return [_like(x)] + ([_like(weight)] if weight is not None else [])


def _rms_norm_setup(ctx, inputs, output):
    x, weight, _ = inputs
    ctx.save_for_backward(x, weight, output[1])


def _rms_norm_grad(ctx, dy, _drstd):
    x, weight, rstd = ctx.saved_tensors
    grads = torch.ops.vt_kernels.rms_norm_backward(dy, x, weight, rstd)
    return grads[0], grads[1] if weight is not None else None, None


_rms_norm.register_autograd(_rms_norm_grad, setup_context=_rms_norm_setup)


def rms_norm(x, weight=None, eps: float = 1e-6):
    """vt.kernels.rms_norm (no residual) as a custom op."""
    _rms_norm_check(x, weight, None)
    return torch.ops.vt_kernels.rms_norm(x, weight, float(eps))[0]


# ---------------------------------------------------------------------------------------------
# layer_norm


@_op("layer_norm")
def _layer_norm(x: Tensor, weight: Tensor | None, bias: Tensor | None,
                eps: float) -> tuple[Tensor, Tensor, Tensor]:
    y, _, mean, rstd = layer_norm_forward(as_rows(x), weight, bias, eps)
    return y.view(x.shape), mean, rstd


@_layer_norm.register_fake
def _(x, weight, bias, eps):
    stats = (_rows_count(x),)
    return _like(x), _like(x, stats, torch.float32), _like(x, stats, torch.float32)


@_op("layer_norm_backward")
def _layer_norm_bwd(dy: Tensor, x: Tensor, weight: Tensor | None, bias: Tensor | None,
                    mean: Tensor, rstd: Tensor) -> list[Tensor]:
    dx, dw, db = _layer_norm_backward(as_rows(dy), as_rows(x), weight, bias, mean, rstd)
    return [dx.view(x.shape)] + [g for g in (dw, db) if g is not None]


@_layer_norm_bwd.register_fake
def _(dy, x, weight, bias, mean, rstd):
    return [_like(x)] + [_like(t) for t in (weight, bias) if t is not None]


def _layer_norm_setup(ctx, inputs, output):
    x, weight, bias, _ = inputs
    ctx.save_for_backward(x, weight, bias, output[1], output[2])


def _layer_norm_grad(ctx, dy, _dmean, _drstd):
    x, weight, bias, mean, rstd = ctx.saved_tensors
    grads = list(torch.ops.vt_kernels.layer_norm_backward(dy, x, weight, bias, mean, rstd))
    dx = grads.pop(0)
    dw = grads.pop(0) if weight is not None else None
    db = grads.pop(0) if bias is not None else None
    return dx, dw, db, None


_layer_norm.register_autograd(_layer_norm_grad, setup_context=_layer_norm_setup)


def layer_norm(x, weight=None, bias=None, eps: float = 1e-5):
    """vt.kernels.layer_norm (no residual) as a custom op."""
    _layer_norm_check(x, weight, bias, None)
    return torch.ops.vt_kernels.layer_norm(x, weight, bias, float(eps))[0]


# ---------------------------------------------------------------------------------------------
# softmax and log_softmax (along any dim: swapped with the last one, as the family does)


def _softmax_ops(name, forward, backward):
    @_op(name)
    def fwd(x: Tensor, dim: int) -> Tensor:
        moved = x.transpose(dim, -1)
        return forward(as_rows(moved)).view(moved.shape).transpose(dim, -1)

    @fwd.register_fake
    def _(x, dim):
        return _like(x.transpose(dim, -1)).transpose(dim, -1)

    @_op(f"{name}_backward")
    def bwd(y: Tensor, dy: Tensor, dim: int) -> Tensor:
        moved = y.transpose(dim, -1)
        dx = backward(as_rows(moved), as_rows(dy.transpose(dim, -1)))
        return dx.view(moved.shape).transpose(dim, -1)

    @bwd.register_fake
    def _(y, dy, dim):
        return _like(y.transpose(dim, -1)).transpose(dim, -1)

    backward_op = getattr(torch.ops.vt_kernels, f"{name}_backward")

    def setup(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.dim = inputs[1]

    def grad(ctx, dy):
        y, = ctx.saved_tensors
        return backward_op(y, dy, ctx.dim), None

    fwd.register_autograd(grad, setup_context=setup)
    return fwd


def _softmax_dim(x, dim):
    rank = max(x.dim(), 1)
    if not -rank <= dim < rank:
        raise IndexError(f"dimension out of range (expected to be in range of [{-rank}, "
                         f"{rank - 1}], but got {dim})")
    return dim % rank


_softmax_ops("softmax", softmax_forward, _softmax_backward)
_softmax_ops("log_softmax", log_softmax_forward, _log_softmax_backward)


def softmax(x, dim: int = -1):
    """vt.kernels.softmax as a custom op (x of at least one dim)."""
    return torch.ops.vt_kernels.softmax(x, _softmax_dim(x, dim))


def log_softmax(x, dim: int = -1):
    """vt.kernels.log_softmax as a custom op (x of at least one dim)."""
    return torch.ops.vt_kernels.log_softmax(x, _softmax_dim(x, dim))


# ---------------------------------------------------------------------------------------------
# apply_rotary (int position offsets)


@_op("apply_rotary")
def _apply_rotary(q: Tensor, k: Tensor | None, cos: Tensor, sin: Tensor, position_offset: int,
                  interleaved: bool, layout: str) -> list[Tensor]:
    q_out, k_out = rotary_forward(q, k, cos, sin, position_offset, interleaved, layout)
    return [q_out] + ([k_out] if k is not None else [])


@_apply_rotary.register_fake
def _(q, k, cos, sin, position_offset, interleaved, layout):
    return [_like(q)] + ([_like(k)] if k is not None else [])


@_op("apply_rotary_backward")
def _apply_rotary_bwd(dq: Tensor, dk: Tensor | None, cos: Tensor, sin: Tensor,
                      position_offset: int, interleaved: bool, layout: str) -> list[Tensor]:
    dq_in, dk_in = rotary_backward(dq, dk, cos, sin, position_offset, interleaved, layout)
    return [dq_in] + ([dk_in] if dk is not None else [])


@_apply_rotary_bwd.register_fake
def _(dq, dk, cos, sin, position_offset, interleaved, layout):
    return [_like(dq)] + ([_like(dk)] if dk is not None else [])


def _rotary_setup(ctx, inputs, output):
    _, k, cos, sin, offset, interleaved, layout = inputs
    ctx.save_for_backward(cos, sin)
    ctx.args = (offset, interleaved, layout)
    ctx.has_k = k is not None


def _rotary_grad(ctx, grads):
    cos, sin = ctx.saved_tensors
    dq = grads[0]
    dk = grads[1] if ctx.has_k else None
    d = torch.ops.vt_kernels.apply_rotary_backward(dq, dk, cos, sin, *ctx.args)
    return d[0], d[1] if ctx.has_k else None, None, None, None, None, None


_apply_rotary.register_autograd(_rotary_grad, setup_context=_rotary_setup)


def apply_rotary(q, k, cos, sin, position_offset: int = 0, interleaved: bool = False,
                 layout: str = "bhsd"):
    """vt.kernels.apply_rotary as a custom op: (q_out, k_out or None); int offsets only."""
    if not isinstance(position_offset, int):
        raise NotImplementedError("torch_ops.apply_rotary: per-sequence offset tensors are not "
                                  "implemented as a custom op; use vt.kernels.apply_rotary")
    _rotary_check(q, k, cos, sin, position_offset, layout)
    out = torch.ops.vt_kernels.apply_rotary(q, k, cos, sin, position_offset, bool(interleaved),
                                            layout)
    return out[0], out[1] if k is not None else None


# ---------------------------------------------------------------------------------------------
# gelu, swiglu, geglu


@_op("gelu")
def _gelu(x: Tensor, approximate: str) -> Tensor:
    return gelu_forward(_flat(x), approximate).view(x.shape)


@_gelu.register_fake
def _(x, approximate):
    return _like(x)


@_op("gelu_backward")
def _gelu_bwd(dy: Tensor, x: Tensor, approximate: str) -> Tensor:
    return gelu_backward(_flat(dy), _flat(x), approximate).view(x.shape)


@_gelu_bwd.register_fake
def _(dy, x, approximate):
    return _like(x)


def _gelu_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0])
    ctx.approximate = inputs[1]


def _gelu_grad(ctx, dy):
    x, = ctx.saved_tensors
    return torch.ops.vt_kernels.gelu_backward(dy, x, ctx.approximate), None


_gelu.register_autograd(_gelu_grad, setup_context=_gelu_setup)


def gelu(x, approximate: str = "none"):
    """vt.kernels.gelu as a custom op."""
    _check_approximate("gelu", approximate)
    return torch.ops.vt_kernels.gelu(x, approximate)


def _gated_rows(x, up, out):
    """(x rows, up rows or None, out rows or None): packed [gate | up] rows or two flat rows."""
    if up is None:
        return as_rows(x), None, as_rows(out) if out is not None else None
    return _flat(x), _flat(up), _flat(out) if out is not None else None


def _gated_shape(x, up):
    return tuple(x.shape) if up is not None else tuple(x.shape[:-1]) + (x.shape[-1] // 2,)


def _gated_ops(name, forward, backward):
    """A gated activation op taking (x, up or None, *extra str args)."""

    @_op(name)
    def fwd(x: Tensor, up: Tensor | None, approximate: str) -> Tensor:
        x_rows, up_rows, _ = _gated_rows(x, up, None)
        extra = (approximate,) if name == "geglu" else ()
        return forward(x_rows, up_rows, *extra).view(_gated_shape(x, up))

    @fwd.register_fake
    def _(x, up, approximate):
        return _like(x, _gated_shape(x, up))

    @_op(f"{name}_backward")
    def bwd(dout: Tensor, x: Tensor, up: Tensor | None, approximate: str) -> list[Tensor]:
        x_rows, up_rows, dout_rows = _gated_rows(x, up, dout)
        extra = (approximate,) if name == "geglu" else ()
        dx, dup = backward(dout_rows, x_rows, up_rows, *extra)
        return [dx.view(x.shape)] + ([dup.view(up.shape)] if up is not None else [])

    @bwd.register_fake
    def _(dout, x, up, approximate):
        return [_like(x)] + ([_like(up)] if up is not None else [])

    backward_op = getattr(torch.ops.vt_kernels, f"{name}_backward")

    def setup(ctx, inputs, output):
        x, up, approximate = inputs
        ctx.save_for_backward(x, up)
        ctx.approximate = approximate

    def grad(ctx, dout):
        x, up = ctx.saved_tensors
        grads = backward_op(dout, x, up, ctx.approximate)
        return grads[0], grads[1] if up is not None else None, None

    fwd.register_autograd(grad, setup_context=setup)


_gated_ops("swiglu", swiglu_forward, swiglu_backward)
_gated_ops("geglu", geglu_forward, geglu_backward)


def _check_gated(op, x, up):
    if up is None and (x.dim() == 0 or x.shape[-1] % 2):
        raise RuntimeError(f"{op}: a single input needs an even last dim holding [gate | up], "
                           f"got shape {tuple(x.shape)}")
    if up is not None and tuple(up.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: gate has shape {tuple(x.shape)} but up has shape "
                           f"{tuple(up.shape)}")


def swiglu(x, up=None):
    """vt.kernels.swiglu as a custom op."""
    _check_gated("swiglu", x, up)
    return torch.ops.vt_kernels.swiglu(x, up, "none")


def geglu(x, up=None, approximate: str = "none"):
    """vt.kernels.geglu as a custom op."""
    _check_approximate("geglu", approximate)
    _check_gated("geglu", x, up)
    return torch.ops.vt_kernels.geglu(x, up, approximate)


# ---------------------------------------------------------------------------------------------
# cross_entropy (class indices along the last dim)


@_op("cross_entropy")
def _cross_entropy(logits: Tensor, target: Tensor, ignore_index: int, label_smoothing: float,
                   z_loss: float, reduction: str) -> tuple[Tensor, Tensor]:
    rows, targets = as_rows(logits), target.reshape(-1)
    loss_rows, lse = cross_entropy_forward(rows, targets, ignore_index, label_smoothing, z_loss)
    backend = _registry.select(_CE_KERNEL, rows, targets, ignore_index, label_smoothing,
                               z_loss).backend
    loss, _, _ = reduce_rows(backend, loss_rows, lse, targets, ignore_index, z_loss, reduction,
                             dtype_name(logits), False)
    if reduction == "none":
        # float32 logits give the per-row buffer itself; a copy keeps outputs from aliasing.
        loss = loss.view(target.shape).clone() if loss is loss_rows else loss.view(target.shape)
    return loss, lse


@_cross_entropy.register_fake
def _(logits, target, ignore_index, label_smoothing, z_loss, reduction):
    loss_shape = tuple(target.shape) if reduction == "none" else ()
    return _like(logits, loss_shape), _like(logits, (_rows_count(logits),), torch.float32)


@_op("cross_entropy_backward")
def _cross_entropy_bwd(grad: Tensor, logits: Tensor, target: Tensor, lse: Tensor,
                       ignore_index: int, label_smoothing: float, z_loss: float,
                       reduction: str) -> Tensor:
    targets = target.reshape(-1)
    grad_rows = grad.float().reshape(-1)
    if reduction == "mean":
        grad_rows = grad_rows / (targets != ignore_index).sum(dtype=torch.float32)
    dlogits = _cross_entropy_backward(as_rows(logits), targets, lse, grad_rows, ignore_index,
                                      label_smoothing, z_loss)
    return dlogits.view(logits.shape)


@_cross_entropy_bwd.register_fake
def _(grad, logits, target, lse, ignore_index, label_smoothing, z_loss, reduction):
    return _like(logits)


def _cross_entropy_setup(ctx, inputs, output):
    logits, target, *args = inputs
    ctx.save_for_backward(logits, target, output[1])
    ctx.args = tuple(args)


def _cross_entropy_grad(ctx, grad, _dlse):
    logits, target, lse = ctx.saved_tensors
    dlogits = torch.ops.vt_kernels.cross_entropy_backward(grad, logits, target, lse, *ctx.args)
    return dlogits, None, None, None, None, None


_cross_entropy.register_autograd(_cross_entropy_grad, setup_context=_cross_entropy_setup)


def cross_entropy(logits, target, ignore_index: int = -100, label_smoothing: float = 0.0,
                  z_loss: float = 0.0, reduction: str = "mean"):
    """vt.kernels.cross_entropy as a custom op (no inplace_backward, no return_z_loss)."""
    _cross_entropy_check(logits, target, float(label_smoothing), reduction)
    return torch.ops.vt_kernels.cross_entropy(logits, target, int(ignore_index),
                                              float(label_smoothing), float(z_loss), reduction)[0]


# ---------------------------------------------------------------------------------------------
# attention (dense)


@_op("attention")
def _attention(q: Tensor, k: Tensor, v: Tensor, causal: bool,
               softmax_scale: float | None) -> tuple[Tensor, Tensor]:
    return attention_forward(q, k, v, causal, softmax_scale)


@_attention.register_fake
def _(q, k, v, causal, softmax_scale):
    return _like(q), _like(q, tuple(q.shape[:3]), torch.float32)


@_op("attention_backward")
def _attention_bwd(dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                   causal: bool, softmax_scale: float | None) -> tuple[Tensor, Tensor, Tensor]:
    return _attention_backward(q, k, v, out, lse, dout, causal, softmax_scale)


@_attention_bwd.register_fake
def _(dout, q, k, v, out, lse, causal, softmax_scale):
    return _like(q), _like(k), _like(v)


def _attention_setup(ctx, inputs, output):
    q, k, v, causal, scale = inputs
    ctx.save_for_backward(q, k, v, *output)
    ctx.args = (causal, scale)


def _attention_grad(ctx, dout, _dlse):
    q, k, v, out, lse = ctx.saved_tensors
    dq, dk, dv = torch.ops.vt_kernels.attention_backward(dout, q, k, v, out, lse, *ctx.args)
    return dq, dk, dv, None, None


_attention.register_autograd(_attention_grad, setup_context=_attention_setup)


def attention(q, k, v, causal: bool = False, softmax_scale: float | None = None):
    """vt.kernels.attention (dense (batch, heads, seq, head_dim) inputs) as a custom op."""
    _attention_check(q, k, v, None, None, None, None)
    return torch.ops.vt_kernels.attention(
        q, k, v, bool(causal), float(softmax_scale) if softmax_scale is not None else None)[0]


__all__ = ["apply_rotary", "attention", "cross_entropy", "geglu", "gelu", "layer_norm",
           "log_softmax", "rms_norm", "softmax", "swiglu"]
