"""rms_norm on CuPy arrays with torch blocked, on non-default CuPy streams (run on a GPU).

Run by tests/test_foreign_arrays.py::test_rms_norm_on_cupy_without_torch, or directly:
    PYTHONPATH=src python tests/gpu_no_torch.py
Checks values against NumPy (float64), that every Triton launch used the expected stream, the
DLPack import path, bfloat16 over uint16 storage, views coming back as CuPy arrays, and
triton.testing.do_bench without torch. Prints "gpu_no_torch: ok".
"""

import sys

sys.modules["torch"] = None  # `import torch` fails from here on, as on a machine without it

import cupy as cp
import numpy as np
import triton.testing
from gpu_no_torch_helpers import check, expect_launches_on, record_launches
from vt.kernels import _driver
from vt.kernels._compat import torch as maybe_torch
from vt.kernels._foreign import DeviceArray, as_array, foreign_arrays
from vt.kernels.rms_norm import rms_norm, rms_norm_backward, rms_norm_forward

assert maybe_torch is None

# Wrapping twice is harmless, so this keeps working once the package wires foreign_arrays itself.
rms_norm_, forward_, backward_ = (foreign_arrays(f)
                                  for f in (rms_norm, rms_norm_forward, rms_norm_backward))

record_launches()

EPS = 1e-6


def reference(x, w):
    x, w = x.astype(np.float64), w.astype(np.float64)
    rstd = 1.0 / np.sqrt((x * x).mean(-1, keepdims=True) + EPS)
    return x * rstd * w, rstd


def reference_backward(dy, x, w):
    dy, x, w = dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64)
    rstd = 1.0 / np.sqrt((x * x).mean(-1, keepdims=True) + EPS)
    xhat, g = x * rstd, dy * w
    dx = rstd * (g - xhat * (g * xhat).mean(-1, keepdims=True))
    return dx, (dy * xhat).sum(0)


def to_bf16_bits(a):
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even


def from_bf16_bits(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


rng = np.random.default_rng(0)
stream = cp.cuda.Stream(non_blocking=True)

# float32 / float16 CuPy arrays: the launch stream is CuPy's current stream.
for dtype, tol, dw_tol in ((np.float32, 1e-5, 1e-4), (np.float16, 2e-3, 1e-2)):
    for shape in ((3, 5, 64), (4, 20000)):  # the second walks rows in blocks
        n = shape[-1]
        x_np = rng.standard_normal(shape).astype(dtype)
        w_np = rng.standard_normal(n).astype(dtype)
        dy_np = rng.standard_normal((x_np.size // n, n)).astype(dtype)
        with stream:
            x, w, dy = cp.asarray(x_np), cp.asarray(w_np), cp.asarray(dy_np)
            y = rms_norm_(x, w, EPS)
            rows = x.reshape(-1, n)
            y2, h, rstd = forward_(rows, w, EPS)
            dx, dw = backward_(dy, rows, w, rstd)
        stream.synchronize()
        expect_launches_on(stream.ptr, f"{dtype.__name__} {shape}")
        for out in (y, y2, rstd, dx, dw):
            assert type(out) is cp.ndarray, type(out)
        assert y.shape == shape and y.dtype == dtype and h is None and rstd.dtype == np.float32
        y_ref, rstd_ref = reference(x_np, w_np)
        dx_ref, dw_ref = reference_backward(dy_np, x_np.reshape(-1, n), w_np)
        check("y", y.get(), y_ref, tol)
        check("y rows", y2.get(), y_ref.reshape(-1, n), tol)
        check("rstd", rstd.get(), rstd_ref.reshape(-1), 1e-5)
        check("dx", dx.get(), dx_ref, tol)
        check("dw", dw.get(), dw_ref, dw_tol)

# A stream named with vt.kernels.stream wins over CuPy's; inputs from another stream are waited for.
other = cp.cuda.Stream(non_blocking=True)
x_np = rng.standard_normal((8, 256)).astype(np.float32)
w_np = rng.standard_normal(256).astype(np.float32)
with stream:
    x, w = cp.asarray(x_np), cp.asarray(w_np)
    with _driver.stream(other):
        y = rms_norm_(x, w, EPS)
other.synchronize()
expect_launches_on(other.ptr, "vt.kernels.stream")
check("y on a named stream", y.get(), reference(x_np, w_np)[0], 1e-5)

# bfloat16: CuPy has none; the bits travel in uint16 arrays, reinterpreted with as_array.
x_np = rng.standard_normal((6, 512)).astype(np.float32)
w_np = rng.standard_normal(512).astype(np.float32)
x_bits, w_bits = to_bf16_bits(x_np), to_bf16_bits(w_np)
with stream:
    x = as_array(cp.asarray(x_bits), dtype="bfloat16")
    w = as_array(cp.asarray(w_bits), dtype="bfloat16")
    y = rms_norm_(x, w, EPS)
stream.synchronize()
expect_launches_on(stream.ptr, "bfloat16")
assert isinstance(y, DeviceArray) and str(y.dtype) == "bfloat16"  # DeviceArrays in, out
bits = y.unwrap()
assert type(bits) is cp.ndarray and bits.dtype == np.uint16
y_ref = reference(from_bf16_bits(x_bits), from_bf16_bits(w_bits))[0]
check("y bfloat16", from_bf16_bits(bits.get()), y_ref, 2e-2)


class DLPackOnly:
    """A producer that speaks only DLPack (and allocates through CuPy)."""

    def __init__(self, array):
        self.array, self.streams = array, []

    def __dlpack__(self, stream=None, **kwargs):
        self.streams.append(stream)
        return self.array.__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    def __array_namespace__(self):
        return cp


x_np = rng.standard_normal((5, 300)).astype(np.float32)
w_np = rng.standard_normal(300).astype(np.float32)
with stream:
    xd, wd = DLPackOnly(cp.asarray(x_np)), DLPackOnly(cp.asarray(w_np))
    with _driver.stream(stream):
        y = rms_norm_(xd, wd, EPS)
stream.synchronize()
expect_launches_on(stream.ptr, "DLPack inputs")
# (a CuPy without DLPack 1.0 is asked twice: once with max_version, once without)
assert set(xd.streams) == {stream.ptr} == set(wd.streams), (xd.streams, wd.streams)
assert type(y) is cp.ndarray
check("y from DLPack inputs", y.get(), reference(x_np, w_np)[0], 1e-5)

# Views come back as CuPy arrays: a strided view through DLPack, and through CAI.
base = cp.arange(4 * 8, dtype=cp.float32).reshape(4, 8)[:, :6]
arr = as_array(base)
assert arr.unwrap() is base and arr.device.index == cp.cuda.Device().id
view = arr.reshape(2, 2, 6)
expected = cp.asnumpy(base).reshape(2, 2, 6)
assert np.array_equal(view.unwrap().get(), expected)
assert np.array_equal(cp.asarray(view).get(), expected)
try:
    rms_norm_(base.T, None)
except NotImplementedError as e:  # no implementation takes the transposed rows
    raise AssertionError(f"expected a ValueError asking for contiguous rows, got {e}") from e
except ValueError as e:
    assert "contiguous rows" in str(e), e
else:
    raise AssertionError("transposed foreign rows were accepted")

# The autotuner's benchmarker works without torch.
x, w = cp.asarray(x_np), cp.asarray(w_np)
ms = triton.testing.do_bench(lambda: rms_norm_(x, w, EPS), warmup=2, rep=5)
assert ms > 0, ms

print("gpu_no_torch: ok")
