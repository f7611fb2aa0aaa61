"""The Triton GEMM against cuBLAS: bf16 square, skinny and tall shapes, plain (b row-major,
torch.matmul) and with the bias + GELU epilogue (b = weight.T, F.linear + F.gelu)."""

import math

import torch
from case import Case

import vt.kernels as vk
from vt.kernels.gemm import matmul

SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (8192, 1024, 4096), (1024, 8192, 4096),
          (16384, 4096, 1024), (128, 4096, 4096)]
F = torch.nn.functional


def _setup(m, n, k, dtype, linear, grad=False):
    def make():
        a = torch.randn(m, k, device="cuda", dtype=dtype, requires_grad=grad)
        shape = (n, k) if linear else (k, n)
        b = (torch.randn(shape, device="cuda") / math.sqrt(k)).to(dtype).requires_grad_(grad)
        bias = torch.randn(n, device="cuda", dtype=dtype, requires_grad=grad)
        return {"a": a, "b": b, "bias": bias, "dy": torch.randn(m, n, device="cuda", dtype=dtype)}
    return make


def _triton(fn):
    def run(d):
        with vk.use_impl("triton", "gemm"):
            return fn(d)
    return run


def _fwd_bwd(fn):
    def run(d):
        y = fn(d)
        y.backward(d["dy"])
        return y
    return run


def _plain_vt(d):
    return matmul(d["a"], d["b"])


def _plain_torch(d):
    return torch.matmul(d["a"], d["b"])


def _linear_gelu_vt(d):
    return matmul(d["a"], d["b"].T, d["bias"], "gelu")


def _linear_gelu_torch(d):
    return F.gelu(F.linear(d["a"], d["b"], d["bias"]))


def _case(m, n, k, direction, linear, vt, torch_fn, passes=1):
    dtype = torch.bfloat16
    label = f"({m}, {n}, {k})" + (" bias+gelu" if linear else "")
    grad = direction == "fwd+bwd"
    # bytes: the operands and the output once each (it decides whether L2 is flushed).
    return Case("gemm", direction, label, "bfloat16", _setup(m, n, k, dtype, linear, grad),
                vt=_triton(vt), torch=torch_fn, bytes=2 * (m * k + k * n + m * n),
                flops=2 * m * n * k * passes)


def cases():
    out = []
    for m, n, k in SHAPES:
        out.append(_case(m, n, k, "fwd", False, _plain_vt, _plain_torch))
        out.append(_case(m, n, k, "fwd", True, _linear_gelu_vt, _linear_gelu_torch))
    # One training step of a linear layer: the forward GEMM and the two backward GEMMs.
    out.append(_case(4096, 4096, 4096, "fwd+bwd", True, _fwd_bwd(_linear_gelu_vt),
                     _fwd_bwd(_linear_gelu_torch), passes=3))
    return out


CASES = cases()
