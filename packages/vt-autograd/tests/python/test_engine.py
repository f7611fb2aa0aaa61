"""The engine's features against torch: backward/grad options, leaves and accumulation, hooks,
retain_grad, detach, in-place checks, version counters, higher-order gradients, errors."""

from __future__ import annotations

import pytest
import torch
import vt.autograd as ag
import vt.core as vt
from reference import assert_same, from_torch


def leaf(values, dtype=torch.float64):
    t = torch.tensor(values, dtype=dtype)
    return t.clone().requires_grad_(), from_torch(t).requires_grad_()


def test_leaf_flags_and_repr():
    t, v = leaf([1.0, 2.0])
    assert v.requires_grad and v.is_leaf and v.grad is None and v.grad_fn is None
    y = v * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    assert "grad_fn=<MulBackward0>" in repr(y) and "requires_grad=True" in repr(v)
    assert not vt.ones(2).requires_grad and "requires_grad" not in repr(vt.ones(2))


def test_backward_accumulates_into_leaves_like_torch():
    t, v = leaf([1.0, -2.0, 3.0])
    for m, x in ((torch, t), (vt, v)):
        for _ in range(2):
            ((x * x).sum() + x.exp().mean()).backward()
    assert_same(v.grad, t.grad)


def test_shared_gradient_is_not_aliased_between_leaves():
    # y = a + b hands the same gradient to both leaves; updating one .grad must not touch the other
    a, b = vt.ones(3).requires_grad_(), vt.ones(3).requires_grad_()
    (a + b).sum().backward()
    a.grad.add_(vt.ones(3))
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_grad_with_inputs_allow_unused_and_materialize():
    t, v = leaf([1.0, 2.0])
    _, u = leaf([5.0])
    y = (v * v).sum()
    (g,) = ag.grad(y, v, retain_graph=True)
    assert_same(g, torch.autograd.grad((t * t).sum(), t)[0])
    assert v.grad is None  # grad() leaves .grad alone
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        ag.grad(y, [v, u], retain_graph=True)
    g1, g2 = ag.grad(y, [v, u], retain_graph=True, allow_unused=True)
    assert g2 is None
    g1, g2 = ag.grad(y, [v, u], materialize_grads=True)
    assert g2.tolist() == [0.0]


def test_backward_inputs_limits_accumulation():
    _, a = leaf([1.0, 2.0])
    _, b = leaf([3.0, 4.0])
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [3.0, 4.0] and b.grad is None


def test_second_backward_without_retain_graph_raises():
    _, v = leaf([1.0, 2.0])
    y = (v * v).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = (v * v).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert v.grad.tolist() == [2.0 + 2 * 2.0, 4.0 + 2 * 4.0]


def test_non_scalar_needs_gradient_and_shape_is_checked():
    _, v = leaf([1.0, 2.0])
    y = v * 3
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(vt.ones(3, dtype=vt.float64))
    y.backward(vt.tensor([1.0, 10.0], dtype=vt.float64))
    assert v.grad.tolist() == [3.0, 30.0]


def test_backward_on_tensor_without_grad_raises_like_torch():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        vt.ones(2).sum().backward()


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        vt.ones(2, dtype=vt.int64).requires_grad_()
    _, v = leaf([1.0])
    y = v * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)
    v.requires_grad = False
    assert not (v * 2).requires_grad


def test_integer_results_do_not_require_grad():
    _, v = leaf([1.0, 3.0, 2.0])
    assert not v.argmax().requires_grad and not (v > 1).requires_grad
    values, indices = v.max(0)
    assert values.requires_grad and not indices.requires_grad


def test_inplace_on_leaf_that_requires_grad_raises():
    _, v = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        v.add_(1.0)
    with ag.no_grad():
        v.add_(1.0)  # allowed without grad mode, as in torch
    assert v.tolist() == [2.0, 3.0]


