"""A Triton CUDA driver that needs no torch and launches on the caller's stream.

Stock Triton finds the current device and stream through torch (`GPUDriver.__init__` imports
torch; `CudaDriver.is_active` is False without it). `ForeignCudaDriver` answers the same questions
through the CUDA driver API (ctypes on libcuda.so.1) and, when torch is present, defers to torch
unless a stream was named: by `stream(...)` (thread-local) or by the launch scope that
`_foreign.wrap_inputs` opens for foreign arrays (the CuPy current stream, a CAI v3 `stream`).
It is installed with `triton.runtime.driver.set_active` the first time a foreign array reaches a
Triton launch (`install`), or when a caller names a stream.

What this relies on in Triton 3.6 (read from runtime/jit.py, compiler/compiler.py,
backends/nvidia/driver.py, backends/driver.py, the native specialization in libtriton):
- `JITFunction.run` calls `driver.active.get_current_device()`, then
  `driver.active.get_current_stream(device)` once per launch and hands that integer (a CUstream)
  to the compiled launcher; `create_binder` calls `get_current_target()`, which CudaDriver builds
  from `get_current_device()` and `get_device_capability(device)`.
- `CompiledKernel` uses `driver.active.utils` (CudaUtils: load_binary, get_device_properties;
  load_binary retains the device's primary context when no context is current) and
  `driver.active.launcher_cls` (CudaLauncher). CudaDriver.__init__ only sets those two fields and
  then runs GPUDriver.__init__ (the torch part), so we set them ourselves.
- Pointer arguments: any object with `data_ptr()` is a pointer. Its Triton type is
  `triton._utils.canonicalize_ptr_dtype(arg.dtype)`, i.e. `str(arg.dtype).split(".")[-1]` looked
  up in `type_canonicalisation_dict` ("float32" -> fp32, "bfloat16" -> bf16, ...), cached by
  `hash(arg.dtype)`: dtype objects must be long-lived with distinct hashes (ours are immortal
  singletons). The alignment key is `data_ptr() % 16`; the launcher calls `data_ptr()` again and
  checks it with cuPointerGetAttribute.
- `runtime.driver.active` falls back to `_create_driver()`, which raises when no driver is active
  (no torch), so we must `set_active` before the first launch.
- `triton.testing.do_bench` (the autotuner's benchmarker) uses `get_device_interface()`
  (`synchronize()`, `Event(enable_timing=True)` with `record()`/`elapsed_time()`),
  `get_empty_cache_for_benchmark()` and `clear_cache(cache)`; without torch we answer these through
  the driver API as well.
cuda-python is not needed: the dozen driver calls below go through ctypes.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from contextlib import contextmanager

import triton
from triton.backends.nvidia.driver import CudaDriver, CudaLauncher, CudaUtils

from ._compat import torch

LEGACY_DEFAULT_STREAM = 1  # CU_STREAM_LEGACY; DLPack and CAI v3 disallow 0
PER_THREAD_DEFAULT_STREAM = 2  # CU_STREAM_PER_THREAD

_ATTR_MULTIPROCESSOR_COUNT = 16
_ATTR_CAPABILITY_MAJOR = 75
_ATTR_CAPABILITY_MINOR = 76
_POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9
_EVENT_DISABLE_TIMING = 2
_ERROR_INVALID_VALUE = 1


class CudaError(RuntimeError):
    """A CUDA driver call failed, or there is no CUDA driver."""


_lock = threading.RLock()  # install() -> available() -> _libcuda() nest
_lib = None
_lib_error: str | None = None


def _libcuda():
    global _lib, _lib_error
    if _lib is None and _lib_error is None:
        with _lock:
            if _lib is None and _lib_error is None:
                try:
                    lib = ctypes.CDLL("libcuda.so.1")
                    status = lib.cuInit(0)
                    if status:
                        raise CudaError(f"cuInit failed with CUDA error {status}")
                    _lib = lib
                except OSError as e:
                    _lib_error = f"the CUDA driver (libcuda.so.1) cannot be loaded: {e}"
                except CudaError as e:
                    _lib_error = str(e)
    if _lib is None:
        raise CudaError(_lib_error)
    return _lib


def _check(status: int, call: str) -> None:
    if status:
        name = ctypes.c_char_p()
        _libcuda().cuGetErrorName(status, ctypes.byref(name))
        label = name.value.decode() if name.value else str(status)
        raise CudaError(f"{call} failed: {label}")


@functools.cache
def available() -> bool:
    """True when the CUDA driver loads and sees at least one GPU."""
    try:
        return device_count() > 0
    except CudaError:
        return False


def device_count() -> int:
    count = ctypes.c_int()
    _check(_libcuda().cuDeviceGetCount(ctypes.byref(count)), "cuDeviceGetCount")
    return count.value


def current_context() -> int | None:
    ctx = ctypes.c_void_p()
    _check(_libcuda().cuCtxGetCurrent(ctypes.byref(ctx)), "cuCtxGetCurrent")
    return ctx.value


def _set_context(ctx: int | None) -> None:
    _check(_libcuda().cuCtxSetCurrent(ctypes.c_void_p(ctx)), "cuCtxSetCurrent")


def current_device() -> int:
    """The device of the calling thread's current context (0 when none is current)."""
    if current_context() is None:
        return 0
    device = ctypes.c_int()
    _check(_libcuda().cuCtxGetDevice(ctypes.byref(device)), "cuCtxGetDevice")
    return device.value


