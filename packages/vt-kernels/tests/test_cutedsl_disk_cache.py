"""The on-disk cache of compiled CuTeDSL kernels (vt.kernels.cutedsl._disk_cache).

Without a GPU the kernels are compiled for sm_90a, exported and loaded back (loading needs no
GPU); with one, a kernel loaded from disk also runs and matches torch.
"""

import os

import pytest
import torch
from conftest import ON_GPU

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

from cutlass import cute

import vt.kernels as vk
from vt.kernels.cutedsl import _common as C
from vt.kernels.cutedsl import _disk_cache as disk_cache
from vt.kernels.cutedsl import rms_norm as rms

ARCH = None if ON_GPU else "sm_90a"
TILING = C.row_tiling(384, 8)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty disk cache and an empty in-memory cache, restored afterwards."""
    monkeypatch.setenv("VT_KERNELS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("VT_KERNELS_CUTEDSL_DISK_CACHE", "1")
    monkeypatch.setattr(C, "_compiled", {})
    return tmp_path / "cutedsl"


@pytest.fixture
def compiles(monkeypatch):
    """Counts cute.compile calls."""
    calls = []
    real = cute.compile

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(C.cute, "compile", counting)
    return calls


def _forward():
    return rms._compiled_forward(TILING, "bfloat16", "bfloat16", None, ARCH)


def _forget_in_memory(monkeypatch):
    monkeypatch.setattr(C, "_compiled", {})  # as a new process starts


def test_a_new_process_loads_the_kernel_instead_of_compiling(cache_dir, compiles, monkeypatch):
    first = _forward()
    assert len(compiles) == 1
    entries = list(cache_dir.glob("*.o"))
    assert len(entries) == 1 and entries[0].stat().st_size > 0
    assert not list(cache_dir.glob(".tmp-*"))  # the export's scratch space is gone
    _forget_in_memory(monkeypatch)
    loaded = _forward()
    assert len(compiles) == 1  # nothing compiled the second time
    assert loaded is not first and loaded.slots == first.slots
    assert loaded.compiled is not first.compiled


def test_a_damaged_entry_is_compiled_again_and_replaced(cache_dir, compiles, monkeypatch):
    _forward()
    entry, = cache_dir.glob("*.o")
    entry.write_bytes(b"not an object file")
    _forget_in_memory(monkeypatch)
    _forward()
    assert len(compiles) == 2
    assert entry.stat().st_size > 100
    _forget_in_memory(monkeypatch)
    _forward()
    assert len(compiles) == 2


def test_entries_differ_by_key_and_options_and_the_switch_turns_the_cache_off(
        cache_dir, compiles, monkeypatch):
    names = {disk_cache.entry_name(("k", 1), None), disk_cache.entry_name(("k", 2), None),
             disk_cache.entry_name(("k", 1), "--gpu-arch sm_90a")}
    assert len(names) == 3
    assert disk_cache.entry_name(("k", 1), None) == disk_cache.entry_name(("k", 1), None)
    monkeypatch.setenv("VT_KERNELS_CUTEDSL_DISK_CACHE", "0")
    _forward()
    _forget_in_memory(monkeypatch)
    _forward()
    assert len(compiles) == 2 and not cache_dir.exists()


def test_an_unwritable_cache_directory_only_costs_the_cache(tmp_path, compiles, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("VT_KERNELS_CACHE_DIR", str(blocker))
    monkeypatch.setenv("VT_KERNELS_CUTEDSL_DISK_CACHE", "1")
    _forget_in_memory(monkeypatch)
    assert _forward() is not None and len(compiles) == 1


def test_default_location_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("VT_KERNELS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert disk_cache.directory() == tmp_path / "vt-kernels" / "cutedsl"


@pytest.mark.cuda
def test_a_kernel_loaded_from_disk_runs_and_matches_torch(cache_dir, compiles, monkeypatch):
    from vt.kernels.rms_norm import rms_norm

    x = torch.randn(5, 384, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(384, device="cuda", dtype=torch.bfloat16)
    ref = torch.nn.functional.rms_norm(x.float(), (384,), w.float(), 1e-6)
    _forward()
    _forget_in_memory(monkeypatch)
    with vk.use_impl("cutedsl", "rms_norm"):
        y = rms_norm(x, w, 1e-6)
    assert len(compiles) == 1  # the launch used the entry loaded from disk
    torch.testing.assert_close(y.float(), ref, atol=2e-2, rtol=2e-2)
