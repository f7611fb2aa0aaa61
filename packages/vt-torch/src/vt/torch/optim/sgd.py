"""SGD with momentum, dampening, Nesterov, weight decay and maximize (torch's update rule).
A step updates each parameter group with one fused native call (vt-core's _fused_sgd_)."""

from __future__ import annotations

import vt.core as _core
from vt.autograd import no_grad
from vt.core import _C
from vt.torch.optim.optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        if isinstance(lr, _core.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        # Every foreach/fused choice runs the same fused update; differentiable changes what
        # step() is.
        if differentiable:
            raise NotImplementedError("SGD(differentiable=True): differentiating through step() "
                                      "is not implemented")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        super().__init__(params, {
            "lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
            "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
            "differentiable": differentiable, "fused": fused,
        })

    def step(self, closure=None):
        loss = self._run_closure(closure)
        with no_grad():
            for g in self.param_groups:
                self._step_group(g)
        return loss

    def _step_group(self, g: dict) -> None:
        momentum = g["momentum"]
        params, grads, buffers, first_step = [], [], [], []
        for p in g["params"]:
            grad = p.grad
            if grad is None:
                continue
            params.append(p)
            grads.append(grad)
            if momentum != 0:
                # torch's first step starts the buffer as a copy of the (decayed) gradient: the
                # kernel fills a fresh buffer flagged as first.
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                first_step.append(buf is None)
                if buf is None:
                    buf = state["momentum_buffer"] = _core.empty_like(p)
                buffers.append(buf)
        if not params:
            return
        _C._fused_sgd_(params, grads, buffers, first_step, lr=float(g["lr"]), momentum=float(momentum),
                       dampening=float(g["dampening"]), weight_decay=float(g["weight_decay"]),
                       nesterov=g["nesterov"], maximize=g["maximize"])
