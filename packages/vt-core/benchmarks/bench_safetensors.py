"""Loading a safetensors file (1 GiB by default) with vt.core.safetensors against the safetensors
package's torch flavour, in the same process, from a warm page cache. Target: not slower (<= 1x).

Two measurements: `load_file` alone (both map the file and create tensors over it), and
`load_file` followed by a first read of every page of every tensor (the page faults a real load
pays before the weights are used), read the same way for both (one byte per 4 KiB page).

VT_BENCH_SAFETENSORS_MB sets the file size (e.g. 64 for a quick run);
VT_BENCH_SAFETENSORS_TENSORS the number of tensors it is split into (default 256).
"""

from __future__ import annotations

import os
import tempfile
import timeit

import numpy as np
import torch
from safetensors.torch import load_file as st_load_file
from safetensors.torch import save_file as st_save_file
from vt.core import safetensors as vst

PAGE = 4096


def touch_pages(arrays) -> int:
    """Reads one byte per page of each array: the first access faults the page in."""
    total = 0
    for a in arrays:
        flat = a.reshape(-1).view(np.uint8)
        total += int(flat[::PAGE].sum())
    return total


def vt_load_and_touch(path: str) -> int:
    return touch_pages(np.from_dlpack(t) for t in vst.load_file(path).values())


def st_load_and_touch(path: str) -> int:
    return touch_pages(t.numpy() for t in st_load_file(path).values())


def best_seconds(fn, repeat: int) -> float:
    fn()
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def row(name: str, vt_s: float, st_s: float) -> bool:
    ratio = vt_s / st_s
    ok = ratio <= 1.0
    print(f"{name:<46} vt {vt_s * 1e3:9.2f} ms   safetensors {st_s * 1e3:9.2f} ms   "
          f"ratio {ratio:5.2f}x  (target <= 1.0x) {'ok' if ok else 'MISSED'}")
    return ok


def main() -> None:
    mb = int(os.environ.get("VT_BENCH_SAFETENSORS_MB", "1024"))
    count = int(os.environ.get("VT_BENCH_SAFETENSORS_TENSORS", "256"))
    per_tensor = (mb << 20) // 4 // count
    tensors = {f"layer{i:04d}.weight": torch.full((per_tensor,), float(i)) for i in range(count)}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.safetensors")
        st_save_file(tensors, path)
        del tensors
        with open(path, "rb") as f:  # warm the page cache so both read from memory
            while f.read(64 << 20):
                pass
        assert vt_load_and_touch(path) == st_load_and_touch(path)
        size = os.path.getsize(path) / (1 << 20)
        repeat = 7 if mb <= 256 else 5
        results = [
            row(f"load_file, {size:.0f} MiB, {count} tensors",
                best_seconds(lambda: vst.load_file(path), repeat),
                best_seconds(lambda: st_load_file(path), repeat)),
            row("load_file + first touch of every page",
                best_seconds(lambda: vt_load_and_touch(path), repeat),
                best_seconds(lambda: st_load_and_touch(path), repeat)),
        ]
    print(f"{sum(results)}/{len(results)} within target")


if __name__ == "__main__":
    main()
