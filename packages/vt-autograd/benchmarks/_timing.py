"""Timing helpers shared by the benchmarks: best-of-repeats wall time per call."""

from __future__ import annotations

import timeit


def paired_seconds(vt_fn, torch_fn, *, number: int, repeat: int = 7) -> tuple[float, float]:
    """Per-call times of vt_fn and torch_fn, their repeats interleaved so that a slow spell of a
    shared machine falls on both sides rather than on one; the fastest repeat of each."""
    vt_fn(), torch_fn()
    vt_runs, torch_runs = [], []
    for _ in range(repeat):
        vt_runs.append(timeit.timeit(vt_fn, number=number))
        torch_runs.append(timeit.timeit(torch_fn, number=number))
    return min(vt_runs) / number, min(torch_runs) / number


def report(name: str, vt_s: float, torch_s: float, target: float) -> bool:
    """Prints one row (times in microseconds and the vt/torch ratio) and whether it meets target."""
    ratio = vt_s / torch_s
    ok = ratio <= target
    print(f"{name:<44} vt {vt_s * 1e6:10.2f} us   torch {torch_s * 1e6:10.2f} us   "
          f"ratio {ratio:5.2f}x  (target <= {target}x) {'ok' if ok else 'MISSED'}")
    return ok
