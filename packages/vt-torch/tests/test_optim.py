"""Optimizers against torch.optim: the same parameters and gradients for 25 steps give the same
parameters (float64), for each option that changes the update rule; state_dict layout and round
trip; torch's errors for bad options."""

from __future__ import annotations

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "betas": (0.8, 0.9), "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.8}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.02, "weight_decay": 0.05, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "eps": 1e-3, "maximize": True}),
]


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_updates_match_torch(name, options):
    g = torch.Generator().manual_seed(0)
    t_params = [torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True),
                torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True)]
    v_params = [vtorch.nn.Parameter(from_torch(p.detach())) for p in t_params]
    t_opt = getattr(torch.optim, name)(t_params, **options)
    v_opt = getattr(vtorch.optim, name)(v_params, **options)
    for _ in range(25):
        grads = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in t_params]
        for tp, vp, gr in zip(t_params, v_params, grads):
            tp.grad = gr.clone()
            vp.grad = from_torch(gr)
        t_opt.step()
        v_opt.step()
    for tp, vp in zip(t_params, v_params):
        assert_same(vp.detach(), tp.detach(), rtol=1e-10, atol=1e-12)


ROUND_TRIP = [
    ("Adam", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.05, "momentum": 0.9, "centered": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.2}),
]


@pytest.mark.parametrize("name,options", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_state_dict_round_trip_continues_identically(name, options):
    def make():
        p = vtorch.nn.Parameter(vtorch.ones(3, dtype=vtorch.float64))
        return p, getattr(vtorch.optim, name)([p], **options)

    p1, o1 = make()
    for _ in range(3):
        p1.grad = vtorch.tensor([1.0, -2.0, 0.5], dtype=vtorch.float64)
        o1.step()
    p2, o2 = make()
    with vtorch.no_grad():
        p2.copy_(p1)
    o2.load_state_dict(o1.state_dict())
    for _ in range(2):
        for p, o in ((p1, o1), (p2, o2)):
            p.grad = vtorch.tensor([0.3, 0.3, -1.0], dtype=vtorch.float64)
            o.step()
    assert p1.tolist() == p2.tolist()


@pytest.mark.parametrize("name,options", ROUND_TRIP[1:], ids=[n for n, _ in ROUND_TRIP[1:]])
def test_state_dict_layout_matches_torch(name, options):
    """Same group options and per-parameter state entries, holding the same values as torch's."""
    t_param = torch.ones(3, dtype=torch.float64, requires_grad=True)
    v_param = vtorch.nn.Parameter(vtorch.ones(3, dtype=vtorch.float64))
    t_opt = getattr(torch.optim, name)([t_param], **options)
    v_opt = getattr(vtorch.optim, name)([v_param], **options)
    for step in range(3):
        t_sd, v_sd = t_opt.state_dict(), v_opt.state_dict()
        assert v_sd["param_groups"] == t_sd["param_groups"]
        assert v_sd["state"].keys() == t_sd["state"].keys()
        for index, t_state in t_sd["state"].items():
            v_state = v_sd["state"][index]
            assert v_state.keys() == t_state.keys()
            assert v_state["step"] == t_state["step"].item()
            for key in t_state.keys() - {"step"}:
                assert_same(v_state[key], t_state[key], rtol=1e-12, atol=1e-15)
        grad = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64) * (step + 1)
        t_param.grad, v_param.grad = grad, from_torch(grad)
        t_opt.step()
        v_opt.step()


def test_errors():
    with pytest.raises(ValueError, match="Invalid learning rate"):
        vtorch.optim.SGD([vtorch.nn.Parameter(vtorch.ones(1))], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        vtorch.optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        x = vtorch.ones(2, requires_grad=True)
        vtorch.optim.SGD([x * 2], lr=0.1)


OPTION_ERRORS = [
    ("RMSprop", {"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("RMSprop", {"eps": -1e-3}, ValueError, "Invalid epsilon value: -0.001"),
    ("RMSprop", {"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5"),
    ("RMSprop", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
    ("RMSprop", {"alpha": -0.9}, ValueError, "Invalid alpha value: -0.9"),
    ("Adagrad", {"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("Adagrad", {"lr_decay": -0.1}, ValueError, "Invalid lr_decay value: -0.1"),
    ("Adagrad", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, ValueError,
     "Invalid initial_accumulator_value value: -1.0"),
    ("Adagrad", {"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0"),
]


@pytest.mark.parametrize("name,options,error,message", OPTION_ERRORS,
                         ids=[f"{n}-{next(iter(o))}" for n, o, _, _ in OPTION_ERRORS])
def test_option_errors_match_torch(name, options, error, message):
    with pytest.raises(error, match=message) as expected:
        getattr(torch.optim, name)([torch.ones(1, requires_grad=True)], **options)
    with pytest.raises(error) as got:
        getattr(vtorch.optim, name)([vtorch.nn.Parameter(vtorch.ones(1))], **options)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("name,option", [("RMSprop", "capturable"), ("RMSprop", "differentiable"),
                                         ("Adagrad", "differentiable"), ("Adagrad", "fused")])
def test_unimplemented_modes_say_what_is_missing(name, option):
    with pytest.raises(NotImplementedError, match=f"{name}\\({option}=True\\)"):
        getattr(vtorch.optim, name)([vtorch.nn.Parameter(vtorch.ones(1))], **{option: True})


def test_adagrad_group_added_later_gets_its_accumulator():
    first, second = (vtorch.nn.Parameter(vtorch.ones(2, dtype=vtorch.float64)) for _ in range(2))
    opt = vtorch.optim.Adagrad([first], initial_accumulator_value=0.5)
    opt.add_param_group({"params": [second], "initial_accumulator_value": 2.0})
    assert opt.state[second]["sum"].tolist() == [2.0, 2.0]
    second.grad = vtorch.ones(2, dtype=vtorch.float64)
    opt.step()
    assert opt.state[second]["sum"].tolist() == [3.0, 3.0]


def test_rmsprop_momentum_switched_on_later_starts_from_a_zero_buffer():
    """torch would miss the buffer (KeyError); vt creates it zeroed, as if momentum had been on."""
    t_param = torch.ones(3, dtype=torch.float64, requires_grad=True)
    v_param = vtorch.nn.Parameter(vtorch.ones(3, dtype=vtorch.float64))
    t_opt, v_opt = torch.optim.RMSprop([t_param]), vtorch.optim.RMSprop([v_param])
    for step in range(6):
        if step == 3:
            for opt in (t_opt, v_opt):
                opt.param_groups[0]["momentum"] = 0.9
            t_opt.state[t_param]["momentum_buffer"] = torch.zeros_like(t_param)
        grad = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64) * (step + 1)
        t_param.grad, v_param.grad = grad, from_torch(grad)
        t_opt.step()
        v_opt.step()
    assert_same(v_param.detach(), t_param.detach(), rtol=1e-12, atol=1e-15)
