"""RMSprop (centered, momentum, weight decay, maximize), torch's update rule."""

from __future__ import annotations

import vt.core as _core
from vt.autograd import no_grad
from vt.torch.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        # One implementation serves every `foreach` choice; the other two change what step() is.
        if capturable:
            raise NotImplementedError("RMSprop(capturable=True): graph-capturable RMSprop "
                                      "is not implemented")
        if differentiable:
            raise NotImplementedError("RMSprop(differentiable=True): differentiating through "
                                      "step() is not implemented")
        super().__init__(params, {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
            "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable,
        })

    def step(self, closure=None):
        loss = self._run_closure(closure)
        with no_grad():
            for g in self.param_groups:
                alpha, momentum = g["alpha"], g["momentum"]
                for p in g["params"]:
                    if p.grad is None:
                        continue
                    grad = -p.grad if g["maximize"] else p.grad
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = 0
                        state["square_avg"] = _core.zeros_like(p)
                    # Created when first needed, so a group switched to momentum or centered
                    # later (e.g. by OneCycleLR) keeps working instead of missing its buffer.
                    if momentum > 0 and "momentum_buffer" not in state:
                        state["momentum_buffer"] = _core.zeros_like(p)
                    if g["centered"] and "grad_avg" not in state:
                        state["grad_avg"] = _core.zeros_like(p)
                    state["step"] += 1
                    if g["weight_decay"]:
                        grad = grad.add(p, alpha=g["weight_decay"])
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                    if g["centered"]:
                        grad_avg = state["grad_avg"]
                        grad_avg.lerp_(grad, 1 - alpha)
                        # Variance estimate E[g^2] - E[g]^2 instead of the raw second moment.
                        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    else:
                        avg = square_avg.sqrt()
                    avg.add_(g["eps"])
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).addcdiv_(grad, avg)
                        p.add_(buf, alpha=-g["lr"])
                    else:
                        p.addcdiv_(grad, avg, value=-g["lr"])
        return loss
