"""torch.embedding and torch.binary_cross_entropy_with_logits (vt/torch/_aten_forms.py): aten's
argument order and codes, against torch, forward and backward."""

from __future__ import annotations

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

WEIGHT = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
INDICES = torch.tensor([[0, 2, 4], [2, 2, 1]])


def _weights():
    return WEIGHT.clone().requires_grad_(), from_torch(WEIGHT).requires_grad_()


@pytest.mark.parametrize("call", [
    lambda m, w, i: m.embedding(w, i),
    lambda m, w, i: m.embedding(weight=w, indices=i, padding_idx=2),
    lambda m, w, i: m.embedding(w, i, -1, False, False),
    lambda m, w, i: m.embedding(w, i, -3),  # any negative padding_idx means none at this level
    lambda m, w, i: m.embedding(w, i, 0, sparse=False),
], ids=["default", "keywords_padding", "positional", "negative_padding", "padding_zero"])
def test_embedding_forward_and_backward_match_torch(call):
    tw, vw = _weights()
    want, got = call(torch, tw, INDICES), call(vtorch, vw, from_torch(INDICES))
    assert_same(got, want)
    want.sum().backward()
    got.sum().backward()
    assert_same(vw.grad, tw.grad)


def test_embedding_scale_grad_by_freq_reaches_the_op():
    _, vw = _weights()
    out = vtorch.embedding(vw, from_torch(INDICES), scale_grad_by_freq=True)
    assert_same(out, torch.embedding(WEIGHT, INDICES, scale_grad_by_freq=True))
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq"):
        out.sum().backward()


def test_embedding_padding_idx_must_be_an_int_like_torch():
    with pytest.raises(TypeError, match="padding_idx"):
        torch.embedding(WEIGHT, INDICES, padding_idx=None)
    with pytest.raises(TypeError, match="padding_idx"):
        vtorch.embedding(from_torch(WEIGHT), from_torch(INDICES), padding_idx=None)


LOGITS = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
TARGET = torch.rand(4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
W = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)


@pytest.mark.parametrize("call", [
    lambda m, x, t, w: m.binary_cross_entropy_with_logits(x, t),  # unreduced: torch's default here
    lambda m, x, t, w: m.binary_cross_entropy_with_logits(x, t, None, w, 0),
    lambda m, x, t, w: m.binary_cross_entropy_with_logits(x, t, w, None, 2),
    lambda m, x, t, w: m.binary_cross_entropy_with_logits(input=x, target=t, weight=w, pos_weight=w, reduction=1),
], ids=["default", "pos_weight_third_none", "weight_sum", "keywords_mean"])
def test_bce_with_logits_takes_aten_arguments_like_torch(call):
    tx, vx = LOGITS.clone().requires_grad_(), from_torch(LOGITS).requires_grad_()
    want = call(torch, tx, TARGET, W)
    got = call(vtorch, vx, from_torch(TARGET), from_torch(W))
    assert_same(got, want)
    want.sum().backward()
    got.sum().backward()
    assert_same(vx.grad, tx.grad)


def test_bce_with_logits_reduction_is_an_int_like_torch():
    with pytest.raises(TypeError, match="reduction"):
        torch.binary_cross_entropy_with_logits(LOGITS, TARGET, reduction="sum")
    with pytest.raises(TypeError, match="reduction"):
        vtorch.binary_cross_entropy_with_logits(from_torch(LOGITS), from_torch(TARGET), reduction="sum")
    # torch.nn.functional's function of the same name keeps its own arguments
    assert_same(vtorch.nn.functional.binary_cross_entropy_with_logits(from_torch(LOGITS), from_torch(TARGET),
                                                                      reduction="sum"),
                torch.nn.functional.binary_cross_entropy_with_logits(LOGITS, TARGET, reduction="sum"))
