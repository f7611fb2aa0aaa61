"""Per-kernel device times of benchmark cases: which launches a vt (or torch) call makes and how
long each runs, next to the harness's event time for the whole call. A gap between the two is
time the GPU waited for the host.

    python tools/profile_case.py --kernels layer_norm [--shape "(4096, 8192)"] [--dir fwd+bwd]
                                 [--side vt|torch] [--reps 20]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

import run as harness  # noqa: E402


def kernel_times(fn, d, grads, reps: int) -> dict[str, float]:
    """Mean device microseconds per call of each kernel that fn(d) launches."""
    for _ in range(3):
        harness._clear(grads)
        fn(d)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            harness._clear(grads)
            fn(d)
        torch.cuda.synchronize()
    totals: dict[str, float] = defaultdict(float)
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            totals[event.name] += event.device_time / reps
    return dict(totals)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kernels", required=True)
    p.add_argument("--shape")
    p.add_argument("--dir")
    p.add_argument("--side", default="vt", choices=("vt", "torch"))
    p.add_argument("--reps", type=int, default=20)
    a = p.parse_args()
    cases, _ = harness.collect_cases(a.kernels.split(","), directory=BENCHMARKS)
    settings = harness.SETTINGS["quick"]
    flush = torch.empty(harness.FLUSH_BYTES, dtype=torch.uint8, device="cuda")
    for case in cases:
        if (a.shape and case.shape != a.shape) or (a.dir and case.direction != a.dir):
            continue
        d = case.setup()
        grads = harness._leaf_grads(d) if case.direction == "fwd+bwd" else []
        fn = case.vt if a.side == "vt" else case.torch
        times = kernel_times(fn, d, grads, a.reps)
        event_ms = harness.time_call(fn, d, flush=flush, grads=grads, **settings)
        print(f"{case.kernel} {case.direction} {case.shape} {case.dtype} ({a.side}): "
              f"event time {event_ms * 1e3:.1f} us, kernels {sum(times.values()):.1f} us")
        for name, us in sorted(times.items(), key=lambda kv: -kv[1]):
            print(f"    {us:8.1f} us  {name[:100]}")
        del d
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
