"""float32 matrix products on CPU with 2 threads, vt (OpenBLAS) against torch (its own BLAS) in
the same process: square matmuls, batched bmm, transposed operands read in place, and linear.
Target: within 1.2x of torch."""

from __future__ import annotations

import numpy as np
import torch

import vt.core as vt
from _timing import paired_seconds, report

THREADS = 2
TARGET = 1.2


def operands(*shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    return [torch.from_numpy(a) for a in arrays], [vt.tensor(a) for a in arrays]


def case(name: str, flops: float, vt_fn, torch_fn, number: int, repeat: int) -> bool:
    vt_s, torch_s = paired_seconds(vt_fn, torch_fn, number=number, repeat=repeat)
    ok = report(name, vt_s, torch_s, TARGET)
    print(f"{'':<44} vt {flops / vt_s / 1e9:7.1f} GFLOP/s   torch {flops / torch_s / 1e9:7.1f} GFLOP/s")
    return ok


def main() -> None:
    torch.set_num_threads(THREADS)
    vt.set_num_threads(THREADS)
    results = []
    for n, number, repeat in [(1024, 5, 9), (4096, 1, 3)]:
        (ta, tb), (va, vb) = operands((n, n), (n, n))
        results.append(case(f"matmul {n}^3, {THREADS} threads", 2.0 * n**3,
                            lambda: va @ vb, lambda: ta @ tb, number, repeat))
    n = 1024
    (ta, tb), (va, vb) = operands((n, n), (n, n))
    results.append(case(f"a.t() @ b.t() {n}^3 (transposed operands)", 2.0 * n**3,
                        lambda: va.t() @ vb.t(), lambda: ta.t() @ tb.t(), 5, 5))
    for b, m, k, p in [(64, 256, 64, 256), (16, 512, 512, 512)]:
        (ta, tb), (va, vb) = operands((b, m, k), (b, k, p))
        results.append(case(f"bmm {b} x ({m}x{k} @ {k}x{p})", 2.0 * b * m * k * p,
                            lambda: vt.bmm(va, vb), lambda: torch.bmm(ta, tb), 5, 5))
    (tx, tw, tbias), (vx, vw, vbias) = operands((512, 1024), (4096, 1024), (4096,))
    results.append(case("linear 512x1024 -> 4096 (+bias)", 2.0 * 512 * 1024 * 4096,
                        lambda: vt.linear(vx, vw, vbias),
                        lambda: torch.nn.functional.linear(tx, tw, tbias), 5, 5))
    print(f"{sum(results)}/{len(results)} within target")


if __name__ == "__main__":
    main()
