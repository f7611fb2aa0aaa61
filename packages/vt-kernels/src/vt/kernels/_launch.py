"""Shared launch helpers: where Triton can run, row views, block sizes and warp counts."""

from __future__ import annotations

import functools
import os

import triton

from ._compat import is_torch_tensor, torch
from ._driver import available as cuda_driver_available
from ._driver import capability as driver_capability
from ._driver import install_reason
from ._driver import sm_count as driver_sm_count
from ._foreign import DeviceArray, is_foreign


# Read once, as Triton does when it decorates the kernels at import.
_INTERPRETING = os.environ.get("TRITON_INTERPRET", "0") == "1"


def interpreting() -> bool:
    """Triton's CPU interpreter, for tests on machines without a GPU."""
    return _INTERPRETING


def prechecked_descriptor(kind, base, block_shape, layout=None):
    """A TensorDescriptor (Triton's `kind`, or Gluon's with its shared-memory layout) of the whole
    of `base`, built without the descriptor's own __post_init__ checks: its callers have checked
    the same conditions once per call (aligned base and outer strides, unit inner stride,
    non-empty dims), and re-checking costs about 8 us of host time per descriptor."""
    desc = object.__new__(kind)
    fields = {"base": base, "shape": list(base.shape), "strides": list(base.stride()),
              "block_shape": block_shape, "padding": "zero"}
    if layout is not None:
        fields["layout"] = layout
    for name, value in fields.items():
        object.__setattr__(desc, name, value)
    return desc


def _device_type(x) -> str:
    if is_torch_tensor(x):
        return x.device.type
    if isinstance(x, DeviceArray):
        return "cuda"
    return type(x).__name__


def triton_reason(*tensors) -> str | None:
    """None when Triton can launch on every tensor, else why not.

    The first foreign array seen outside the interpreter installs vt.kernels' CUDA driver, which
    launches without torch and on the caller's stream.
    """
    for t in tensors:
        if t is None or (is_torch_tensor(t) and t.is_cuda):  # the common case, without .device
            continue
        kind = _device_type(t)
        if kind == "cuda":
            if is_torch_tensor(t):
                continue
            if interpreting():
                return ("Triton's interpreter (TRITON_INTERPRET=1) reads torch tensors, "
                        "not foreign CUDA arrays")
            reason = install_reason()
            if reason is not None:
                return reason
            continue
        if kind == "cpu" and interpreting():
            continue
        if is_foreign(t):
            return ("foreign arrays reach the launchers as vt.kernels.as_array(...) views "
                    f"(got a {kind}); the functional APIs wrap them")
        return f"Triton needs CUDA tensors (got a {kind} tensor; TRITON_INTERPRET=1 runs CPU tensors)"
    return None


def reference_reason(*tensors) -> str | None:
    if torch is None:
        return "torch is not installed"
    for t in tensors:
        if t is not None and not is_torch_tensor(t):
            return f"the torch reference takes torch tensors, not {type(t).__name__}"
    return None


def as_rows(x):
    """A (rows, last dim) view with unit stride along the last dim (copying only if needed)."""
    n = x.shape[-1] if x.dim() else 1
    rows = x if x.dim() == 2 else x.reshape(-1, n)  # a 2-D input needs no new view
    if rows.stride(-1) != 1 or (rows.shape[0] > 1 and rows.stride(0) < n):
        rows = rows.contiguous()
    return rows


@functools.lru_cache(maxsize=None)
def row_launch(n: int, max_block: int = 16384) -> tuple[int, int, bool]:
    """(block, num_warps, single_pass) for a kernel that reduces rows of n elements.

    Rows up to `max_block` elements stay in registers (one read of the input); longer rows are
    walked in blocks of 4096 with a second pass.
    """
    block = triton.next_power_of_2(max(n, 1))
    single = block <= max_block
    if not single:
        block = 4096
    if block >= 32768:
        warps = 32
    elif block >= 8192:
        warps = 16
    elif block >= 2048:
        warps = 8
    else:
        warps = 4
    return block, warps, single


# Shared memory that a pipelined row loop may fill with staged loads: on H200, 16-bit rows of
# 16384 (192 KB in three stages) ran slower staged than not.
_PIPELINE_SMEM = 128 * 1024


def pipeline_stages(block: int, row_bytes_per_column: int) -> int:
    """num_stages for a row loop whose loads Triton stages in shared memory: three when three
    rows of `block` columns fit in _PIPELINE_SMEM (measured best on H200; two were no faster
    than none), else 1 (no staging). `row_bytes_per_column`: bytes one column takes over all
    the rows loaded per step."""
    return 3 if 3 * block * row_bytes_per_column <= _PIPELINE_SMEM else 1


def backward_programs(x, m: int, warps: int) -> int:
    """Programs for a backward that walks rows and leaves one float32 partial row of the
    parameter gradients per program: about 16 warps per SM (one program per SM at rows of
    8192 and up), never more programs than rows."""
    return max(1, min(m, sm_count(x.device.index or 0) * max(1, 16 // warps)))


@functools.lru_cache(maxsize=16)
def sm_count(device_index: int) -> int:
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.get_device_properties(device_index).multi_processor_count
    if not interpreting() and cuda_driver_available():
        return driver_sm_count(device_index)  # foreign arrays without torch
    return 4  # the interpreter: a few programs are enough to exercise the partial sums


@functools.lru_cache(maxsize=16)
def _capability(device_index: int) -> tuple[int, int]:
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.get_device_capability(device_index)
    return driver_capability(device_index)  # foreign arrays without torch


def capability(x) -> tuple[int, int]:
    """(major, minor) compute capability of the GPU holding the CUDA array x."""
    return _capability(x.device.index or 0)


def tuned(configs: list) -> list:
    """The autotuner's candidates: all of them, or the first with VT_KERNELS_AUTOTUNE=0 (one
    compile per shape, for test runs); decisions are cached on disk either way."""
    if os.environ.get("VT_KERNELS_AUTOTUNE", "1") == "0":
        return configs[:1]
    return configs
