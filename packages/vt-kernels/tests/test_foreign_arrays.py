"""Foreign CUDA arrays: CAI and DLPack parsing (hostile capsules included), views, allocation
through the producer's namespace, argument wrapping and streams. The parsing tests never touch
device memory (fake pointers); the `cuda` tests launch on real memory."""

import ctypes
import importlib.util
import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import vt.kernels._foreign as foreign
from conftest import ON_GPU
from vt.kernels import _driver, use_impl
from vt.kernels._foreign import DeviceArray, as_array, foreign_arrays, wrap_inputs
from vt.kernels._launch import _device_type, as_rows, triton_reason

HERE = Path(__file__).resolve().parent
PACKAGE_SRC = HERE.parent / "src"

# Fake device addresses: never dereferenced. On a GPU the driver rejects them as device memory,
# so the tests that ask for a fake array's device run only where there is no CUDA driver.
FAKE_PTR = 0x7F0000000000
needs_no_driver = pytest.mark.skipif(ON_GPU, reason="asks the CUDA driver about fake addresses")


# ---------------------------------------------------------------------------------------------
# producers


class FakeCAI:
    """An array that only speaks __cuda_array_interface__."""

    def __init__(self, shape, typestr="<f4", ptr=FAKE_PTR, strides=None, version=3, stream=None,
                 readonly=False, namespace=None, **extra):
        self.desc = dict(shape=shape, typestr=typestr, data=(ptr, readonly), strides=strides,
                         version=version, **extra)
        if version >= 3:
            self.desc["stream"] = stream
        if namespace is not None:
            self.__array_namespace__ = lambda: namespace

    @property
    def __cuda_array_interface__(self):
        return self.desc


class FakeNamespace:
    """An array API namespace that allocates FakeCAI arrays at fresh fake addresses; no bfloat16."""

    float32, float16, int64, uint16 = "<f4", "<f2", "<i8", "<u2"

    def __init__(self):
        self.next_ptr = FAKE_PTR + (1 << 30)
        self.calls = []

    def empty(self, shape, dtype):
        self.calls.append(("empty", shape, dtype))
        ptr, self.next_ptr = self.next_ptr, self.next_ptr + (1 << 20)
        return FakeCAI(shape, dtype, ptr=ptr, namespace=self)

    def reshape(self, x, shape):
        self.calls.append(("reshape", shape))
        d = x.desc
        return FakeCAI(shape, d["typestr"], ptr=d["data"][0], namespace=self)

    def from_dlpack(self, x):
        self.calls.append(("from_dlpack",))
        arr = as_array(DLPackProducer(x.__dlpack__(max_version=(1, 0))))
        itemsize = arr.itemsize
        return FakeCAI(arr.shape, arr.dtype.typestr, ptr=arr.data_ptr(), namespace=self,
                       strides=tuple(s * itemsize for s in arr.stride()))


class DLPackProducer:
    """Hands out a prepared capsule and records how it was asked for one."""

    def __init__(self, capsule, device=(2, 0), accepts_max_version=True):
        # A hand-made Capsule is kept whole: its structs must outlive the capsule.
        self.source = capsule
        self.capsule = capsule.capsule if isinstance(capsule, Capsule) else capsule
        self.device, self.accepts_max_version = device, accepts_max_version
        self.requests = []

    def __dlpack__(self, stream=None, **kwargs):
        if "max_version" in kwargs and not self.accepts_max_version:
            raise TypeError("__dlpack__() got an unexpected keyword argument 'max_version'")
        self.requests.append(dict(stream=stream, **kwargs))
        return self.capsule

    def __dlpack_device__(self):
        return self.device


# ---------------------------------------------------------------------------------------------
# capsules built by hand (the C layout of dlpack.h)

_api = ctypes.PyDLL(None)
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_New.restype = ctypes.py_object
DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def test_dlpack_struct_layout_matches_the_c_header():
    # dlpack.h on LP64: DLTensor is 48 bytes, DLManagedTensor 64, DLManagedTensorVersioned 80.
    assert ctypes.sizeof(foreign._DLTensor) == 48
    fields = ("data", "device", "ndim", "dtype", "shape", "strides", "byte_offset")
    assert [getattr(foreign._DLTensor, f).offset for f in fields] == [0, 8, 16, 20, 24, 32, 40]
    assert ctypes.sizeof(foreign._DLManagedTensor) == 64
    assert foreign._DLManagedTensor.deleter.offset == 56
    assert ctypes.sizeof(foreign._DLManagedTensorVersioned) == 80
    assert foreign._DLManagedTensorVersioned.flags.offset == 24
    assert foreign._DLManagedTensorVersioned.dl_tensor.offset == 32


