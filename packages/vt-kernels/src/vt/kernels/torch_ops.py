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
from ._checks import check_float, dtype_name
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
from .cross_entropy import cross_entropy as _eager_cross_entropy
from .cross_entropy import cross_entropy_forward, reduce_rows
from .cross_entropy import mean_denominator as _ce_mean_denominator
from .embedding import _check as _embedding_check
from .embedding import _padding as _embedding_padding
from .embedding import embedding_backward as _embedding_backward
from .embedding import embedding_forward
from .embedding import embedding_renorm_ as _embedding_renorm_
from .layer_norm import _check as _layer_norm_check
from .layer_norm import layer_norm_backward as _layer_norm_backward
from .layer_norm import layer_norm_forward
from .linear_cross_entropy import KERNEL as _LCE_KERNEL
from .linear_cross_entropy import _check as _linear_cross_entropy_check
from .linear_cross_entropy import linear_cross_entropy_backward as _lce_backward
from .linear_cross_entropy import linear_cross_entropy_forward
from .rms_norm import _check as _rms_norm_check
from .rms_norm import rms_norm_backward as _rms_norm_backward
from .rms_norm import rms_norm_forward
from .rotary import _check as _rotary_check
from .rotary import rotary_backward, rotary_forward, rotary_table_backward
from .softmax import _normalize_dim as _softmax_normalize_dim
from .softmax import log_softmax_backward as _log_softmax_backward
from .softmax import log_softmax_forward, softmax_forward
from .softmax import softmax_backward as _softmax_backward

NAMESPACE = "vt_kernels"


# The Python wrappers below run the families' own input checks (metadata only, so they also
# run while torch.compile traces on fake tensors); the raw torch.ops.vt_kernels ops do not.


def _op(name, schema=None):
    return torch.library.custom_op(f"{NAMESPACE}::{name}", mutates_args=(), schema=schema)


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


@_op("rms_norm_residual")
def _rms_norm_residual(x: Tensor, residual: Tensor, weight: Tensor | None,
                       eps: float) -> tuple[Tensor, Tensor, Tensor]:
    y, h, rstd = rms_norm_forward(as_rows(x), weight, eps, as_rows(residual))
    return y.view(x.shape), h.view(x.shape), rstd


@_rms_norm_residual.register_fake
def _(x, residual, weight, eps):
    return _like(x), _like(x), _like(x, (_rows_count(x),), torch.float32)


@_op("rms_norm_residual_backward")
def _rms_norm_residual_bwd(dy: Tensor, dh: Tensor | None, h: Tensor, weight: Tensor | None,
                           rstd: Tensor) -> list[Tensor]:
    dh_rows = as_rows(dh) if dh is not None else None
    dx, dw = _rms_norm_backward(as_rows(dy), as_rows(h), weight, rstd, dh_rows)
    return [dx.view(h.shape)] + ([dw] if weight is not None else [])


@_rms_norm_residual_bwd.register_fake
def _(dy, dh, h, weight, rstd):
    return [_like(h)] + ([_like(weight)] if weight is not None else [])


def _rms_norm_residual_setup(ctx, inputs, output):
    _, _, weight, _ = inputs
    ctx.save_for_backward(output[1], weight, output[2])


def _rms_norm_residual_grad(ctx, dy, dh, _drstd):
    h, weight, rstd = ctx.saved_tensors
    grads = torch.ops.vt_kernels.rms_norm_residual_backward(dy, dh, h, weight, rstd)
    # h = x + residual: both inputs get the same gradient.
    return grads[0], grads[0], grads[1] if weight is not None else None, None


_rms_norm_residual.register_autograd(_rms_norm_residual_grad,
                                     setup_context=_rms_norm_residual_setup)


def rms_norm(x, weight=None, eps: float = 1e-6, residual=None):
    """vt.kernels.rms_norm as a custom op; with `residual`, returns (y, x + residual)."""
    _rms_norm_check(x, weight, residual)
    if residual is None:
        return torch.ops.vt_kernels.rms_norm(x, weight, float(eps))[0]
    y, h, _ = torch.ops.vt_kernels.rms_norm_residual(x, residual, weight, float(eps))
    return y, h


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