_primary: dict[int, int] = {}


def _primary_context(index: int) -> int:
    # Retained once per process, like the CUDA runtime does: never released.
    with _lock:
        ctx = _primary.get(index)
        if ctx is None:
            lib = _libcuda()
            device = ctypes.c_int()
            _check(lib.cuDeviceGet(ctypes.byref(device), index), f"cuDeviceGet({index})")
            handle = ctypes.c_void_p()
            _check(lib.cuDevicePrimaryCtxRetain(ctypes.byref(handle), device),
                   "cuDevicePrimaryCtxRetain")
            ctx = _primary[index] = handle.value
    return ctx


def set_current_device(index: int) -> None:
    _set_context(_primary_context(index))


def _device_attribute(index: int, attribute: int) -> int:
    lib = _libcuda()
    device = ctypes.c_int()
    _check(lib.cuDeviceGet(ctypes.byref(device), index), f"cuDeviceGet({index})")
    value = ctypes.c_int()
    _check(lib.cuDeviceGetAttribute(ctypes.byref(value), attribute, device), "cuDeviceGetAttribute")
    return value.value


@functools.cache
def capability(index: int) -> tuple[int, int]:
    return (_device_attribute(index, _ATTR_CAPABILITY_MAJOR),
            _device_attribute(index, _ATTR_CAPABILITY_MINOR))


@functools.cache
def sm_count(index: int) -> int:
    return _device_attribute(index, _ATTR_MULTIPROCESSOR_COUNT)


def pointer_device(ptr: int) -> int:
    """The ordinal of the GPU that owns device address `ptr`."""
    ordinal = ctypes.c_int()
    status = _libcuda().cuPointerGetAttribute(
        ctypes.byref(ordinal), _POINTER_ATTRIBUTE_DEVICE_ORDINAL, ctypes.c_uint64(ptr))
    if status == _ERROR_INVALID_VALUE:
        raise ValueError(f"address {ptr:#x} is not CUDA device memory")
    _check(status, "cuPointerGetAttribute")
    return ordinal.value


def _same_stream(a: int, b: int) -> bool:
    # Handle 0 is the legacy default stream for these (non _ptsz) driver entry points.
    return a == b or {a, b} == {0, LEGACY_DEFAULT_STREAM}


def stream_wait(consumer: int, producer: int) -> None:
    """Orders `consumer` after the work queued so far on `producer`, without a host sync."""
    if _same_stream(consumer, producer):
        return
    lib = _libcuda()
    event = ctypes.c_void_p()
    _check(lib.cuEventCreate(ctypes.byref(event), _EVENT_DISABLE_TIMING), "cuEventCreate")
    try:
        _check(lib.cuEventRecord(event, ctypes.c_void_p(producer)), "cuEventRecord")
        _check(lib.cuStreamWaitEvent(ctypes.c_void_p(consumer), event, 0), "cuStreamWaitEvent")
    finally:
        lib.cuEventDestroy_v2(event)  # safe while the wait is pending: CUDA frees it after


