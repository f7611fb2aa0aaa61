// Shared helpers of the nanobind module: Python <-> vt conversions and error translation.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <optional>

#include "core/device.h"
#include "core/error.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace nb = nanobind;

namespace vt::py {

// The Python face of a dtype: one interned object per dtype, compared by identity as in torch.
struct DType {
  ScalarType type;
};

// torch.device: an index only when one was given ("cpu" and "cuda" have none).
struct PyDevice {
  int32_t type = VT_DEVICE_CPU;
  std::optional<int32_t> index;
  Device resolved() const { return {type, index.value_or(0)}; }
};

nb::object dtype_object(ScalarType t);        // the interned vt.core.<dtype>
ScalarType to_dtype(nb::handle h, const char* what);  // TypeError unless a vt dtype
std::optional<ScalarType> to_optional_dtype(nb::handle h, const char* what);
Device to_device(nb::handle h, const char* what);  // str or device
nb::object device_object(Device d);

// Python numbers as host scalars; nullopt when h is not a number (bool counts as a number).
std::optional<Scalar> to_scalar(nb::handle h);
Scalar require_scalar(nb::handle h, const char* what);
nb::object scalar_to_python(const Tensor& t);  // item()

// A shape given as f(2, 3) or f((2, 3)) or f([2, 3]).
DimVector shape_from_args(const nb::args& args, const char* what);
DimVector int_list(nb::handle h, const char* what);  // a sequence of ints, or one int
// A factory's size: f(2, 3), f((2, 3)) or f(size=(2, 3)) (size is None when not given).
DimVector size_from_args(const nb::args& args, nb::handle size, const char* what);
std::optional<Device> optional_device(nb::handle h, const char* what);  // None -> nullopt

Tensor copy_to_device(const Tensor& t, Device device);

// Copies a tensor to host memory in a dtype numpy knows (bfloat16 becomes float32).
Tensor host_copy_for_numpy(const Tensor& t);
nb::object to_numpy(const Tensor& t, bool allow_bfloat16_as_float);

// A Tensor argument, or nullptr when h is something else.
inline const Tensor* as_tensor(nb::handle h) {
  return nb::isinstance<Tensor>(h) ? nb::inst_ptr<Tensor>(h) : nullptr;
}
Tensor require_tensor(nb::handle h, const char* what);

// An operator's one entry point: a Tensor or a Python number on the right, else NotImplemented
// so Python can try the reflected operation.
template <typename OnTensor, typename OnScalar>
nb::object binary_operator(const Tensor& self, nb::handle other, OnTensor on_tensor,
                           OnScalar on_scalar);

// torch.memory_format; None given means if_none. vt makes row-major (contiguous_format) and
// stride-preserving (preserve_format) layouts, never channels_last ones.
enum class MemoryFormat { Contiguous, Preserve, ChannelsLast };
MemoryFormat to_memory_format(nb::handle h, MemoryFormat if_none, const char* op);
// channels_last: torch's RuntimeError unless 4-d, then NotImplementedError naming op.
void require_row_major(MemoryFormat format, int64_t ndim, const char* op);
bool is_channels_last_contiguous(const Tensor& t);
// A like-factory's memory_format (default preserve_format): whether the result may follow
// input's strides, or must be made row-major (contiguous_format on a non-contiguous input).
bool like_keeps_strides(nb::handle memory_format, const Tensor& input, const char* op);

// Runs a compute-heavy op with the GIL released, so other Python threads run meanwhile (the
// paths that call back into Python take it again: Python kernels and layers, autograd
// Functions). Only the C++ call goes inside: arguments and results are Python objects.
template <typename F>
auto without_gil(F&& f) {
  nb::gil_scoped_release release;
  return f();
}

// Pointwise ops and reductions release the GIL only from this many elements on: below it the
// release and re-acquire cost more than the op, and small ops are where eager overhead matters.
inline constexpr int64_t kGilReleaseNumel = int64_t(1) << 15;

template <typename F>
auto without_gil_above(int64_t numel, F&& f) {
  if (numel < kGilReleaseNumel) return f();
  nb::gil_scoped_release release;
  return f();
}

template <typename OnTensor, typename OnScalar>
nb::object binary_operator(const Tensor& self, nb::handle other, OnTensor on_tensor,
                           OnScalar on_scalar) {
  if (const Tensor* t = as_tensor(other)) {
    const int64_t n = std::max(self.numel(), t->numel());
    return nb::cast(without_gil_above(n, [&] { return on_tensor(self, *t); }));
  }
  if (auto s = to_scalar(other))
    return nb::cast(without_gil_above(self.numel(), [&] { return on_scalar(self, *s); }));
  return nb::borrow(Py_NotImplemented);
}

// dim=None / int / sequence of ints, as reductions take it.
std::optional<DimVector> optional_int_list(nb::handle h, const char* what);

void bind_dtype_device(nb::module_& m);
void bind_memory_format(nb::module_& m);
void bind_tensor(nb::module_& m);
void bind_indexing(nb::class_<Tensor>& cls);
void bind_numpy(nb::module_& m, nb::class_<Tensor>& cls);
// One binding file per op family.
void bind_pointwise_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_reduce_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_factory_ops(nb::module_& m);
void bind_linalg_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_shape_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_index_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_random_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_nn_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_optim_ops(nb::module_& m);
void bind_library(nb::module_& m);
void bind_dlpack(nb::module_& m, nb::class_<Tensor>& cls);
void bind_safetensors(nb::module_& m);
void bind_python_bridge(nb::module_& m);

}  // namespace vt::py
