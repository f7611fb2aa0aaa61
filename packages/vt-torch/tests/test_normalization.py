"""Normalization modules (vt/torch/nn/modules/normalization.py) with torch's argument order."""

from __future__ import annotations

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch


@pytest.mark.parametrize("args, kwargs", [
    ((2, 4, 1e-3, True, "cpu", "float64"), {}),  # device and dtype come before bias, as in torch
    ((2, 4, 1e-5, True, None, None), {"bias": False}),
    ((1, 4), {"dtype": "float64", "bias": False}),
    ((4, 4, 1e-5, False), {"device": "cpu"}),
], ids=["device_dtype_positional", "bias_keyword", "keywords", "no_affine"])
def test_group_norm_arguments_follow_torch(args, kwargs):
    def build(m):
        conv = [getattr(m, a) if a in ("float64",) else a for a in args]
        kw = {k: getattr(m, v) if k == "dtype" else v for k, v in kwargs.items()}
        return m.nn.GroupNorm(*conv, **kw)

    want, got = build(torch), build(vtorch)
    assert [n for n, _ in got.named_parameters()] == [n for n, _ in want.named_parameters()]
    for (_, p), (_, q) in zip(got.named_parameters(), want.named_parameters()):
        assert_same(p.detach(), q.detach())
    x = torch.randn(3, 4, 5, dtype=want.weight.dtype if want.weight is not None else torch.float32,
                    generator=torch.Generator().manual_seed(0))
    assert_same(got(from_torch(x)), want(x))
    assert repr(got) == repr(want)


def test_group_norm_bias_is_keyword_only_like_torch():
    for m in (torch, vtorch):
        with pytest.raises(TypeError, match="positional"):
            m.nn.GroupNorm(2, 4, 1e-5, True, None, None, False)
