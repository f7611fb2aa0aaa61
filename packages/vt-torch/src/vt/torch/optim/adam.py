"""Adam and AdamW (amsgrad, weight decay coupled or decoupled, maximize), torch's update rules.
A step updates each parameter group with one fused native call (vt-core's _fused_adam_)."""

from __future__ import annotations

import vt.core as _core
from vt.autograd import no_grad
from vt.core import _C
from vt.torch.optim.optimizer import Optimizer


class Adam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, _core.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        # Every foreach/fused choice runs the same fused update; these two change what step() is.
        if capturable:
            raise NotImplementedError(f"{type(self).__name__}(capturable=True): graph-capturable "
                                      "Adam is not implemented")
        if differentiable:
            raise NotImplementedError(f"{type(self).__name__}(differentiable=True): differentiating "
                                      "through step() is not implemented")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        super().__init__(params, {
            "lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable, "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        })

    def step(self, closure=None):
        loss = self._run_closure(closure)
        with no_grad():
            for g in self.param_groups:
                self._step_group(g)
        return loss

    def _step_group(self, g: dict) -> None:
        amsgrad = g["amsgrad"]
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = [], [], [], [], [], []
        for p in g["params"]:
            grad = p.grad
            if grad is None:
                continue
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {"step": 0, "exp_avg": _core.zeros_like(p),
                                         "exp_avg_sq": _core.zeros_like(p)}
            if amsgrad:
                # Created when first needed, so a group switched to amsgrad later keeps working.
                if "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = _core.zeros_like(p)
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            state["step"] += 1
            params.append(p)
            grads.append(grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        if not params:
            return
        beta1, beta2 = g["betas"]
        _C._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                        lr=float(g["lr"]), beta1=float(beta1), beta2=float(beta2),
                        weight_decay=float(g["weight_decay"]), eps=float(g["eps"]), amsgrad=amsgrad,
                        maximize=g["maximize"], decoupled_weight_decay=g["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
