"""Per-op overhead: `a + b` on 16-element float32 CPU tensors from Python, vt against torch in
the same process. Target: vt <= 0.8x torch (DESIGN.md section 4)."""

from __future__ import annotations

import numpy as np
import torch

import vt.core as vt
from _timing import paired_seconds, report


def main() -> None:
    data = np.arange(16, dtype=np.float32)
    ta, tb = torch.from_numpy(data.copy()), torch.from_numpy(data.copy())
    va, vb = vt.tensor(data), vt.tensor(data)
    n = 200_000
    results = [
        report("a + b, 16 x float32", *paired_seconds(lambda: va + vb, lambda: ta + tb, number=n), 0.8),
        report("a + 1.0, 16 x float32", *paired_seconds(lambda: va + 1.0, lambda: ta + 1.0, number=n), 0.8),
        report("a.sum(), 16 x float32", *paired_seconds(lambda: va.sum(), lambda: ta.sum(), number=n), 0.8),
        report("a[1:3] (view)", *paired_seconds(lambda: va[1:3], lambda: ta[1:3], number=n), 0.8),
    ]
    print(f"{sum(results)}/{len(results)} within target")


if __name__ == "__main__":
    main()
