"""vt.torch's factories (vt/torch/_factories.py) called with torch's keywords: memory_format,
layout, pin_memory, requires_grad and out=, compared with torch."""

from __future__ import annotations

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same


def _transposed(m):
    return m.arange(12.0).reshape(4, 3).t()


@pytest.mark.parametrize("call", [
    lambda m: m.empty(2, 3, memory_format=m.contiguous_format, layout=None, pin_memory=False).fill_(1),
    lambda m: m.empty_like(_transposed(m), memory_format=m.preserve_format).fill_(2),
    lambda m: m.zeros_like(_transposed(m), memory_format=m.contiguous_format, requires_grad=True),
    lambda m: m.ones_like(_transposed(m), memory_format=m.preserve_format, dtype=m.float64),
    lambda m: m.full_like(_transposed(m), 3, memory_format=m.contiguous_format, device="cpu"),
], ids=["empty", "empty_like", "zeros_like", "ones_like", "full_like"])
def test_factories_take_memory_format_like_torch(call):
    got, want = call(vtorch), call(torch)
    assert_same(got, want, check_stride=True, rtol=0, atol=0)
    assert got.requires_grad == want.requires_grad


@pytest.mark.parametrize("call", [
    lambda m: m.rand_like(_transposed(m), memory_format=m.contiguous_format, requires_grad=True),
    lambda m: m.randn_like(_transposed(m), memory_format=m.preserve_format, device="cpu", layout=None),
    lambda m: m.randint_like(_transposed(m), 3, 7, memory_format=m.contiguous_format, pin_memory=False),
    lambda m: m.randint_like(_transposed(m), high=7, dtype=m.int64, requires_grad=False),
], ids=["rand_like", "randn_like", "randint_like", "randint_like_high"])
def test_random_like_factories_take_torch_keywords(call):
    got, want = call(vtorch), call(torch)
    assert got.shape == tuple(want.shape) and got.stride() == want.stride()
    assert got.dtype.name == str(want.dtype).removeprefix("torch.") and got.requires_grad == want.requires_grad


def test_randperm_takes_torch_keywords():
    for m in (torch, vtorch):
        p = m.randperm(6, generator=m.Generator().manual_seed(0), dtype=m.float32, layout=None,
                       pin_memory=False, requires_grad=True)
        assert p.requires_grad and sorted(p.tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        out = m.empty(6, dtype=m.int64)
        assert m.randperm(6, out=out) is out and sorted(out.tolist()) == list(range(6))
        with pytest.raises(RuntimeError, match="floating point"):
            m.randperm(3, requires_grad=True)  # int64 cannot require grad
