// DLPack for Python, as the array API standard defines it: Tensor.__dlpack__,
// Tensor.__dlpack_device__ and vt.core.from_dlpack. Capsules are foreign input: their names are
// checked here and every struct field by the C import (capi/dlpack_api.cpp) before it takes
// ownership.
//
// Read-only policy: vt tensors are always writable, so a producer's read-only tensor (numpy's
// read-only arrays set DLPACK_FLAG_BITMASK_READ_ONLY) is imported as a copy, or refused with a
// BufferError when copy=False forbids the copy.
#include "bindings/common.h"

#include "ops/ops.h"
#include "vt/c/dlpack.h"
#include "vt/c/stream.h"

namespace vt::py {
namespace {

constexpr const char* kVersioned = "dltensor_versioned";
constexpr const char* kLegacy = "dltensor";
constexpr const char* kUsedVersioned = "used_dltensor_versioned";
constexpr const char* kUsedLegacy = "used_dltensor";

[[noreturn]] void raise_last_error() {
  throw vt::Error(vt_last_error_status(), vt_last_error_message());
}

std::optional<bool> optional_bool(nb::handle h, const char* what) {
  if (h.is_none()) return std::nullopt;
  if (!PyBool_Check(h.ptr()))
    fail(VT_ERROR_TYPE, what, " must be a bool or None, not ", nb::inst_name(h).c_str());
  return h.ptr() == Py_True;
}

// A capsule nobody consumed still owns its tensor; a consumed one was renamed.
void destroy_versioned(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kVersioned)) return;
  auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(capsule, kVersioned));
  if (m && m->deleter) m->deleter(m);
}

void destroy_legacy(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kLegacy)) return;
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kLegacy));
  if (m && m->deleter) m->deleter(m);
}

// The pre-1.0 struct, wrapping a versioned export that owns shape, strides and the tensor.
void delete_legacy(DLManagedTensor* self) {
  auto* inner = static_cast<DLManagedTensorVersioned*>(self->manager_ctx);
  inner->deleter(inner);
  delete self;
}

nb::object make_capsule(const Tensor& t, bool versioned, bool copied) {
  DLManagedTensorVersioned* m = nullptr;
  if (vt_tensor_to_dlpack(t.to_c_borrowed(), &m) != VT_OK) raise_last_error();
  if (copied) m->flags |= DLPACK_FLAG_BITMASK_IS_COPIED;
  if (versioned) {
    PyObject* cap = PyCapsule_New(m, kVersioned, &destroy_versioned);
    if (!cap) { m->deleter(m); throw nb::python_error(); }
    return nb::steal(cap);
  }
  auto* legacy = new (std::nothrow) DLManagedTensor{m->dl_tensor, m, &delete_legacy};
  if (!legacy) { m->deleter(m); throw std::bad_alloc(); }
  PyObject* cap = PyCapsule_New(legacy, kLegacy, &destroy_legacy);
  if (!cap) { delete_legacy(legacy); throw nb::python_error(); }
  return nb::steal(cap);
}

