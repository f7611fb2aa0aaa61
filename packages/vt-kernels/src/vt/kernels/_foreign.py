"""Foreign CUDA arrays without torch: `DeviceArray` over any `__cuda_array_interface__` (v2/v3)
or DLPack producer (CuPy, Numba, JAX, VibeTensor, ...), `as_array`, and the argument conversion
of the functional APIs (`foreign_arrays`, built on `wrap_inputs`).

A DeviceArray offers the torch-like subset the launchers use (shape, dtype, stride, data_ptr,
device, reshape/view, contiguous, new_empty) and exports itself again through
`__cuda_array_interface__` and `__dlpack__`. Outputs are allocated by the input's own library
through its array API namespace (`x.__array_namespace__()`, or the `cupy` module for CuPy < 14,
which lacks the method), so a call on CuPy arrays returns CuPy arrays.

bfloat16: DLPack carries it (kDLBfloat, type code 4). CuPy and `__cuda_array_interface__` have
none: pass bfloat16 data held in uint16 arrays as `as_array(x, dtype="bfloat16")`. A bfloat16
output of a library without bfloat16 is allocated as a uint16 array holding the bits, and the CAI
export of a bfloat16 DeviceArray says "<u2".

Streams: `wrap_inputs` picks the launch stream of a call (see there) and opens a launch scope
that `_driver.ForeignCudaDriver` reads, so Triton launches on it.
"""

from __future__ import annotations

import ctypes
import functools
import operator
import re
import sys
import threading

from . import _driver
from ._compat import is_torch_tensor, torch

MAX_NDIM = 64  # the most dimensions read from a producer's capsule or interface dict
_KDL_CUDA = 2
_KDL_INT, _KDL_UINT, _KDL_FLOAT, _KDL_BFLOAT, _KDL_BOOL = 0, 1, 2, 4, 6
_DLPACK_FLAG_READ_ONLY = 1
_DLPACK_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
                        10: "ROCm", 11: "ROCm host", 13: "CUDA managed", 14: "oneAPI"}


# ---------------------------------------------------------------------------------------------
# dtypes and devices


class DType:
    """An element type. `str(dtype)` is its name ("float32", "bfloat16", ...), the form Triton's
    launcher reads. One immortal object per name: Triton caches pointer types by hash(dtype), and
    equality is identity."""

    __slots__ = ("dlpack_code", "itemsize", "name", "typestr")

    def __init__(self, name: str, itemsize: int, typestr: str, dlpack_code: int):
        self.name, self.itemsize = name, itemsize
        self.typestr, self.dlpack_code = typestr, dlpack_code

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"vt.kernels.dtype({self.name!r})"

    def __reduce__(self):
        return dtype, (self.name,)


_DTYPES = {spec[0]: DType(*spec) for spec in (
    ("bool", 1, "|b1", _KDL_BOOL),
    ("int8", 1, "|i1", _KDL_INT), ("int16", 2, "<i2", _KDL_INT), ("int32", 4, "<i4", _KDL_INT),
    ("int64", 8, "<i8", _KDL_INT),
    ("uint8", 1, "|u1", _KDL_UINT), ("uint16", 2, "<u2", _KDL_UINT),
    ("uint32", 4, "<u4", _KDL_UINT), ("uint64", 8, "<u8", _KDL_UINT),
    ("float16", 2, "<f2", _KDL_FLOAT), ("float32", 4, "<f4", _KDL_FLOAT),
    ("float64", 8, "<f8", _KDL_FLOAT),
    ("bfloat16", 2, "<u2", _KDL_BFLOAT),  # CAI has no bfloat16 typestr: the bits as uint16
)}
BFLOAT16, UINT16 = _DTYPES["bfloat16"], _DTYPES["uint16"]
_BY_DLPACK = {(d.dlpack_code, 8 * d.itemsize): d for d in _DTYPES.values()}
_BY_TYPESTR = {d.typestr[1:]: d for d in _DTYPES.values() if d is not BFLOAT16}
_TYPESTR = re.compile(r"^([<>|=])([biuf])(\d+)$")


def dtype(spec) -> DType:
    """The DType named by a string ("float32"), a DType, or a library's dtype (torch, NumPy)."""
    if isinstance(spec, DType):
        return spec
    name = spec.__name__ if isinstance(spec, type) else str(spec).rsplit(".", 1)[-1]
    try:
        return _DTYPES[name]
    except KeyError:
        known = ", ".join(_DTYPES)
        raise TypeError(f"unsupported dtype {spec!r}; vt.kernels knows {known}") from None


