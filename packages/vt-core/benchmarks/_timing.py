"""Timing helpers shared by the benchmarks: best-of-repeats wall time per call."""

from __future__ import annotations

import timeit


def per_call_seconds(fn, *, number: int, repeat: int = 7) -> float:
    """The fastest of `repeat` runs of `number` calls, per call: the least noisy estimate."""
    fn()  # warm caches and lazy initialisation
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def report(name: str, vt_s: float, torch_s: float, target: float) -> bool:
    """Prints one row (times in microseconds and the vt/torch ratio) and whether it meets target."""
    ratio = vt_s / torch_s
    ok = ratio <= target
    print(f"{name:<44} vt {vt_s * 1e6:10.2f} us   torch {torch_s * 1e6:10.2f} us   "
          f"ratio {ratio:5.2f}x  (target <= {target}x) {'ok' if ok else 'MISSED'}")
    return ok
