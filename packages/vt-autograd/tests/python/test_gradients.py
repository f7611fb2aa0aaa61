"""Backward tests driven by vt-core's op table: for every row and floating dtype, the gradients
of every floating input against torch autograd on the same inputs and upstream gradients."""

from __future__ import annotations

import pytest
import torch

import vt.autograd as ag
import vt.core as vt
from op_table import all_rows
from reference import assert_same, from_torch

GRAD_DTYPES = ("float32", "float64")
# float32 gradients of large reductions (conv weights sum 32k products) differ from torch's by
# summation order; float64 stays tight and catches formula errors.
TOL = {"float32": {"rtol": 1e-3, "atol": 1e-3}, "float64": {"rtol": 1e-7, "atol": 1e-9}}
# Ops that pick elements: with tied values torch and vt may pick different (equally valid) ones.
SELECTING = ("sort", "argsort", "topk")


def _cases():
    for op in all_rows():
        for dtype in op.dtypes:
            if dtype not in GRAD_DTYPES:
                continue
            for sample in op.samples(dtype):
                yield pytest.param(op, sample, dtype, id=f"{op.name}-{dtype}-{sample.desc}")


def _tensors(out) -> list:
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, (torch.Tensor, vt.Tensor))]
    return [out] if isinstance(out, (torch.Tensor, vt.Tensor)) else []


def _leaf(t: torch.Tensor) -> bool:
    return t.dtype.is_floating_point


@pytest.mark.parametrize("op,sample,dtype", list(_cases()))
def test_gradients_match_torch(op, sample, dtype):
    t_args = [a.detach().clone().requires_grad_() if isinstance(a, torch.Tensor) and _leaf(a) else a
              for a in sample.args]
    t_inputs = [a for a in t_args if isinstance(a, torch.Tensor) and a.requires_grad]
    if not t_inputs:
        pytest.skip("no floating tensor input")
    try:
        t_outs = [o for o in _tensors(op.torch_fn(*t_args, **sample.kwargs)) if o.requires_grad]
        if not t_outs:
            pytest.skip("torch gives no differentiable output")
        gen = torch.Generator().manual_seed(0)
        seeds = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in t_outs]
        want = torch.autograd.grad(t_outs, t_inputs, seeds, allow_unused=True)
    except (RuntimeError, NotImplementedError) as e:
        pytest.skip(f"torch has no backward here: {e}")

    if op.name.startswith(SELECTING) and any(t.unique().numel() < t.numel() for t in t_inputs):
        pytest.skip("tied values: the selected elements may differ and both be right")
    v_args = [from_torch(a.detach()).requires_grad_() if isinstance(a, torch.Tensor) and a.requires_grad
              else from_torch(a) if isinstance(a, torch.Tensor) else a for a in t_args]
    v_inputs = [a for a in v_args if isinstance(a, vt.Tensor) and a.requires_grad]
    v_outs = [o for o in _tensors(op.vt_fn(*v_args, **sample.kwargs)) if o.requires_grad]
    assert len(v_outs) == len(t_outs), "differentiable outputs differ from torch's"
    got = ag.grad(v_outs, v_inputs, [from_torch(s) for s in seeds], allow_unused=True)
    for g, w in zip(got, want):
        if w is None:
            assert g is None or not g.abs().sum().item(), "vt gives a gradient where torch has none"
            continue
        assert g is not None, "vt gives no gradient where torch has one"
        assert_same(g, w, **TOL[dtype])
