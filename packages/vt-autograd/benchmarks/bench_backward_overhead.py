"""Forward + backward of a 200-op chain on small tensors: autograd overhead per op, which is
what a dispatch-bound model pays. Target: vt <= 0.8x torch (same process, CPU)."""

from __future__ import annotations

import pathlib
import sys

import torch

import vt.autograd  # noqa: F401  (installs the engine)
import vt.core as vt
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "vt-core" / "benchmarks"))
from _timing import paired_seconds, report  # noqa: E402  (vt-core's shared timing helpers)

OPS = 200


def chain(x, w):
    y = x
    for i in range(OPS // 4):
        y = y * w      # 4 ops per round: mul, add, tanh, sub
        y = y + 1.0
        y = y.tanh()
        y = y - x
    return y.sum()


def main() -> None:
    torch.set_num_threads(1)
    vt.set_num_threads(1)
    tx = torch.randn(16, requires_grad=True)
    tw = torch.randn(16, requires_grad=True)
    vx = vt.tensor(tx.detach().numpy()).requires_grad_()
    vw = vt.tensor(tw.detach().numpy()).requires_grad_()

    def step_torch():
        tx.grad = tw.grad = None
        chain(tx, tw).backward()

    def step_vt():
        vx.grad = vw.grad = None
        chain(vx, vw).backward()

    vt_s, torch_s = paired_seconds(step_vt, step_torch, number=50, repeat=9)
    ok = report(f"forward+backward, {OPS}-op chain, 16 floats", vt_s, torch_s, 0.8)
    print(f"{'':<44} vt {vt_s / OPS * 1e6:.2f} us/op   torch {torch_s / OPS * 1e6:.2f} us/op")
    print(f"{int(ok)}/1 within target")


if __name__ == "__main__":
    main()