_dtype_of = dtype  # for functions whose `dtype` argument hides dtype()


class Device:
    """A CUDA device, shaped like torch.device: `.type == "cuda"`, `.index`, str "cuda:0"."""

    __slots__ = ("index",)
    type = "cuda"

    def __init__(self, index: int):
        self.index = index

    def __str__(self):
        return f"cuda:{self.index}"

    def __repr__(self):
        return f"device(type='cuda', index={self.index})"

    def __eq__(self, other):
        return isinstance(other, Device) and other.index == self.index

    def __hash__(self):
        return hash(("cuda", self.index))


def _contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _view_strides(shape, strides, new_shape):
    """Strides that show `shape`/`strides` as `new_shape` without a copy, or None if none do.

    Dimensions that are contiguous with each other form chunks; each chunk of the old shape must
    be covered by whole dimensions of the new shape.
    """
    if _numel(shape) == 0:
        return _contiguous_strides(new_shape)
    if not shape:  # a 0-d array: the new shape is all ones
        return (1,) * len(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_stride = strides[-1]
    chunk_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        chunk_numel *= shape[d]
        chunk_ends = d == 0 or (shape[d - 1] != 1 and strides[d - 1] != chunk_numel * chunk_stride)
        if chunk_ends:
            while view_d >= 0 and (view_numel < chunk_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != chunk_numel:
                return None
            if d > 0:
                chunk_stride = strides[d - 1]
                chunk_numel = view_numel = 1
    return tuple(new_strides) if view_d == -1 else None


def _index(value, what: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(value).__name__}") from None


def _shape_tuple(shape, what: str) -> tuple:
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{what} must be a tuple of ints, got {type(shape).__name__}")
    if len(shape) > MAX_NDIM:
        raise ValueError(f"{what} has {len(shape)} dimensions; at most {MAX_NDIM} are supported")
    out = tuple(_index(s, what) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"{what} {out} has a negative size")
    return out


# ---------------------------------------------------------------------------------------------
# DeviceArray


class DeviceArray:
    """A strided view of CUDA memory owned by another library, with the torch-like subset that
    vt.kernels' launchers use. Build one with `as_array`; `unwrap()` gives the library's object."""

    __slots__ = (
        "__weakref__",
        "_device_index",
        "_dtype",
        "_keepalive",
        "_ptr",
        "_root",
        "_root_layout",
        "_shape",
        "_stream",
        "_strides",
        "readonly",
    )

    def __init__(self, ptr, shape, strides, dtype_, *, root, keepalive=None, device_index=None,
                 readonly=False, stream=None, root_layout=None):
        self._ptr, self._shape, self._strides, self._dtype = ptr, shape, strides, dtype_
        self._device_index = device_index  # None: asked of the driver on first use
        self.readonly = readonly
        self._stream = stream  # where pending writes to this memory are queued, if known
        self._root = root  # the producer's object, kept alive; unwrap() returns it or a view
        self._keepalive = keepalive  # e.g. the owner of a consumed DLPack capsule
        self._root_layout = root_layout if root_layout is not None else self._layout()

    # --- the torch-like subset -----------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def dtype_name(self) -> str:
        return self._dtype.name

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def device(self) -> Device:
        if self._device_index is None:
            if self._ptr and _driver.available():
                self._device_index = _driver.pointer_device(self._ptr)
            else:  # empty arrays have no address; without a driver nothing launches anyway
                self._device_index = _driver.current_device() if _driver.available() else 0
        return Device(self._device_index)

    def data_ptr(self) -> int:
        return self._ptr

    def dim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        return _numel(self._shape)

    def element_size(self) -> int:
        return self._dtype.itemsize

    def size(self, dim: int | None = None):
        return self._shape if dim is None else self._shape[dim]

    def stride(self, dim: int | None = None):
        """Strides in elements, like torch."""
        return self._strides if dim is None else self._strides[dim]

    def is_contiguous(self) -> bool:
        if self.numel() == 0:
            return True
        expected = 1
        for size, stride in zip(reversed(self._shape), reversed(self._strides)):
            if size != 1 and stride != expected:
                return False
            expected *= size
        return True

    def contiguous(self) -> DeviceArray:
        """Self when contiguous; foreign arrays are never copied behind the caller's back."""
        if not self.is_contiguous():
            raise ValueError(self._copy_needed("made contiguous"))
        return self

    def reshape(self, *shape) -> DeviceArray:
        """A view with another shape (one dim may be -1); ValueError when that needs a copy."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        new_shape = self._resolve_shape(shape)
        strides = _view_strides(self._shape, self._strides, new_shape)
        if strides is None:
            raise ValueError(self._copy_needed(f"viewed as {new_shape}"))
        return self._view(new_shape, strides, self._dtype)

    view = reshape

    def new_empty(self, shape, dtype=None) -> DeviceArray:
        """A contiguous array allocated by this array's library (its array API namespace)."""
        target = _dtype_of(dtype) if dtype is not None else self._dtype
        xp = self._namespace()
        storage = getattr(xp, target.name, None)
        if storage is None and target is BFLOAT16:
            storage = xp.uint16  # the library has no bfloat16: hold the bits
        if storage is None:
            raise NotImplementedError(
                f"{_library(self._root)} has no {target.name} dtype to allocate")
        out = as_array(xp.empty(_shape_tuple(tuple(shape), "shape"), dtype=storage))
        if out.dtype is not target:
            out = out._view(out._shape, out._strides, target)
        stream = _driver.scope_stream()
        if stream is not None:
            out._stream = stream
        return out

    def unwrap(self):
        """The producer library's object for this memory: the original object when this is its
        full view, else a zero-copy view made by the library (reshape or from_dlpack)."""
        if self._layout()[:3] == self._root_layout[:3] and self.itemsize == self._root_layout[3]:
            return self._root
        xp = self._namespace()
        source = self
        if self._dtype is BFLOAT16 and getattr(xp, "bfloat16", None) is None:
            source = self._view(self._shape, self._strides, UINT16)
        root_ptr, root_shape, root_strides, root_itemsize = self._root_layout
        whole_root = (source._ptr == root_ptr and source.itemsize == root_itemsize
                      and source.numel() == _numel(root_shape))
        dense_root = root_strides == _contiguous_strides(root_shape)
        if whole_root and dense_root and source.is_contiguous() and hasattr(xp, "reshape"):
            return xp.reshape(self._root, source.shape)
        return xp.from_dlpack(source)

    # --- exports -------------------------------------------------------------------------------

    @property
    def __cuda_array_interface__(self) -> dict:
        # "stream": None: CuPy blocks the host on a CAI stream; our outputs are ready on the
        # launch stream, which is the consumer's current stream unless the caller named another.
        return {
            "shape": self._shape,
            "typestr": self._dtype.typestr,
            "data": (self._ptr, self.readonly),
            "strides": (None if self.is_contiguous()
                        else tuple(s * self.itemsize for s in self._strides)),
            "version": 3,
            "stream": None,
        }

    def __dlpack_device__(self) -> tuple:
        return (_KDL_CUDA, self.device.index)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if copy:
            raise BufferError("a vt.kernels DeviceArray cannot copy on DLPack export")
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"a DeviceArray on {self.device} cannot be exported to DLPack "
                              f"device {dl_device}")
        if stream is not None and stream != -1 and self._stream is not None and _driver.available():
            _driver.stream_wait(stream, self._stream)
        return _export_capsule(self, versioned=max_version is not None and max_version[0] >= 1)

    def __repr__(self):
        return (f"DeviceArray(shape={self._shape}, dtype={self._dtype.name}, "
                f"strides={self._strides}, ptr={self._ptr:#x}, root={_library(self._root)})")

    # --- internals -----------------------------------------------------------------------------

    def _layout(self) -> tuple:
        return (self._ptr, self._shape, self._strides, self._dtype.itemsize)

    def _view(self, shape, strides, dtype_) -> DeviceArray:
        return DeviceArray(self._ptr, shape, strides, dtype_, root=self._root,
                           keepalive=self._keepalive, device_index=self._device_index,
                           readonly=self.readonly, stream=self._stream,
                           root_layout=self._root_layout)

    def _resolve_shape(self, shape) -> tuple:
        shape = tuple(_index(s, "shape") for s in shape)
        if shape.count(-1) > 1 or any(s < -1 for s in shape):
            raise RuntimeError(f"invalid shape {shape}")
        numel = self.numel()
        if -1 in shape:
            known = _numel(s for s in shape if s != -1)
            if known == 0 or numel % known:
                raise RuntimeError(f"shape {shape} is invalid for an array of {numel} elements")
            shape = tuple(numel // known if s == -1 else s for s in shape)
        if _numel(shape) != numel:
            raise RuntimeError(f"shape {shape} is invalid for an array of {numel} elements")
        return shape

    def _copy_needed(self, what: str) -> str:
        return (f"a {_library(self._root)} array of shape {self._shape} with strides "
                f"{self._strides} cannot be {what} without a copy, and vt.kernels does not copy "
                "foreign arrays: pass contiguous rows (e.g. xp.ascontiguousarray(x))")

    def _namespace(self):
        get = getattr(self._root, "__array_namespace__", None)
        if get is not None:
            return get()
        if _is_cupy(self._root):
            return sys.modules["cupy"]
        raise NotImplementedError(
            f"allocating outputs like a {_library(self._root)} array needs the library's array "
            "API namespace (x.__array_namespace__()), which it lacks; pass CuPy arrays, arrays "
            "of another library with an array API namespace, or torch tensors")


def _library(obj) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _is_cupy(obj) -> bool:
    return type(obj).__module__.partition(".")[0] == "cupy"


# ---------------------------------------------------------------------------------------------
# __cuda_array_interface__ import


def _parse_typestr(typestr) -> DType:
    match = _TYPESTR.match(typestr) if isinstance(typestr, str) else None
    if match is None:
        raise TypeError(f"unsupported __cuda_array_interface__ typestr {typestr!r}: vt.kernels "
                        "reads b1, i1-i8, u1-u8 and f2-f8 (bfloat16 comes through DLPack, or as "
                        "as_array(x, dtype='bfloat16') over uint16 storage)")
    order, kind, size = match.groups()
    found = _BY_TYPESTR.get(kind + size)
    if found is None:
        raise TypeError(f"unsupported __cuda_array_interface__ typestr {typestr!r}")
    if order == ">" and found.itemsize > 1:
        raise TypeError(f"big-endian data ({typestr!r}) is not supported")
    return found


def _from_cai(obj) -> DeviceArray:
    desc = obj.__cuda_array_interface__
    if not isinstance(desc, dict):
        raise TypeError(f"__cuda_array_interface__ of {_library(obj)} is a "
                        f"{type(desc).__name__}, not a dict")
    version = desc.get("version")
    if version not in (2, 3):
        raise ValueError(f"__cuda_array_interface__ version {version!r} is not supported (2 or 3)")
    found = _parse_typestr(desc.get("typestr"))
    shape = _shape_tuple(desc.get("shape"), "__cuda_array_interface__ shape")
    data = desc.get("data")
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(
            f"__cuda_array_interface__ data must be (pointer, read_only), got {data!r}")
    ptr = _index(data[0], "__cuda_array_interface__ data pointer")
    if ptr < 0:
        raise ValueError(f"__cuda_array_interface__ data pointer {ptr} is negative")
    if ptr == 0 and _numel(shape):
        raise ValueError(f"__cuda_array_interface__ has a null data pointer for shape {shape}")
    byte_strides = desc.get("strides")
    if byte_strides is None:
        strides = _contiguous_strides(shape)
    else:
        if not isinstance(byte_strides, (tuple, list)) or len(byte_strides) != len(shape):
            raise ValueError(f"__cuda_array_interface__ strides {byte_strides!r} do not match "
                             f"shape {shape}")
        byte_strides = tuple(_index(s, "__cuda_array_interface__ stride") for s in byte_strides)
        if any(s % found.itemsize for s in byte_strides):
            raise ValueError(f"__cuda_array_interface__ strides {byte_strides} (bytes) are not "
                             f"multiples of the {found.itemsize}-byte item size")
        strides = tuple(s // found.itemsize for s in byte_strides)
    if desc.get("mask") is not None:
        raise ValueError("masked arrays (__cuda_array_interface__ mask) are not supported")
    stream = desc.get("stream") if version >= 3 else None
    if stream is not None:
        stream = _index(stream, "__cuda_array_interface__ stream")
        if stream <= 0:
            raise ValueError(
                f"__cuda_array_interface__ stream {stream} is invalid (0 is disallowed)")
    return DeviceArray(ptr, shape, strides, found, root=obj, readonly=bool(data[1]), stream=stream)


# ---------------------------------------------------------------------------------------------
# DLPack import and export (ctypes over the C structs; capsules are treated as hostile)


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class _DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class _DLManagedTensorVersioned(ctypes.Structure):
    # DLPack >= 1.0; version, manager_ctx and deleter keep their offsets in every 1.x and later.
    _fields_ = [("version", _DLPackVersion), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p), ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_NAME, _NAME_VERSIONED = b"dltensor", b"dltensor_versioned"
_USED, _USED_VERSIONED = b"used_dltensor", b"used_dltensor_versioned"

# Our own handle to the C API, so that argtypes set here never clash with ctypes.pythonapi users.
_api = ctypes.PyDLL(None)
_api.PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_GetPointer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetName.argtypes = [ctypes.c_void_p]
_api.PyCapsule_GetName.restype = ctypes.c_char_p
_api.PyCapsule_SetName.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_New.restype = ctypes.py_object


class _DLPackOwner:
    """Holds a consumed DLManagedTensor; calls its deleter exactly once."""

    __slots__ = ("_addr", "_deleter")

    def __init__(self, addr: int, deleter: int | None):
        self._addr, self._deleter = addr, deleter

    def release(self):
        addr, deleter = self._addr, self._deleter
        self._addr = self._deleter = None
        if addr and deleter:
            _DELETER(deleter)(addr)

    __del__ = release


def _dlpack_device_name(kind: int) -> str:
    return _DLPACK_DEVICE_NAMES.get(kind, "unknown")


def _from_capsule(capsule, root) -> DeviceArray:
    if type(capsule).__name__ != "PyCapsule":
        raise TypeError(f"__dlpack__ of {_library(root)} returned a {type(capsule).__name__}, "
                        "not a capsule")
    handle = id(capsule)  # the PyObject* in CPython, which ctypes.PyDLL implies
    if _api.PyCapsule_IsValid(handle, _NAME_VERSIONED):
        versioned, name, used = True, _NAME_VERSIONED, _USED_VERSIONED
    elif _api.PyCapsule_IsValid(handle, _NAME):
        versioned, name, used = False, _NAME, _USED
    else:
        found = _api.PyCapsule_GetName(handle)
        raise TypeError(f"__dlpack__ of {_library(root)} returned a capsule named {found!r}, "
                        "expected 'dltensor' or 'dltensor_versioned' (a capsule can be consumed "
                        "once)")
    addr = _api.PyCapsule_GetPointer(handle, name)
    if not addr:
        raise ValueError(f"__dlpack__ of {_library(root)} returned a capsule with a null pointer")
    # From here we own the tensor: renaming keeps the producer's destructor from freeing it.
    if _api.PyCapsule_SetName(handle, used):
        raise RuntimeError("PyCapsule_SetName failed")
    managed = (_DLManagedTensorVersioned if versioned else _DLManagedTensor).from_address(addr)
    owner = _DLPackOwner(addr, managed.deleter)
    try:
        if versioned and managed.version.major != 1:
            version = f"{managed.version.major}.{managed.version.minor}"
            raise ValueError(f"DLPack {version} from {_library(root)} is not supported "
                             "(major version 1)")
        flags = managed.flags if versioned else 0
        return _from_dl_tensor(managed.dl_tensor, flags, root, owner)
    except BaseException:
        owner.release()
        raise


def _from_dl_tensor(t: _DLTensor, flags: int, root, owner) -> DeviceArray:
    source = _library(root)
    if t.device.device_type != _KDL_CUDA:
        kind = t.device.device_type
        raise ValueError(f"vt.kernels needs CUDA arrays; the DLPack tensor of {source} is on "
                         f"device type {kind} ({_dlpack_device_name(kind)})")
    if t.device.device_id < 0:
        raise ValueError(f"DLPack device id {t.device.device_id} of {source} is negative")
    ndim = t.ndim
    if not 0 <= ndim <= MAX_NDIM:
        raise ValueError(f"DLPack tensor of {source} has ndim {ndim}; expected 0 to {MAX_NDIM}")
    code, bits, lanes = t.dtype.code, t.dtype.bits, t.dtype.lanes
    found = _BY_DLPACK.get((code, bits))
    if found is None or lanes != 1:
        raise TypeError(f"unsupported DLPack dtype (code {code}, bits {bits}, lanes {lanes}) "
                        f"from {source}")
    if ndim and not t.shape:
        raise ValueError(f"DLPack tensor of {source} has ndim {ndim} and a null shape")
    shape = tuple(t.shape[i] for i in range(ndim))
    if any(s < 0 for s in shape):
        raise ValueError(f"DLPack tensor of {source} has a negative size in shape {shape}")
    strides = tuple(t.strides[i] for i in range(ndim)) if t.strides else _contiguous_strides(shape)
    data = t.data or 0
    if not data and _numel(shape):
        raise ValueError(f"DLPack tensor of {source} has a null data pointer for shape {shape}")
    return DeviceArray(data + t.byte_offset, shape, strides, found, root=root, keepalive=owner,
                       device_index=t.device.device_id,
                       readonly=bool(flags & _DLPACK_FLAG_READ_ONLY))


def _dlpack_cuda_device(obj) -> int:
    device = obj.__dlpack_device__()
    if not isinstance(device, tuple) or len(device) != 2:
        raise TypeError(f"__dlpack_device__ of {_library(obj)} returned {device!r}, not (type, id)")
    if int(device[0]) != _KDL_CUDA:
        raise ValueError(f"vt.kernels needs CUDA arrays; {_library(obj)} is on DLPack device type "
                         f"{int(device[0])} ({_dlpack_device_name(int(device[0]))})")
    return int(device[1])


def _from_dlpack(obj, stream: int | None) -> DeviceArray:
    """Imports through DLPack; `stream` None: the default stream for the array's device."""
    device = _dlpack_cuda_device(obj)
    if stream is None:
        stream = _default_stream(device)
    # The producer orders its pending work before `stream`; DLPack reserves 0: name the legacy one.
    stream = stream or _driver.LEGACY_DEFAULT_STREAM
    try:
        capsule = obj.__dlpack__(stream=stream, max_version=(1, 0))
    except TypeError:  # producers before DLPack 1.0 take no max_version
        capsule = obj.__dlpack__(stream=stream)
    return _from_capsule(capsule, obj)


# Exports alive: managed-tensor address -> (capsule, structs, the array they keep alive). The
# consumer's deleter drops an entry; capsules nobody consumed are swept once only this table holds
# them. No capsule destructor: Python code there would run while a consumer that rejected the
# capsule has an exception pending (NumPy does), and clobber it.
_exports: dict[int, tuple] = {}
_exports_lock = threading.RLock()


def _release_export(addr):
    # The consumer's deleter call, from any thread (ctypes takes the GIL).
    with _exports_lock:
        _exports.pop(addr, None)


_release_export_fn = _DELETER(_release_export)


def _sweep_exports():
    with _exports_lock:
        for addr, (capsule, *_) in list(_exports.items()):
            unconsumed = (_api.PyCapsule_IsValid(id(capsule), _NAME)
                          or _api.PyCapsule_IsValid(id(capsule), _NAME_VERSIONED))
            # References: the table's tuple, this loop's name, getrefcount's argument.
            if unconsumed and sys.getrefcount(capsule) <= 3:
                del _exports[addr]


def _export_capsule(arr: DeviceArray, versioned: bool):
    _sweep_exports()
    ndim = arr.dim()
    shape = (ctypes.c_int64 * ndim)(*arr.shape)
    strides = (ctypes.c_int64 * ndim)(*arr.stride())
    managed = _DLManagedTensorVersioned() if versioned else _DLManagedTensor()
    if versioned:
        managed.version.major, managed.version.minor = 1, 0
        managed.flags = _DLPACK_FLAG_READ_ONLY if arr.readonly else 0
    t = managed.dl_tensor
    t.data = arr.data_ptr() or None
    t.device.device_type, t.device.device_id = _KDL_CUDA, arr.device.index
    t.ndim = ndim
    t.dtype.code, t.dtype.bits, t.dtype.lanes = arr.dtype.dlpack_code, 8 * arr.itemsize, 1
    t.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
    t.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64))
    addr = ctypes.addressof(managed)
    managed.manager_ctx = addr
    managed.deleter = ctypes.cast(_release_export_fn, ctypes.c_void_p).value
    capsule = _api.PyCapsule_New(addr, _NAME_VERSIONED if versioned else _NAME, None)
    with _exports_lock:
        _exports[addr] = (capsule, managed, shape, strides, arr)
    return capsule


# ---------------------------------------------------------------------------------------------
# Public conversion and the functional APIs' argument handling


def is_foreign(obj) -> bool:
    """True for a CUDA-array-like object that is not a torch tensor (DLPack or CAI producer)."""
    if obj is None or is_torch_tensor(obj) or isinstance(obj, (int, float, str, bytes)):
        return False
    return (isinstance(obj, DeviceArray) or hasattr(obj, "__cuda_array_interface__")
            or hasattr(obj, "__dlpack__"))


def _try_cai(obj) -> DeviceArray | None:
    """The CAI view of obj, or None when obj must come through DLPack (no CAI, or a dtype CAI
    cannot name)."""
    if not hasattr(obj, "__cuda_array_interface__"):
        if not hasattr(obj, "__dlpack__"):
            raise TypeError("expected a CUDA array (__cuda_array_interface__ or __dlpack__), "
                            f"got {_library(obj)}")
        return None
    try:
        return _from_cai(obj)
    except TypeError:
        if hasattr(obj, "__dlpack__"):
            return None
        raise


def _default_stream(device: int) -> int:
    """A named stream (vt.kernels.stream, an enclosing call), else torch's current stream on
    `device`, else the legacy default stream (0)."""
    for stream in (_driver.explicit_stream(), _driver.scope_stream(), _driver.torch_stream(device)):
        if stream is not None:
            return stream
    return 0


def as_array(obj, dtype=None) -> DeviceArray:
    """A DeviceArray over a CUDA array from any library (`__cuda_array_interface__` v2/v3 or
    DLPack), without a copy. `dtype` reinterprets the elements (same item size), e.g.
    `as_array(x_uint16, dtype="bfloat16")` for bfloat16 data that CuPy holds as uint16."""
    if isinstance(obj, DeviceArray):
        arr = obj
    elif is_torch_tensor(obj):
        raise TypeError(
            "as_array takes foreign CUDA arrays; vt.kernels takes torch tensors as they are")
    else:
        arr = _try_cai(obj)
        if arr is None:
            arr = _from_dlpack(obj, None)
    if dtype is None:
        return arr
    target = _dtype_of(dtype)
    if target.itemsize != arr.itemsize:
        raise ValueError(
            f"cannot reinterpret {arr.dtype_name} as {target.name}: the item sizes differ")
    return arr._view(arr.shape, arr.stride(), target)


def _flatten(objs):
    for obj in objs:
        if isinstance(obj, (tuple, list)):
            yield from obj
        else:
            yield obj


class _ForeignCall:
    """One call's foreign arguments: the launch stream and device, the DeviceArrays, the launch
    scope (`with`), and the conversion of results back (`call(result)`)."""

    def __init__(self, foreign: list):
        self._returns_producer = any(not isinstance(o, DeviceArray) for o in foreign)
        arrays: dict[int, DeviceArray] = {}
        later: dict[int, object] = {}
        for obj in foreign:
            if id(obj) in arrays or id(obj) in later:
                continue
            arr = obj if isinstance(obj, DeviceArray) else _try_cai(obj)
            if arr is None:
                later[id(obj)] = obj
            else:
                arrays[id(obj)] = arr
        first = arrays.get(id(foreign[0]))
        self.device = first.device.index if first is not None else _dlpack_cuda_device(foreign[0])
        self.stream = self._choose_stream(foreign, arrays.values(), self.device)
        for key, obj in later.items():
            arrays[key] = _from_dlpack(obj, self.stream)
        if _driver.available():
            for arr in arrays.values():
                if arr._stream is not None:
                    _driver.stream_wait(self.stream, arr._stream)
        self._arrays = arrays
        self._scope = None

    @staticmethod
    def _choose_stream(foreign, arrays, device: int) -> int:
        """A named stream (vt.kernels.stream, an enclosing call), else CuPy's current stream for
        CuPy inputs, else the stream an input's producer declared (CAI v3), else torch's current
        stream on the device, else the legacy default stream."""
        for stream in (_driver.explicit_stream(), _driver.scope_stream()):
            if stream is not None:
                return stream
        for obj in foreign:
            if _is_cupy(obj._root if isinstance(obj, DeviceArray) else obj):
                return sys.modules["cupy"].cuda.get_current_stream().ptr
        for arr in arrays:
            if arr._stream is not None:
                return arr._stream
        return _default_stream(device)

    def wrap(self, obj):
        if isinstance(obj, (tuple, list)):
            return type(obj)(self.wrap(o) for o in obj)
        return self._arrays[id(obj)] if is_foreign(obj) else obj

    def __enter__(self):
        self._scope = _driver.launch_scope(self.stream, self.device)
        self._scope.__enter__()
        return self

    def __exit__(self, *exc):
        scope, self._scope = self._scope, None
        return scope.__exit__(*exc)

    def __call__(self, result):
        if isinstance(result, DeviceArray):
            return result.unwrap() if self._returns_producer else result
        if isinstance(result, tuple) and hasattr(result, "_fields"):
            return type(result)(*(self(r) for r in result))
        if isinstance(result, (tuple, list)):
            return type(result)(self(r) for r in result)
        return result


class _NoForeign:
    """wrap_inputs' answer when every argument is a torch tensor or a plain value."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def __call__(self, result):
        return result


_NO_FOREIGN = _NoForeign()


def wrap_inputs(*objs):
    """(wrapped, unwrap) for a functional API's array arguments.

    `wrapped` has a DeviceArray for each foreign array (also inside list/tuple arguments); torch
    tensors, None and plain values pass through. `unwrap` is a context manager, the launch scope:
    inside it Triton launches on the call's stream and device; and `unwrap(result)` turns the
    DeviceArrays of a result (also in tuples and lists) into the inputs' library's arrays (they stay
    DeviceArrays when the caller passed DeviceArrays).

    The stream: `vt.kernels.stream(...)` when set, else that of an enclosing call, else CuPy's
    current stream for CuPy inputs, else the `stream` of a CAI v3 input, else torch's current
    stream, else the legacy default stream. DLPack producers are asked (`__dlpack__(stream=...)`)
    to order their pending work before it; CAI inputs declared on another stream are waited for
    with an event, never with a host sync.
    """
    foreign = [o for o in _flatten(objs) if is_foreign(o)]
    if not foreign:
        return objs, _NO_FOREIGN
    call = _ForeignCall(foreign)
    return tuple(call.wrap(o) for o in objs), call


def _cuda_index(tensor) -> int:
    """The GPU of a torch tensor, -1 off the GPU."""
    return tensor.get_device()


def _current_cuda_index() -> int:
    # A CUDA tensor exists, so CUDA is initialized: skip current_device's lazy-init checks.
    return torch._C._cuda_getDevice()


def _on_device_of(tensor, fn, args, kwargs):
    """fn(*args, **kwargs) with the torch tensor's GPU current: Triton launches on torch's
    current device, and so do the allocations of the outputs. Under torch.compile the body
    switches to a custom op, whose eager run switches devices itself (reading the current
    device would break the graph)."""
    if torch.compiler.is_compiling():
        return fn(*args, **kwargs)
    index = _cuda_index(tensor)
    if index < 0 or index == _current_cuda_index():
        return fn(*args, **kwargs)
    with torch.cuda.device(index):
        return fn(*args, **kwargs)


def on_tensor_device(fn):
    """Runs a torch-only API with its first argument's GPU as the current device."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if args and is_torch_tensor(args[0]):
            return _on_device_of(args[0], fn, args, kwargs)
        return fn(*args, **kwargs)

    return call


def foreign_arrays(fn):
    """Lets a functional API take foreign CUDA arrays: the arguments are wrapped, the body runs in
    the launch scope, and the results come back as the inputs' library's arrays. Torch calls run
    with their first tensor's GPU as the current device."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if args and is_torch_tensor(args[0]):  # a torch call: skip the scan for foreign arrays
            return _on_device_of(args[0], fn, args, kwargs)
        values = (*args, *kwargs.values())
        if not any(is_foreign(v) for v in _flatten(values)):
            tensor = next((v for v in _flatten(values) if is_torch_tensor(v)), None)
            if tensor is None:
                return fn(*args, **kwargs)
            return _on_device_of(tensor, fn, args, kwargs)
        wrapped, foreign = wrap_inputs(*values)
        with foreign:
            out = fn(*wrapped[:len(args)], **dict(zip(kwargs, wrapped[len(args):])))
        return foreign(out)

    return call
