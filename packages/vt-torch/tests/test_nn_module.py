"""nn.Module and the first modules against torch.nn: registration, traversal order, state_dict
keys and errors, modes, hooks, repr, and forward values with copied parameters."""

from __future__ import annotations

import pytest
import torch

import vt.torch as vtorch
from reference import assert_same, from_torch


def build(nn):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(8)
            self.fc = nn.Linear(8, 8)
            self.register_buffer("scale", (torch if nn is torch.nn else vtorch).ones(8))
            self.register_buffer("tmp", (torch if nn is torch.nn else vtorch).zeros(1), persistent=False)

        def forward(self, x):
            return self.fc(self.norm(x)) * self.scale + x

    return nn.Sequential(nn.Embedding(10, 8), Block(), nn.GELU(), nn.Dropout(0.0),
                         nn.ModuleList([nn.Linear(8, 4), nn.ReLU()]), nn.Flatten(0))


def copy_params(t_model, v_model) -> None:
    v_model.load_state_dict({k: from_torch(v) for k, v in t_model.state_dict().items()})


def test_structure_matches_torch():
    t, v = build(torch.nn), build(vtorch.nn)
    assert [n for n, _ in v.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in v.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(v.state_dict()) == list(t.state_dict())
    assert [n for n, _ in v.named_modules()] == [n for n, _ in t.named_modules()]
    assert repr(v) == repr(t)
    assert all(isinstance(p, vtorch.nn.Parameter) and p.requires_grad and p.is_leaf for p in v.parameters())


def test_forward_and_backward_with_copied_parameters():
    t, v = build(torch.nn), build(vtorch.nn)
    copy_params(t, v)
    idx = torch.tensor([[1, 2], [3, 9]])
    head = lambda m, x: m[4][1](m[4][0](m[2](m[1](m[0](x))))).sum(-1)  # noqa: E731
    tl, vl = head(t, idx), head(v, from_torch(idx))
    assert_same(vl, tl.detach(), rtol=1e-5, atol=1e-6)
    tl.sum().backward()
    vl.sum().backward()
    for (name, tp), (_, vp) in zip(t.named_parameters(), v.named_parameters()):
        if tp.grad is None:
            assert vp.grad is None, name
        else:
            assert_same(vp.grad, tp.grad, rtol=1e-4, atol=1e-5)


def test_load_state_dict_errors_like_torch():
    v = vtorch.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "bias"'):
        v.load_state_dict({"weight": vtorch.zeros(2, 3)})
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "extra"'):
        v.load_state_dict({"weight": vtorch.zeros(2, 3), "bias": vtorch.zeros(2), "extra": vtorch.zeros(1)})
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        v.load_state_dict({"weight": vtorch.zeros(3, 3), "bias": vtorch.zeros(2)})
    result = v.load_state_dict({"weight": vtorch.ones(2, 3)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == []
    assert v.weight.tolist() == [[1.0] * 3] * 2


def test_modes_hooks_zero_grad_and_assignment_rules():
    m = build(vtorch.nn)
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    calls = []
    handle = m[0].register_forward_hook(lambda mod, args, out: calls.append(tuple(out.shape)))
    m[0](vtorch.tensor([1, 2]))
    handle.remove()
    m[0](vtorch.tensor([1, 2]))
    assert calls == [(2, 8)]
    lin = vtorch.nn.Linear(2, 2)
    (lin(vtorch.ones(1, 2)).sum()).backward()
    lin.zero_grad()
    assert lin.weight.grad is None
    with pytest.raises(TypeError, match="cannot assign"):
        lin.weight = vtorch.ones(2, 2)
    with pytest.raises(AttributeError, match="has no attribute"):
        lin.nothing  # noqa: B018


def test_module_to_double_keeps_parameters_leaf():
    lin = vtorch.nn.Linear(3, 2).double()
    assert lin.weight.dtype == vtorch.float64 and isinstance(lin.weight, vtorch.nn.Parameter)
    assert lin.weight.is_leaf and lin.weight.requires_grad


@pytest.mark.parametrize("make", [
    lambda nn: nn.LayerNorm(8), lambda nn: nn.LayerNorm(8, bias=False), lambda nn: nn.LayerNorm(8, elementwise_affine=False),
    lambda nn: nn.RMSNorm(8), lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.Embedding(10, 8, padding_idx=1),
    lambda nn: nn.Dropout(0.1), lambda nn: nn.Flatten(), lambda nn: nn.GELU(), lambda nn: nn.ReLU(inplace=True),
    lambda nn: nn.Softmax(dim=1), lambda nn: nn.Identity(), lambda nn: nn.SiLU(), lambda nn: nn.CrossEntropyLoss(),
    lambda nn: nn.MSELoss(), lambda nn: nn.Linear(3, 4, bias=False),
])
def test_repr_and_parameter_names_match_torch(make):
    t, v = make(torch.nn), make(vtorch.nn)
    assert repr(v) == repr(t)
    assert [n for n, _ in v.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert {n: tuple(p.shape) for n, p in v.named_parameters()} == {n: tuple(p.shape) for n, p in t.named_parameters()}


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    g = torch.Generator().manual_seed(1)
    t_params = [torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True),
                torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True)]
    v_params = [vtorch.nn.Parameter(from_torch(p.detach())) for p in t_params]
    for tp, vp in zip(t_params, v_params):
        tp.grad = torch.randn(tp.shape, generator=g, dtype=torch.float64) * 5
        vp.grad = from_torch(tp.grad)
    want = torch.nn.utils.clip_grad_norm_(t_params, 1.5, norm_type)
    got = vtorch.nn.utils.clip_grad_norm_(v_params, 1.5, norm_type)
    assert abs(got.item() - want.item()) < 1e-9
    for tp, vp in zip(t_params, v_params):
        assert_same(vp.grad, tp.grad, rtol=1e-10, atol=1e-12)


def test_clip_grad_value_and_vector_conversion():
    p = vtorch.nn.Parameter(vtorch.tensor([[1.0, -2.0], [3.0, 0.5]]))
    p.grad = vtorch.tensor([[5.0, -5.0], [0.1, -0.2]])
    vtorch.nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [[1.0, -1.0], [pytest.approx(0.1), pytest.approx(-0.2)]]
    q = vtorch.nn.Parameter(vtorch.tensor([7.0]))
    vec = vtorch.nn.utils.parameters_to_vector([p, q])
    assert vec.tolist() == [1.0, -2.0, 3.0, 0.5, 7.0]
    vtorch.nn.utils.vector_to_parameters(vec * 2, [p, q])
    assert p.tolist() == [[2.0, -4.0], [6.0, 1.0]] and q.tolist() == [14.0]


SPATIAL = {
    "conv2d": (lambda nn: nn.Conv2d(3, 8, 3), (2, 3, 9, 9)),
    "conv2d_strided": (lambda nn: nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2, bias=False), (2, 3, 11, 13)),
    "conv2d_same_groups": (lambda nn: nn.Conv2d(4, 8, 3, padding="same", groups=2), (1, 4, 7, 7)),
    "conv2d_reflect": (lambda nn: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (1, 3, 6, 6)),
    "conv1d": (lambda nn: nn.Conv1d(3, 6, 5, stride=2), (2, 3, 17)),
    "maxpool": (lambda nn: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 9, 9)),
    "avgpool": (lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 9, 9)),
    "adaptive": (lambda nn: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 9, 8)),
}


