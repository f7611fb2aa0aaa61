"""vt.torch.nn.functional's own functions (relu and silu with inplace) against torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import vt.torch as vtorch
from reference import assert_same, from_torch

VF = vtorch.nn.functional
X = torch.tensor([[-1.5, 0.0, 2.0], [3.0, -0.25, 1.0]])


@pytest.mark.parametrize("name", ["relu", "silu"])
@pytest.mark.parametrize("inplace", [False, True])
def test_activation_inplace_matches_torch(name, inplace):
    t, v = X.clone(), from_torch(X)
    want = getattr(F, name)(t, inplace=inplace)
    got = getattr(VF, name)(input=v, inplace=inplace)
    assert_same(got, want)
    assert (got is v) == (want is t) == inplace
    assert_same(v, t)  # the input changed exactly when inplace


@pytest.mark.parametrize("name", ["relu", "silu"])
def test_inplace_activation_bumps_the_version_and_backpropagates_like_torch(name):
    t_leaf, v_leaf = X.clone().requires_grad_(), from_torch(X).requires_grad_()
    t_mid, v_mid = t_leaf * 2, v_leaf * 2
    version = v_mid._version
    getattr(F, name)(t_mid, inplace=True).sum().backward()
    getattr(VF, name)(v_mid, inplace=True).sum().backward()
    assert v_mid._version > version
    assert_same(v_leaf.grad, t_leaf.grad)
