"""DLPack: Tensor.__dlpack__ / __dlpack_device__ and vt.core.from_dlpack, zero-copy both ways with
numpy and torch, capsule ownership, the read-only policy, and hostile capsules built with ctypes.

Read-only policy under test: vt tensors are always writable, so a producer's read-only tensor is
imported as a copy, or refused with BufferError when copy=False.
"""

import ctypes
import gc

import numpy as np
import pytest
import vt.core as vt
from reference import from_torch, to_torch

torch = pytest.importorskip("torch")

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
NUMPY_DTYPES = [d for d in ALL_DTYPES if d != "bfloat16"]

_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype = ctypes.c_char_p
_get_name.argtypes = [ctypes.py_object]


def capsule_name(capsule) -> str:
    return _get_name(capsule).decode()


def torch_sample(dtype: str, layout: str) -> "torch.Tensor":
    """A torch tensor of dtype with the given layout; values are distinct where the dtype allows."""
    g = torch.Generator().manual_seed(0)
    base = torch.randint(-50, 50, (6, 10), generator=g).to(getattr(torch, dtype))
    if dtype == "bool":
        base = torch.rand(6, 10, generator=g) > 0.5
    elif dtype == "uint8":
        base = torch.randint(0, 250, (6, 10), generator=g, dtype=torch.uint8)
    return {
        "contiguous": base,
        "transposed": base.t(),
        "strided": base[::2, 1::3],
        "offset": base[2:, 3:7],
        "zero_dim": base[1, 2],
        "empty": base[:0, 2:5],
        "expanded": base[0:1, :4].expand(3, 4),
    }[layout]


LAYOUTS = ["contiguous", "transposed", "strided", "offset", "zero_dim", "empty", "expanded"]


def same_geometry(vt_t, other, itemsize):
    assert tuple(vt_t.shape) == tuple(other.shape)
    if isinstance(other, np.ndarray):
        other_strides = tuple(s // itemsize for s in other.strides)
        other_ptr = other.ctypes.data
    else:
        other_strides = tuple(other.stride())
        other_ptr = other.data_ptr()
    if vt_t.numel() > 0:
        assert vt_t.data_ptr() == other_ptr, "not zero-copy"
        assert vt_t.stride() == other_strides


# --------------------------------------------------------------------------------------------
# capsules and devices
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_version, name", [
    (None, "dltensor"), ((0, 8), "dltensor"), ((1, 0), "dltensor_versioned"),
    ((1, 1), "dltensor_versioned"), ((2, 0), "dltensor_versioned"),
])
def test_capsule_kind_follows_max_version(max_version, name):
    cap = vt.arange(4).__dlpack__(max_version=max_version)
    assert capsule_name(cap) == name
    assert torch.equal(torch.from_dlpack(cap), torch.arange(4))


def test_dlpack_device():
    assert vt.zeros(2).__dlpack_device__() == (1, 0)
    assert vt.zeros(2).__dlpack_device__() == torch.zeros(2).__dlpack_device__()


def test_bad_arguments_of_dunder_dlpack():
    t = vt.zeros(3)
    assert capsule_name(t.__dlpack__(stream=None)) == "dltensor"
    assert capsule_name(t.__dlpack__(stream=-1)) == "dltensor"
    with pytest.raises(ValueError, match="stream must be None"):
        t.__dlpack__(stream=1)
    with pytest.raises(TypeError, match="stream must be an int"):
        t.__dlpack__(stream="default")
    with pytest.raises(TypeError, match="max_version"):
        t.__dlpack__(max_version=1)
    with pytest.raises(TypeError, match="copy"):
        t.__dlpack__(copy=1)
    with pytest.raises(BufferError, match="cannot export a cpu tensor"):
        t.__dlpack__(dl_device=(2, 0))
    assert capsule_name(t.__dlpack__(dl_device=(1, 0), max_version=(1, 0))) == "dltensor_versioned"


def test_export_copy_true_copies_and_sets_is_copied():
    t = vt.arange(5, dtype=vt.float32)
    out = torch.from_dlpack(t.__dlpack__(max_version=(1, 0), copy=True))
    assert out.data_ptr() != t.data_ptr()
    assert torch.equal(out, torch.arange(5, dtype=torch.float32))
    # torch reads the flag: a copied capsule is not a view
    out[0] = 7
    assert t[0].item() == 0


def test_from_dlpack_of_non_dlpack_object():
    with pytest.raises(TypeError, match="expected an object with __dlpack__"):
        vt.from_dlpack([1, 2, 3])


