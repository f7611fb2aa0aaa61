"""Adam and AdamW (amsgrad, weight decay, maximize), torch's update rules."""

from __future__ import annotations

import math

import vt.core as _core
from vt.autograd import no_grad
from vt.torch.optim.optimizer import Optimizer


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameters: {betas}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def step(self, closure=None):
        loss = self._run_closure(closure)
        with no_grad():
            for g in self.param_groups:
                beta1, beta2 = g["betas"]
                for p in g["params"]:
                    if p.grad is None:
                        continue
                    grad = -p.grad if g["maximize"] else p.grad
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = 0
                        state["exp_avg"] = _core.zeros_like(p)
                        state["exp_avg_sq"] = _core.zeros_like(p)
                        if g["amsgrad"]:
                            state["max_exp_avg_sq"] = _core.zeros_like(p)
                    state["step"] += 1
                    step = state["step"]
                    if g["weight_decay"]:
                        if self._decoupled:
                            p.mul_(1 - g["lr"] * g["weight_decay"])
                        else:
                            grad = grad.add(p, alpha=g["weight_decay"])
                    m, v = state["exp_avg"], state["exp_avg_sq"]
                    m.lerp_(grad, 1 - beta1)
                    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    bias1 = 1 - beta1 ** step
                    bias2_sqrt = math.sqrt(1 - beta2 ** step)
                    if g["amsgrad"]:
                        vmax = state["max_exp_avg_sq"]
                        _core.maximum(vmax, v, out=vmax)
                        denom = (vmax.sqrt() / bias2_sqrt).add_(g["eps"])
                    else:
                        denom = (v.sqrt() / bias2_sqrt).add_(g["eps"])
                    p.addcdiv_(m, denom, value=-g["lr"] / bias1)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