class Capsule:
    """A DLPack capsule over hand-made structs; counts deleter calls."""

    def __init__(self, shape=(2, 3), strides=None, code=2, bits=32, lanes=1, device=(2, 0),
                 data=FAKE_PTR, ndim=None, byte_offset=0, versioned=False, major=1, flags=0,
                 null_shape=False, name=None):
        self.deleted = []
        self._deleter = DELETER(self.deleted.append)
        self._shape = (ctypes.c_int64 * len(shape))(*shape)
        self._strides = (ctypes.c_int64 * len(shape))(*strides) if strides is not None else None
        if versioned:
            self.managed = foreign._DLManagedTensorVersioned()
            self.managed.version.major, self.managed.version.minor = major, 0
            self.managed.flags = flags
        else:
            self.managed = foreign._DLManagedTensor()
        t = self.managed.dl_tensor
        t.data = data
        t.device.device_type, t.device.device_id = device
        t.ndim = len(shape) if ndim is None else ndim
        t.dtype.code, t.dtype.bits, t.dtype.lanes = code, bits, lanes
        t.shape = None if null_shape else ctypes.cast(self._shape, ctypes.POINTER(ctypes.c_int64))
        if self._strides is not None:
            t.strides = ctypes.cast(self._strides, ctypes.POINTER(ctypes.c_int64))
        t.byte_offset = byte_offset
        self.managed.deleter = ctypes.cast(self._deleter, ctypes.c_void_p).value
        self.addr = ctypes.addressof(self.managed)
        name = name or (b"dltensor_versioned" if versioned else b"dltensor")
        self.capsule = _api.PyCapsule_New(self.addr, name, None)


def import_capsule(cap, **kwargs):
    return as_array(DLPackProducer(cap, **kwargs))


# ---------------------------------------------------------------------------------------------
# DLPack import


def test_dlpack_legacy_capsule_gives_shape_strides_dtype_and_offset():
    cap = Capsule(shape=(2, 3), code=4, bits=16, device=(2, 1), byte_offset=64)
    producer = DLPackProducer(cap)
    arr = as_array(producer)
    assert arr.shape == (2, 3) and arr.stride() == (3, 1) and arr.is_contiguous()
    assert str(arr.dtype) == "bfloat16" and arr.dtype_name == "bfloat16" and arr.itemsize == 2
    assert arr.data_ptr() == FAKE_PTR + 64
    assert arr.device.type == "cuda" and arr.device.index == 1 and str(arr.device) == "cuda:1"
    assert not arr.readonly
    # No stream named anywhere (and no torch CUDA here): the producer orders before the legacy one.
    if not ON_GPU:
        legacy = _driver.LEGACY_DEFAULT_STREAM
        assert producer.requests == [{"stream": legacy, "max_version": (1, 0)}]


def test_dlpack_versioned_capsule_with_strides_and_read_only_flag():
    cap = Capsule(shape=(4, 5), strides=(1, 4), versioned=True, flags=1)
    arr = import_capsule(cap)
    assert arr.shape == (4, 5) and arr.stride() == (1, 4) and not arr.is_contiguous()
    assert arr.readonly and str(arr.dtype) == "float32"


def test_dlpack_producer_without_max_version_is_asked_again():
    producer = DLPackProducer(Capsule(shape=(3,)), accepts_max_version=False)
    with _driver.stream(1234):
        arr = as_array(producer)
    assert arr.shape == (3,)
    assert producer.requests == [{"stream": 1234}]


def test_dlpack_deleter_runs_once_after_the_last_view_is_gone():
    cap = Capsule(shape=(4, 6))
    arr = import_capsule(cap)
    view = arr.reshape(2, 12)
    del arr
    assert cap.deleted == []
    del view
    assert cap.deleted == [cap.addr]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"device": (1, 0)}, ValueError, "device type 1 \\(CPU\\)"),
    ({"ndim": -1}, ValueError, "ndim -1"),
    ({"ndim": 1 << 30}, ValueError, "ndim 1073741824"),
    ({"data": 0}, ValueError, "null data pointer"),
    ({"null_shape": True}, ValueError, "null shape"),
    ({"shape": (2, -3)}, ValueError, "negative size"),
    ({"device": (2, -1)}, ValueError, "device id -1"),
    ({"lanes": 4}, TypeError, "lanes 4"),
    ({"code": 5, "bits": 64}, TypeError, "code 5"),
    ({"bits": 24}, TypeError, "bits 24"),
    ({"versioned": True, "major": 2}, ValueError, "DLPack 2.0"),
])
def test_hostile_capsules_raise_and_are_deleted_exactly_once(kwargs, error, match):
    cap = Capsule(**kwargs)
    with pytest.raises(error, match=match):
        import_capsule(cap)
    assert cap.deleted == [cap.addr]


def test_zero_size_tensor_may_have_a_null_pointer():
    cap = Capsule(shape=(0, 5), data=0)
    arr = import_capsule(cap)
    assert arr.shape == (0, 5) and arr.numel() == 0 and arr.data_ptr() == 0


def test_capsules_we_do_not_consume_are_left_to_their_producer():
    cap = Capsule(name=b"not_a_tensor")
    with pytest.raises(TypeError, match="capsule named b'not_a_tensor'"):
        import_capsule(cap)
    used = Capsule()
    import_capsule(used)  # consumed: renamed "used_dltensor"
    with pytest.raises(TypeError, match="used_dltensor"):
        import_capsule(used)
    with pytest.raises(TypeError, match="not a capsule"):
        as_array(DLPackProducer(12345))
    assert cap.deleted == [] and used.deleted == [used.addr]