nb::object dlpack(const Tensor& self, nb::handle stream, nb::handle max_version,
                  nb::handle dl_device, nb::handle copy_arg) {
  std::optional<bool> copy = optional_bool(copy_arg, "__dlpack__: copy");
  bool synchronize = true;
  if (!stream.is_none()) {
    if (!PyLong_Check(stream.ptr()) || PyBool_Check(stream.ptr()))
      fail(VT_ERROR_TYPE, "__dlpack__: stream must be an int or None, not ",
           nb::inst_name(stream).c_str());
    int64_t s = nb::cast<int64_t>(stream);
    synchronize = s != -1;
    // The standard accepts only None on devices without streams; -1 ("do not synchronize")
    // asks for nothing, so it is harmless.
    if (self.device().is_cpu())
      VT_CHECK_VALUE(s == -1, "__dlpack__: a CPU tensor has no streams, so stream must be None "
                     "(or -1), got ", s);
  }
  bool versioned = false;
  if (!max_version.is_none()) {
    if (!nb::isinstance<nb::tuple>(max_version) || nb::len(max_version) != 2)
      fail(VT_ERROR_TYPE, "__dlpack__: max_version must be a (major, minor) tuple or None");
    versioned = nb::cast<int64_t>(max_version[0]) >= 1;
  }
  Tensor t = self;
  bool copied = false;
  if (!dl_device.is_none()) {
    if (!nb::isinstance<nb::tuple>(dl_device) || nb::len(dl_device) != 2)
      fail(VT_ERROR_TYPE, "__dlpack__: dl_device must be a (device_type, device_id) tuple or None");
    int64_t type = nb::cast<int64_t>(dl_device[0]), index = nb::cast<int64_t>(dl_device[1]);
    if (type != self.device().type || index != self.device().index) {
      if (type != VT_DEVICE_CPU || index != 0)
        throw nb::buffer_error(("__dlpack__: cannot export a " + device_string(self.device()) +
                                " tensor to DLPack device (" + std::to_string(type) + ", " +
                                std::to_string(index) + "); only the tensor's own device or the "
                                "CPU (1, 0) is possible").c_str());
      if (copy == false)
        throw nb::buffer_error("__dlpack__: exporting to the CPU needs a copy, but copy=False");
      t = copy_to_device(self, kCPU);
      copied = true;
    }
  }
  if (copy == true && !copied) {
    t = vt::clone(self);
    copied = true;
  }
  // Without a stream hook to order on, the device is synchronized, which is safe for any
  // consumer stream; -1 asks for no synchronization.
  if (!t.device().is_cpu() && synchronize &&
      vt_device_synchronize(vt_device_t{t.device().type, t.device().index}) != VT_OK)
    raise_last_error();
  return make_capsule(t, versioned, copied);
}

// Imports a capsule of either kind and renames it so it cannot be consumed twice.
Tensor consume_capsule(nb::handle capsule, std::optional<bool> copy) {
  PyObject* cap = capsule.ptr();
  const char* name = PyCapsule_GetName(cap);
  if (!name && PyErr_Occurred()) throw nb::python_error();
  std::string_view n = name ? name : "";
  bool versioned = n == kVersioned;
  if (!versioned && n != kLegacy) {
    if (n == kUsedVersioned || n == kUsedLegacy)
      fail(VT_ERROR_VALUE, "from_dlpack: this DLPack capsule was already consumed (its name is '",
           n, "'); a capsule can be imported only once");
    fail(VT_ERROR_VALUE, "from_dlpack: a capsule named '", n, "' is not a DLPack tensor "
         "(expected 'dltensor_versioned' or 'dltensor')");
  }
  void* ptr = PyCapsule_GetPointer(cap, name);
  if (!ptr) throw nb::python_error();
  vt_tensor_t out = nullptr;
  bool read_only = false, producer_copied = false;
  if (versioned) {
    auto* m = static_cast<DLManagedTensorVersioned*>(ptr);
    read_only = m->flags & DLPACK_FLAG_BITMASK_READ_ONLY;
    producer_copied = m->flags & DLPACK_FLAG_BITMASK_IS_COPIED;
    if (read_only && copy == false)
      throw nb::buffer_error("from_dlpack: the producer marked the tensor read-only "
                             "(DLPACK_FLAG_BITMASK_READ_ONLY) and vt tensors are always writable; "
                             "importing it needs a copy, but copy=False");
    // The read-only view below lives only until it is copied, and nothing writes through it.
    if (read_only) m->flags &= ~uint64_t(DLPACK_FLAG_BITMASK_READ_ONLY);
    vt_status_t st = vt_tensor_from_dlpack(m, &out);
    if (read_only) m->flags |= DLPACK_FLAG_BITMASK_READ_ONLY;
    if (st != VT_OK) raise_last_error();
  } else if (vt_tensor_from_dlpack_legacy(static_cast<DLManagedTensor*>(ptr), &out) != VT_OK) {
    raise_last_error();
  }
  // From here the tensor owns the struct: the capsule must no longer free it.
  Tensor t = Tensor::from_c_owned(out);
  if (PyCapsule_SetName(cap, versioned ? kUsedVersioned : kUsedLegacy) != 0)
    throw nb::python_error();
  if (read_only || (copy == true && !producer_copied)) return vt::clone(t);
  return t;
}

