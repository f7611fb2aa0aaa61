"""Finite differences: float64 gradcheck of every smooth op-table row's small samples (an
independent check of the formulas, not relying on torch), gradgradcheck of one sample per row
(second derivatives through create_graph), and gradcheck's own ability to catch a wrong
formula."""

from __future__ import annotations

import pytest
import torch
import vt.autograd as ag
import vt.core as vt
from op_table import all_rows
from reference import from_torch

MAX_ELEMENTS = 24  # finite differences cost one forward per element
# Functions of their input that are piecewise constant or not smooth at the sampled points.
NOT_SMOOTH = ("floor", "ceil", "round", "trunc", "sign", "sort", "argsort", "topk", "max", "min",
              "amax", "amin", "abs", "relu", "clamp", "maximum", "minimum", "remainder", "fmod",
              "div_floor", "div_trunc", "l1_loss", "norm", "max_pool2d", "unique", "median",
              "nan_to_num", "where", "masked", "dropout", "scatter", "rfloordiv", "floor_divide")
# Samples whose points sit on a pole or a domain edge (0, inf, nan, probabilities of 0 or 1).
EDGE_SAMPLES = ("special", "saturated", "nan", "inf", "zero")


def _small_cases(limit_per_op: int = 2):
    for op in all_rows():
        if "float64" not in op.dtypes or op.name.startswith(NOT_SMOOTH):
            continue
        taken = 0
        for sample in op.samples("float64"):
            if any(word in sample.desc for word in EDGE_SAMPLES):
                continue
            tensors = [a for a in sample.args if isinstance(a, torch.Tensor)]
            floats = [a for a in tensors if a.dtype == torch.float64]
            if not floats or sum(a.numel() for a in floats) > MAX_ELEMENTS or any(a.numel() == 0 for a in floats):
                continue
            yield pytest.param(op, sample, id=f"{op.name}-{sample.desc}")
            taken += 1
            if taken == limit_per_op:
                break


def _differentiable(op, sample):
    args = [from_torch(a).requires_grad_() if isinstance(a, torch.Tensor) and a.dtype == torch.float64
            else from_torch(a) if isinstance(a, torch.Tensor) else a for a in sample.args]
    positions = [i for i, a in enumerate(args) if isinstance(a, vt.Tensor) and a.requires_grad]

    def fn(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        out = op.vt_fn(*full, **sample.kwargs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return tuple(o for o in outs if isinstance(o, vt.Tensor) and o.dtype == vt.float64)

    return fn, tuple(args[i] for i in positions)


@pytest.mark.parametrize("op,sample", list(_small_cases()))
def test_gradcheck(op, sample):
    fn, inputs = _differentiable(op, sample)
    if not fn(*inputs):
        pytest.skip("no float64 output")
    assert ag.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("op,sample", list(_small_cases(1)))
def test_gradgradcheck(op, sample):
    fn, inputs = _differentiable(op, sample)
    if not fn(*inputs):
        pytest.skip("no float64 output")
    assert ag.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_catches_a_wrong_derivative():
    class WrongSquare(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x  # should be 2x

    x = vt.tensor([1.0, 2.0], dtype=vt.float64).requires_grad_()
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ag.gradcheck(WrongSquare.apply, (x,))
    assert not ag.gradcheck(WrongSquare.apply, (x,), raise_exception=False)


def test_checks_take_torchs_keywords():
    def cube(x):
        return x * x * x

    t = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float64, requires_grad=True)
    v = from_torch(t.detach()).requires_grad_()
    for m, x in ((torch.autograd, t), (ag, v)):
        assert m.gradcheck(func=cube, inputs=(x,), eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True)
        assert m.gradgradcheck(func=cube, inputs=(x,), grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_options_needing_forward_mode_are_refused_and_dtype_check_runs():
    x = vt.tensor([0.5, -1.0], dtype=vt.float64).requires_grad_()
    with pytest.raises(NotImplementedError, match="forward-mode AD"):
        ag.gradcheck(lambda t: t.sin(), (x,), check_forward_ad=True)
    with pytest.raises(NotImplementedError, match="check_fwd_over_rev"):
        ag.gradgradcheck(lambda t: t.sin(), (x,), check_fwd_over_rev=True)
    assert ag.gradcheck(lambda t: t.sin(), (x,), check_grad_dtypes=True, check_batched_grad=True, fast_mode=True)