def test_dlpack_producer_on_the_cpu_is_refused_before_asking_for_a_capsule():
    producer = DLPackProducer(Capsule(), device=(1, 0))
    with pytest.raises(ValueError, match="needs CUDA arrays.*CPU"):
        as_array(producer)
    assert producer.requests == []
    with pytest.raises(ValueError, match="needs CUDA arrays"):
        as_array(torch.zeros(3).numpy())


# ---------------------------------------------------------------------------------------------
# __cuda_array_interface__ import


@pytest.mark.parametrize("typestr, name, itemsize", [
    ("<f4", "float32", 4), ("<f2", "float16", 2), ("<f8", "float64", 8), ("<i8", "int64", 8),
    ("<i4", "int32", 4), ("|i1", "int8", 1), ("|u1", "uint8", 1), ("<u2", "uint16", 2),
    ("|b1", "bool", 1), ("=f4", "float32", 4), (">u1", "uint8", 1),
])
def test_cai_typestr_gives_the_dtype(typestr, name, itemsize):
    arr = as_array(FakeCAI((2, 3), typestr))
    assert str(arr.dtype) == name and arr.itemsize == itemsize and arr.element_size() == itemsize


@pytest.mark.parametrize("typestr", ["<c8", ">f4", "<V2", "f4", "<f3", 7])
def test_cai_unknown_typestr_is_a_type_error(typestr):
    with pytest.raises(TypeError, match="typestr|big-endian"):
        as_array(FakeCAI((2,), typestr))


def test_cai_strides_none_or_explicit_bytes():
    dense = as_array(FakeCAI((3, 4), "<f4", strides=None))
    assert dense.stride() == (4, 1) and dense.is_contiguous()
    explicit = as_array(FakeCAI((3, 4), "<f4", strides=(16, 4)))
    assert explicit.stride() == (4, 1) and explicit.is_contiguous()
    transposed = as_array(FakeCAI((3, 4), "<f2", strides=(2, 6)))
    assert transposed.stride() == (1, 3) and transposed.stride(-1) == 3
    assert not transposed.is_contiguous()
    padded = as_array(FakeCAI((3, 4), "<i8", strides=(64, 8)))
    assert padded.stride() == (8, 1)


def test_cai_versions_and_streams():
    v2 = as_array(FakeCAI((2,), version=2))
    assert v2._stream is None
    v3 = as_array(FakeCAI((2,), version=3, stream=7))
    assert v3._stream == 7
    assert as_array(FakeCAI((2,), version=3, stream=None))._stream is None
    for version in (1, 4):
        with pytest.raises(ValueError, match="version"):
            as_array(FakeCAI((2,), version=version))
    with pytest.raises(ValueError, match="version"):
        as_array(_without(FakeCAI((2,)), "version"))
    with pytest.raises(ValueError, match="stream 0"):
        as_array(FakeCAI((2,), stream=0))


def _without(fake, key):
    del fake.desc[key]
    return fake


def test_cai_read_only_flag_is_kept_and_exported():
    arr = as_array(FakeCAI((2, 2), readonly=True))
    assert arr.readonly
    assert arr.__cuda_array_interface__["data"] == (FAKE_PTR, True)
    assert not as_array(FakeCAI((2, 2))).readonly


@pytest.mark.parametrize("fake, error, match", [
    (FakeCAI((2, 3), ptr=0), ValueError, "null data pointer"),
    (FakeCAI((2, -3)), ValueError, "negative size"),
    (FakeCAI((2, 3), strides=(12, 2)), ValueError, "multiples"),
    (FakeCAI((2, 3), strides=(12,)), ValueError, "do not match"),
    (FakeCAI((2, 3), mask=object()), ValueError, "masked"),
    (FakeCAI((1,) * 65), ValueError, "65 dimensions"),
    (FakeCAI((2, 3.0)), TypeError, "must be an int"),
    (FakeCAI((2, 3), ptr=-16), ValueError, "negative"),
])
def test_malformed_cai_raises(fake, error, match):
    with pytest.raises(error, match=match):
        as_array(fake)


def test_cai_zero_size_may_have_a_null_pointer():
    arr = as_array(FakeCAI((0, 4), ptr=0))
    assert arr.numel() == 0 and arr.is_contiguous()


def test_objects_that_are_not_arrays_are_refused():
    with pytest.raises(TypeError, match="expected a CUDA array"):
        as_array(object())
    with pytest.raises(TypeError, match="torch tensors as they are"):
        as_array(torch.zeros(2))


# ---------------------------------------------------------------------------------------------
# the torch-like subset