@pytest.mark.parametrize("case", SPATIAL.values(), ids=SPATIAL.keys())
def test_spatial_modules_match_torch(case):
    make, shape = case
    t, v = make(torch.nn), make(vtorch.nn)
    assert repr(v) == repr(t)
    copy_params(t, v)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    tx, vx = x.clone().requires_grad_(), from_torch(x).requires_grad_()
    ty, vy = t(tx), v(vx)
    assert_same(vy, ty.detach(), rtol=1e-4, atol=1e-5)
    seed = torch.randn(ty.shape, generator=torch.Generator().manual_seed(1))
    ty.backward(seed)
    vy.backward(from_torch(seed))
    assert_same(vx.grad, tx.grad, rtol=1e-4, atol=1e-5)
    for (_, tp), (_, vp) in zip(t.named_parameters(), v.named_parameters()):
        assert_same(vp.grad, tp.grad, rtol=1e-4, atol=1e-4)


def _pair(make, seed=0):
    torch.manual_seed(seed)
    t, v = make(torch.nn), make(vtorch.nn)
    copy_params(t, v)
    return t, v


MHA_CASES = {
    "weights": ({}, {}),
    "batch_first, no weights": ({"batch_first": True}, {"need_weights": False}),
    "bool attn_mask": ({}, {"attn_mask": "causal_bool"}),
    "float attn_mask, per-head weights": ({}, {"attn_mask": "float", "average_attn_weights": False}),
    "key_padding_mask": ({}, {"key_padding_mask": "kpm"}),
    "no bias": ({"bias": False}, {}),
}


