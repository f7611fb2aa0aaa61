"""SGD with momentum, dampening, Nesterov, weight decay and maximize (torch's update rule)."""

from __future__ import annotations

from vt.autograd import no_grad
from vt.torch.optim.optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def step(self, closure=None):
        loss = self._run_closure(closure)
        with no_grad():
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is None:
                        continue
                    d = -p.grad if g["maximize"] else p.grad
                    if g["weight_decay"]:
                        d = d.add(p, alpha=g["weight_decay"])
                    if g["momentum"]:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = state["momentum_buffer"] = d.clone()
                        else:
                            buf.mul_(g["momentum"]).add_(d, alpha=1 - g["dampening"])
                        d = d.add(buf, alpha=g["momentum"]) if g["nesterov"] else buf
                    p.add_(d, alpha=-g["lr"])
        return loss
