"""Optimizers against torch.optim: the same parameters and gradients for 25 steps give the same
parameters (float64), for each option that changes the update rule; state_dict round trip."""

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


def test_state_dict_round_trip_continues_identically():
    def make():
        p = vtorch.nn.Parameter(vtorch.ones(3, dtype=vtorch.float64))
        return p, vtorch.optim.Adam([p], lr=0.1)

    p1, o1 = make()
    for _ in range(3):
        p1.grad = vtorch.tensor([1.0, -2.0, 0.5], dtype=vtorch.float64)
        o1.step()
    p2, o2 = make()
    with vtorch.no_grad():
        p2.copy_(p1)
    o2.load_state_dict(o1.state_dict())
    for p, o in ((p1, o1), (p2, o2)):
        p.grad = vtorch.tensor([0.3, 0.3, -1.0], dtype=vtorch.float64)
        o.step()
    assert p1.tolist() == p2.tolist()


def test_errors():
    with pytest.raises(ValueError, match="Invalid learning rate"):
        vtorch.optim.SGD([vtorch.nn.Parameter(vtorch.ones(1))], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        vtorch.optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        x = vtorch.ones(2, requires_grad=True)
        vtorch.optim.SGD([x * 2], lr=0.1)


SCHEDULERS = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 7, 7, 12], "gamma": 0.3}),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.01}),
    ("LinearLR", {"start_factor": 0.25, "total_iters": 8}),
    ("LambdaLR", {"lr_lambda": lambda e: 0.9 ** e + 0.1}),
]


@pytest.mark.parametrize("name,options", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_match_torch(name, options):
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    v_opt = vtorch.optim.SGD([vtorch.nn.Parameter(vtorch.zeros(1))], lr=0.5)
    t_s = getattr(torch.optim.lr_scheduler, name)(t_opt, **options)
    v_s = getattr(vtorch.optim.lr_scheduler, name)(v_opt, **options)
    for _ in range(30):
        assert v_s.get_last_lr() == pytest.approx(t_s.get_last_lr(), rel=1e-12, abs=1e-15)
        t_opt.step()
        v_opt.step()
        t_s.step()
        v_s.step()
