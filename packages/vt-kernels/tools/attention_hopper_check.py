"""Checks and times the Gluon Hopper attention forward (vt.kernels._attention_hopper) next to
attention.py's Triton forward and torch's SDPA, all measured in the same run, on a Hopper GPU.

    PYTHONPATH=packages/vt-kernels/src python packages/vt-kernels/tools/attention_hopper_check.py \
        [--configs] [--reps 50]

Per case: the max abs error against SDPA, the median device time of `reps` calls (CUDA events),
TFLOP/s and the hopper/SDPA speed ratio. The "triton" rows run attention.py's Triton kernels
(its Gluon dispatch turned off while they run). --configs also times every config of the kernel's
table for the case's head_dim, one line each. A config that fails (compile error, exception) is
printed and skipped; after an illegal address the CUDA context is gone and the later lines fail
too. A run that never returns hangs on an mbarrier: run it under `timeout`.

median_ms and triton_kernels are shared with attention_hopper_bwd_check.py.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import statistics
import traceback

import torch
import torch.nn.functional as F
import vt.kernels as vk
from vt.kernels import _attention_hopper as hopper

# The module (vt.kernels.attention is also the name of the function it exports).
vt_attention = importlib.import_module("vt.kernels.attention")

# (batch, heads_q, heads_kv, seq, head_dim, causal): the TARGETS.md shapes.
CASES = [
    (32, 10, 10, 2048, 128, True),
    (4, 32, 8, 2048, 128, True),
    (32, 10, 10, 2048, 128, False),
    (32, 20, 20, 2048, 64, True),
]


def flops(batch, heads_q, seq, head_dim, causal):
    # Two matmuls of 2*s*s*d flops per head; causal does half of them.
    full = 4 * batch * heads_q * seq * seq * head_dim
    return full // 2 if causal else full


@contextlib.contextmanager
def triton_kernels():
    """attention.py runs its Triton kernels, not the Gluon ones it dispatches to (head_dim 128)."""
    enabled = vt_attention._GLUON_ENABLED
    vt_attention._GLUON_ENABLED = False
    try:
        yield
    finally:
        vt_attention._GLUON_ENABLED = enabled


def median_ms(fn, reps, warmup=5):
    """The median device time of `reps` calls of fn (CUDA events), after `warmup` calls (compiles,
    autotunes, warms up)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def describe(config) -> str:
    return f"n{config.block_n} s{config.stages}"


def inputs(case):
    batch, heads_q, heads_kv, seq, head_dim, causal = case
    torch.manual_seed(0)
    q = torch.randn(batch, heads_q, seq, head_dim, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=torch.bfloat16)
    return q, k, v, 1.0 / math.sqrt(head_dim)


def label(case) -> str:
    batch, heads_q, heads_kv, seq, head_dim, causal = case
    return f"({batch}, {heads_q}/{heads_kv}, {seq}, {head_dim}){' causal' if causal else ''}"


def run_case(case, reps) -> float | None:
    """Times SDPA, the Triton forward and the default config; SDPA's time, None when the Gluon
    kernel does not take the case."""
    batch, heads_q, heads_kv, seq, head_dim, causal = case
    q, k, v, scale = inputs(case)
    print(f"\n{label(case)}", flush=True)
    reason = hopper.hopper_reason(q, k, v, None, causal, scale)
    if reason is not None:
        print(f"  hopper_forward does not take it: {reason}", flush=True)
        return None

    def sdpa():
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)

    def triton_forward():
        with vk.use_impl("triton", "attention"):
            return vk.attention_forward(q, k, v, causal=causal)[0]

    def hopper_forward():
        return hopper.hopper_forward(q, k, v, causal, scale)[0]

    expected = sdpa().float()
    tflop = flops(batch, heads_q, seq, head_dim, causal) / 1e12
    sdpa_ms = median_ms(sdpa, reps)
    rows = [("sdpa", sdpa_ms, 0.0)]
    for name, fn in (("triton", triton_forward), ("hopper", hopper_forward)):
        try:
            with triton_kernels() if name == "triton" else contextlib.nullcontext():
                error = (fn().float() - expected).abs().max().item()
                rows.append((name, median_ms(fn, reps), error))
        except Exception:
            print(f"  {name} failed:\n{traceback.format_exc(limit=3)}", flush=True)
    for name, ms, error in rows:
        print(f"  {name:<8} {ms:8.3f} ms {tflop / (ms / 1e3):7.1f} TFLOP/s  "
              f"vs sdpa: speed {sdpa_ms / ms:5.3f}x  max abs error {error:.3g}", flush=True)
    return sdpa_ms


def sweep(case, sdpa_ms, reps):
    """One line per config of the kernel's table for the case's head_dim."""
    batch, heads_q, heads_kv, seq, head_dim, causal = case
    q, k, v, scale = inputs(case)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                              enable_gqa=True).float()
    tflop = flops(batch, heads_q, seq, head_dim, causal) / 1e12
    print(f"  {label(case)}:", flush=True)
    for config in hopper.CONFIGS[head_dim]:
        try:
            def run():
                return hopper.hopper_forward(q, k, v, causal, scale, config)[0]

            error = (run().float() - expected).abs().max().item()
            ms = median_ms(run, reps)
            print(f"    {describe(config):<10} {ms:8.3f} ms {tflop / (ms / 1e3):7.1f} TFLOP/s  "
                  f"hopper/sdpa {sdpa_ms / ms:5.3f}x  max abs error {error:.3g}", flush=True)
        except Exception:
            print(f"    {describe(config)} failed:\n{traceback.format_exc(limit=3)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", action="store_true",
                        help="also time every config of the kernel's table per case")
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    timed = []
    for case in CASES:
        try:
            sdpa_ms = run_case(case, args.reps)
            if sdpa_ms is not None:
                timed.append((case, sdpa_ms))
        except Exception:
            print(f"  case {case} failed:\n{traceback.format_exc(limit=3)}", flush=True)
    if not args.configs:
        return
    print("\nconfigs (keys per tile, stages):", flush=True)
    for case, sdpa_ms in timed:
        sweep(case, sdpa_ms, args.reps)


if __name__ == "__main__":
    main()
