"""Bandwidth-bound elementwise: `a + b` on 16M float32 contiguous CPU tensors with 2 threads,
vt against torch in the same process. Target: within 1.2x of torch."""

from __future__ import annotations

import numpy as np
import torch

import vt.core as vt
from _timing import paired_seconds, report

THREADS = 2


def main() -> None:
    torch.set_num_threads(THREADS)
    vt.set_num_threads(THREADS)
    n = 16 * 1024 * 1024
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    va, vb = vt.tensor(a), vt.tensor(b)
    ok = report(f"a + b, 16M x float32, {THREADS} threads",
                *paired_seconds(lambda: va + vb, lambda: ta + tb, number=10, repeat=7), 1.2)
    strided = report(f"a[::2] + b[::2] (strided), {THREADS} threads",
                     *paired_seconds(lambda: va[::2] + vb[::2], lambda: ta[::2] + tb[::2], number=10, repeat=5), 1.3)
    total = report(f"a.sum(), 16M x float32, {THREADS} threads",
                   *paired_seconds(lambda: va.sum(), lambda: ta.sum(), number=10, repeat=5), 1.3)
    print(f"{ok + strided + total}/3 within target")


if __name__ == "__main__":
    main()
