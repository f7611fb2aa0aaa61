"""Loss modules (vt/torch/nn/modules/loss.py) against torch's: the legacy size_average / reduce
arguments (their mapping onto reduction and the deprecation warning) and torch's positions."""

from __future__ import annotations

import warnings

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

INPUT = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
CLASSES = torch.tensor([0, 2, 1, 2])
PROBS = torch.rand(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
LEGACY = [(None, False), (False, None), (False, True), (True, False), (True, True), (None, True), (False, False)]


def _loss_pair(name, *args, **kwargs):
    with warnings.catch_warnings(record=True) as torch_warnings:
        warnings.simplefilter("always")
        want = getattr(torch.nn, name)(*args, **kwargs)
    with warnings.catch_warnings(record=True) as vt_warnings:
        warnings.simplefilter("always")
        got = getattr(vtorch.nn, name)(*[from_torch(a) if isinstance(a, torch.Tensor) else a for a in args],
                                       **{k: from_torch(v) if isinstance(v, torch.Tensor) else v
                                          for k, v in kwargs.items()})
    assert [str(w.message) for w in vt_warnings] == [str(w.message) for w in torch_warnings]
    assert [w.category for w in vt_warnings] == [w.category for w in torch_warnings]
    return got, want


@pytest.mark.parametrize("size_average, reduce", LEGACY)
@pytest.mark.parametrize("name, target", [("MSELoss", PROBS), ("L1Loss", PROBS), ("CrossEntropyLoss", CLASSES),
                                          ("BCEWithLogitsLoss", PROBS)])
def test_legacy_reduction_arguments_map_and_warn_like_torch(name, target, size_average, reduce):
    got, want = _loss_pair(name, size_average=size_average, reduce=reduce)
    assert got.reduction == want.reduction
    assert_same(got(from_torch(INPUT), from_torch(target)), want(INPUT, target))


@pytest.mark.parametrize("name, args, target", [
    ("MSELoss", (False, None, "mean"), PROBS),  # size_average by position
    ("L1Loss", (None, None, "sum"), PROBS),
    ("CrossEntropyLoss", (torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), None, 1, None, "mean", 0.1), CLASSES),
    ("BCEWithLogitsLoss", (None, None, False, "mean", torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)), PROBS),
], ids=["mse", "l1", "cross_entropy", "bce_with_logits"])
def test_positional_arguments_follow_torchs_order(name, args, target):
    got, want = _loss_pair(name, *args)
    assert_same(got(from_torch(INPUT), from_torch(target)), want(INPUT, target))
