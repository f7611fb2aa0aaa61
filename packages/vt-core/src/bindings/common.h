// Shared helpers of the nanobind module: Python <-> vt conversions and error translation.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

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

Tensor copy_to_device(const Tensor& t, Device device);

// Copies a tensor to host memory in a dtype numpy knows (bfloat16 becomes float32).
Tensor host_copy_for_numpy(const Tensor& t);
nb::object to_numpy(const Tensor& t, bool allow_bfloat16_as_float);

void bind_dtype_device(nb::module_& m);
void bind_tensor(nb::module_& m);
void bind_indexing(nb::class_<Tensor>& cls);
void bind_numpy(nb::module_& m, nb::class_<Tensor>& cls);
void bind_ops(nb::module_& m, nb::class_<Tensor>& cls);
void bind_library(nb::module_& m);

}  // namespace vt::py
