"""The fused backward kernels: values against torch for every row of fused_backward_rows.py and
every floating dtype (the op table's tolerances); bad input raises an exception naming the op,
never a crash or a read out of bounds; the optional outputs come back as asked; attention's
backward without the forward's out and lse matches it with them, on head-split views too."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import vt.core as vt
from fused_backward_rows import ROWS
from op_table import TOLERANCE
from reference import assert_same, from_torch, to_torch

ops = vt.ops.vt


def _cases():
    for op in ROWS:
        for dtype in op.dtypes:
            for sample in op.samples(dtype):
                yield pytest.param(op, sample, id=f"{op.name}-{dtype}-{sample.desc}")


@pytest.mark.parametrize("op,sample", list(_cases()))
def test_values_match_torch(op, sample):
    want = op.torch_fn(*sample.args, **sample.kwargs)
    got = op.vt_fn(
        *[from_torch(a) if isinstance(a, torch.Tensor) else a for a in sample.args], **sample.kwargs
    )
    rtol, atol = TOLERANCE[str(want.dtype).removeprefix("torch.")]
    assert_same(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ops._gelu_backward(vt.ones(3), vt.ones(3), "erf"), RuntimeError, "approximate"),
        (lambda: ops._gelu_backward(vt.ones(3), vt.ones(4)), RuntimeError, r"\(3\).*\(4\)"),
        (
            lambda: ops._layer_norm_backward(vt.ones(2, 4), vt.ones(2, 3), [3], None, 1e-5),
            RuntimeError,
            "_layer_norm_backward: expected grad_out",
        ),
        (
            lambda: ops._layer_norm_backward(vt.ones(2, 3), vt.ones(2, 3), [4], None, 1e-5),
            RuntimeError,
            "normalized_shape",
        ),
        (
            lambda: ops._layer_norm_backward(vt.ones(2, 3), vt.ones(2, 3), [3], vt.ones(4), 1e-5),
            RuntimeError,
            "parameters of shape",
        ),
        (
            lambda: ops._rms_norm_backward(vt.ones(2, 3), vt.ones(2, 3), [], None, 1e-5),
            RuntimeError,
            "normalized_shape",
        ),
        (
            lambda: ops._softmax_backward_data(vt.ones(2, 3), vt.ones(3, 2), 1),
            RuntimeError,
            "_softmax_backward_data: expected grad_output",
        ),
        (
            lambda: ops._log_softmax_backward_data(vt.ones(2, 3), vt.ones(2, 3), 2),
            IndexError,
            "out of range",
        ),
        (
            lambda: ops._cross_entropy_backward(
                vt.ones(()), vt.ones(2, 3), vt.tensor([0, 3]), None, 1, -100, 0.0
            ),
            IndexError,
            "Target 3 is out of bounds",
        ),
        (
            lambda: ops._cross_entropy_backward(
                vt.ones(3), vt.ones(2, 3), vt.tensor([0, 1]), None, 0, -100, 0.0
            ),
            RuntimeError,
            "expected a gradient of 2 elements",
        ),
        (
            lambda: ops._cross_entropy_backward(
                vt.ones(()), vt.ones(2, 3), vt.tensor([0, 1]), None, 5, -100, 0.0
            ),
            ValueError,
            "reduction 5",
        ),
        (
            lambda: ops._sdpa_backward(
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 7),
                None,
                None,
                False,
                1.0,
            ),
            RuntimeError,
            "_sdpa_backward: expected grad_out and out",
        ),
        (
            lambda: ops._sdpa_backward(
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 8),
                vt.ones(1, 4, 8),
                None,
                vt.ones(1, 5),
                None,
                False,
                1.0,
            ),
            RuntimeError,
            "lse of shape",
        ),
    ],
)
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_norm_backward_returns_the_gradients_asked_for_in_order():
    x, g, w = vt.randn(4, 6), vt.randn(4, 6), vt.randn(6)
    full = ops._layer_norm_backward(g, x, [6], w, 1e-5, True, True, True)
    assert len(full) == 3
    only_bias = ops._layer_norm_backward(g, x, [6], w, 1e-5, False, False, True)
    assert len(only_bias) == 1
    assert_same(only_bias[0], to_torch(full[2]), rtol=0, atol=0)
    # No weight: no weight gradient, whatever is asked.
    assert len(ops._layer_norm_backward(g, x, [6], None, 1e-5, True, True, False)) == 1
    assert len(ops._rms_norm_backward(g, x, [6], w, 1e-5, False, True)) == 1


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_backward_without_forward_outputs_matches_with_them(causal):
    q, k, v, g = (torch.randn(2, 3, 5, 4, dtype=torch.float64) for _ in range(4))
    qv, kv, vv, gv = map(from_torch, (q, k, v, g))
    out, lse = ops._sdpa_forward(qv, kv, vv, None, causal, 0.5)
    given = ops._sdpa_backward(gv, qv, kv, vv, out, lse, None, causal, 0.5)
    alone = ops._sdpa_backward(gv, qv, kv, vv, None, None, None, causal, 0.5)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    want = torch.autograd.grad(
        F.scaled_dot_product_attention(*leaves, is_causal=causal, scale=0.5), leaves, g
    )
    for a, b, w in zip(given, alone, want):
        assert_same(a, w, rtol=1e-10, atol=1e-10)
        assert_same(b, w, rtol=1e-10, atol=1e-10)


def test_sdpa_reads_and_writes_head_split_views_in_place():
    # q, k, v as a transformer makes them: heads split out of one projection's rows.
    qkv = torch.randn(2, 6, 3 * 16, dtype=torch.float64)
    q, k, v = (z.view(2, 6, 4, 4).transpose(1, 2) for z in qkv.split(16, dim=2))
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    got = vt.scaled_dot_product_attention(*map(from_torch, (q, k, v)), is_causal=True)
    assert_same(got, want, check_stride=True, rtol=1e-12, atol=1e-12)
    g = torch.randn(2, 6, 4, 4, dtype=torch.float64).transpose(1, 2)  # a head-split gradient
    grads = ops._sdpa_backward(*map(from_torch, (g, q, k, v)), None, None, None, True, 0.5)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    out = F.scaled_dot_product_attention(*leaves, is_causal=True, scale=0.5)
    for got_grad, want_grad in zip(grads, torch.autograd.grad(out, leaves, g)):
        assert got_grad.stride() == got.stride()  # laid out like the inputs: no copies around
        assert_same(got_grad, want_grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("broadcast", ["grad", "input"])
def test_gelu_backward_with_a_broadcast_operand(approximate, broadcast):
    # sum().backward() hands the activation a gradient expanded from one element (stride 0).
    x, g = torch.linspace(-6, 6, 1001), torch.linspace(-1, 1, 1001)
    if broadcast == "grad":
        g = torch.tensor([0.75]).expand(1001)
    else:
        x = torch.tensor([1.5]).expand(1001)
    want = torch.ops.aten.gelu_backward(g.double(), x.double(), approximate=approximate).float()
    got = ops._gelu_backward(from_torch(g), from_torch(x), approximate)
    assert_same(got, want, rtol=1.3e-6, atol=1e-5)
