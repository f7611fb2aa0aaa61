// What every engine file shares: the vt-core C++ wrapper (all calls go through the C ABI table)
// and small helpers over it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vt/cpp/api.hpp"
#include "vt/cpp/op.hpp"
#include "vt/cpp/tensor.hpp"

namespace vt::autograd {

using vt::cpp::Tensor;
using vt::cpp::Error;
using vt::cpp::check;

inline const vt_api_t& api() { return *vt::cpp::api(); }

// Created inside inference mode (see vt_tensor_is_inference).
inline bool is_inference_tensor(vt_tensor_t t) {
  int32_t v = 0;
  return api().tensor_is_inference(t, &v) == VT_OK && v != 0;
}

// An error of the type torch raises (the status maps onto the Python exception type).
template <typename... Parts>
[[noreturn]] void fail(vt_status_t status, const Parts&... parts) {
  std::string message;
  ((message += parts), ...);
  throw Error(status, message);
}

inline std::string to_string(int64_t v) { return std::to_string(v); }

// Sizes, dtype and device of a tensor: what a node keeps of an input it does not save. On a
// device with streams, also the stream current when the tensor was seen: a node's backward
// runs on the stream its forward ran on.
struct TensorMeta {
  std::vector<int64_t> sizes;
  int32_t dtype = 0;
  vt_device_t device{};
  vt_stream_t stream = nullptr;
  bool defined = false;

  static TensorMeta of(vt_tensor_t t) {
    TensorMeta m;
    if (!t) return m;
    vt_tensor_desc_t d{};
    d.struct_size = sizeof(d);
    check(api().tensor_describe(t, &d));
    m.sizes.assign(d.sizes, d.sizes + d.ndim);
    m.dtype = d.dtype;
    m.device = d.device;
    if (d.device.type != VT_DEVICE_CPU) check(api().stream_current(d.device, &m.stream));
    m.defined = true;
    return m;
  }
};

// "[3, 4]" for messages.
inline std::string shape_string(const std::vector<int64_t>& sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

inline bool is_floating_dtype(int32_t dtype) {
  return dtype == VT_DTYPE_FLOAT32 || dtype == VT_DTYPE_FLOAT64 || dtype == VT_DTYPE_FLOAT16 ||
         dtype == VT_DTYPE_BFLOAT16;
}

inline const char* dtype_name(int32_t dtype) {
  const char* n = "unknown";
  api().dtype_name(dtype, &n);
  return n;
}

}  // namespace vt::autograd
