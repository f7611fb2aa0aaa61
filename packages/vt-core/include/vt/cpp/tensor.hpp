// vt::cpp::Tensor: an RAII reference to a vt_tensor_t, with the arithmetic operators.
#ifndef VT_CPP_TENSOR_HPP
#define VT_CPP_TENSOR_HPP

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vt/cpp/api.hpp"
#include "vt/cpp/op.hpp"

namespace vt::cpp {

inline constexpr vt_device_t kCPU = {VT_DEVICE_CPU, 0};

namespace detail {
// The dtype a C++ element type names; 0 for types data<T>() can only check by size (16-bit
// floats have no standard C++ type, so their bits are read as uint16_t).
template <typename T> constexpr int32_t dtype_of() {
  if constexpr (std::is_same_v<T, bool>) return VT_DTYPE_BOOL;
  else if constexpr (std::is_same_v<T, uint8_t>) return VT_DTYPE_UINT8;
  else if constexpr (std::is_same_v<T, int8_t>) return VT_DTYPE_INT8;
  else if constexpr (std::is_same_v<T, int16_t>) return VT_DTYPE_INT16;
  else if constexpr (std::is_same_v<T, int32_t>) return VT_DTYPE_INT32;
  else if constexpr (std::is_same_v<T, int64_t>) return VT_DTYPE_INT64;
  else if constexpr (std::is_same_v<T, float>) return VT_DTYPE_FLOAT32;
  else if constexpr (std::is_same_v<T, double>) return VT_DTYPE_FLOAT64;
  else return 0;
}
}  // namespace detail

class Tensor {
 public:
  Tensor() = default;
  // Takes over a reference the caller owns (a result, an out-parameter of a create call).
  static Tensor adopt(vt_tensor_t owned) { return Tensor(owned); }
  // Adds a reference to a borrowed handle (a kernel argument).
  static Tensor borrow(vt_tensor_t borrowed) {
    if (borrowed) check(api()->tensor_retain(borrowed));
    return Tensor(borrowed);
  }
  // Takes the tensor out of an op result.
  explicit Tensor(Value&& result) {
    if (result.tag() != VT_VALUE_TENSOR)
      throw Error(VT_ERROR_TYPE, "vt::cpp::Tensor: the value is not a tensor (tag " +
                                     std::to_string(result.tag()) + ")");
    t_ = result.release().u.tensor;
  }

  Tensor(const Tensor& o) : t_(o.t_) {
    if (t_) check(api()->tensor_retain(t_));
  }
  Tensor(Tensor&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  Tensor& operator=(const Tensor& o) {
    Tensor(o).swap(*this);
    return *this;
  }
  Tensor& operator=(Tensor&& o) noexcept {
    Tensor(std::move(o)).swap(*this);
    return *this;
  }
  ~Tensor() {
    if (t_ && detail::g_api) detail::g_api->tensor_release(t_);
  }
  void swap(Tensor& o) noexcept { std::swap(t_, o.t_); }

  static Tensor empty(const std::vector<int64_t>& sizes, int32_t dtype = VT_DTYPE_FLOAT32,
                      vt_device_t device = kCPU) {
    vt_tensor_t t = nullptr;
    check(api()->tensor_empty(sizes.data(), int64_t(sizes.size()), dtype, device, &t));
    return Tensor(t);
  }
  // Wraps memory the caller owns; deleter (may be null) runs when the last reference goes.
  // Empty strides mean contiguous.
  static Tensor from_blob(void* data, const std::vector<int64_t>& sizes,
                          const std::vector<int64_t>& strides = {},
                          int32_t dtype = VT_DTYPE_FLOAT32, vt_device_t device = kCPU,
                          vt_deleter_fn deleter = nullptr, void* deleter_context = nullptr) {
    if (!strides.empty() && strides.size() != sizes.size())
      throw Error(VT_ERROR_VALUE, "vt::cpp::Tensor::from_blob: " + std::to_string(sizes.size()) +
                                      " sizes but " + std::to_string(strides.size()) + " strides");
    vt_tensor_t t = nullptr;
    check(api()->tensor_from_blob(data, sizes.data(), strides.empty() ? nullptr : strides.data(),
                                  int64_t(sizes.size()), dtype, device, deleter, deleter_context,
                                  &t));
    return Tensor(t);
  }

  bool defined() const { return t_ != nullptr; }
  vt_tensor_t get() const { return t_; }  // borrowed
  vt_tensor_t release() { return std::exchange(t_, nullptr); }  // the caller owns the reference

  // Borrowed sizes/strides pointers stay valid while this tensor lives.
  vt_tensor_desc_t describe() const {
    vt_tensor_desc_t d{};
    d.struct_size = sizeof(d);
    check(api()->tensor_describe(t_, &d));
    return d;
  }
  std::vector<int64_t> sizes() const {
    vt_tensor_desc_t d = describe();
    return std::vector<int64_t>(d.sizes, d.sizes + d.ndim);
  }
  std::vector<int64_t> strides() const {
    vt_tensor_desc_t d = describe();
    return std::vector<int64_t>(d.strides, d.strides + d.ndim);
  }
  int64_t dim() const { return describe().ndim; }
  int64_t numel() const { return describe().numel; }
  int32_t dtype() const { return describe().dtype; }
  vt_device_t device() const { return describe().device; }
  bool is_contiguous() const {
    int32_t c = 0;
    check(api()->tensor_is_contiguous(t_, &c));
    return c != 0;
  }
  // Address of element 0, typed; the element type must match the dtype (or its size, for 16-bit
  // floats read as raw bits).
  template <typename T> T* data() const {
    const int32_t dt = dtype();
    constexpr int32_t want = detail::dtype_of<std::remove_cv_t<T>>();
    int64_t itemsize = 0;
    check(api()->dtype_itemsize(dt, &itemsize));
    if (want ? want != dt : int64_t(sizeof(T)) != itemsize)
      throw Error(VT_ERROR_TYPE, "vt::cpp::Tensor::data<T>(): T does not match the dtype " +
                                     std::to_string(dt));
    void* p = nullptr;
    check(api()->tensor_data_ptr(t_, &p));
    return static_cast<T*>(p);
  }

 private:
  explicit Tensor(vt_tensor_t owned) : t_(owned) {}
  vt_tensor_t t_ = nullptr;
};

inline vt_value_t arg(const Tensor& t) { return arg(t.get()); }

namespace detail {
// Elementwise operators go through the dispatcher, so wrapper layers (autograd) see them.
inline Tensor binary(const Op& op, const Tensor& a, const Tensor& b) {
  return Tensor(std::move(op.call({arg(a), arg(b)})[0]));
}
}  // namespace detail

inline Tensor operator+(const Tensor& a, const Tensor& b) {
  static const Op op("vt::add.Tensor");
  return detail::binary(op, a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  static const Op op("vt::sub.Tensor");
  return detail::binary(op, a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  static const Op op("vt::mul.Tensor");
  return detail::binary(op, a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  static const Op op("vt::div.Tensor");
  return detail::binary(op, a, b);
}

}  // namespace vt::cpp

#endif  // VT_CPP_TENSOR_HPP