@pytest.mark.parametrize("ctor,call", MHA_CASES.values(), ids=MHA_CASES.keys())
def test_multihead_attention_matches_torch(ctor, call):
    t, v = _pair(lambda nn: nn.MultiheadAttention(8, 2, **ctor))
    g = torch.Generator().manual_seed(3)
    shape = (2, 5, 8) if ctor.get("batch_first") else (5, 2, 8)
    q, k = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
    masks = {"causal_bool": torch.ones(5, 5, dtype=torch.bool).triu(1), "float": torch.randn(5, 5, generator=g),
             "kpm": torch.tensor([[False] * 4 + [True], [False] * 5])}
    t_kw = {name: (masks[val] if isinstance(val, str) else val) for name, val in call.items()}
    v_kw = {name: (from_torch(masks[val]) if isinstance(val, str) else val) for name, val in call.items()}
    tq, vq = q.clone().requires_grad_(), from_torch(q).requires_grad_()
    t_out, t_w = t(tq, k, k, **t_kw)
    v_out, v_w = v(vq, from_torch(k), from_torch(k), **v_kw)
    assert_same(v_out, t_out.detach(), rtol=1e-4, atol=1e-5)
    assert (v_w is None) == (t_w is None)
    if t_w is not None:
        assert_same(v_w, t_w.detach(), rtol=1e-4, atol=1e-5)
    t_out.sum().backward()
    v_out.sum().backward()
    assert_same(vq.grad, tq.grad, rtol=1e-4, atol=1e-5)
    for (name, tp), (_, vp) in zip(t.named_parameters(), v.named_parameters()):
        assert_same(vp.grad, tp.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_matches_torch(norm_first):
    def make(nn):
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=norm_first)
        kw = {"enable_nested_tensor": False} if nn is torch.nn else {}
        return nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), **kw)

    t, v = _pair(make)
    assert repr(v) == repr(t)
    x = torch.randn(3, 6, 8, generator=torch.Generator().manual_seed(4))
    mask = torch.ones(6, 6, dtype=torch.bool).triu(1)
    tx, vx = x.clone().requires_grad_(), from_torch(x).requires_grad_()
    ty, vy = t(tx, mask=mask), v(vx, mask=from_torch(mask))
    assert_same(vy, ty.detach(), rtol=1e-4, atol=1e-5)
    ty.pow(2).sum().backward()
    vy.pow(2).sum().backward()
    assert_same(vx.grad, tx.grad, rtol=1e-3, atol=1e-4)
    for (name, tp), (_, vp) in zip(t.named_parameters(), v.named_parameters()):
        assert_same(vp.grad, tp.grad, rtol=1e-3, atol=1e-4)
