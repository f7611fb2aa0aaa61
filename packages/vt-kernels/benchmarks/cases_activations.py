"""GELU (erf and tanh), SwiGLU and GeGLU at transformer MLP shapes: (8192, 8192) and the packed
[gate | up] output of a Llama-2-7B up-projection (8192, 2 * 11008), plus a sweep of sizes.
torch is F.gelu, F.silu(gate) * up and F.gelu(gate) * up."""

import torch
from case import Case

from vt.kernels.activations import geglu, gelu, swiglu

F = torch.nn.functional


def _setup(inputs, out_shape, grad):
    """inputs: name -> shape; dy has the output's shape."""
    def make():
        d = {name: torch.randn(shape, device="cuda", dtype=torch.bfloat16, requires_grad=grad)
             for name, shape in inputs.items()}
        d["dy"] = torch.randn(out_shape, device="cuda", dtype=torch.bfloat16)
        return d
    return make


def _fwd_bwd(fn, names):
    def run(d):
        y = fn(d)
        y.backward(d["dy"])
        return [y] + [d[name].grad for name in names]
    return run


def _gelu(approximate):
    return (lambda d: gelu(d["x"], approximate),
            lambda d: F.gelu(d["x"], approximate=approximate))


def _swiglu_packed(d):
    return swiglu(d["x"])


def _silu_packed(d):
    gate, up = d["x"].chunk(2, -1)
    return F.silu(gate) * up


def cases():
    out = []
    for m, n in [(8192, 8192), (2048, 4096), (16384, 8192)]:
        size = m * n * 2
        for approximate in ("none", "tanh"):
            vt, ref = _gelu(approximate)
            label = f"({m}, {n}) {approximate}"
            out.append(Case("gelu", "fwd", label, "bfloat16", _setup({"x": (m, n)}, (m, n), False),
                            vt=vt, torch=ref, bytes=2 * size))
            if (m, n) == (8192, 8192):
                out.append(Case("gelu", "fwd+bwd", label, "bfloat16",
                                _setup({"x": (m, n)}, (m, n), True), vt=_fwd_bwd(vt, ["x"]),
                                torch=_fwd_bwd(ref, ["x"]), bytes=5 * size))
    for m, n in [(8192, 11008), (4096, 14336)]:
        size = m * n * 2  # bytes of one (m, n) half
        label = f"({m}, 2 * {n}) packed"
        inputs = {"x": (m, 2 * n)}
        out.append(Case("swiglu", "fwd", label, "bfloat16", _setup(inputs, (m, n), False),
                        vt=_swiglu_packed, torch=_silu_packed, bytes=3 * size))
        out.append(Case("swiglu", "fwd+bwd", label, "bfloat16", _setup(inputs, (m, n), True),
                        vt=_fwd_bwd(_swiglu_packed, ["x"]), torch=_fwd_bwd(_silu_packed, ["x"]),
                        bytes=8 * size))
    m, n = 8192, 8192
    size = m * n * 2
    inputs = {"gate": (m, n), "up": (m, n)}
    for kernel, vt, ref in [
        ("swiglu", lambda d: swiglu(d["gate"], d["up"]), lambda d: F.silu(d["gate"]) * d["up"]),
        ("geglu", lambda d: geglu(d["gate"], d["up"], "tanh"),
         lambda d: F.gelu(d["gate"], approximate="tanh") * d["up"]),
    ]:
        out.append(Case(kernel, "fwd", f"({m}, {n})", "bfloat16", _setup(inputs, (m, n), False),
                        vt=vt, torch=ref, bytes=3 * size))
        out.append(Case(kernel, "fwd+bwd", f"({m}, {n})", "bfloat16", _setup(inputs, (m, n), True),
                        vt=_fwd_bwd(vt, ["gate", "up"]), torch=_fwd_bwd(ref, ["gate", "up"]),
                        bytes=8 * size))
    return out


CASES = cases()
