"""The host allocator: statistics, and the cache that recycles large blocks so a loop over
multi-MiB tensors stops faulting in fresh pages."""

from __future__ import annotations

import os
import subprocess
import sys

import vt.core as vt

MIB = 1 << 20


def test_large_blocks_are_recycled_and_counted_as_reserved():
    first = vt.empty(3 * MIB, dtype=vt.float32)  # 12 MiB
    ptr = first.data_ptr()
    assert ptr % (2 * MIB) == 0  # huge-page aligned
    del first
    stats = vt.allocator_stats()
    assert stats["reserved_bytes"] >= stats["allocated_bytes"] + 12 * MIB
    second = vt.empty(3 * MIB, dtype=vt.float32)
    assert second.data_ptr() == ptr
    # A recycled block holds old bytes; results still overwrite every element.
    second.fill_(1.5)
    assert (second * 2).sum().item() == 3 * MIB * 3.0


def test_small_blocks_and_odd_sizes_are_independent():
    a = vt.ones(5 * MIB + 3, dtype=vt.uint8)  # rounds to 6 MiB
    b = vt.ones(6 * MIB, dtype=vt.uint8)
    assert a.data_ptr() != b.data_ptr()
    assert a.sum().item() == 5 * MIB + 3 and b.sum().item() == 6 * MIB


def test_the_cache_limit_comes_from_the_environment():
    code = ("import vt.core as vt; t = vt.empty(4 << 20, dtype=vt.float32); del t; "
            "s = vt.allocator_stats(); print(s['reserved_bytes'] - s['allocated_bytes'])")
    env = dict(os.environ, VT_HOST_CACHE_MAX_BYTES="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"