@_op("layer_norm_residual")
def _layer_norm_residual(x: Tensor, residual: Tensor, weight: Tensor | None, bias: Tensor | None,
                         eps: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    y, h, mean, rstd = layer_norm_forward(as_rows(x), weight, bias, eps, as_rows(residual))
    return y.view(x.shape), h.view(x.shape), mean, rstd


@_layer_norm_residual.register_fake
def _(x, residual, weight, bias, eps):
    stats = (_rows_count(x),)
    return _like(x), _like(x), _like(x, stats, torch.float32), _like(x, stats, torch.float32)


@_op("layer_norm_residual_backward")
def _layer_norm_residual_bwd(dy: Tensor, dh: Tensor | None, h: Tensor, weight: Tensor | None,
                             bias: Tensor | None, mean: Tensor, rstd: Tensor) -> list[Tensor]:
    dh_rows = as_rows(dh) if dh is not None else None
    dx, dw, db = _layer_norm_backward(as_rows(dy), as_rows(h), weight, bias, mean, rstd, dh_rows)
    return [dx.view(h.shape)] + [g for g in (dw, db) if g is not None]


@_layer_norm_residual_bwd.register_fake
def _(dy, dh, h, weight, bias, mean, rstd):
    return [_like(h)] + [_like(t) for t in (weight, bias) if t is not None]


def _layer_norm_residual_setup(ctx, inputs, output):
    _, _, weight, bias, _ = inputs
    ctx.save_for_backward(output[1], weight, bias, output[2], output[3])


def _layer_norm_residual_grad(ctx, dy, dh, _dmean, _drstd):
    h, weight, bias, mean, rstd = ctx.saved_tensors
    grads = list(torch.ops.vt_kernels.layer_norm_residual_backward(dy, dh, h, weight, bias, mean,
                                                                   rstd))
    dx = grads.pop(0)
    dw = grads.pop(0) if weight is not None else None
    db = grads.pop(0) if bias is not None else None
    # h = x + residual: both inputs get the same gradient.
    return dx, dx, dw, db, None


_layer_norm_residual.register_autograd(_layer_norm_residual_grad,
                                       setup_context=_layer_norm_residual_setup)


def layer_norm(x, weight=None, bias=None, eps: float = 1e-5, residual=None):
    """vt.kernels.layer_norm as a custom op; with `residual`, returns (y, x + residual)."""
    _layer_norm_check(x, weight, bias, residual)
    if residual is None:
        return torch.ops.vt_kernels.layer_norm(x, weight, bias, float(eps))[0]
    y, h, _, _ = torch.ops.vt_kernels.layer_norm_residual(x, residual, weight, bias, float(eps))
    return y, h


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


def _softmax_dim(op, x, dim):
    check_float(op, "x", x)
    return _softmax_normalize_dim(op, dim, x.dim())


_softmax_ops("softmax", softmax_forward, _softmax_backward)
_softmax_ops("log_softmax", log_softmax_forward, _log_softmax_backward)


def softmax(x, dim: int = -1):
    """vt.kernels.softmax as a custom op (x of at least one dim)."""
    return torch.ops.vt_kernels.softmax(x, _softmax_dim("softmax", x, dim))


def log_softmax(x, dim: int = -1):
    """vt.kernels.log_softmax as a custom op (x of at least one dim)."""
    return torch.ops.vt_kernels.log_softmax(x, _softmax_dim("log_softmax", x, dim))


# ---------------------------------------------------------------------------------------------
# apply_rotary: one op for an int position offset, one for per-sequence offsets (a tensor);
# a schema argument cannot be either


def _rotary_ops(name, offset_type):
    """The ops (forward, x backward, cos/sin table backward) of one position_offset schema type,
    offset_type ("SymInt" or "Tensor")."""
    rest = f"Tensor cos, Tensor sin, {offset_type} position_offset, bool interleaved, str layout"

    @_op(name, f"(Tensor q, Tensor? k, {rest}) -> Tensor[]")
    def fwd(q, k, cos, sin, position_offset, interleaved, layout):
        q_out, k_out = rotary_forward(q, k, cos, sin, position_offset, interleaved, layout)
        return [q_out] + ([k_out] if k is not None else [])

    @fwd.register_fake
    def _(q, k, cos, sin, position_offset, interleaved, layout):
        return [_like(q)] + ([_like(k)] if k is not None else [])

    @_op(f"{name}_backward", f"(Tensor dq, Tensor? dk, {rest}) -> Tensor[]")
    def bwd(dq, dk, cos, sin, position_offset, interleaved, layout):
        dq_in, dk_in = rotary_backward(dq, dk, cos, sin, position_offset, interleaved, layout)
        return [dq_in] + ([dk_in] if dk is not None else [])

    @bwd.register_fake
    def _(dq, dk, cos, sin, position_offset, interleaved, layout):
        return [_like(dq)] + ([_like(dk)] if dk is not None else [])

    @_op(f"{name}_table_backward",
         f"(Tensor q, Tensor? k, Tensor dq, Tensor? dk, {rest}) -> Tensor[]")
    def table_bwd(q, k, dq, dk, cos, sin, position_offset, interleaved, layout):
        return list(rotary_table_backward(q, k, dq, dk, cos, sin, position_offset, interleaved,
                                          layout))

    @table_bwd.register_fake
    def _(q, k, dq, dk, cos, sin, position_offset, interleaved, layout):
        return [_like(cos), _like(sin)]

    backward_op = getattr(torch.ops.vt_kernels, f"{name}_backward")
    table_backward_op = getattr(torch.ops.vt_kernels, f"{name}_table_backward")

    def setup(ctx, inputs, output):
        q, k, cos, sin, offset, interleaved, layout = inputs
        # Learned tables need q and k in the backward; fixed ones only the tables.
        ctx.tables_need_grad = ctx.needs_input_grad[2] or ctx.needs_input_grad[3]
        inputs_kept = (q, k) if ctx.tables_need_grad else (None, None)
        ctx.save_for_backward(cos, sin, offset if isinstance(offset, Tensor) else None,
                              *inputs_kept)
        ctx.offset = None if isinstance(offset, Tensor) else offset
        ctx.args = (interleaved, layout)
        ctx.has_k = k is not None

    def grad(ctx, grads):
        cos, sin, offset, q, k = ctx.saved_tensors
        offset = offset if offset is not None else ctx.offset
        dq = grads[0]
        dk = grads[1] if ctx.has_k else None
        dq_in = dk_in = dcos = dsin = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            d = backward_op(dq, dk, cos, sin, offset, *ctx.args)
            dq_in, dk_in = d[0], d[1] if ctx.has_k else None
        if ctx.tables_need_grad:
            dcos, dsin = table_backward_op(q, k, dq, dk, cos, sin, offset, *ctx.args)
        return dq_in, dk_in, dcos, dsin, None, None, None

    fwd.register_autograd(grad, setup_context=setup)


_rotary_ops("apply_rotary", "SymInt")
_rotary_ops("apply_rotary_offsets", "Tensor")


def apply_rotary(q, k, cos, sin, position_offset=0, interleaved: bool = False,
                 layout: str = "bhsd"):
    """vt.kernels.apply_rotary as a custom op: (q_out, k_out or None); position_offset an int
    or an int tensor (batch,) of per-sequence offsets."""
    offsets = _rotary_check(q, k, cos, sin, position_offset, layout)
    op = (torch.ops.vt_kernels.apply_rotary if isinstance(offsets, int)
          else torch.ops.vt_kernels.apply_rotary_offsets)
    out = op(q, k, cos, sin, offsets, bool(interleaved), layout)
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
    check_float("gelu", "x", x)
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
    check_float(op, "x", x)
    if up is not None:
        check_float(op, "up", up)
        if up.dtype != x.dtype:
            raise TypeError(f"{op}: up dtype {dtype_name(up)} differs from gate dtype "
                            f"{dtype_name(x)}")
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
# cross_entropy (class indices along the last dim; class probabilities run eagerly)


@_op("cross_entropy")
def _cross_entropy(logits: Tensor, target: Tensor, ignore_index: int, label_smoothing: float,
                   z_loss: float, reduction: str,
                   weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
    rows, targets = as_rows(logits), target.reshape(-1)
    weight = None if weight is None else weight.contiguous()  # the kernels index it by class
    loss_rows, lse = cross_entropy_forward(rows, targets, ignore_index, label_smoothing, z_loss,
                                           weight=weight)
    backend = _registry.select(_CE_KERNEL, rows, targets, ignore_index, label_smoothing,
                               z_loss, weight).backend
    loss, _, _ = reduce_rows(backend, loss_rows, lse, targets, ignore_index, z_loss, reduction,
                             dtype_name(logits), False, weight)
    if reduction == "none":
        # float32 logits give the per-row buffer itself; a copy keeps outputs from aliasing.
        loss = loss.view(target.shape).clone() if loss is loss_rows else loss.view(target.shape)
    return loss, lse


@_cross_entropy.register_fake
def _(logits, target, ignore_index, label_smoothing, z_loss, reduction, weight=None):
    loss_shape = tuple(target.shape) if reduction == "none" else ()
    return _like(logits, loss_shape), _like(logits, (_rows_count(logits),), torch.float32)


def _per_row_grad(grad, target, ignore_index, reduction, weight=None):
    """The upstream gradient of the reduced loss as the float32 gradient of each row's loss."""
    grad_rows = grad.float().reshape(-1)
    if reduction == "mean":
        grad_rows = grad_rows / _ce_mean_denominator(target, ignore_index, weight)
    return grad_rows


@_op("cross_entropy_backward")
def _cross_entropy_bwd(grad: Tensor, logits: Tensor, target: Tensor, lse: Tensor,
                       ignore_index: int, label_smoothing: float, z_loss: float,
                       reduction: str, weight: Tensor | None = None) -> Tensor:
    targets = target.reshape(-1)
    grad_rows = _per_row_grad(grad, targets, ignore_index, reduction, weight)
    dlogits = _cross_entropy_backward(as_rows(logits), targets, lse, grad_rows, ignore_index,
                                      label_smoothing, z_loss, weight=weight)
    return dlogits.view(logits.shape)


@_cross_entropy_bwd.register_fake
def _(grad, logits, target, lse, ignore_index, label_smoothing, z_loss, reduction, weight=None):
    return _like(logits)


def _cross_entropy_setup(ctx, inputs, output):
    logits, target, ignore_index, label_smoothing, z_loss, reduction, weight = inputs
    ctx.save_for_backward(logits, target, output[1], weight)
    ctx.args = (ignore_index, label_smoothing, z_loss, reduction)


def _cross_entropy_grad(ctx, grad, _dlse):
    logits, target, lse, weight = ctx.saved_tensors
    dlogits = torch.ops.vt_kernels.cross_entropy_backward(grad, logits, target, lse, *ctx.args,
                                                          weight)
    return dlogits, None, None, None, None, None, None


_cross_entropy.register_autograd(_cross_entropy_grad, setup_context=_cross_entropy_setup)


def cross_entropy(logits, target, ignore_index: int = -100, label_smoothing: float = 0.0,
                  z_loss: float = 0.0, reduction: str = "mean", weight=None):
    """vt.kernels.cross_entropy as a custom op (no inplace_backward, no return_z_loss); class-
    probability targets run the eager function behind a graph break."""
    if target.is_floating_point():
        return torch.compiler.disable(_eager_cross_entropy)(
            logits, target, ignore_index, label_smoothing, z_loss, reduction, weight=weight)
    _cross_entropy_check(logits, target, float(label_smoothing), reduction, weight, float(z_loss),
                         ignore_index)
    return torch.ops.vt_kernels.cross_entropy(logits, target, int(ignore_index),
                                              float(label_smoothing), float(z_loss), reduction,
                                              weight)[0]


# ---------------------------------------------------------------------------------------------
# linear_cross_entropy: the backward recomputes each chunk's logits (eager "mean" and "sum"
# compute the gradients in the forward instead, which needs autograd state the op cannot see)


@_op("linear_cross_entropy")
def _linear_cross_entropy(hidden: Tensor, weight: Tensor, target: Tensor, bias: Tensor | None,
                          ignore_index: int, label_smoothing: float, z_loss: float,
                          reduction: str, chunk_size: int | None) -> Tensor:
    rows, targets = as_rows(hidden), target.reshape(-1)
    loss_rows, lse, _ = linear_cross_entropy_forward(rows, weight, targets, bias, ignore_index,
                                                     label_smoothing, z_loss, chunk_size)
    backend = _registry.select(_LCE_KERNEL, rows, weight, bias, targets).backend
    loss, _, _ = reduce_rows(backend, loss_rows, lse, targets, ignore_index, z_loss, reduction,
                             dtype_name(hidden), False)
    if reduction == "none":
        loss = loss.view(target.shape)
    return loss


@_linear_cross_entropy.register_fake
def _(hidden, weight, target, bias, ignore_index, label_smoothing, z_loss, reduction, chunk_size):
    return _like(hidden, tuple(target.shape) if reduction == "none" else ())


@_op("linear_cross_entropy_backward")
def _linear_cross_entropy_bwd(grad: Tensor, hidden: Tensor, weight: Tensor, target: Tensor,
                              bias: Tensor | None, ignore_index: int, label_smoothing: float,
                              z_loss: float, reduction: str, chunk_size: int | None,
                              want_hidden: bool, want_weight: bool,
                              want_bias: bool) -> list[Tensor]:
    targets = target.reshape(-1)
    dh, dw, db = _lce_backward(as_rows(hidden), weight, targets,
                               _per_row_grad(grad, targets, ignore_index, reduction), bias,
                               ignore_index, label_smoothing, z_loss, chunk_size,
                               (want_hidden, want_weight, want_bias))
    return ([dh.view(hidden.shape)] if want_hidden else []) + [g for g in (dw, db) if g is not None]


@_linear_cross_entropy_bwd.register_fake
def _(grad, hidden, weight, target, bias, ignore_index, label_smoothing, z_loss, reduction,
      chunk_size, want_hidden, want_weight, want_bias):
    wanted = ((hidden, want_hidden), (weight, want_weight), (bias, want_bias and bias is not None))
    return [_like(t) for t, want in wanted if want]


def _linear_cross_entropy_setup(ctx, inputs, output):
    hidden, weight, target, bias, *args = inputs
    ctx.save_for_backward(hidden, weight, target, bias)
    ctx.args = tuple(args)


def _linear_cross_entropy_grad(ctx, grad):
    hidden, weight, target, bias = ctx.saved_tensors
    needs = ctx.needs_input_grad
    want = needs[0], needs[1], bias is not None and needs[3]
    found = iter(torch.ops.vt_kernels.linear_cross_entropy_backward(
        grad, hidden, weight, target, bias, *ctx.args, *want))
    dh, dw, db = (next(found) if w else None for w in want)
    return dh, dw, None, db, None, None, None, None, None


_linear_cross_entropy.register_autograd(_linear_cross_entropy_grad,
                                        setup_context=_linear_cross_entropy_setup)


def linear_cross_entropy(hidden, weight, target, bias=None, ignore_index: int = -100,
                         label_smoothing: float = 0.0, reduction: str = "mean",
                         chunk_size: int | None = None, z_loss: float = 0.0):
    """vt.kernels.linear_cross_entropy as a custom op (no return_z_loss)."""
    _linear_cross_entropy_check(hidden, weight, target, bias, float(label_smoothing), reduction)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"linear_cross_entropy: chunk_size must be positive, got {chunk_size}")
    return torch.ops.vt_kernels.linear_cross_entropy(
        hidden, weight, target, bias, int(ignore_index), float(label_smoothing), float(z_loss),
        reduction, chunk_size)


# ---------------------------------------------------------------------------------------------
# embedding


# scale_grad_by_freq and sparse only change the backward; max_norm is a separate op that rescales
# weight in place before the lookup (as torch.embedding_renorm_), outside autograd.
@_op("embedding")
def _embedding(indices: Tensor, weight: Tensor, padding_idx: int | None, deterministic: bool,
               scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    return embedding_forward(indices.reshape(-1), weight).view(*indices.shape, weight.shape[1])


@_embedding.register_fake
def _(indices, weight, padding_idx, deterministic, scale_grad_by_freq=False, sparse=False):
    return _like(weight, (*indices.shape, weight.shape[1]))


@_op("embedding_backward")
def _embedding_bwd(dy: Tensor, indices: Tensor, num_weights: int, padding_idx: int | None,
                   deterministic: bool, scale_grad_by_freq: bool = False,
                   sparse: bool = False) -> Tensor:
    return _embedding_backward(as_rows(dy), indices.reshape(-1), num_weights, padding_idx,
                               deterministic, scale_grad_by_freq=scale_grad_by_freq,
                               sparse=sparse)


@_embedding_bwd.register_fake
def _(dy, indices, num_weights, padding_idx, deterministic, scale_grad_by_freq=False,
      sparse=False):
    if sparse:  # one entry per token, as the real op
        tokens = indices.numel()
        return torch.sparse_coo_tensor(indices.new_empty((1, tokens), dtype=torch.int64),
                                       dy.new_empty((tokens, dy.shape[-1])),
                                       (num_weights, dy.shape[-1]), check_invariants=False)
    return _like(dy, (num_weights, dy.shape[-1]))


def _embedding_setup(ctx, inputs, output):
    indices, weight, padding_idx, deterministic, scale_grad_by_freq, sparse = inputs
    ctx.save_for_backward(indices)
    ctx.args = (weight.shape[0], padding_idx, deterministic, scale_grad_by_freq, sparse)


def _embedding_grad(ctx, dy):
    indices, = ctx.saved_tensors
    dw = torch.ops.vt_kernels.embedding_backward(dy, indices, *ctx.args)
    return None, dw, None, None, None, None


_embedding.register_autograd(_embedding_grad, setup_context=_embedding_setup)


@torch.library.custom_op(f"{NAMESPACE}::embedding_renorm_", mutates_args=("weight",))
def _embedding_renorm(weight: Tensor, indices: Tensor, max_norm: float,
                      norm_type: float) -> None:
    _embedding_renorm_(weight, indices, max_norm, norm_type)


@_embedding_renorm.register_fake
def _(weight, indices, max_norm, norm_type):
    return None


def embedding(indices, weight, padding_idx=None, deterministic=False, *, max_norm=None,
              norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """vt.kernels.embedding as custom ops."""
    _embedding_check("embedding", indices, weight)
    padding_idx = _embedding_padding("embedding", padding_idx, weight.shape[0])
    if max_norm is not None:
        with torch.no_grad():  # as F.embedding: the rescale is not part of the graph
            torch.ops.vt_kernels.embedding_renorm_(weight, indices, float(max_norm),
                                                   float(norm_type))
    return torch.ops.vt_kernels.embedding(indices, weight, padding_idx, bool(deterministic),
                                          bool(scale_grad_by_freq), bool(sparse))


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


__all__ = ["apply_rotary", "attention", "cross_entropy", "embedding", "geglu", "gelu",
           "layer_norm", "linear_cross_entropy", "log_softmax", "rms_norm", "softmax", "swiglu"]
