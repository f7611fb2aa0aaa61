"""Rows in the op table's form for the fused backward kernels the autograd formulas call
(vt::_gelu_backward, _layer_norm_backward, _softmax_backward_data, _cross_entropy_backward ...),
run by test_fused_backward.py; kept out of the op_rows_* modules because these kernels have no
derivative of their own (the table's autograd tests differentiate every row). Each sample is a
forward sample of the nn rows plus an incoming gradient; the reference is the gradient torch's
autograd computes in float64, rounded to the gradient's dtype (torch's own 16-bit layer_norm
backward accumulates in 16 bits and is further from it than these kernels)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import vt.core as vt
from op_rows_nn import (
    cross_entropy_samples,
    layer_norm_samples,
    rms_norm_samples,
    row,
    softmax_samples,
)
from op_table import FLOAT_DTYPES, Sample, make

_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def _wide(v):
    return v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v


def _grad(forward, *args, wrt=0, **kwargs):
    """d(forward(*args, **kwargs)) / d(args[wrt] or kwargs[wrt]) in float64, given the gradient
    args[0], in the dtype of that argument."""
    g, args = args[0], list(args[1:])
    like = args[wrt] if isinstance(wrt, int) else kwargs[wrt]
    args, kwargs = [_wide(a) for a in args], {k: _wide(v) for k, v in kwargs.items()}
    leaf = like.detach().double().requires_grad_()
    if isinstance(wrt, int):
        args[wrt] = leaf
    else:
        kwargs[wrt] = leaf
    out = forward(*args, **kwargs)
    (grad,) = torch.autograd.grad(out, leaf, g.double())
    return grad.to(like.dtype)


def _with_grad(forward, samples, seed=20):
    """samples(dtype) with an incoming gradient (shaped like forward's output) put first."""

    def make_samples(dtype):
        for s in samples(dtype):
            out = forward(*s.args, **s.kwargs)
            g = make(
                tuple(out.shape), str(out.dtype).removeprefix("torch."), seed=seed, low=-1, high=1
            )
            yield Sample((g, *s.args), dict(s.kwargs), desc=s.desc)

    return make_samples


def activation_samples(dtype):
    yield Sample((make((5, 7), dtype, seed=1),), desc="same")
    yield Sample((make((6, 5), dtype, seed=2, transpose=True),), desc="transposed")
    yield Sample((make((0, 3), dtype),), desc="empty")
    yield Sample((make((300, 1000), dtype, seed=3, low=-6, high=6),), desc="parallel")
    special = torch.tensor(
        [-0.0, 0.0, 1e-30, -1e-30, 12.0, -12.0, float("nan")], dtype=getattr(torch, dtype)
    )
    yield Sample((special,), desc="special")


def _gelu(approximate):
    return lambda x: F.gelu(x, approximate=approximate)


def _layer_norm_vt(which):
    def run(g, x, shape, weight=None, bias=None, eps=1e-5):
        asked = [True, weight is not None, bias is not None]
        grads = vt.ops.vt._layer_norm_backward(g, x, list(shape), weight, eps, *asked)
        got = dict(zip([k for k, a in zip(("input", "weight", "bias"), asked) if a], grads))[which]
        like = x if which == "input" else weight if weight is not None else x
        return got if which == "input" else got.to(like.dtype)

    return run


def _compute_eps(dtype_name):
    """rms_norm's default eps: the machine epsilon of the compute type, as in torch."""
    return torch.finfo(torch.float64 if dtype_name == "float64" else torch.float32).eps


def _rms_norm_ref(which):
    def run(g, x, shape, weight=None, eps=None):
        eps = _compute_eps(str(x.dtype).removeprefix("torch.")) if eps is None else eps
        if which == "input":
            return _grad(F.rms_norm, g, x, shape, weight=weight, eps=eps)
        return _grad(F.rms_norm, g, x, shape, weight=weight, eps=eps, wrt="weight")

    return run


def _rms_norm_vt(which):
    def run(g, x, shape, weight=None, eps=None):
        eps = _compute_eps(x.dtype.name) if eps is None else eps
        grads = vt.ops.vt._rms_norm_backward(
            g, x, list(shape), weight, eps, True, weight is not None
        )
        return grads[0] if which == "input" else grads[1].to(weight.dtype)

    return run


def _weighted(samples):
    return lambda dt: (s for s in samples(dt) if s.kwargs.get("weight") is not None)


def _with_bias(samples):
    return lambda dt: (s for s in samples(dt) if s.kwargs.get("bias") is not None)


def _cross_entropy_vt(
    g, x, target, weight=None, reduction="mean", ignore_index=-100, label_smoothing=0.0
):
    return vt.ops.vt._cross_entropy_backward(
        g, x, target, weight, _REDUCTION[reduction], ignore_index, label_smoothing
    )


def _softmax_vt(kind):
    return (
        vt.ops.vt._softmax_backward_data
        if kind == "softmax"
        else vt.ops.vt._log_softmax_backward_data
    )


def _softmax_ref(kind):
    """torch's backward from the same forward output, in float64."""
    op = (
        torch.ops.aten._softmax_backward_data
        if kind == "softmax"
        else torch.ops.aten._log_softmax_backward_data
    )
    return lambda g, y, dim: op(g.double(), y.double(), dim, torch.float64).to(y.dtype)


def _softmax_outputs(kind):
    """(grad, forward output, dim) from softmax_samples (without their dtype= argument)."""
    forward = torch.softmax if kind == "softmax" else torch.log_softmax

    def samples(dtype):
        for s in softmax_samples(dtype):
            if "dtype" in s.kwargs:
                continue
            y = forward(s.args[0], s.kwargs["dim"])
            g = make(tuple(y.shape), dtype, seed=20, low=-1, high=1)
            yield Sample((g, y), dict(s.kwargs), desc=s.desc)

    return samples


ROWS = [
    row(
        "_gelu_backward",
        lambda g, x: vt.ops.vt._gelu_backward(g, x, "none"),
        lambda g, x: _grad(_gelu("none"), g, x),
        FLOAT_DTYPES,
        _with_grad(_gelu("none"), activation_samples),
    ),
    row(
        "_gelu_backward_tanh",
        lambda g, x: vt.ops.vt._gelu_backward(g, x, "tanh"),
        lambda g, x: _grad(_gelu("tanh"), g, x),
        FLOAT_DTYPES,
        _with_grad(_gelu("tanh"), activation_samples),
    ),
    row(
        "_silu_backward",
        vt.ops.vt._silu_backward,
        lambda g, x: _grad(F.silu, g, x),
        FLOAT_DTYPES,
        _with_grad(F.silu, activation_samples),
    ),
    row(
        "_layer_norm_backward_input",
        _layer_norm_vt("input"),
        lambda g, *a, **k: _grad(F.layer_norm, g, *a, **k),
        FLOAT_DTYPES,
        _with_grad(F.layer_norm, layer_norm_samples),
    ),
    row(
        "_layer_norm_backward_weight",
        _layer_norm_vt("weight"),
        lambda g, *a, **k: _grad(F.layer_norm, g, *a, wrt="weight", **k),
        FLOAT_DTYPES,
        _with_grad(F.layer_norm, _weighted(layer_norm_samples)),
    ),
    row(
        "_layer_norm_backward_bias",
        _layer_norm_vt("bias"),
        lambda g, *a, **k: _grad(F.layer_norm, g, *a, wrt="bias", **k),
        FLOAT_DTYPES,
        _with_grad(F.layer_norm, _with_bias(layer_norm_samples)),
    ),
    row(
        "_rms_norm_backward_input",
        _rms_norm_vt("input"),
        _rms_norm_ref("input"),
        FLOAT_DTYPES,
        _with_grad(F.rms_norm, rms_norm_samples),
    ),
    row(
        "_rms_norm_backward_weight",
        _rms_norm_vt("weight"),
        _rms_norm_ref("weight"),
        FLOAT_DTYPES,
        _with_grad(F.rms_norm, _weighted(rms_norm_samples)),
    ),
    row(
        "_softmax_backward_data",
        _softmax_vt("softmax"),
        _softmax_ref("softmax"),
        FLOAT_DTYPES,
        _softmax_outputs("softmax"),
    ),
    row(
        "_log_softmax_backward_data",
        _softmax_vt("log_softmax"),
        _softmax_ref("log_softmax"),
        FLOAT_DTYPES,
        _softmax_outputs("log_softmax"),
    ),
    row(
        "_cross_entropy_backward",
        _cross_entropy_vt,
        lambda g, *a, **k: _grad(F.cross_entropy, g, *a, **k),
        FLOAT_DTYPES,
        _with_grad(F.cross_entropy, cross_entropy_samples),
    ),
]
