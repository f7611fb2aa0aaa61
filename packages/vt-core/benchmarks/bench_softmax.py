"""softmax over the last dim of a (4096, 4096) float32 CPU tensor with 2 threads, vt against
torch in the same process. Target: within 1.3x of torch. Also reported: softmax over dim 0
(the strided path), log_softmax, and cross_entropy on the same logits."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import vt.core as vt
from _timing import paired_seconds, report

THREADS = 2


def main() -> None:
    torch.set_num_threads(THREADS)
    vt.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 4096), dtype=np.float32)
    labels = rng.integers(0, 4096, 4096)
    tx, vx = torch.from_numpy(x), vt.tensor(x)
    tl, vl = torch.from_numpy(labels), vt.tensor(labels)
    rows = [
        ("softmax(x, -1), 4096x4096 float32", lambda: vt.softmax(vx, -1), lambda: torch.softmax(tx, -1), 1.3),
        ("softmax(x, 0) (strided), 4096x4096 float32", lambda: vt.softmax(vx, 0), lambda: torch.softmax(tx, 0), 1.3),
        ("log_softmax(x, -1), 4096x4096 float32", lambda: vt.log_softmax(vx, -1),
         lambda: torch.log_softmax(tx, -1), 1.3),
        ("cross_entropy(x, labels), 4096x4096 float32", lambda: vt.cross_entropy(vx, vl),
         lambda: F.cross_entropy(tx, tl), 1.3),
    ]
    met = 0
    for name, vt_fn, torch_fn, target in rows:
        met += report(f"{name}, {THREADS} threads", *paired_seconds(vt_fn, torch_fn, number=10, repeat=7), target)
    print(f"{met}/{len(rows)} within target")


if __name__ == "__main__":
    main()
