"""Sweeps the launch settings of the row kernels (RMSNorm, LayerNorm, softmax) at one shape:
warps per row in the forward, programs per SM and warps in the backward. Prints device times
(triton.testing.do_bench medians) so the defaults in _launch.row_launch can be chosen from data.

    python tools/tune_row_kernels.py [--rows 4096] [--cols 8192] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse

import importlib

import torch
import triton

from vt.kernels import _launch

# The family modules (vt.kernels exports their functions under the same names).
rms_norm, layer_norm, softmax = (importlib.import_module(f"vt.kernels.{name}")
                                 for name in ("rms_norm", "layer_norm", "softmax"))


def timed(fn) -> float:
    return triton.testing.do_bench(fn, warmup=10, rep=50)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=4096)
    p.add_argument("--cols", type=int, default=8192)
    p.add_argument("--dtype", default="bfloat16")
    a = p.parse_args()
    dtype = getattr(torch, a.dtype)
    x = torch.randn(a.rows, a.cols, device="cuda", dtype=dtype)
    w = torch.randn(a.cols, device="cuda", dtype=dtype)
    dy = torch.randn_like(x)
    nbytes = x.numel() * x.element_size()
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    original = _launch.row_launch

    def with_warps(warps):
        def launch(n, max_block=16384):
            block, _, single = original(n, max_block)
            return block, warps, single
        return launch

    for family, fwd, bwd in (
        ("rms_norm", lambda: rms_norm._triton_forward(x, w, None, 1e-6),
         lambda s: rms_norm._triton_backward(dy, x, w, s[2], None)),
        ("layer_norm", lambda: layer_norm._triton_forward(x, w, w, None, 1e-5),
         lambda s: layer_norm._triton_backward(dy, x, w, w, s[2], s[3], None)),
        ("softmax", lambda: softmax._triton_forward(x, False),
         lambda y: softmax._triton_backward(y, dy, False)),
    ):
        module = {"rms_norm": rms_norm, "layer_norm": layer_norm, "softmax": softmax}[family]
        for warps in (4, 8, 16, 32):
            module.row_launch = with_warps(warps)
            ms = timed(fwd)
            print(f"{family:10s} fwd warps={warps:2d}: {ms * 1e3:7.1f} us  {2 * nbytes / ms / 1e9:5.2f} TB/s")
        module.row_launch = original
        saved = fwd()
        for per_sm in (1, 2, 4, 8):
            if hasattr(module, "sm_count"):
                module.sm_count = lambda i, k=per_sm: sms * k // 2
            for warps in (4, 8, 16):
                module.row_launch = with_warps(warps)
                ms = timed(lambda: bwd(saved))
                print(f"{family:10s} bwd programs/SM={per_sm} warps={warps:2d}: {ms * 1e3:7.1f} us  "
                      f"{3 * nbytes / ms / 1e9:5.2f} TB/s")
            if not hasattr(module, "sm_count"):
                break
        module.row_launch = original
        if hasattr(module, "sm_count"):
            module.sm_count = _launch.sm_count


if __name__ == "__main__":
    main()