def test_from_dlpack_of_vt_tensor_is_the_same_memory():
    t = vt.arange(6).reshape(2, 3)
    assert vt.from_dlpack(t).data_ptr() == t.data_ptr()
    assert vt.from_dlpack(t, copy=True).data_ptr() != t.data_ptr()


# --------------------------------------------------------------------------------------------
# zero-copy with numpy and torch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_numpy_from_vt_and_back(dtype, layout):
    src = torch_sample(dtype, layout)
    t = from_torch(src)
    arr = np.from_dlpack(t)
    assert arr.dtype == np.dtype(dtype)
    same_geometry(t, arr, arr.itemsize)
    np.testing.assert_array_equal(arr, src.numpy())
    back = vt.from_dlpack(arr)
    same_geometry(back, arr, arr.itemsize)
    assert torch.equal(to_torch(back), src)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_vt_from_numpy_views_its_memory(dtype, layout):
    arr = torch_sample(dtype, layout).numpy()
    t = vt.from_dlpack(arr)
    same_geometry(t, arr, arr.itemsize)
    assert torch.equal(to_torch(t), torch.from_numpy(arr.copy()))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_torch_from_vt_and_back(dtype, layout):
    src = torch_sample(dtype, layout)
    t = vt.from_dlpack(src)
    same_geometry(t, src, src.element_size())
    assert t.dtype == getattr(vt, dtype)
    assert torch.equal(to_torch(t), src)
    out = torch.from_dlpack(t)
    assert out.dtype == src.dtype
    same_geometry(t, out, out.element_size())
    assert torch.equal(out, src)


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_torch_capsules_of_both_kinds(max_version):
    src = torch.arange(12, dtype=torch.float64).reshape(3, 4)[:, 1:]
    cap = src.__dlpack__(max_version=max_version)
    t = vt.from_dlpack(cap)
    assert capsule_name(cap).startswith("used_")
    same_geometry(t, src, 8)
    assert torch.equal(to_torch(t), src)


def test_writes_are_shared_both_ways():
    arr = np.zeros((3, 4), dtype=np.float32)
    t = vt.from_dlpack(arr)
    t[1, 2] = 5.0
    assert arr[1, 2] == 5.0
    arr[0, 0] = -1.0
    assert t[0, 0].item() == -1.0
    src = torch.zeros(4, dtype=torch.int32)
    out = torch.from_dlpack(vt.from_dlpack(src))
    out[3] = 9
    assert src[3].item() == 9


def test_negative_strides_are_refused():
    arr = np.arange(6.0)[::-1]
    with pytest.raises(ValueError, match="negative strides"):
        vt.from_dlpack(arr)
    # a copy made by the caller works
    assert torch.equal(to_torch(vt.from_dlpack(np.ascontiguousarray(arr))), torch.arange(5.0, -1, -1, dtype=torch.float64))


# --------------------------------------------------------------------------------------------
# the consumer protocol: max_version, fallback, copy, device
# --------------------------------------------------------------------------------------------


class Producer:
    """Hands out a torch tensor's capsule and records how __dlpack__ was called."""

    def __init__(self, tensor, legacy=False):
        self.tensor, self.legacy, self.calls = tensor, legacy, []

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()

    def __dlpack__(self, **kwargs):
        self.calls.append(kwargs)
        if self.legacy and kwargs:
            raise TypeError("__dlpack__() got an unexpected keyword argument 'max_version'")
        return self.tensor.__dlpack__(**kwargs)


def test_from_dlpack_asks_for_dlpack_1_1():
    p = Producer(torch.arange(3))
    t = vt.from_dlpack(p)
    assert p.calls == [{"max_version": (1, 1)}]
    assert torch.equal(to_torch(t), torch.arange(3))


def test_from_dlpack_falls_back_to_a_legacy_call():
    p = Producer(torch.arange(3.0), legacy=True)
    t = vt.from_dlpack(p)
    assert p.calls == [{"max_version": (1, 1)}, {}]
    assert t.data_ptr() == p.tensor.data_ptr()


def test_from_dlpack_copy_argument():
    arr = np.arange(5, dtype=np.int64)
    assert vt.from_dlpack(arr, copy=False).data_ptr() == arr.ctypes.data
    copied = vt.from_dlpack(arr, copy=True)
    assert copied.data_ptr() != arr.ctypes.data
    assert copied.tolist() == [0, 1, 2, 3, 4]
    # a legacy producer cannot copy: vt copies after the import
    p = Producer(torch.arange(4), legacy=True)
    assert vt.from_dlpack(p, copy=True).data_ptr() != p.tensor.data_ptr()
    with pytest.raises(TypeError, match="copy"):
        vt.from_dlpack(arr, copy="yes")


def test_from_dlpack_device_argument():
    arr = np.arange(3.0)
    assert vt.from_dlpack(arr, device="cpu").data_ptr() == arr.ctypes.data


