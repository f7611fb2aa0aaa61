"""Host time per call of benchmark cases, vt next to torch in the same run: the microseconds
Python and the launches take before the GPU has the work. The harness hides this time (the GPU
sleeps while the host queues a call); a model whose GPU waits for its host pays it.

    python tools/host_overhead.py --kernels layer_norm,rms_norm [--dir fwd+bwd] [--shape S]
                                  [--reps 200] [--profile 25]

Per case: median host microseconds of one call over `reps` calls queued behind a long GPU
sleep (so no call waits for the GPU), for vt and torch, and the ratio (> 1: vt's host is
faster). --profile N also prints the N functions where vt's calls spend the most host time
(cProfile, own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import torch  # noqa: E402

import run as harness  # noqa: E402

_SLEEP_CYCLES = 200_000_000  # about 0.1 s of GPU clock: longer than a batch of 50 calls


def host_us(fn, d, grads, reps: int) -> float:
    """Median host microseconds of fn(d), each call timed alone while the GPU sleeps."""
    for _ in range(5):
        harness._clear(grads)
        fn(d)
    torch.cuda.synchronize()
    times = []
    done = 0
    while done < reps:
        torch.cuda._sleep(_SLEEP_CYCLES)
        for _ in range(min(50, reps - done)):  # few enough that the launch queue never fills
            harness._clear(grads)
            start = time.perf_counter()
            fn(d)
            times.append(time.perf_counter() - start)
            done += 1
        torch.cuda.synchronize()
    return statistics.median(times) * 1e6


def profile_vt(fn, d, grads, reps: int, top: int) -> str:
    """cProfile's table of fn's calls, the `top` functions by own time."""
    profiler = cProfile.Profile()
    torch.cuda._sleep(_SLEEP_CYCLES)
    profiler.enable()
    for _ in range(reps):
        harness._clear(grads)
        fn(d)
    profiler.disable()
    torch.cuda.synchronize()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kernels", required=True)
    p.add_argument("--dir")
    p.add_argument("--shape")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--profile", type=int, default=0)
    a = p.parse_args()
    cases, _ = harness.collect_cases(a.kernels.split(","), directory=BENCHMARKS)
    print("| kernel | dir | shape | vt host us | torch host us | torch / vt |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        if (a.dir and case.direction != a.dir) or (a.shape and case.shape != a.shape):
            continue
        d = case.setup()
        grads = harness._leaf_grads(d) if case.direction == "fwd+bwd" else []
        vt = host_us(case.vt, d, grads, a.reps)
        theirs = host_us(case.torch, d, grads, a.reps)
        print(f"| {case.kernel} | {case.direction} | {case.shape} | {vt:.1f} | {theirs:.1f} | "
              f"{theirs / vt:.2f}x |", flush=True)
        if a.profile:
            print(profile_vt(case.vt, d, grads, min(a.reps, 50), a.profile), flush=True)
        del d
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
