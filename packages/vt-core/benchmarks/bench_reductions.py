"""Reductions over a (4096, 4096) float32 tensor along dim -1 (rows) and dim 0 (columns) with 2
threads, vt against torch in the same process: sum, max (values and indices), var, logsumexp.
Target: within 1.3x of torch."""

from __future__ import annotations

import numpy as np
import torch

import vt.core as vt
from _timing import paired_seconds, report

THREADS = 2
TARGET = 1.3


def main() -> None:
    torch.set_num_threads(THREADS)
    vt.set_num_threads(THREADS)
    x = np.random.default_rng(0).standard_normal((4096, 4096), dtype=np.float32)
    tx, vx = torch.from_numpy(x), vt.tensor(x)
    ops = {
        "sum": lambda t, d: t.sum(d),
        "max": lambda t, d: t.max(d),
        "var": lambda t, d: t.var(d),
        "logsumexp": lambda t, d: t.logsumexp(d),
    }
    met = total = 0
    for name, fn in ops.items():
        for dim in (-1, 0):
            vt_s, torch_s = paired_seconds(lambda: fn(vx, dim), lambda: fn(tx, dim), number=3, repeat=5)
            met += report(f"{name}(dim={dim}), 4096x4096 float32, {THREADS} threads", vt_s, torch_s, TARGET)
            total += 1
    print(f"{met}/{total} within target")


if __name__ == "__main__":
    main()