def test_producer_on_another_device_is_not_implemented():
    class CudaProducer:
        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be called")

    with pytest.raises(NotImplementedError, match="DLPack device type 2"):
        vt.from_dlpack(CudaProducer())


def test_read_only_numpy_array_is_copied():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    arr.flags.writeable = False
    t = vt.from_dlpack(arr)
    assert t.data_ptr() != arr.ctypes.data
    assert torch.equal(to_torch(t), torch.from_numpy(arr.copy()))
    t[0, 0] = 100.0  # the copy is writable; the array is untouched
    assert arr[0, 0] == 0.0


def test_read_only_numpy_array_with_copy_false_is_refused():
    arr = np.arange(3.0)
    arr.flags.writeable = False
    with pytest.raises(BufferError, match="READ_ONLY"):
        vt.from_dlpack(arr, copy=False)
    # numpy itself would share it read-only, which vt cannot represent
    assert np.from_dlpack(arr, copy=False).ctypes.data == arr.ctypes.data


# --------------------------------------------------------------------------------------------
# ownership: deleters run exactly once
# --------------------------------------------------------------------------------------------


def allocated():
    gc.collect()
    return vt.allocator_stats()["allocated_bytes"]


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_unconsumed_capsule_frees_its_tensor(max_version):
    before = allocated()
    t = vt.zeros(1 << 16)
    cap = t.__dlpack__(max_version=max_version)
    del t
    assert allocated() - before == 4 << 16  # the capsule keeps the storage
    del cap
    assert allocated() == before


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_consumed_capsule_hands_ownership_to_the_tensor(max_version):
    before = allocated()
    t = vt.ones(1 << 16)
    cap = t.__dlpack__(max_version=max_version)
    del t
    back = vt.from_dlpack(cap)
    assert capsule_name(cap) == "used_" + ("dltensor_versioned" if max_version else "dltensor")
    del cap
    assert allocated() - before == 4 << 16
    assert back.sum().item() == 1 << 16
    del back
    assert allocated() == before


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_consuming_twice_raises(max_version):
    cap = vt.arange(3).__dlpack__(max_version=max_version)
    vt.from_dlpack(cap)
    with pytest.raises(ValueError, match="already consumed"):
        vt.from_dlpack(cap)
    with pytest.raises(RuntimeError):  # torch agrees that it is spent
        torch.from_dlpack(cap)


# --------------------------------------------------------------------------------------------
# hostile capsules, built with ctypes
# --------------------------------------------------------------------------------------------


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensorVersioned(ctypes.Structure):
    pass


VERSIONED_DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensorVersioned))
DLManagedTensorVersioned._fields_ = [
    ("major", ctypes.c_uint32), ("minor", ctypes.c_uint32), ("manager_ctx", ctypes.c_void_p),
    ("deleter", VERSIONED_DELETER), ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


class DLManagedTensor(ctypes.Structure):
    pass


LEGACY_DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                            ("deleter", LEGACY_DELETER)]

_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]


class Foreign:
    """A 2x3 float32 tensor owned by Python, exported as a capsule with a counting deleter."""

    def __init__(self, versioned=True, name=None):
        self.buffer = (ctypes.c_float * 16)(*range(16))
        self.shape = (ctypes.c_int64 * 2)(2, 3)
        self.strides = (ctypes.c_int64 * 2)(3, 1)
        self.deletes = 0
        self.versioned = versioned
        cls, deleter_type = ((DLManagedTensorVersioned, VERSIONED_DELETER) if versioned
                             else (DLManagedTensor, LEGACY_DELETER))
        self.deleter = deleter_type(self._count)
        self.m = cls()
        if versioned:
            self.m.major, self.m.minor = 1, 1
        self.m.deleter = self.deleter
        dl = self.m.dl_tensor
        dl.data = ctypes.addressof(self.buffer)
        dl.device = DLDevice(1, 0)
        dl.ndim = 2
        dl.dtype = DLDataType(2, 32, 1)
        dl.shape = self.shape
        dl.strides = self.strides
        self.name = ctypes.create_string_buffer(
            (name or ("dltensor_versioned" if versioned else "dltensor")).encode())

    def _count(self, _ptr):
        self.deletes += 1

    def capsule(self):
        # no capsule destructor: the test owns the struct and counts the deleter itself
        return _capsule_new(ctypes.addressof(self.m), ctypes.addressof(self.name), None)


