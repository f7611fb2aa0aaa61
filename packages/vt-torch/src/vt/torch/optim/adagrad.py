"""Adagrad (lr decay, weight decay, initial accumulator, maximize), torch's update rule."""

from __future__ import annotations

import vt.core as _core
from vt.autograd import no_grad
from vt.torch.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        # One implementation serves every `foreach` choice; the other two change what step() is.
        if differentiable:
            raise NotImplementedError("Adagrad(differentiable=True): differentiating through "
                                      "step() is not implemented")
        if fused:
            raise NotImplementedError("Adagrad(fused=True): a fused Adagrad kernel is not "
                                      "implemented")
        super().__init__(params, {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "fused": fused,
        })

    def add_param_group(self, group: dict) -> None:
        # The accumulator exists from construction on (as in torch), so state_dict shows it
        # before the first step.
        super().add_param_group(group)
        added = self.param_groups[-1]
        for p in added["params"]:
            accumulator = _core.full_like(p, added["initial_accumulator_value"])
            self.state[p] = {"step": 0, "sum": accumulator}

    def step(self, closure=None):
        loss = self._run_closure(closure)
        with no_grad():
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is None:
                        continue
                    grad = -p.grad if g["maximize"] else p.grad
                    state = self.state[p]
                    state["step"] += 1
                    if g["weight_decay"]:
                        grad = grad.add(p, alpha=g["weight_decay"])
                    decayed_lr = g["lr"] / (1 + (state["step"] - 1) * g["lr_decay"])
                    state_sum = state["sum"]
                    state_sum.addcmul_(grad, grad, value=1)
                    std = state_sum.sqrt().add_(g["eps"])
                    p.addcdiv_(grad, std, value=-decayed_lr)
        return loss
