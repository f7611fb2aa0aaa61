"""Tensor attributes vt.torch adds (vt/torch/_tensor.py): the new_* factories with torch's
positions and keywords, and Tensor.equal, compared with torch."""

from __future__ import annotations

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

BASE = torch.tensor([[1.5, 2.0]], dtype=torch.float64)


@pytest.mark.parametrize("call", [
    lambda m, x: x.new_zeros(2, 3),
    lambda m, x: x.new_zeros((2, 3), dtype=m.int32),
    lambda m, x: x.new_zeros(size=(2, 3), layout=None, device="cpu", pin_memory=False),
    lambda m, x: x.new_ones([4], requires_grad=True),
    lambda m, x: x.new_ones(2, 2, dtype=m.float32, layout=None),
    lambda m, x: x.new_empty((3,), dtype=m.int64).fill_(5),
    lambda m, x: x.new_empty(size=[2, 1], pin_memory=False).fill_(1.5),
    lambda m, x: x.new_full((2, 2), 7, layout=None, pin_memory=False),
    lambda m, x: x.new_full([3], 2.5, dtype=m.float32, device="cpu", requires_grad=True),
    lambda m, x: x.new_tensor([[1, 2]], dtype=m.int16),
    lambda m, x: x.new_tensor([0.5], requires_grad=True, device="cpu"),
    lambda m, x: x.new_zeros([]),
], ids=["zeros_varargs", "zeros_tuple_dtype", "zeros_size_keyword", "ones_requires_grad", "ones_layout",
        "empty_tuple", "empty_size_keyword", "full_layout", "full_keywords", "tensor_dtype", "tensor_requires_grad",
        "zeros_0d"])
def test_new_factories_match_torch(call):
    want = call(torch, BASE)
    got = call(vtorch, from_torch(BASE))
    assert_same(got, want, rtol=0, atol=0)
    assert got.requires_grad == want.requires_grad


@pytest.mark.parametrize("call", [
    lambda m, x: x.new_zeros((2,), m.float32),  # dtype is keyword-only
    lambda m, x: x.new_full((2,), 3, m.float32),
    lambda m, x: x.new_tensor([1], m.float32),
    lambda m, x: x.new_full(2, 3),  # new_full's size is a sequence
], ids=["zeros_positional_dtype", "full_positional_dtype", "tensor_positional_dtype", "full_int_size"])
def test_new_factories_refuse_what_torch_refuses(call):
    with pytest.raises(TypeError):
        call(torch, BASE)
    with pytest.raises(TypeError):
        call(vtorch, from_torch(BASE))


def test_tensor_equal_is_a_method_with_torchs_keyword():
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5])
    assert from_torch(a).equal(other=from_torch(a)) is a.equal(other=a) is True
    assert from_torch(a).equal(from_torch(b)) is a.equal(b) is False


def test_matrix_transpose_and_iteration_follow_torch():
    assert vtorch.equal(vtorch.arange(6.0).reshape(2, 3).mT, vtorch.arange(6.0).reshape(2, 3).t())
    for lib in (torch, vtorch):
        with pytest.raises(RuntimeError, match="only supported on matrices"):
            lib.ones(3).mT
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            iter(lib.tensor(1.0))
    rows = list(vtorch.arange(6.0).reshape(3, 2).requires_grad_())
    assert [r.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert rows[0].grad_fn is not None  # rows are views autograd sees, as torch's unbind