# ---------------------------------------------------------------------------------------------
# Streams named by the caller, and the launch scope of a call on foreign arrays (thread-local)

_local = threading.local()


def _stack(name: str) -> list:
    stack = getattr(_local, name, None)
    if stack is None:
        stack = []
        setattr(_local, name, stack)
    return stack


def stream_handle(stream) -> int:
    """A CUstream handle from an int or a stream object (__cuda_stream__, .cuda_stream, .ptr)."""
    if isinstance(stream, bool):
        raise TypeError("a CUDA stream handle must be an int, not a bool")
    if isinstance(stream, int):
        if stream < 0:
            raise ValueError(f"a CUDA stream handle cannot be negative, got {stream}")
        return stream
    protocol = getattr(stream, "__cuda_stream__", None)
    if protocol is not None:
        return int(protocol()[1])
    for attr in ("cuda_stream", "ptr"):
        handle = getattr(stream, attr, None)
        if isinstance(handle, int) and not isinstance(handle, bool):
            return handle
    raise TypeError("vt.kernels.stream expects a CUstream handle (int) or a stream object with "
                    f"__cuda_stream__, .cuda_stream or .ptr, got {type(stream).__name__}")


@contextmanager
def stream(handle):
    """Triton launches on `handle` (an int CUstream, or a CuPy or torch stream) inside the block,
    on this thread only: vt.kernels' kernels on torch tensors and on foreign arrays alike. Outputs
    are ready on that stream; order other streams after it yourself, as with torch streams."""
    ptr = stream_handle(handle)
    if available():
        install()
    stack = _stack("explicit")
    stack.append(ptr)
    try:
        yield ptr
    finally:
        stack.pop()


def explicit_stream() -> int | None:
    stack = getattr(_local, "explicit", None)
    return stack[-1] if stack else None


def scope_stream() -> int | None:
    """The stream of the innermost launch scope on this thread, if any."""
    stack = getattr(_local, "scopes", None)
    return stack[-1][0] if stack else None


def _scope_device() -> int | None:
    stack = getattr(_local, "scopes", None)
    return stack[-1][1] if stack else None


@contextmanager
def launch_scope(stream: int, device: int | None):
    """Launches (and allocates) on `device` and `stream` inside the block, on this thread.

    The device's primary context becomes current when another is, so that producer libraries
    that allocate on the current device (CuPy) and Triton's module loading land on `device`.
    """
    saved = None
    if device is not None and available():
        ctx = current_context()
        if ctx is None or current_device() != device:
            saved = (ctx,)
            set_current_device(device)
    stack = _stack("scopes")
    stack.append((stream, device))
    try:
        yield
    finally:
        stack.pop()
        if saved is not None:
            _set_context(saved[0])


def torch_stream(device: int | None = None) -> int | None:
    """torch's current stream (on `device`) when torch with CUDA is present."""
    if _torch_cuda() is None:
        return None
    return torch.cuda.current_stream(device).cuda_stream


@functools.cache
def _torch_cuda():
    """torch when it can use CUDA (asked once: every Triton launch of the process asks)."""
    return torch if torch is not None and torch.cuda.is_available() else None


# ---------------------------------------------------------------------------------------------
# Benchmarking without torch (triton.testing.do_bench)


class _Event:
    def __init__(self, enable_timing: bool = False):
        self._lib = _libcuda()
        handle = ctypes.c_void_p()
        flags = 0 if enable_timing else _EVENT_DISABLE_TIMING
        _check(self._lib.cuEventCreate(ctypes.byref(handle), flags), "cuEventCreate")
        self._handle = handle

    def record(self, stream=None):
        handle = stream_handle(stream) if stream is not None else _current_stream(None)
        _check(self._lib.cuEventRecord(self._handle, ctypes.c_void_p(handle)), "cuEventRecord")

    def synchronize(self):
        _check(self._lib.cuEventSynchronize(self._handle), "cuEventSynchronize")

    def elapsed_time(self, end: _Event) -> float:
        ms = ctypes.c_float()
        _check(self._lib.cuEventElapsedTime(ctypes.byref(ms), self._handle, end._handle),
               "cuEventElapsedTime")
        return ms.value

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self._lib.cuEventDestroy_v2(self._handle)


