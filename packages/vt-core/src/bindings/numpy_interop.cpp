// numpy(): zero-copy views of CPU tensors; tolist(); and copies from numpy arrays.
#include <nanobind/ndarray.h>

#include <cstring>

#include "bindings/common.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

ScalarType dtype_from_dlpack(nb::dlpack::dtype d) {
  int32_t code = (int32_t(d.code) << 8) | int32_t(d.bits);
  if (d.lanes != 1 || !is_valid_dtype(code))
    fail(VT_ERROR_TYPE, "can't convert a numpy array of dtype code ", int(d.code), " with ",
         int(d.bits), " bits; supported: bool, uint8, int8, int16, int32, int64, float16, "
         "float32, float64");
  return ScalarType(code);
}

}  // namespace

Tensor host_copy_for_numpy(const Tensor& t) {
  Tensor h = t.device().is_cpu() ? t : copy_to_device(t, kCPU);
  return h.dtype() == ScalarType::BFloat16 ? vt::to_dtype(h, ScalarType::Float32) : h;
}

nb::object to_numpy(const Tensor& t, bool allow_bfloat16_as_float) {
  VT_CHECK_TYPE(t.device().is_cpu(), "can't convert ", device_string(t.device()),
                " device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory "
                "first.");
  Tensor src = t;
  if (t.dtype() == ScalarType::BFloat16) {
    VT_CHECK_TYPE(allow_bfloat16_as_float, "Got unsupported ScalarType BFloat16");
    src = vt::to_dtype(t, ScalarType::Float32);
  }
  // The capsule owns a reference to the tensor, so the array keeps the memory alive.
  auto* keep = new Tensor(src);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<size_t> shape(size_t(src.dim()));
  for (int64_t d = 0; d < src.dim(); ++d) shape[size_t(d)] = size_t(src.sizes()[d]);
  int32_t code = int32_t(src.dtype());
  nb::dlpack::dtype dt{uint8_t(code >> 8), uint8_t(code & 0xff), 1};
  nb::ndarray<nb::numpy> arr(src.data(), size_t(src.dim()), shape.data(), owner,
                             src.strides().data(), dt);
  return arr.cast();
}

void bind_numpy(nb::module_& m, nb::class_<Tensor>& cls) {
  cls.def("numpy", [](const Tensor& t, bool force) {
    if (force) return to_numpy(host_copy_for_numpy(t), false);
    return to_numpy(t, false);
  }, nb::arg("force") = false, "A numpy array sharing this CPU tensor's memory.");
  cls.def("tolist", [](const Tensor& t) {
    nb::object arr = to_numpy(host_copy_for_numpy(t), true);
    return arr.attr("tolist")();
  });
  m.def("_from_numpy_copy", [](nb::ndarray<nb::c_contig, nb::device::cpu> arr) {
    ScalarType dt = dtype_from_dlpack(arr.dtype());
    DimVector shape;
    for (size_t d = 0; d < arr.ndim(); ++d) shape.push_back(int64_t(arr.shape(d)));
    Tensor out = Tensor::empty(shape, dt, kCPU);
    if (out.nbytes()) std::memcpy(out.data(), arr.data(), size_t(out.nbytes()));
    return out;
  }, nb::arg("array"), "A new tensor holding a copy of a C-contiguous numpy array.");
}

}  // namespace vt::py
