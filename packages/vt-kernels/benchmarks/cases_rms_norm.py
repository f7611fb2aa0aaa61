"""RMSNorm at the TARGETS.md shape and a sweep of row lengths."""

import torch
from case import Case

import vt.kernels as vk


def _setup(m, n, dtype, grad):
    def make():
        x = torch.randn(m, n, device="cuda", dtype=dtype, requires_grad=grad)
        w = torch.randn(n, device="cuda", dtype=dtype, requires_grad=grad)
        return {"x": x, "w": w, "dy": torch.randn(m, n, device="cuda", dtype=dtype)}
    return make


def _fwd_bwd(fn):
    def run(d):
        y = fn(d)
        y.backward(d["dy"])
        return y
    return run


def cases():
    out = []
    shapes = [(4096, 8192, ("targets",))] + [(4096, n, ()) for n in (512, 1024, 2048, 4096, 16384, 32768)]
    for m, n, tags in shapes:
        size = m * n * 2
        out.append(Case("rms_norm", "fwd", f"({m}, {n})", "bfloat16", _setup(m, n, torch.bfloat16, False),
                        vt=lambda d: vk.rms_norm(d["x"], d["w"], 1e-6),
                        torch=lambda d: torch.nn.functional.rms_norm(d["x"], d["w"].shape, d["w"], 1e-6),
                        bytes=2 * size + n * 2, tags=tags))
        out.append(Case("rms_norm", "fwd+bwd", f"({m}, {n})", "bfloat16", _setup(m, n, torch.bfloat16, True),
                        vt=_fwd_bwd(lambda d: vk.rms_norm(d["x"], d["w"], 1e-6)),
                        torch=_fwd_bwd(lambda d: torch.nn.functional.rms_norm(d["x"], d["w"].shape, d["w"], 1e-6)),
                        bytes=5 * size + 2 * n * 2, tags=tags))
    return out


CASES = cases()