def test_inplace_rebases_history_and_matches_torch():
    t, v = leaf([1.0, 2.0, 3.0])
    for x in (t, v):
        y = x * 2
        y.mul_(x)
        y.add_(1.0)
        y.sum().backward()
    assert_same(v.grad, t.grad)
    assert v.grad.tolist() == [4.0, 8.0, 12.0]


def test_modified_saved_tensor_is_detected():
    _, v = leaf([1.0, 2.0])
    y = v * 1
    z = y * y  # saves y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_saved_output_version_is_checked():
    _, v = leaf([0.5, 1.0])
    y = v.exp()  # saves its output
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward0"):
        y.sum().backward()


def test_out_variants_refuse_inputs_that_require_grad():
    _, v = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
        vt.add(v, v, out=vt.empty(2, dtype=vt.float64))


def test_detach_shares_memory_and_version():
    _, v = leaf([1.0, 2.0])
    y = v * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data_ptr() == y.data_ptr()
    d.add_(1.0)
    assert y.tolist() == [3.0, 5.0]
    y2 = v * 2
    y2.detach_()
    assert not y2.requires_grad and y2.is_leaf


def test_tensor_hooks_replace_and_observe_gradients():
    t, v = leaf([1.0, 2.0])
    seen = []
    for x, log in ((t, []), (v, seen)):
        y = x * 3
        y.register_hook(lambda g, log=log: log.append(g.tolist()) or g * 10)
        x.register_hook(lambda g: g + 1)
        y.sum().backward()
    assert seen == [[1.0, 1.0]]
    assert_same(v.grad, t.grad)
    handle = v.register_hook(lambda g: g * 0)
    handle.remove()
    v.grad = None
    (v * 1).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0]  # the leaf hook above (+1) still runs; the removed one not


def test_retain_grad_and_post_accumulate_hook():
    t, v = leaf([1.0, 2.0])
    calls = []
    v.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.tolist()))
    for x in (t, v):
        y = x * x
        y.retain_grad()
        assert y.retains_grad
        (y * 2).sum().backward()
    assert_same(v.grad, t.grad)
    assert calls == [[4.0, 8.0]]


def test_retain_grad_value_matches_torch():
    t, v = leaf([1.0, 2.0])
    ty, vy = t * t, v * v
    ty.retain_grad(), vy.retain_grad()
    (ty.sum() * 3).backward()
    (vy.sum() * 3).backward()
    assert_same(vy.grad, ty.grad)


def test_create_graph_gives_higher_order_gradients():
    t, v = leaf([0.5, -1.0, 2.0])
    for x in (t, v):
        y = (x.sin() * x * x).sum()
        (g,) = (torch if x is t else ag).autograd.grad(y, x, create_graph=True) if x is t else ag.grad(y, x, create_graph=True)
        (gg,) = (torch.autograd.grad(g.sum(), x) if x is t else ag.grad(g.sum(), x))
        if x is t:
            want = gg
        else:
            got = gg
    assert_same(got, want)


def test_third_order():
    _, v = leaf([1.5])
    y = v ** 4
    (g1,) = ag.grad(y, v, create_graph=True)
    (g2,) = ag.grad(g1, v, create_graph=True)
    (g3,) = ag.grad(g2, v)
    assert g3.tolist() == [24.0 * 1.5]


def test_grad_fn_graph_is_inspectable():
    _, a = leaf([1.0])
    _, b = leaf([2.0])
    y = a * b + a
    fn = y.grad_fn
    assert fn.name() == "AddBackward0"
    names = sorted(f.name() for f, _ in fn.next_functions if f is not None)
    assert names == ["AccumulateGrad", "MulBackward0"]
    assert y.grad_fn == fn and hash(y.grad_fn) == hash(fn)


def test_dtype_of_gradient_follows_the_input():
    x32 = vt.ones(3).requires_grad_()
    x64 = vt.ones(3, dtype=vt.float64).requires_grad_()
    (x32 * x64).sum().backward()
    assert x32.grad.dtype == vt.float32 and x64.grad.dtype == vt.float64


