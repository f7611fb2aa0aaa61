// vt.core._C: the Python binding of vt-core and the capsule carrying its C ABI table.
#include "bindings/common.h"
#include "core/inference_mode.h"

#include "core/allocator.h"
#include "core/thread_pool.h"
#include "iterator/tensor_iterator.h"
#include "vt/c/api.h"
#include "vt/c/plugin.h"

namespace vt::py {
namespace {

PyObject* exception_type(vt_status_t status) {
  switch (status) {
    case VT_ERROR_INDEX: return PyExc_IndexError;
    case VT_ERROR_TYPE: return PyExc_TypeError;
    case VT_ERROR_VALUE: return PyExc_ValueError;
    case VT_ERROR_OUT_OF_MEMORY: return PyExc_MemoryError;
    case VT_ERROR_NOT_IMPLEMENTED: return PyExc_NotImplementedError;
    default: return PyExc_RuntimeError;
  }
}

}  // namespace
}  // namespace vt::py

NB_MODULE(_C, m) {
  using namespace vt::py;
  m.doc() = "vt-core native module: tensors, ops through the dispatcher, the C ABI capsule";
  // Op handles, tensors and bound functions cached in Python modules are still alive when the
  // interpreter exits (Python does not collect module state then); that is not a leak.
  nb::set_leak_warnings(false);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const vt::Error& e) {
      PyErr_SetString(exception_type(e.status()), e.what());
    }
  });

  bind_dtype_device(m);
  bind_memory_format(m);
  bind_tensor(m);
  bind_library(m);
  bind_safetensors(m);
  bind_python_bridge(m);

  m.def("_api_capsule", [] {
    // Native consumers (vt-cuda, vt-autograd, plugins) read the function table from here.
    const vt_api_t* api = vt_get_api(VT_ABI_VERSION);
    return nb::steal(PyCapsule_New(const_cast<vt_api_t*>(api), "vt.core.api", nullptr));
  }, "A capsule named 'vt.core.api' holding the vt_api_t function table (ABI v1).");
  m.def("abi_version", [] { return nb::make_tuple(VT_ABI_VERSION_MAJOR, VT_ABI_VERSION_MINOR); },
        "The (major, minor) C ABI version of this vt-core.");

  // The core half of inference mode; vt.autograd.inference_mode also turns recording off.
  m.def("_set_inference_mode", &vt::set_inference_mode, nb::arg("enabled"),
        "Sets this thread's inference mode and returns the previous state.");
  m.def("_is_inference_mode_enabled", &vt::inference_mode_enabled);
  m.def("set_num_threads", &vt::set_num_threads, nb::arg("n"),
        "Sets how many threads CPU kernels use (the caller included).");
  m.def("get_num_threads", &vt::num_threads);
  m.def("get_default_dtype", [] { return dtype_object(vt::default_float_dtype()); });
  m.def("set_default_dtype", [](nb::handle d) {
    vt::set_default_float_dtype(to_dtype(d, "set_default_dtype"));
  }, nb::arg("d"));
  m.def("allocator_stats", [](nb::handle device) {
    vt::Device d = to_device(device, "allocator_stats");
    vt_allocator_stats_t s = vt::allocator_stats(d.type, d.index);
    nb::dict out;
    out["allocated_bytes"] = s.allocated_bytes;
    out["peak_allocated_bytes"] = s.peak_allocated_bytes;
    out["reserved_bytes"] = s.reserved_bytes;
    out["num_allocs"] = s.num_allocs;
    out["num_frees"] = s.num_frees;
    return out;
  }, nb::arg("device") = "cpu", "Live, peak and reserved bytes and call counts of a device's allocator.");
  m.def("load_library", [](const std::string& path) {
    vt_library_t lib = nullptr;
    if (vt_library_load(path.c_str(), &lib) != VT_OK)
      throw vt::Error(vt_last_error_status(), vt_last_error_message());
    const vt_plugin_info_t* info = nullptr;
    vt_library_info(lib, &info);
    nb::dict out;
    out["name"] = info->name ? info->name : "";
    out["version"] = info->version ? info->version : "";
    out["abi"] = nb::make_tuple(info->abi_major, info->abi_minor);
    return out;
  }, nb::arg("path"), "Loads a vt plugin (a shared library exporting vt_plugin_info and "
                      "vt_plugin_init) and returns its info.");
}
