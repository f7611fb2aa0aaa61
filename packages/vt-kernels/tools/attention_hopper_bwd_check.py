"""Checks and times the Gluon Hopper attention backwards, the split one (vt.kernels.
_attention_hopper_bwd: a dK/dV and a dQ kernel) and the fused one (_attention_hopper_bwd_fused:
one kernel, dQ through float32 atomics), next to attention.py's Triton backward and torch's SDPA
backward, all measured in the same run, on a Hopper GPU.

    PYTHONPATH=packages/vt-kernels/src \
        python packages/vt-kernels/tools/attention_hopper_bwd_check.py [--configs] [--reps 30]

Per case: max abs errors of dq/dk/dv against SDPA's backward, the median device time of `reps`
calls (CUDA events), TFLOP/s (a backward counts 2.5x the forward's flops) and the speed ratio to
SDPA's backward. The "triton" rows run attention.py's Triton backward (its Gluon dispatch turned
off while they run), "hopper" the split Gluon backward, "fused" the fused one. --configs also
times every config of both Gluon kernels' tables for the case's head_dim. A case that fails
(compile error, exception) is printed and skipped. A run that never returns hangs on an mbarrier:
run it under `timeout`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import traceback

import torch
import torch.nn.functional as F
from attention_hopper_check import median_ms, triton_kernels, vt_attention
from vt.kernels import _attention_hopper_bwd as hopper_bwd
from vt.kernels import _attention_hopper_bwd_fused as hopper_bwd_fused

# (batch, heads_q, heads_kv, seq, head_dim, causal): the TARGETS.md shapes.
CASES = [
    (32, 10, 10, 2048, 128, True),
    (4, 32, 8, 2048, 128, True),
    (32, 10, 10, 2048, 128, False),
    (32, 20, 20, 2048, 64, True),
    (32, 20, 20, 2048, 64, False),
    (4, 32, 8, 2048, 64, True),
]


def backward_flops(batch, heads_q, seq, head_dim, causal):
    # The forward's two matmuls of 2*s*s*d flops per head (half of them causal), times 2.5.
    forward = 4 * batch * heads_q * seq * seq * head_dim
    return 2.5 * (forward / 2 if causal else forward)


def max_errors(grads, expected):
    return "/".join(f"{(g.float() - e.float()).abs().max().item():.3g}"
                    for g, e in zip(grads, expected))


def run_case(case, reps, sweep):
    batch, heads_q, heads_kv, seq, head_dim, causal = case
    torch.manual_seed(0)
    q = torch.randn(batch, heads_q, seq, head_dim, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=torch.bfloat16)
    dout = torch.randn_like(q)
    scale = 1.0 / math.sqrt(head_dim)
    label = f"({batch}, {heads_q}/{heads_kv}, {seq}, {head_dim}){' causal' if causal else ''}"
    print(f"\n{label}", flush=True)
    reason = hopper_bwd.hopper_backward_reason(q, k, v, q, dout, causal, scale)
    if reason is not None:
        print(f"  hopper_backward does not take it: {reason}", flush=True)
        return

    # SDPA's backward alone: autograd.grad through a retained graph of one forward.
    leaves = [t.detach().requires_grad_(True) for t in (q, k, v)]
    sdpa_out = F.scaled_dot_product_attention(*leaves, is_causal=causal, scale=scale,
                                              enable_gqa=True)

    def sdpa():
        return torch.autograd.grad(sdpa_out, leaves, dout, retain_graph=True)

    out, lse = vt_attention.attention_forward(q, k, v, causal=causal, softmax_scale=scale)

    def triton_backward():
        return vt_attention._triton_backward(q, k, v, out, lse, dout, causal, scale, None, None,
                                             None, None)

    def hopper_backward(config=None):
        return hopper_bwd.hopper_backward(q, k, v, out, lse, dout, causal, scale, config)

    def fused_backward(config=None):
        return hopper_bwd_fused.hopper_backward_fused(q, k, v, out, lse, dout, causal, scale,
                                                      config)

    expected = sdpa()
    tflop = backward_flops(batch, heads_q, seq, head_dim, causal) / 1e12
    sdpa_ms = median_ms(sdpa, reps, warmup=3)
    rows = [("sdpa", sdpa_ms, "0/0/0")]
    print(f"  {'sdpa':<8} {sdpa_ms:8.3f} ms {tflop / (sdpa_ms / 1e3):7.1f} TFLOP/s", flush=True)
    fused_reason = hopper_bwd_fused.hopper_backward_fused_reason(q, k, v, q, dout, causal, scale)
    if fused_reason is not None:
        print(f"  hopper_backward_fused does not take it: {fused_reason}", flush=True)
    backwards = [("triton", triton_backward), ("hopper", hopper_backward)]
    backwards += [("fused", fused_backward)] if fused_reason is None else []
    for name, fn in backwards:
        try:
            with triton_kernels() if name == "triton" else contextlib.nullcontext():
                errors = max_errors(fn(), expected)
                ms = median_ms(fn, reps, warmup=3)
            rows.append((name, ms, errors))
            print(f"  {name:<8} {ms:8.3f} ms {tflop / (ms / 1e3):7.1f} TFLOP/s  "
                  f"vs sdpa: speed {sdpa_ms / ms:5.3f}x  max abs error dq/dk/dv {errors}",
                  flush=True)
        except Exception:
            print(f"  {name} failed:\n{traceback.format_exc(limit=3)}", flush=True)
    times = dict((name, ms) for name, ms, _ in rows)
    if "triton" in times and "hopper" in times:
        print(f"  hopper/triton speed {times['triton'] / times['hopper']:5.3f}x", flush=True)
    if "hopper" in times and "fused" in times:
        print(f"  fused/hopper speed {times['hopper'] / times['fused']:5.3f}x", flush=True)
    if not sweep:
        return

    def sweep_configs(name, backward, configs, label):
        for config in configs:
            try:
                errors = max_errors(backward(config), expected)
                ms = median_ms(lambda: backward(config), reps, warmup=3)
                print(f"    {label(config)}  {ms:8.3f} ms {tflop / (ms / 1e3):7.1f} TFLOP/s  "
                      f"{name}/sdpa {sdpa_ms / ms:5.3f}x  max abs error dq/dk/dv {errors}",
                      flush=True)
            except Exception:
                print(f"    {config} failed:\n{traceback.format_exc(limit=3)}", flush=True)

    print("  configs (dkdv stages, dq keys, dq stages):", flush=True)
    sweep_configs("hopper", hopper_backward, hopper_bwd.CONFIGS[head_dim],
                  lambda c: f"{c.dkdv_stages} {c.dq_block_n:>4} {c.dq_stages}")
    if fused_reason is None:
        print("  fused configs (stages):", flush=True)
        sweep_configs("fused", fused_backward, hopper_bwd_fused.CONFIGS[head_dim],
                      lambda c: f"{c.stages}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", action="store_true",
                        help="also time every config of the kernel's table per case")
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    for case in CASES:
        try:
            run_case(case, args.reps, args.configs)
        except Exception:
            print(f"  case {case} failed:\n{traceback.format_exc(limit=3)}", flush=True)


if __name__ == "__main__":
    main()