def test_reshape_view_and_contiguous_rules():
    arr = as_array(FakeCAI((2, 3, 4)))
    assert arr.reshape(-1, 4).shape == (6, 4) and arr.reshape((6, 4)).stride() == (4, 1)
    assert arr.view(24).shape == (24,) and arr.reshape(2, 1, 12).stride() == (12, 12, 1)
    assert arr.contiguous() is arr
    assert arr.dim() == 3 and arr.ndim == 3 and arr.numel() == 24
    assert arr.size() == (2, 3, 4) and arr.size(1) == 3
    with pytest.raises(RuntimeError, match="invalid"):
        arr.reshape(5, -1)
    with pytest.raises(RuntimeError, match="invalid"):
        arr.reshape(-1, -1)
    transposed = as_array(FakeCAI((4, 6), strides=(4, 16)))
    with pytest.raises(ValueError, match="contiguous rows"):
        transposed.reshape(-1)
    with pytest.raises(ValueError, match="contiguous rows"):
        transposed.contiguous()
    # Padded rows: splitting the row dim is a view, merging rows is not.
    padded = as_array(FakeCAI((4, 6), strides=(48, 4)))
    assert padded.reshape(2, 2, 6).stride() == (24, 12, 1)
    with pytest.raises(ValueError, match="without a copy"):
        padded.reshape(24)
    # Size-1 dims with any stride are still contiguous; empty arrays reshape freely.
    assert as_array(FakeCAI((1, 5), strides=(999 * 4, 4))).is_contiguous()
    assert as_array(FakeCAI((0, 3), ptr=0)).reshape(3, 0).stride() == (1, 1)
    assert as_array(FakeCAI((), ptr=FAKE_PTR)).reshape(1, 1).shape == (1, 1)


