"""LayerNorm at the TARGETS.md shape and a sweep of row lengths."""

import torch
from case import Case

from vt.kernels.layer_norm import layer_norm


def _setup(m, n, dtype, grad):
    def make():
        x = torch.randn(m, n, device="cuda", dtype=dtype, requires_grad=grad)
        w = torch.randn(n, device="cuda", dtype=dtype, requires_grad=grad)
        b = torch.randn(n, device="cuda", dtype=dtype, requires_grad=grad)
        return {"x": x, "w": w, "b": b, "dy": torch.randn(m, n, device="cuda", dtype=dtype)}
    return make


def _vt(d):
    return layer_norm(d["x"], d["w"], d["b"], 1e-5)


def _torch(d):
    return torch.nn.functional.layer_norm(d["x"], d["w"].shape, d["w"], d["b"], 1e-5)


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
        # fwd: x in, y out, weight and bias once; fwd+bwd adds dy and x in, dx out, weight in,
        # dweight and dbias out (the float32 row statistics are negligible).
        out.append(Case("layer_norm", "fwd", f"({m}, {n})", "bfloat16", _setup(m, n, torch.bfloat16, False),
                        vt=_vt, torch=_torch, bytes=2 * size + 2 * n * 2, tags=tags))
        out.append(Case("layer_norm", "fwd+bwd", f"({m}, {n})", "bfloat16", _setup(m, n, torch.bfloat16, True),
                        vt=_fwd_bwd(_vt), torch=_fwd_bwd(_torch), bytes=5 * size + 5 * n * 2, tags=tags))
    return out


CASES = cases()
