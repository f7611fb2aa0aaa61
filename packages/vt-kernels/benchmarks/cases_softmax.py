"""Softmax and log-softmax at the TARGETS.md shape and a sweep of row lengths."""

import torch
from case import Case

from vt.kernels.softmax import log_softmax, softmax


def _setup(m, n, dtype, grad):
    def make():
        x = torch.randn(m, n, device="cuda", dtype=dtype, requires_grad=grad)
        return {"x": x, "dy": torch.randn(m, n, device="cuda", dtype=dtype)}
    return make


def _fwd_bwd(fn):
    def run(d):
        y = fn(d)
        y.backward(d["dy"])
        return y
    return run


def cases():
    out = []
    ops = [("softmax", softmax, torch.softmax), ("log_softmax", log_softmax, torch.log_softmax)]
    shapes = [(4096, 8192, ("targets",))] + [(4096, n, ()) for n in (512, 1024, 2048, 4096, 16384, 32768)]
    for name, ours, theirs in ops:
        for m, n, tags in shapes:
            size = m * n * 2
            # The targets row names softmax; log_softmax runs the same kernel with the log flag.
            tags = tags if name == "softmax" else ()
            vt_fn = lambda d, f=ours: f(d["x"], -1)
            torch_fn = lambda d, f=theirs: f(d["x"], -1)
            # fwd: x in, y out; the backward reads y and dy and writes dx.
            out.append(Case(name, "fwd", f"({m}, {n})", "bfloat16", _setup(m, n, torch.bfloat16, False),
                            vt=vt_fn, torch=torch_fn, bytes=2 * size, tags=tags))
            out.append(Case(name, "fwd+bwd", f"({m}, {n})", "bfloat16", _setup(m, n, torch.bfloat16, True),
                            vt=_fwd_bwd(vt_fn), torch=_fwd_bwd(torch_fn), bytes=5 * size, tags=tags))
    return out


CASES = cases()