def test_valid_foreign_capsule_is_viewed_and_deleted_once():
    for versioned in (True, False):
        f = Foreign(versioned)
        cap = f.capsule()
        t = vt.from_dlpack(cap)
        assert t.shape == (2, 3) and t.stride() == (3, 1)
        assert t.data_ptr() == ctypes.addressof(f.buffer)
        assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
        assert f.deletes == 0
        del t
        gc.collect()
        assert f.deletes == 1


def spoil_strides(f):
    f.strides[0] = -3


def spoil_overflow(f):
    f.shape[0], f.strides[0] = 3, 2**62


HOSTILE = {
    "wrong_capsule_name": (lambda f: None, "not_a_tensor", ValueError, "not a DLPack tensor"),
    "already_consumed_name": (lambda f: None, "used_dltensor_versioned", ValueError, "already consumed"),
    "negative_strides": (spoil_strides, None, ValueError, "negative strides"),
    "overflowing_strides": (spoil_overflow, None, ValueError, "overflow"),
    "unknown_dtype_code": (lambda f: setattr(f.m.dl_tensor.dtype, "code", 3), None, TypeError, "unsupported DLPack dtype"),
    "float8": (lambda f: setattr(f.m.dl_tensor.dtype, "bits", 8), None, TypeError, "unsupported DLPack dtype"),
    "lanes_4": (lambda f: setattr(f.m.dl_tensor.dtype, "lanes", 4), None, TypeError, "lanes=4"),
    "ndim_negative": (lambda f: setattr(f.m.dl_tensor, "ndim", -1), None, ValueError, "ndim -1"),
    "ndim_too_large": (lambda f: setattr(f.m.dl_tensor, "ndim", 65), None, ValueError, "ndim 65"),
    "null_shape": (lambda f: setattr(f.m.dl_tensor, "shape", None), None, ValueError, "shape is NULL"),
    "negative_size": (lambda f: f.shape.__setitem__(1, -2), None, ValueError, "negative size"),
    "null_data": (lambda f: setattr(f.m.dl_tensor, "data", None), None, ValueError, "data is NULL"),
    "misaligned_byte_offset": (lambda f: setattr(f.m.dl_tensor, "byte_offset", 2), None, ValueError, "byte_offset 2"),
    "misaligned_data": (lambda f: setattr(f.m.dl_tensor, "data", ctypes.addressof(f.buffer) + 1), None, ValueError, "not aligned"),
    "unsupported_device": (lambda f: setattr(f.m.dl_tensor, "device", DLDevice(12, 0)), None, ValueError, "device type 12"),
    "cpu_device_id_1": (lambda f: setattr(f.m.dl_tensor, "device", DLDevice(1, 1)), None, ValueError, "CPU device id"),
    "numel_overflow": (lambda f: (f.shape.__setitem__(0, 2**62), f.shape.__setitem__(1, 4)), None, RuntimeError, "overflows int64"),
}


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "legacy"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_capsule_is_refused_untouched(case, versioned):
    spoil, name, error, match = HOSTILE[case]
    if name == "used_dltensor_versioned" and not versioned:
        name = "used_dltensor"
    f = Foreign(versioned, name)
    spoil(f)
    cap = f.capsule()
    before = bytes(f.buffer)
    with pytest.raises(error, match=match):
        vt.from_dlpack(cap)
    gc.collect()
    assert f.deletes == 0, "on failure the producer keeps ownership"
    assert capsule_name(cap) == f.name.value.decode(), "a refused capsule is not marked consumed"
    assert bytes(f.buffer) == before


def test_hostile_versioned_fields():
    f = Foreign(True)
    f.m.major = 2
    with pytest.raises(ValueError, match="major version 2"):
        vt.from_dlpack(f.capsule())
    f = Foreign(True)
    f.m.flags = 1  # DLPACK_FLAG_BITMASK_READ_ONLY
    with pytest.raises(BufferError, match="read-only"):
        vt.from_dlpack(f.capsule(), copy=False)
    t = vt.from_dlpack(f.capsule())  # copied, and the producer's deleter ran after the copy
    gc.collect()
    assert f.deletes == 1
    assert t.data_ptr() != ctypes.addressof(f.buffer)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_empty_foreign_tensor_may_have_null_data():
    f = Foreign(True)
    f.shape[0] = 0
    f.m.dl_tensor.data = None
    t = vt.from_dlpack(f.capsule())
    assert t.shape == (0, 3)
    del t
    gc.collect()
    assert f.deletes == 1


def test_from_dlpack_takes_torchs_keyword():
    t = torch.arange(6).reshape(2, 3)
    assert torch.equal(to_torch(vt.from_dlpack(ext_tensor=t)), torch.from_dlpack(ext_tensor=t))
    assert torch.equal(to_torch(vt.from_dlpack(ext_tensor=vt.arange(3), copy=True)), torch.arange(3))