class _DeviceInterface:
    """The part of torch.cuda that triton.testing.do_bench uses."""

    Event = _Event

    @staticmethod
    def synchronize(device=None):
        _check(_libcuda().cuCtxSynchronize(), "cuCtxSynchronize")

    @staticmethod
    def current_device() -> int:
        return _current_device()

    @staticmethod
    def set_device(index: int) -> None:
        set_current_device(index)


class _DeviceBuffer:
    """Raw device memory, to flush L2 between benchmark runs."""

    def __init__(self, nbytes: int):
        self._lib = _libcuda()
        ptr = ctypes.c_uint64()
        _check(self._lib.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cuMemAlloc")
        self.ptr, self.nbytes = ptr.value, nbytes

    def data_ptr(self) -> int:
        return self.ptr

    def zero_(self):
        stream = ctypes.c_void_p(_current_stream(None))
        words = ctypes.c_size_t(self.nbytes // 4)
        _check(self._lib.cuMemsetD32Async(ctypes.c_uint64(self.ptr), 0, words, stream),
               "cuMemsetD32Async")
        return self

    def __del__(self):
        if getattr(self, "ptr", None):
            self._lib.cuMemFree_v2(ctypes.c_uint64(self.ptr))


# ---------------------------------------------------------------------------------------------
# The driver




def _current_device() -> int:
    device = _scope_device()
    if device is not None:
        return device
    if _torch_cuda() is not None:
        return torch.cuda.current_device()
    return current_device()


def _current_stream(device: int | None) -> int:
    handle = explicit_stream()
    if handle is None:
        handle = scope_stream()
    if handle is None and _torch_cuda() is not None:
        handle = torch._C._cuda_getCurrentRawStream(_current_device() if device is None else device)
    return 0 if handle is None else handle


class ForeignCudaDriver(CudaDriver):
    """Triton's CUDA driver taking the device and stream from vt.kernels' state, else torch's."""

    def __init__(self):
        # Not CudaDriver.__init__: GPUDriver.__init__ imports torch and binds torch's device and
        # stream getters as instance attributes, which would shadow the methods below.
        self.utils = CudaUtils()
        self.launcher_cls = CudaLauncher

    @staticmethod
    def is_active():
        return available()

    def get_current_device(self):
        return _current_device()

    def set_current_device(self, device):
        if _torch_cuda() is not None:
            torch.cuda.set_device(device)
        else:
            set_current_device(device)

    def get_device_capability(self, device=None):
        return capability(_current_device() if device is None else device)

    def get_current_stream(self, device=None):
        return _current_stream(device)

    def get_active_torch_device(self):
        if torch is None:
            raise NotImplementedError("a torch device needs torch, which is not installed")
        return super().get_active_torch_device()

    def get_device_interface(self):
        return torch.cuda if torch is not None else _DeviceInterface

    def get_empty_cache_for_benchmark(self):
        if torch is not None:
            return super().get_empty_cache_for_benchmark()
        return _DeviceBuffer(256 * 1024 * 1024)

    def clear_cache(self, cache):
        cache.zero_()


_installed: list[ForeignCudaDriver] = []


def install() -> ForeignCudaDriver:
    """Makes ForeignCudaDriver Triton's active driver (once per process)."""
    if not _installed:
        with _lock:
            if not _installed:
                if not available():
                    _libcuda()  # raises with the reason the driver is missing
                    raise CudaError("the CUDA driver sees no GPU")
                driver = ForeignCudaDriver()
                triton.runtime.driver.set_active(driver)
                _installed.append(driver)
    return _installed[0]


def install_reason() -> str | None:
    """None once the driver is installed, else why it cannot be."""
    try:
        install()
    except CudaError as e:
        return f"foreign CUDA arrays need the CUDA driver ({e})"
    return None
