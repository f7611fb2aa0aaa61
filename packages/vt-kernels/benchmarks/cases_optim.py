"""Fused AdamW and SGD steps over ~100M float32 params in many tensors (the TARGETS.md case), and
a sweep over how the params are split. vt and torch start from the same params and grads, so
their first steps (the harness's check) agree; timed steps then go on updating in place."""

import torch
from case import Case

from vt.kernels import optim


def _layer_sizes(width):
    # A transformer-like mix: 4 square attention matrices, 3 MLP matrices, 3 norm vectors.
    return [width * width] * 4 + [width * width * 3 // 2] * 3 + [width] * 3


SPLITS = {
    "100M fp32 in 200 tensors": (_layer_sizes(768) * 20, ("targets",)),
    "100M fp32 in 20 tensors": ([5_000_000] * 20, ()),
    "100M fp32 in 2000 tensors": ([50_000] * 2000, ()),
}
ADAMW = {"lr": 1e-3, "weight_decay": 0.01}
SGD = {"lr": 1e-2, "momentum": 0.9, "weight_decay": 0.01}


def _params(sizes):
    params = [torch.randn(n, device="cuda").requires_grad_(True) for n in sizes]
    for p in params:
        p.grad = torch.randn_like(p)
    return params


def _copies(params):
    copies = [p.detach().clone().requires_grad_(True) for p in params]
    for c, p in zip(copies, params):
        c.grad = p.grad.clone()
    return copies


def _setup(sizes, vt_cls, torch_cls, torch_mode, options):
    # The same params and grads for both: their first steps give the same params.
    def make():
        params = _params(sizes)
        return {"vt": vt_cls(params, **options),
                "torch": torch_cls(_copies(params), **{torch_mode: True}, **options)}
    return make


def _step(name):
    def run(d):
        opt = d[name]
        opt.step()
        return opt.param_groups[0]["params"][:4]  # compared after the first step
    return run


def cases():
    out = []
    for label, (sizes, tags) in SPLITS.items():
        numel = sum(sizes)
        # Bytes per param: AdamW reads p, g, m, v and writes p, m, v; SGD reads p, g, buf and
        # writes p, buf.
        runs = [("adamw", optim.AdamW, torch.optim.AdamW, "fused", ADAMW, 28, tags),
                ("adamw", optim.AdamW, torch.optim.AdamW, "foreach", ADAMW, 28, ()),
                ("sgd", optim.SGD, torch.optim.SGD, "fused", SGD, 20, ())]
        for kernel, vt_cls, torch_cls, torch_mode, options, bytes_per_param, case_tags in runs:
            out.append(Case(
                kernel, "fwd", f"{label}, torch {torch_mode}", "float32",
                _setup(sizes, vt_cls, torch_cls, torch_mode, options),
                vt=_step("vt"), torch=_step("torch"), bytes=bytes_per_param * numel,
                compile=False, tags=case_tags))
    return out


CASES = cases()
