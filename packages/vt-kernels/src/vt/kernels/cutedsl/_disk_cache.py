"""Compiled CuTeDSL kernels kept on disk, so a new process loads them instead of compiling.

`cute.compile` traces the Python kernel and lowers it through MLIR and ptxas (about a second
per kernel); the DSL's own file cache does not cover `cute.compile`. A compiled kernel is
exported as an object file (host launcher + cubin) and loaded back with
`cutlass.cute.runtime.load_module` (milliseconds). Entries are named by a digest of the kernel's
key, its compile options, the source of this package's kernels, the nvidia-cutlass-dsl version
and the Python version, so any change to one of them compiles afresh.

Location: $VT_KERNELS_CACHE_DIR/cutedsl, else $XDG_CACHE_HOME/vt-kernels/cutedsl, else
~/.cache/vt-kernels/cutedsl; VT_KERNELS_CUTEDSL_DISK_CACHE=0 turns the disk cache off. Entries
are written to a temporary name and renamed, so concurrent processes never see half a file; an
entry that fails to load is compiled again and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cutlass
from cutlass.cute.runtime import load_module

_SUFFIX = ".o"


def enabled() -> bool:
    return os.environ.get("VT_KERNELS_CUTEDSL_DISK_CACHE", "1") != "0"


def directory() -> Path:
    root = os.environ.get("VT_KERNELS_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "vt-kernels")
    return Path(root) / "cutedsl"


@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    """What every entry depends on besides its key: kernel sources, DSL and Python versions."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    version = getattr(cutlass, "__version__", "unknown")
    digest.update(f"{version} {sys.version_info[:2]} {sys.platform}".encode())
    return digest.hexdigest()


def entry_name(key, options) -> str:
    """The file stem of a kernel: a digest of its key (whose repr is stable across processes)."""
    text = f"{_fingerprint()}|{key!r}|{options!r}"
    return "vtk_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def load(name: str):
    """The compiled function stored under `name`, or None (absent or unreadable)."""
    path = directory() / (name + _SUFFIX)
    if not path.is_file():
        return None
    try:
        return load_module(str(path))[name]
    except Exception:  # a stale or damaged entry: compile again and replace it
        return None


def store(name: str, compiled) -> None:
    """Exports `compiled` under `name`; a cache that cannot be written is skipped."""
    target = directory()
    try:
        target.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=".tmp-", dir=target)
        try:
            compiled.export_to_c(scratch, name, function_prefix=name)
            os.replace(os.path.join(scratch, name + _SUFFIX), target / (name + _SUFFIX))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    except Exception:  # unwritable or full disk, export failure: the kernel still runs
        pass
