"""What the optimizer tests share: parameters and gradients drawn the same way for vt.kernels and
torch, and a run of torch.optim on float32 copies as the reference."""

import torch

# Odd sizes: one element, tails shorter than a block, more than one chunk (8192 elements).
SHAPES = [(1,), (7, 3), (1000,), (33, 65), (9000,)]

SGD_OPTIONS = [{"momentum": 0.0}, {"momentum": 0.0, "weight_decay": 0.1, "maximize": True},
               {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
               {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
               {"momentum": 0.5, "nesterov": True, "maximize": True}]


def make_params(device, dtype=torch.float32, shapes=SHAPES, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen).to(device=device, dtype=dtype) for s in shapes]


def make_grads(params, step):
    gen = torch.Generator().manual_seed(1000 + step)
    return [torch.randn(p.shape, generator=gen).to(device=p.device, dtype=p.dtype) for p in params]


def torch_run(optimizer_cls, params, steps, **options):
    """(float32 copies of `params` after `steps` steps of a torch optimizer with make_grads, the
    optimizer)."""
    copies = [p.detach().float().clone().requires_grad_(True) for p in params]
    opt = optimizer_cls(copies, foreach=False, **options)
    for step in range(steps):
        for c, g in zip(copies, make_grads(params, step)):
            c.grad = g.float()
        opt.step()
    return [c.detach() for c in copies], opt
