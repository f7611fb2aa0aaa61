"""Times every attention kernel variant of a case interleaved: each round times each variant once
(CUDA events around `--calls` back-to-back calls) and the report is the median over the rounds,
so clock and thermal drift during the run reach every variant alike. The *_check.py tools time
one variant after another, and on a shared machine their same-config rows moved by up to 10%.

    PYTHONPATH=packages/vt-kernels/src python packages/vt-kernels/tools/attention_interleaved.py \
        [--rounds 9] [--calls 5] [--only fwd|bwd] [--case BATCH,HEADS_Q,HEADS_KV,SEQ,HEAD_DIM,CAUSAL]

Variants per case: torch's SDPA, attention.py's dispatch ("vt"), its Triton kernels, and every
config of each Gluon kernel that takes the case (forward; split and fused backward). Speeds are
against SDPA of the same rounds.
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch
import torch.nn.functional as F
from attention_hopper_bwd_check import CASES
from attention_hopper_check import triton_kernels, vt_attention
from vt.kernels import _attention_hopper as hopper
from vt.kernels import _attention_hopper_bwd as hopper_bwd
from vt.kernels import _attention_hopper_bwd_fused as hopper_bwd_fused


def forward_variants(q, k, v, causal, scale) -> dict:
    def dispatch():
        return vt_attention.attention_forward(q, k, v, causal=causal, softmax_scale=scale)

    def triton():
        with triton_kernels():
            return dispatch()

    found = {"sdpa": lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                            scale=scale, enable_gqa=True),
             "vt": dispatch, "triton": triton}
    if hopper.hopper_reason(q, k, v, None, causal, scale) is None:
        for config in hopper.CONFIGS[q.shape[-1]]:
            name = f"gluon n{config.block_n} s{config.stages}" + (" p" if config.persistent else "")
            found[name] = lambda c=config: hopper.hopper_forward(q, k, v, causal, scale, c)
    return found


def backward_variants(q, k, v, dout, causal, scale) -> dict:
    leaves = [t.detach().requires_grad_(True) for t in (q, k, v)]
    sdpa_out = F.scaled_dot_product_attention(*leaves, is_causal=causal, scale=scale,
                                              enable_gqa=True)
    out, lse = vt_attention.attention_forward(q, k, v, causal=causal, softmax_scale=scale)

    def dispatch():
        return vt_attention._triton_backward(q, k, v, out, lse, dout, causal, scale, None, None,
                                             None, None)

    def triton():
        with triton_kernels():
            return dispatch()

    found = {"sdpa": lambda: torch.autograd.grad(sdpa_out, leaves, dout, retain_graph=True),
             "vt": dispatch, "triton": triton}
    if hopper_bwd.hopper_backward_reason(q, k, v, out, dout, causal, scale) is None:
        for c in hopper_bwd.CONFIGS[q.shape[-1]]:
            found[f"split {c.dkdv_stages}/{c.dq_block_n}/{c.dq_stages}"] = (
                lambda c=c: hopper_bwd.hopper_backward(q, k, v, out, lse, dout, causal, scale, c))
    if hopper_bwd_fused.hopper_backward_fused_reason(q, k, v, out, dout, causal, scale) is None:
        for c in hopper_bwd_fused.CONFIGS[q.shape[-1]]:
            found[f"fused s{c.stages}"] = lambda c=c: hopper_bwd_fused.hopper_backward_fused(
                q, k, v, out, lse, dout, causal, scale, c)
    return found


def interleaved_ms(variants: dict, rounds: int, calls: int) -> dict:
    """Median over rounds of each variant's device time per call."""
    for fn in variants.values():  # compile, autotune, warm up
        fn()
        fn()
    torch.cuda.synchronize()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(calls):
                fn()
            end.record()
            end.synchronize()
            times[name].append(start.elapsed_time(end) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def _case(text: str) -> tuple:
    *sizes, causal = (int(part) for part in text.split(","))
    return (*sizes, bool(causal))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--only", choices=("fwd", "bwd"))
    parser.add_argument("--case", action="append", type=_case,
                        help="a case to time instead of the default ones (repeatable); CAUSAL 0/1")
    args = parser.parse_args()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    for batch, heads_q, heads_kv, seq, head_dim, causal in args.case or CASES:
        torch.manual_seed(0)
        q = torch.randn(batch, heads_q, seq, head_dim, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(batch, heads_kv, seq, head_dim, device="cuda", dtype=torch.bfloat16)
        v = torch.randn_like(k)
        dout = torch.randn_like(q)
        scale = 1.0 / math.sqrt(head_dim)
        label = f"({batch}, {heads_q}/{heads_kv}, {seq}, {head_dim}){' causal' if causal else ''}"
        for direction in ("fwd", "bwd"):
            if args.only not in (None, direction):
                continue
            variants = (forward_variants(q, k, v, causal, scale) if direction == "fwd"
                        else backward_variants(q, k, v, dout, causal, scale))
            ms = interleaved_ms(variants, args.rounds, args.calls)
            print(f"\n{label} {direction}", flush=True)
            for name, t in ms.items():
                print(f"  {name:<16} {t:8.3f} ms  vs sdpa {ms['sdpa'] / t:5.3f}x", flush=True)


if __name__ == "__main__":
    main()
