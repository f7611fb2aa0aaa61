"""Backward throughput on independent graphs from 1, 2, 4 (up to 16, as the CPUs allow) Python
threads: the engine holds no process-wide lock and releases the GIL, so throughput should scale
with threads (up to the cores there are) instead of serializing. Prints graphs per second and
the speedup over one thread, for vt and torch in the same run."""

from __future__ import annotations

import os
import threading
import time

import torch

import vt.autograd  # noqa: F401
import vt.core as vt

GRAPHS_PER_THREAD = 30


def run(lib, threads: int) -> float:
    def work():
        x = lib.ones(256, 256) * 0.01
        x.requires_grad_()
        for _ in range(GRAPHS_PER_THREAD):
            y = x
            for _ in range(4):
                y = (y @ y).tanh()
            y.sum().backward()
            x.grad = None

    ts = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return threads * GRAPHS_PER_THREAD / (time.perf_counter() - start)


def main() -> None:
    # One intra-op thread each: the parallelism measured here is across backward calls.
    torch.set_num_threads(1)
    vt.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs")
    base = {}
    counts = [n for n in (1, 2, 4, 8, 16) if n <= max(4, os.cpu_count() or 1)]
    for threads in counts:
        row = []
        for name, lib in (("vt", vt), ("torch", torch)):
            rate = max(run(lib, threads) for _ in range(3))
            base.setdefault(name, rate)
            row.append(f"{name} {rate:8.1f} graphs/s ({rate / base[name]:.2f}x of 1 thread)")
        print(f"{threads} threads: " + "   ".join(row))


if __name__ == "__main__":
    main()
