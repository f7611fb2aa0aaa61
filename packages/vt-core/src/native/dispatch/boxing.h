// Conversions between C++ argument types and boxed vt_value_t, for calls that cross between the
// typed (unboxed) and boxed worlds: layers, plugin kernels, Python.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "core/scalar.h"
#include "core/tensor.h"
#include "dispatch/schema.h"
#include "vt/c/op.h"

namespace vt {

using TensorList = std::span<const Tensor>;
static_assert(sizeof(Tensor) == sizeof(vt_tensor_t), "a Tensor must be exactly one handle");

template <typename T> struct Boxer;  // arg_type, box (borrowed), unbox (borrowed view)

template <> struct Boxer<Tensor> {
  static constexpr ArgType type = ArgType::Tensor;
  static constexpr bool optional = false;
  static vt_value_t box(const Tensor& t) {
    vt_value_t v{};
    v.tag = VT_VALUE_TENSOR;
    v.u.tensor = t.to_c_borrowed();
    return v;
  }
  static Tensor unbox(const vt_value_t& v) { return Tensor::from_c_borrowed(v.u.tensor); }
};
template <> struct Boxer<int64_t> {
  static constexpr ArgType type = ArgType::Int;
  static constexpr bool optional = false;
  static vt_value_t box(int64_t x) { vt_value_t v{}; v.tag = VT_VALUE_INT; v.u.i = x; return v; }
  static int64_t unbox(const vt_value_t& v) { return v.u.i; }
};
template <> struct Boxer<double> {
  static constexpr ArgType type = ArgType::Float;
  static constexpr bool optional = false;
  static vt_value_t box(double x) { vt_value_t v{}; v.tag = VT_VALUE_DOUBLE; v.u.d = x; return v; }
  static double unbox(const vt_value_t& v) {
    return v.tag == VT_VALUE_INT ? double(v.u.i) : v.u.d;
  }
};
template <> struct Boxer<bool> {
  static constexpr ArgType type = ArgType::Bool;
  static constexpr bool optional = false;
  static vt_value_t box(bool x) { vt_value_t v{}; v.tag = VT_VALUE_BOOL; v.u.b = x; return v; }
  static bool unbox(const vt_value_t& v) { return v.u.b != 0; }
};
template <> struct Boxer<Scalar> {
  static constexpr ArgType type = ArgType::Scalar;
  static constexpr bool optional = false;
  static vt_value_t box(const Scalar& s) {
    switch (s.kind()) {
      case Scalar::Kind::Bool: return Boxer<bool>::box(s.to_bool());
      case Scalar::Kind::Int: return Boxer<int64_t>::box(s.to_int());
      case Scalar::Kind::Double: return Boxer<double>::box(s.to_double());
    }
    return {};
  }
  static Scalar unbox(const vt_value_t& v) {
    if (v.tag == VT_VALUE_BOOL) return Scalar::from_bool(v.u.b != 0);
    if (v.tag == VT_VALUE_INT) return Scalar(v.u.i);
    return Scalar(v.u.d);
  }
};
template <> struct Boxer<IntArrayRef> {
  static constexpr ArgType type = ArgType::IntList;
  static constexpr bool optional = false;
  static vt_value_t box(IntArrayRef x) {
    vt_value_t v{};
    v.tag = VT_VALUE_INT_LIST;
    v.u.ints = {x.data(), int64_t(x.size())};
    return v;
  }
  static IntArrayRef unbox(const vt_value_t& v) {
    return {v.u.ints.data, size_t(v.u.ints.size)};
  }
};
template <> struct Boxer<TensorList> {
  static constexpr ArgType type = ArgType::TensorList;
  static constexpr bool optional = false;
  static vt_value_t box(TensorList x) {
    vt_value_t v{};
    v.tag = VT_VALUE_TENSOR_LIST;
    v.u.tensors = {reinterpret_cast<const vt_tensor_t*>(x.data()), int64_t(x.size())};
    return v;
  }
  // Borrowed: a vt_tensor_t array has the layout of a Tensor array (one pointer each).
  static TensorList unbox(const vt_value_t& v) {
    return {reinterpret_cast<const Tensor*>(v.u.tensors.data), size_t(v.u.tensors.size)};
  }
};
template <> struct Boxer<ScalarType> {
  static constexpr ArgType type = ArgType::ScalarType;
  static constexpr bool optional = false;
  static vt_value_t box(ScalarType t) {
    vt_value_t v{};
    v.tag = VT_VALUE_DTYPE;
    v.u.dtype = int32_t(t);
    return v;
  }
  static ScalarType unbox(const vt_value_t& v) { return checked_dtype(v.u.dtype); }
};
template <> struct Boxer<Device> {
  static constexpr ArgType type = ArgType::Device;
  static constexpr bool optional = false;
  static vt_value_t box(Device d) {
    vt_value_t v{};
    v.tag = VT_VALUE_DEVICE;
    v.u.device = d.to_c();
    return v;
  }
  static Device unbox(const vt_value_t& v) { return Device::from_c(v.u.device); }
};
template <> struct Boxer<std::string_view> {
  static constexpr ArgType type = ArgType::String;
  static constexpr bool optional = false;
  static vt_value_t box(std::string_view s) {
    vt_value_t v{};
    v.tag = VT_VALUE_STRING;
    v.u.str = {s.data(), int64_t(s.size())};
    return v;
  }
  static std::string_view unbox(const vt_value_t& v) {
    return {v.u.str.data, size_t(v.u.str.size)};
  }
};
template <typename T> struct Boxer<std::optional<T>> {
  static constexpr ArgType type = Boxer<T>::type;
  static constexpr bool optional = true;
  static vt_value_t box(const std::optional<T>& x) {
    if (!x) return vt_value_t{};
    return Boxer<T>::box(*x);
  }
  static std::optional<T> unbox(const vt_value_t& v) {
    if (v.tag == VT_VALUE_NONE) return std::nullopt;
    return Boxer<T>::unbox(v);
  }
};

template <typename T> using boxer_for = Boxer<std::remove_cvref_t<T>>;

// Results: kernels hand back owned values.
template <typename R> struct ResultBoxer;
template <> struct ResultBoxer<Tensor> {
  static constexpr int64_t count = 1;
  static void box(Tensor&& t, vt_value_t* outs) {
    outs[0] = vt_value_t{};
    outs[0].tag = VT_VALUE_TENSOR;
    outs[0].u.tensor = std::move(t).to_c_owned();
  }
  static Tensor unbox(vt_value_t* outs) {
    VT_INTERNAL_ASSERT(outs[0].tag == VT_VALUE_TENSOR);
    return Tensor::from_c_owned(std::exchange(outs[0].u.tensor, nullptr));
  }
};
template <typename... Ts> struct ResultBoxer<std::tuple<Ts...>> {
  static constexpr int64_t count = sizeof...(Ts);
  static void box(std::tuple<Ts...>&& t, vt_value_t* outs) {
    [&]<size_t... I>(std::index_sequence<I...>) {
      (ResultBoxer<Ts>::box(std::move(std::get<I>(t)), outs + I), ...);
    }(std::index_sequence_for<Ts...>{});
  }
  static std::tuple<Ts...> unbox(vt_value_t* outs) {
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return std::tuple<Ts...>(ResultBoxer<Ts>::unbox(outs + I)...);
    }(std::index_sequence_for<Ts...>{});
  }
};
template <> struct ResultBoxer<std::vector<Tensor>> {
  static constexpr int64_t count = 1;
  static void box(std::vector<Tensor>&& ts, vt_value_t* outs);
  static std::vector<Tensor> unbox(vt_value_t* outs);
};

}  // namespace vt