Tensor from_dlpack(nb::handle x, nb::handle device_arg, nb::handle copy_arg) {
  std::optional<bool> copy = optional_bool(copy_arg, "from_dlpack: copy");
  std::optional<Device> device;
  if (!device_arg.is_none()) device = to_device(device_arg, "from_dlpack");
  Tensor t;
  if (const Tensor* vt_tensor = as_tensor(x)) {
    t = copy == true ? vt::clone(*vt_tensor) : *vt_tensor;
  } else if (PyCapsule_CheckExact(x.ptr())) {
    t = consume_capsule(x, copy);
  } else if (nb::hasattr(x, "__dlpack__")) {
    if (nb::hasattr(x, "__dlpack_device__")) {
      nb::object dev = x.attr("__dlpack_device__")();
      int64_t type = nb::cast<int64_t>(nb::int_(dev[0]));
      if (type != VT_DEVICE_CPU)
        fail(VT_ERROR_NOT_IMPLEMENTED, "from_dlpack: importing from DLPack device type ", type,
             " is not implemented in vt.core (only CPU producers; other devices need the "
             "stream handshake of their device plugin)");
    }
    nb::object capsule;
    try {
      nb::dict kwargs;
      kwargs["max_version"] = nb::make_tuple(DLPACK_VERSION_MAJOR, DLPACK_VERSION_MINOR);
      if (copy) kwargs["copy"] = nb::bool_(*copy);
      capsule = x.attr("__dlpack__")(**kwargs);
    } catch (nb::python_error& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      capsule = x.attr("__dlpack__")();  // a producer older than DLPack 1.0's keywords
    }
    if (!PyCapsule_CheckExact(capsule.ptr()))
      fail(VT_ERROR_TYPE, "from_dlpack: __dlpack__ of ", nb::inst_name(x).c_str(),
           " returned ", nb::inst_name(capsule).c_str(), ", not a capsule");
    t = consume_capsule(capsule, copy);
  } else {
    fail(VT_ERROR_TYPE, "from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got ",
         nb::inst_name(x).c_str());
  }
  if (device && !(*device == t.device())) {
    if (copy == false)
      throw nb::buffer_error(("from_dlpack: moving the tensor to " + device_string(*device) +
                              " needs a copy, but copy=False").c_str());
    t = copy_to_device(t, *device);
  }
  return t;
}

}  // namespace

void bind_dlpack(nb::module_& m, nb::class_<Tensor>& cls) {
  cls.def("__dlpack__", &dlpack, nb::kw_only(), nb::arg("stream") = nb::none(),
          nb::arg("max_version") = nb::none(), nb::arg("dl_device") = nb::none(),
          nb::arg("copy") = nb::none(),
          "A DLPack capsule viewing this tensor: 'dltensor_versioned' when max_version >= (1, 0), "
          "else the legacy 'dltensor'.");
  cls.def("__dlpack_device__", [](const Tensor& t) {
    return nb::make_tuple(int64_t(t.device().type), int64_t(t.device().index));
  }, "The (DLPack device type, device id) of this tensor.");
  m.def("from_dlpack", &from_dlpack, nb::arg("ext_tensor"), nb::kw_only(), nb::arg("device") = nb::none(),
        nb::arg("copy") = nb::none(),
        "A tensor sharing memory with ext_tensor (an object with __dlpack__, or a DLPack capsule). "
        "copy=True always copies, copy=False never does; read-only producers are copied.");
}

}  // namespace vt::py