def test_broadcast_gradients_are_summed():
    t = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    u = torch.randn(4, dtype=torch.float64, requires_grad=True)
    vt_t, vt_u = from_torch(t.detach()).requires_grad_(), from_torch(u.detach()).requires_grad_()
    (t * u).sum().backward()
    (vt_t * vt_u).sum().backward()
    assert_same(vt_t.grad, t.grad)
    assert_same(vt_u.grad, u.grad)


def test_views_and_indexing_propagate_gradients():
    t = torch.arange(12.0, dtype=torch.float64).view(3, 4).requires_grad_()
    v = from_torch(t.detach()).requires_grad_()
    for x in (t, v):
        y = x[1:, ::2].t() * 2 + x[0].sum() + x[[0, 2], 1].sum() + x.view(12)[5]
        y.sum().backward()
    assert_same(v.grad, t.grad)


def test_inplace_through_a_view_updates_the_base_like_torch():
    t = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    v, vw = from_torch(t.detach()).requires_grad_(), from_torch(w.detach()).requires_grad_()
    for x, a in ((t, w), (v, vw)):
        y = x * 1
        col = y[:, 1]
        col.mul_(a)            # through a view: y's history must include it
        col.add_(1.0)
        (y * y).sum().backward()
        assert col.grad_fn is not None
    assert_same(v.grad, t.grad)
    assert_same(vw.grad, w.grad)


def test_second_order_gradients_through_an_inplace_write_on_a_view():
    t = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    v, vw = from_torch(t.detach()).requires_grad_(), from_torch(w.detach()).requires_grad_()
    firsts = []
    for x, a, grad in ((t, w, torch.autograd.grad), (v, vw, ag.grad)):
        y = x.sin()
        col = y[:, 1]
        col.mul_(a * x[:, 2])  # the written values depend on x and a
        y[0, ::2] = x[1, ::2] ** 2
        gx, ga = grad((y ** 3).sum(), (x, a), create_graph=True)
        firsts.append((gx, ga))
        ((gx * gx).sum() + ga.sum()).backward()
    (tgx, tga), (vgx, vga) = firsts
    assert_same(vgx, tgx)
    assert_same(vga, tga)
    assert_same(v.grad, t.grad)
    assert_same(vw.grad, w.grad)


def test_setitem_of_a_tensor_that_requires_grad_into_a_result():
    t = torch.arange(4.0, dtype=torch.float64).requires_grad_()
    v = from_torch(t.detach()).requires_grad_()
    for x in (t, v):
        y = x * 2
        y[1:3] = x[:2] * 10
        (y * y).sum().backward()
    assert_same(v.grad, t.grad)


def test_inplace_on_a_view_of_a_leaf_is_refused():
    _, v = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        v[0:2].mul_(2.0)


def test_errors_from_backward_formulas_propagate_as_python_exceptions():
    # A formula that refuses its input raises the Python type the engine maps it to.
    x = vt.ones(3).requires_grad_()
    y = vt.pad(x.reshape(1, 3), [1, 1], mode="constant") * 1
    y.sum().backward()  # differentiable: no error
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    z = vt.tensor([0.0, 1.0, 2.0]).requires_grad_()
    w = vt.zeros(2).scatter_reduce(0, vt.tensor([0, 0, 1]), z, "prod", include_self=False)
    with pytest.raises(NotImplementedError, match=r"scatter_reduce\(reduce='prod'\) with zero inputs"):
        w.sum().backward()


def test_dropout_gradient_uses_the_forward_mask():
    x = vt.ones(1000).requires_grad_()
    y = vt.dropout(x, 0.25, True)
    y.sum().backward()
    kept = (y != 0)
    assert (x.grad == kept.to(vt.float32) * (1 / 0.75)).all().item()
    assert 600 < kept.sum().item() < 900


def test_random_fill_in_place_gives_zero_gradient():
    x = vt.ones(3).requires_grad_()
    y = x * 2
    y.normal_()
    (y * 3).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_dropout_in_place_on_a_non_leaf():
    x = vt.ones(1000).requires_grad_()
    y = x * 1
    assert vt.dropout(y, 0.5, True, inplace=True) is y
    y.sum().backward()
    kept = (y != 0)
    assert (x.grad == kept.to(vt.float32) * 2.0).all().item()


