"""optimizer.step() of AdamW and of SGD with momentum, vt.torch against torch in the same process,
on many small parameters (per-call overhead dominates) and on a few large ones (memory bandwidth
dominates). torch runs each of its CPU implementations: the per-parameter loop (its CPU default),
foreach=True and fused=True. Target: <= 1.0x against each."""

from __future__ import annotations

import pathlib
import sys

import torch as real_torch

import vt.torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "vt-core" / "benchmarks"))
from _timing import paired_seconds, report  # noqa: E402

SHAPES = {"100 x (64, 64)": [(64, 64)] * 100, "4 x 1M": [(1 << 20,)] * 4}
OPTIMIZERS = {
    "AdamW": lambda optim, params, **kw: optim.AdamW(params, lr=1e-3, weight_decay=1e-2, **kw),
    "SGD(momentum)": lambda optim, params, **kw: optim.SGD(params, lr=1e-2, momentum=0.9, **kw),
}
TORCH_MODES = {"loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def stepper(torch, make, shapes, **kw):
    """A parameter list with gradients set once, and its optimizer's step as a callable."""
    g = real_torch.Generator().manual_seed(0)
    params = []
    for shape in shapes:
        data, grad = real_torch.randn(shape, generator=g), real_torch.randn(shape, generator=g)
        if torch is real_torch:
            p = real_torch.nn.Parameter(data)
            p.grad = grad
        else:
            p = torch.nn.Parameter(torch.from_numpy(data.numpy()))
            p.grad = torch.from_numpy(grad.numpy())
        params.append(p)
    opt = make(torch.optim, params, **kw)
    return opt.step


def main() -> None:
    ok = True
    for shape_name, shapes in SHAPES.items():
        number = 50 if len(shapes) > 10 else 20
        for opt_name, make in OPTIMIZERS.items():
            vt_step = stepper(vt.torch, make, shapes)
            for mode, kw in TORCH_MODES.items():
                torch_step = stepper(real_torch, make, shapes, **kw)
                vt_s, torch_s = paired_seconds(vt_step, torch_step, number=number)
                ok &= report(f"{opt_name} {shape_name} vs {mode}", vt_s, torch_s, 1.0)
    print("all targets met" if ok else "some targets missed")


if __name__ == "__main__":
    main()
