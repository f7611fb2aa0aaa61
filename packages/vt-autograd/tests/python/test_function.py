"""Custom Functions (vt.autograd.Function) against torch.autograd.Function."""

from __future__ import annotations

import pytest
import torch

import vt.autograd as ag
import vt.core as vt
from reference import assert_same, from_torch


def make_exp(base):
    class Exp(base):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    return Exp


def make_scale(base):
    class Scale(base):
        @staticmethod
        def forward(ctx, x, factor, y):
            ctx.factor = factor
            ctx.save_for_backward(x, y)
            return x * factor + y, x.argmax()

        @staticmethod
        def backward(ctx, grad, _grad_index):
            x, y = ctx.saved_tensors
            return grad * ctx.factor, None, grad * 2 if ctx.needs_input_grad[2] else None

    return Scale


def test_function_matches_torch_and_saves_outputs():
    t = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    v = from_torch(t.detach()).requires_grad_()
    (make_exp(torch.autograd.Function).apply(t) * 3).sum().backward()
    y = make_exp(ag.Function).apply(v)
    assert y.grad_fn.name() == "ExpBackward"
    (y * 3).sum().backward()
    assert_same(v.grad, t.grad)


def test_non_tensor_arguments_and_multiple_outputs():
    t = torch.tensor([1.0, 3.0], dtype=torch.float64, requires_grad=True)
    v = from_torch(t.detach()).requires_grad_()
    w = vt.tensor([4.0, 5.0], dtype=vt.float64)  # does not require grad
    out, idx = make_scale(ag.Function).apply(v, 2.5, w)
    assert out.requires_grad and not idx.requires_grad and idx.item() == 1
    out.sum().backward()
    assert v.grad.tolist() == [2.5, 2.5]


def test_wrong_number_of_gradients_is_an_error():
    class Bad(ag.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return (grad,)

    a, b = vt.ones(2).requires_grad_(), vt.ones(2).requires_grad_()
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, b).sum().backward()


def test_mark_dirty_and_non_differentiable():
    class AddOneInPlace(ag.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1.0)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    class Sorted(ag.Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort()
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, grad, _):
            (indices,) = ctx.saved_tensors
            return vt.zeros(grad.shape, dtype=grad.dtype).scatter(0, indices, grad)

    leaf = vt.tensor([1.0, 2.0]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        AddOneInPlace.apply(leaf)
    y = leaf * 1
    z = AddOneInPlace.apply(y)
    assert z.grad_fn.name() == "AddOneInPlaceBackward"
    (z * 2).sum().backward()
    assert leaf.grad.tolist() == [2.0, 2.0]

    x = vt.tensor([3.0, 1.0, 2.0]).requires_grad_()
    values, indices = Sorted.apply(x)
    assert not indices.requires_grad
    (values * vt.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_once_differentiable_and_double_backward_through_a_function():
    class Cube(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2

    class CubeOnce(Cube):
        backward = staticmethod(ag.once_differentiable(Cube.backward))

    x = vt.tensor([2.0], dtype=vt.float64).requires_grad_()
    (g,) = ag.grad(Cube.apply(x), x, create_graph=True)
    (gg,) = ag.grad(g, x)
    assert gg.tolist() == [12.0]
    (g,) = ag.grad(CubeOnce.apply(x), x, create_graph=True)
    assert not g.requires_grad


def test_reentrant_backward_inside_a_function():
    class Inner(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            with ag.enable_grad():
                x2 = x.detach().requires_grad_()
                y = (x2 * x2).sum()
                (g,) = ag.grad(y, x2)  # a backward inside a backward
            return grad * g

    x = vt.tensor([1.0, 3.0]).requires_grad_()
    Inner.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 6.0]


def test_function_without_inputs_requiring_grad_records_nothing():
    v = vt.tensor([1.0])
    y = make_exp(ag.Function).apply(v)
    assert not y.requires_grad and y.grad_fn is None


def test_function_cannot_be_instantiated():
    with pytest.raises(RuntimeError, match="apply"):
        ag.Function()