def test_inplace_into_a_view_of_a_plain_tensor_is_refused_not_silent():
    _, x = leaf([1.0, 2.0])
    out = vt.zeros(4, dtype=vt.float64)
    with pytest.raises(NotImplementedError, match="does not require grad"):
        out[1:3] = x * 2
    whole = vt.zeros(2, dtype=vt.float64)
    whole.copy_(x)  # the whole tensor, not a view: allowed, and differentiable
    (whole * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_grad_with_respect_to_an_intermediate_does_not_run_its_node():
    # the intermediate's own node has no derivative; grad() stops at its input and never needs it
    class NoBackward(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            raise AssertionError("must not run")

    x = vt.tensor([1.0, 2.0]).requires_grad_()
    h = NoBackward.apply(x)
    y = (h * h).sum()
    (g,) = ag.grad(y, h)
    assert g.tolist() == [2.0, 4.0]


def test_batched_grad_outputs_give_the_jacobian_like_torch():
    t, v = leaf([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    tw, vw = leaf([0.3, -0.2, 0.1])
    results = {}
    for m, x, w, grad in ((torch, t, tw, torch.autograd.grad), (vt, v, vw, ag.grad)):
        y = (x.sin() * w).sum(1)  # two outputs
        z = (x * x).sum()         # and a scalar one
        batched = [m.eye(2, dtype=m.float64), m.tensor([1.0, 2.0], dtype=m.float64)]
        results[m] = grad([y, z], [x, w], batched, is_grads_batched=True, create_graph=True)
    (tgx, tgw), (vgx, vgw) = results[torch], results[vt]
    assert tuple(vgx.shape) == (2, 2, 3) and tuple(vgw.shape) == (2, 3)
    assert_same(vgx, tgx)
    assert_same(vgw, tgw)
    # create_graph: the batched result is differentiable again.
    tgx.sum().backward()
    vgx.sum().backward()
    assert_same(v.grad, t.grad)


def test_batched_grad_errors():
    _, v = leaf([1.0, 2.0])
    y = v * 3
    with pytest.raises(RuntimeError, match="needs a grad_output"):
        ag.grad(y, v, is_grads_batched=True)
    with pytest.raises(RuntimeError, match="same size in dimension 0"):
        ag.grad([y, y.sum()], v, [vt.ones(2, 2), vt.ones(3)], is_grads_batched=True)


def test_deprecated_keywords_work_and_warn_like_torch():
    import warnings

    t, v = leaf([1.0, -2.0, 3.0])
    seed = [0.5, 1.0, 2.0]
    tseed = torch.tensor(seed, dtype=torch.float64)
    for m, x, g in ((torch, t, tseed), (vt, v, from_torch(tseed))):
        autograd = torch.autograd if m is torch else ag
        with pytest.warns(FutureWarning, match="`grad_variables` is deprecated. Use `grad_tensors` instead."):
            autograd.backward([x * x], None, None, False, [g])  # grad_variables is the fifth argument
        with pytest.warns(FutureWarning), pytest.raises(RuntimeError, match="`grad_tensors` and `grad_variables`"):
            autograd.backward([x * x], grad_tensors=[g], grad_variables=[g])
        with pytest.warns(FutureWarning, match="only_inputs argument is deprecated and is ignored now"):
            (gx,) = autograd.grad([x * x], [x], [g], None, False, False)  # only_inputs is the sixth
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (gx_default,) = autograd.grad([x * x], [x], [g], only_inputs=True, allow_unused=None)
        assert (gx == gx_default).all()
    assert_same(v.grad, t.grad)
    assert_same(ag.grad([v * v], [v], [from_torch(torch.ones(3, dtype=torch.float64))], only_inputs=True)[0],
                torch.autograd.grad([t * t], [t], [torch.ones(3, dtype=torch.float64)])[0])