def test_view_strides_agree_with_torch_views():
    # torch.Tensor.view is the oracle: the same strides when it succeeds, ValueError when it fails.
    base = torch.arange(2 * 3 * 4 * 5)
    layouts = [
        base.view(2, 3, 4, 5), base.view(2, 3, 4, 5).permute(1, 0, 2, 3), base.view(6, 20)[:, :10],
        base.view(2, 3, 4, 5)[:, :, ::2], base.view(1, 120).expand(3, 120),
        base.view(4, 1, 30).transpose(0, 1),
        base.view(2, 3, 4, 5).transpose(2, 3), base.view(120, 1)[::3],
    ]
    for t in layouts:
        numel = t.numel()
        arr = as_array(FakeCAI(tuple(t.shape), "<i8", strides=tuple(8 * s for s in t.stride())))
        targets = {(numel,), (1, numel)}
        for a, b in itertools.product((1, 2, 3, 4, 5, 6, 10), repeat=2):
            if numel % (a * b) == 0:
                targets.add((a, b, numel // (a * b)))
                targets.add((a, numel // a))
        for shape in sorted(targets):
            try:
                expected = t.view(shape).stride()
            except RuntimeError:
                with pytest.raises(ValueError):
                    arr.reshape(shape)
                continue
            got = arr.reshape(shape).stride()
            # Strides of size-1 dims are arbitrary in both libraries.
            kept = [g for g, s in zip(got, shape) if s != 1]
            wanted = [e for e, s in zip(expected, shape) if s != 1]
            assert kept == wanted, (t.shape, t.stride(), shape)


def test_as_rows_takes_a_foreign_view_and_refuses_a_copy():
    arr = as_array(FakeCAI((2, 3, 8)))
    rows = as_rows(arr)
    assert rows.shape == (6, 8) and rows.stride() == (8, 1) and rows.data_ptr() == arr.data_ptr()
    with pytest.raises(ValueError, match="contiguous rows"):
        as_rows(as_array(FakeCAI((4, 8), strides=(4, 16))))


def test_dtype_objects_are_what_triton_specializes_on():
    from triton.backends.compiler import BaseBackend
    from triton.runtime.jit import native_specialize_impl
    # Triton caches pointer types by hash(arg.dtype): interleave dtypes and arrays of both kinds.
    cases = [("<f4", "*fp32"), ("<f2", "*fp16"), ("<i8", "*i64"), ("|u1", "*u8"), ("|b1", "*u1")]
    for _ in range(3):
        for typestr, expected in cases:
            arr = as_array(FakeCAI((4,), typestr))
            assert native_specialize_impl(BaseBackend, arr, False, True, True) == (expected, "D")
            torch_arg = torch.zeros(2, dtype=torch.bfloat16)
            assert native_specialize_impl(BaseBackend, torch_arg, False, True, True)[0] == "*bf16"
        bf16 = as_array(FakeCAI((4,), "<u2", ptr=FAKE_PTR + 8), dtype="bfloat16")
        assert native_specialize_impl(BaseBackend, bf16, False, True, True) == ("*bf16", "")
    assert foreign.dtype("float32") is foreign.dtype(torch.float32) is as_array(FakeCAI((1,))).dtype
    assert repr(foreign.dtype("bfloat16")) == "vt.kernels.dtype('bfloat16')"
    with pytest.raises(TypeError, match="unsupported dtype"):
        foreign.dtype("complex64")


def test_as_array_reinterprets_only_equal_item_sizes():
    arr = as_array(FakeCAI((3,), "<u2"), dtype="bfloat16")
    assert arr.dtype is foreign.BFLOAT16 and arr.__cuda_array_interface__["typestr"] == "<u2"
    assert as_array(arr) is arr
    with pytest.raises(ValueError, match="item sizes differ"):
        as_array(FakeCAI((3,), "<u2"), dtype="float32")


# ---------------------------------------------------------------------------------------------
# allocation through the producer, unwrap, exports


def test_new_empty_allocates_through_the_namespace_and_unwrap_returns_it():
    ns = FakeNamespace()
    x = as_array(FakeCAI((4, 6), namespace=ns))
    y = x.new_empty((4, 6), "float32")
    assert ns.calls == [("empty", (4, 6), "<f4")]
    assert y.shape == (4, 6) and y.is_contiguous() and y.dtype is x.dtype
    produced = y.unwrap()
    assert isinstance(produced, FakeCAI) and produced.desc["data"][0] == y.data_ptr()
    assert y.reshape(24).reshape(4, 6).unwrap() is produced  # the full view is the original
    flat = y.reshape(2, 12).unwrap()
    assert ns.calls[-1] == ("reshape", (2, 12)) and flat.desc["shape"] == (2, 12)


def test_bfloat16_without_library_support_is_held_in_uint16():
    ns = FakeNamespace()
    x = as_array(FakeCAI((2, 8), namespace=ns))
    y = x.new_empty((2, 8), "bfloat16")
    assert ns.calls == [("empty", (2, 8), "<u2")]
    assert y.dtype is foreign.BFLOAT16
    assert y.unwrap().desc["typestr"] == "<u2"


@needs_no_driver
def test_strided_views_come_back_through_dlpack():
    ns = FakeNamespace()
    padded = as_array(FakeCAI((4, 6), strides=(48, 4), namespace=ns))
    view = padded.reshape(2, 2, 6)
    out = view.unwrap()
    assert ns.calls == [("from_dlpack",)]
    assert out.desc["shape"] == (2, 2, 6) and out.desc["strides"] == (96, 48, 4)
    assert foreign._exports == {}  # the consumer's deleter dropped the export


def test_new_empty_without_a_namespace_names_what_is_missing():
    x = as_array(FakeCAI((2, 2)))
    with pytest.raises(NotImplementedError, match="__array_namespace__"):
        x.new_empty((2, 2), "float32")
    with pytest.raises(NotImplementedError, match="has no float64"):
        as_array(FakeCAI((2,), namespace=FakeNamespace())).new_empty((2,), "float64")


@needs_no_driver
@pytest.mark.parametrize("versioned", [False, True])
def test_dlpack_export_round_trips_and_releases(versioned):
    src = as_array(FakeCAI((3, 5), "<f2", strides=(2, 6), readonly=True))
    capsule = src.__dlpack__(max_version=(1, 0) if versioned else None)
    back = as_array(DLPackProducer(capsule))
    assert back.shape == (3, 5) and back.stride() == (1, 3) and back.dtype is src.dtype
    assert back.data_ptr() == src.data_ptr() and back.readonly == versioned
    assert len(foreign._exports) == 1
    del back
    assert foreign._exports == {}
    # A capsule nobody consumed is swept once nothing but the table holds it.
    unused = src.__dlpack__()
    foreign._sweep_exports()
    assert len(foreign._exports) == 1
    del unused
    foreign._sweep_exports()
    assert foreign._exports == {}
    with pytest.raises(BufferError):
        src.__dlpack__(copy=True)


@needs_no_driver
def test_a_consumer_that_rejects_the_capsule_keeps_its_own_exception():
    # NumPy takes the capsule, then refuses CUDA memory: its error must reach the caller intact
    # (a capsule destructor running Python code here would clobber it).
    arr = as_array(FakeCAI((2, 3)))
    with pytest.raises(RuntimeError, match="Unsupported device"):
        np.from_dlpack(arr)
    foreign._sweep_exports()
    assert foreign._exports == {}


def test_cai_export_describes_the_view():
    padded = as_array(FakeCAI((4, 6), strides=(48, 4)))
    desc = padded.reshape(2, 2, 6).__cuda_array_interface__
    assert desc["shape"] == (2, 2, 6) and desc["strides"] == (96, 48, 4)
    assert desc["typestr"] == "<f4"
    assert desc["version"] == 3 and desc["stream"] is None
    assert as_array(FakeCAI((4, 6))).__cuda_array_interface__["strides"] is None


# ---------------------------------------------------------------------------------------------
# launch eligibility


def test_triton_reason_for_foreign_arrays():
    arr = as_array(FakeCAI((2, 4)))
    assert _device_type(arr) == "cuda"
    if not ON_GPU:
        assert "interpreter" in triton_reason(arr)
    assert "as_array" in triton_reason(FakeCAI((2, 4)))
    assert triton_reason(None) is None


# ---------------------------------------------------------------------------------------------
# wrap_inputs, foreign_arrays and streams


def test_torch_and_plain_arguments_pass_through():
    x = torch.zeros(2)
    wrapped, unwrap = wrap_inputs(x, None, 1.5, [x])
    assert wrapped == (x, None, 1.5, [x])
    with unwrap:
        assert _driver.scope_stream() is None
    assert unwrap(x) is x


@needs_no_driver
def test_wrap_inputs_scope_stream_and_unwrap():
    ns = FakeNamespace()
    x = FakeCAI((2, 4), stream=7, namespace=ns)
    w = FakeCAI((4,), stream=7, namespace=ns)
    wrapped, unwrap = wrap_inputs(x, w, None, 1e-6)
    wx, ww, none, eps = wrapped
    assert isinstance(wx, DeviceArray) and isinstance(ww, DeviceArray)
    assert none is None and eps == 1e-6
    assert unwrap.stream == 7 and unwrap.device == 0
    with unwrap:
        assert _driver.scope_stream() == 7
        y = wx.new_empty(wx.shape)
        assert y._stream == 7
    assert _driver.scope_stream() is None
    out = unwrap((y, wx, [y.reshape(8)], None))
    assert isinstance(out, tuple) and isinstance(out[0], FakeCAI) and out[1] is x
    assert isinstance(out[2], list) and out[2][0].desc["shape"] == (8,) and out[3] is None


@needs_no_driver
def test_wrap_inputs_stream_precedence_and_dlpack_handshake():
    cai = FakeCAI((2, 3), stream=11)
    producer = DLPackProducer(Capsule(shape=(3,)))
    _, call = wrap_inputs(cai, producer)
    assert call.stream == 11 and producer.requests[0]["stream"] == 11
    # vt.kernels.stream wins over the producers'; an enclosing call's scope wins over them too.
    with _driver.stream(99):
        assert wrap_inputs(FakeCAI((2,), stream=11))[1].stream == 99
    with _driver.launch_scope(55, None):
        assert wrap_inputs(FakeCAI((2,), stream=11))[1].stream == 55
    # Nothing declared: the legacy default stream (0), passed to DLPack as 1.
    lone = DLPackProducer(Capsule(shape=(3,)))
    assert wrap_inputs(lone)[1].stream == 0 and lone.requests[0]["stream"] == 1


@needs_no_driver
def test_device_array_inputs_give_device_array_outputs():
    ns = FakeNamespace()
    x = as_array(FakeCAI((2, 4), namespace=ns))
    wrapped, unwrap = wrap_inputs(x)
    assert wrapped[0] is x
    with unwrap:
        y = x.new_empty(x.shape)
    assert unwrap(y) is y


@needs_no_driver
def test_foreign_arrays_decorator_wraps_positional_and_keyword_arguments():
    ns = FakeNamespace()
    seen = {}

    @foreign_arrays
    def op(x, weight=None, eps=1e-6, residual=None):
        seen.update(x=x, weight=weight, residual=residual, stream=_driver.scope_stream())
        return x.new_empty(x.shape), residual

    x, r = FakeCAI((2, 4), stream=5, namespace=ns), FakeCAI((2, 4), stream=5, namespace=ns)
    y, back = op(x, None, eps=1e-5, residual=r)
    assert isinstance(seen["x"], DeviceArray) and isinstance(seen["residual"], DeviceArray)
    assert seen["weight"] is None and seen["stream"] == 5
    assert isinstance(y, FakeCAI) and back is r
    t = torch.ones(2, 4)
    assert op(t)[0].shape == t.shape  # torch goes straight through


def test_stream_context_is_thread_local_and_nests():
    seen = []
    with _driver.stream(10):
        with _driver.stream(20):
            assert _driver.explicit_stream() == 20
            worker = threading.Thread(target=lambda: seen.append(_driver.explicit_stream()))
            worker.start()
            worker.join()
        assert _driver.explicit_stream() == 10
        if not ON_GPU:
            assert _driver._current_stream(None) == 10
    assert _driver.explicit_stream() is None and seen == [None]


def test_stream_handles_from_stream_objects():
    class CupyLike:
        ptr = 123

    class TorchLike:
        cuda_stream = 456

    class Protocol:
        def __cuda_stream__(self):
            return (0, 789)

    streams = (5, CupyLike(), TorchLike(), Protocol())
    assert [_driver.stream_handle(s) for s in streams] == [5, 123, 456, 789]
    with pytest.raises(TypeError):
        _driver.stream_handle(True)
    with pytest.raises(TypeError, match="stream object"):
        _driver.stream_handle("default")
    with pytest.raises(ValueError):
        _driver.stream_handle(-1)


# ---------------------------------------------------------------------------------------------
# without torch


def _run_without_torch(code: str, env_extra: dict | None = None):
    # `import torch` fails before anything else runs: the package must import and work without it.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE_SRC), str(HERE),
                                                       os.environ.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    prelude = "import sys\nsys.modules['torch'] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + code], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.skipif(ON_GPU, reason="the GPU variant runs tests/gpu_no_torch.py")
def test_imports_and_wraps_without_torch():
    proc = _run_without_torch(
        "import vt.kernels as vk\n"
        "from vt.kernels._foreign import as_array\n"
        "from vt.kernels._launch import sm_count\n"
        "from vt.kernels._compat import torch\n"
        "assert torch is None\n"
        "class A:\n"
        "    __cuda_array_interface__ = dict(shape=(2, 3), typestr='<f4', data=(4096, False),\n"
        "                                    version=2)\n"
        "arr = as_array(A())\n"
        "assert arr.shape == (2, 3) and str(arr.dtype) == 'float32'\n"
        "reasons = dict(vk.explain('rms_norm', arr, None, None, 1e-6))\n"
        "assert reasons['reference'] == 'torch is not installed', reasons\n"
        "assert sm_count(0) == 4\n"
        "print('ok')\n",
        {"TRITON_INTERPRET": "1"})
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def _run_cupy_script_without_torch(script: str):
    """Runs tests/<script>.py (which blocks torch itself) on the GPU; it prints "<script>: ok"."""
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("cupy is not installed")
    path = os.pathsep.join([str(PACKAGE_SRC), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    env.pop("TRITON_INTERPRET", None)
    proc = subprocess.run([sys.executable, str(HERE / f"{script}.py")], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{script}: ok" in proc.stdout


@pytest.mark.cuda
def test_rms_norm_on_cupy_without_torch():
    _run_cupy_script_without_torch("gpu_no_torch")


@pytest.mark.cuda
def test_kernel_families_on_cupy_without_torch():
    _run_cupy_script_without_torch("gpu_no_torch_families")


# ---------------------------------------------------------------------------------------------
# on a GPU with torch present: foreign wrappers over torch memory


class TorchBacked:
    """A foreign array over a torch CUDA tensor that speaks only CAI (v3, with a stream) or only
    DLPack, and allocates through a namespace of the same kind."""

    def __init__(self, tensor, kind, stream=None):
        self.t, self.kind, self.stream = tensor, kind, stream

    def __getattr__(self, name):
        if name == "__cuda_array_interface__" and self.kind == "cai":
            desc = dict(self.t.__cuda_array_interface__, version=3)
            desc["stream"] = self.stream
            return desc
        if name in ("__dlpack__", "__dlpack_device__") and self.kind == "dlpack":
            return getattr(self.t, name)
        raise AttributeError(name)

    def __array_namespace__(self):
        return TorchNamespace(self.kind, self.stream)


class TorchNamespace:
    def __init__(self, kind, stream):
        self.kind, self.stream = kind, stream

    def __getattr__(self, name):
        if name in ("float32", "float16", "bfloat16", "uint16", "int64"):
            return getattr(torch, name)
        raise AttributeError(name)

    def empty(self, shape, dtype):
        return TorchBacked(torch.empty(shape, dtype=dtype, device="cuda"), self.kind, self.stream)

    def reshape(self, x, shape):
        return TorchBacked(x.t.reshape(shape), self.kind, self.stream)

    def from_dlpack(self, x):
        return TorchBacked(torch.from_dlpack(x), self.kind, self.stream)


def _reference_rms_norm(x, w, eps):
    xf = x.float()
    return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * w.float()


@pytest.mark.cuda
@pytest.mark.parametrize("kind, dtype", [("cai", torch.float32), ("cai", torch.float16),
                                         ("dlpack", torch.bfloat16), ("dlpack", torch.float32)])
def test_rms_norm_on_foreign_wrappers_of_torch_memory_launches_on_their_stream(kind, dtype):
    import triton
    from tolerances import assert_close
    from vt.kernels.rms_norm import rms_norm, rms_norm_backward, rms_norm_forward
    op, fwd, bwd = (foreign_arrays(f) for f in (rms_norm, rms_norm_forward, rms_norm_backward))
    side = torch.cuda.Stream()
    launches = []
    hook = lambda metadata: launches.append(metadata.get()["stream"])
    # The hook sees Triton launches: keep 16-bit inference forwards off the CuTeDSL backend,
    # which they would prefer when cutlass-dsl is installed.
    with use_impl("triton", "rms_norm"):
        triton.knobs.runtime.launch_enter_hook.add(hook)
        try:
            x = torch.randn(3, 5, 200, device="cuda", dtype=dtype)
            w = torch.randn(200, device="cuda", dtype=dtype)
            dy = torch.randn(15, 200, device="cuda", dtype=dtype)
            torch.cuda.synchronize()
            if kind == "cai":  # the CAI v3 stream names the launch stream
                xs, ws, dys = (TorchBacked(t, kind, side.cuda_stream) for t in (x, w, dy))
                y = op(xs, ws, 1e-6)
                _, _, rstd = fwd(TorchBacked(x.view(15, 200), kind, side.cuda_stream), ws, 1e-6)
                dx, dw = bwd(dys, TorchBacked(x.view(15, 200), kind, side.cuda_stream), ws, rstd)
            else:  # DLPack carries no stream: name one
                xs, ws, dys = (TorchBacked(t, kind) for t in (x, w, dy))
                with _driver.stream(side):
                    y = op(xs, ws, 1e-6)
                    _, _, rstd = fwd(TorchBacked(x.view(15, 200), kind), ws, 1e-6)
                    dx, dw = bwd(dys, TorchBacked(x.view(15, 200), kind), ws, rstd)
            side.synchronize()
            assert launches and set(launches) == {side.cuda_stream}
            assert isinstance(y, TorchBacked) and y.t.shape == x.shape and y.t.dtype == dtype
            assert_close(y.t, _reference_rms_norm(x, w, 1e-6).to(dtype), dtype)
            x2 = x.view(15, 200).float().requires_grad_(True)
            w2 = w.float().requires_grad_(True)
            _reference_rms_norm(x2, w2, 1e-6).backward(dy.float())
            assert_close(dx.t, x2.grad, dtype)
            assert_close(dw.t, w2.grad, dtype, reduced=True)
            # torch tensors still launch on torch's current stream through the installed driver.
            launches.clear()
            other = torch.cuda.Stream()
            with torch.cuda.stream(other):
                rms_norm(x, w)
            other.synchronize()
            assert set(launches) == {other.cuda_stream}
        finally:
            triton.knobs.runtime.launch_enter_hook.remove(hook)


# ---------------------------------------------------------------------------------------------
# torch tensors on a GPU other than the current one


def _record_device_switches(monkeypatch, tensor_gpu: int, current_gpu: int) -> list:
    """Makes every torch tensor look like it lives on `tensor_gpu` while `current_gpu` is
    current, and records the devices the calls switch to."""
    switched = []

    class Switch:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            switched.append(self.index)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(foreign, "_cuda_index", lambda tensor: tensor_gpu)
    monkeypatch.setattr(foreign, "_current_cuda_index", lambda: current_gpu)
    monkeypatch.setattr(torch.cuda, "device", Switch)
    return switched


def test_torch_calls_make_their_tensors_gpu_current(monkeypatch):
    import vt.kernels as vk
    from vt.kernels.linear_cross_entropy import linear_cross_entropy

    x, w = torch.randn(4, 32), torch.randn(32)
    expected_norm = vk.rms_norm(x, w, 1e-6)
    hidden, weight, target = torch.randn(4, 16), torch.randn(8, 16), torch.tensor([1, 2, 3, 0])
    expected_loss = linear_cross_entropy(hidden, weight, target)
    switched = _record_device_switches(monkeypatch, tensor_gpu=1, current_gpu=0)
    torch.testing.assert_close(vk.rms_norm(x, w, 1e-6), expected_norm)
    assert switched == [1]
    torch.testing.assert_close(linear_cross_entropy(hidden, weight, target), expected_loss)
    assert switched[-1] == 1
    # list arguments (the optimizer steps) switch to their first tensor's GPU
    params, grads = [torch.randn(8)], [torch.randn(8)]
    vk.optim.sgd_step(params, grads, [None], 0.1, 0.0, 0.0, 0.0, False)
    assert switched[-1] == 1


def test_torch_calls_on_the_current_gpu_do_not_switch(monkeypatch):
    import vt.kernels as vk

    switched = _record_device_switches(monkeypatch, tensor_gpu=0, current_gpu=0)
    vk.rms_norm(torch.randn(4, 32), torch.randn(32), 1e-6)
    assert switched == []


needs_two_gpus = pytest.mark.skipif(not ON_GPU or torch.cuda.device_count() < 2,
                                    reason="needs two CUDA GPUs")


@needs_two_gpus
def test_kernels_run_on_a_gpu_that_is_not_current():
    import vt.kernels as vk

    torch.manual_seed(0)
    on0 = {"x": torch.randn(64, 256, device="cuda:0", dtype=torch.bfloat16, requires_grad=True),
           "w": torch.randn(256, device="cuda:0", dtype=torch.bfloat16, requires_grad=True),
           "q": torch.randn(2, 4, 128, 64, device="cuda:0", dtype=torch.bfloat16)}
    on1 = {k: v.detach().to("cuda:1").requires_grad_(v.requires_grad) for k, v in on0.items()}
    results = []
    with torch.cuda.device(0):
        for d in (on0, on1):
            y = vk.layer_norm(d["x"], d["w"], None, 1e-5)
            y.float().square().sum().backward()
            attn = vk.attention(d["q"], d["q"], d["q"], causal=True)
            params, grads = [d["w"].detach().clone()], [d["w"].grad.clone()]
            vk.optim.sgd_step(params, grads, [None], 0.1, 0.0, 0.0, 0.0, False)
            results.append([t.cpu() for t in (y, d["x"].grad, d["w"].grad, attn, params[0])])
            assert {t.device for t in (y, d["x"].grad, attn, params[0])} == {d["x"].device}
    for ours, expected in zip(results[1], results[0]):
        torch.testing.assert_close(ours, expected)
