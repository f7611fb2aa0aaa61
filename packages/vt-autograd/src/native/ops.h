// vt ops called from derivative formulas. Every call goes through the dispatcher, so with
// create_graph the backward computation is itself recorded (higher-order gradients).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>

#include "common.h"

namespace vt::autograd::ops {

// An op name as a template argument: each call site resolves its handle once.
template <size_t N>
struct OpName {
  char s[N];
  constexpr OpName(const char (&x)[N]) { std::copy_n(x, N, s); }
};

template <OpName Name>
const vt::cpp::Op& op() {
  static const vt::cpp::Op handle(Name.s);
  return handle;
}

struct None {};
inline constexpr None none{};

// A scalar for a Scalar argument: an int, a double or a bool, as the caller has it.
inline vt_value_t to_arg(const Tensor& t) { return vt::cpp::arg(t); }
inline vt_value_t to_arg(double d) { return vt::cpp::arg(d); }
inline vt_value_t to_arg(int64_t i) { return vt::cpp::arg(i); }
inline vt_value_t to_arg(int i) { return vt::cpp::arg(int64_t(i)); }
inline vt_value_t to_arg(bool b) { return vt::cpp::arg(b); }
inline vt_value_t to_arg(const std::vector<int64_t>& v) { return vt::cpp::arg(v); }
inline vt_value_t to_arg(None) { return vt::cpp::arg_none(); }
inline vt_value_t to_arg(const vt_value_t& v) { return v; }
inline vt_value_t to_arg(const char* s) {
  vt_value_t v{};
  v.tag = VT_VALUE_STRING;
  v.u.str.data = s;
  v.u.str.size = int64_t(std::char_traits<char>::length(s));
  return v;
}
struct DType { int32_t code; };
// A Tensor[] argument; the handles stay borrowed from the tensors given.
struct TensorList {
  std::vector<vt_tensor_t> handles;
  explicit TensorList(const std::vector<Tensor>& ts) {
    for (const Tensor& t : ts) handles.push_back(t.get());
  }
};
inline vt_value_t to_arg(const TensorList& l) {
  vt_value_t v{};
  v.tag = VT_VALUE_TENSOR_LIST;
  v.u.tensors.data = l.handles.data();
  v.u.tensors.size = int64_t(l.handles.size());
  return v;
}
inline vt_value_t to_arg(DType d) { return vt::cpp::arg_dtype(d.code); }

template <OpName Name, typename... Args>
std::vector<vt::cpp::Value> call_values(const Args&... args) {
  const vt_value_t boxed[] = {to_arg(args)..., vt_value_t{}};
  return op<Name>().call(boxed, int64_t(sizeof...(Args)));
}

template <OpName Name, typename... Args>
Tensor call(const Args&... args) {
  return Tensor(std::move(call_values<Name>(args...)[0]));
}

// Elementwise.
inline Tensor add(const Tensor& a, const Tensor& b) { return call<"vt::add.Tensor">(a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return call<"vt::sub.Tensor">(a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return call<"vt::mul.Tensor">(a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return call<"vt::div.Tensor">(a, b); }
inline Tensor mul(const Tensor& a, double s) { return call<"vt::mul.Scalar">(a, s); }
inline Tensor add(const Tensor& a, double s) { return call<"vt::add.Scalar">(a, s); }
inline Tensor rsub(const Tensor& a, double s) { return call<"vt::rsub.Scalar">(a, s); }  // s - a
inline Tensor neg(const Tensor& a) { return call<"vt::neg">(a); }
inline Tensor exp(const Tensor& a) { return call<"vt::exp">(a); }
inline Tensor log(const Tensor& a) { return call<"vt::log">(a); }
inline Tensor sqrt(const Tensor& a) { return call<"vt::sqrt">(a); }
inline Tensor rsqrt(const Tensor& a) { return call<"vt::rsqrt">(a); }
inline Tensor reciprocal(const Tensor& a) { return call<"vt::reciprocal">(a); }
inline Tensor sin(const Tensor& a) { return call<"vt::sin">(a); }
inline Tensor cos(const Tensor& a) { return call<"vt::cos">(a); }
inline Tensor tanh(const Tensor& a) { return call<"vt::tanh">(a); }
inline Tensor sigmoid(const Tensor& a) { return call<"vt::sigmoid">(a); }
inline Tensor relu(const Tensor& a) { return call<"vt::relu">(a); }
inline Tensor sign(const Tensor& a) { return call<"vt::sign">(a); }
inline Tensor abs(const Tensor& a) { return call<"vt::abs">(a); }
inline Tensor erf(const Tensor& a) { return call<"vt::erf">(a); }
inline Tensor pow(const Tensor& a, double e) { return call<"vt::pow.Scalar">(a, e); }
inline Tensor pow(const Tensor& a, const Tensor& e) { return call<"vt::pow.Tensor">(a, e); }
inline Tensor gt(const Tensor& a, double s) { return call<"vt::gt.Scalar">(a, s); }
inline Tensor ge(const Tensor& a, double s) { return call<"vt::ge.Scalar">(a, s); }
inline Tensor lt(const Tensor& a, double s) { return call<"vt::lt.Scalar">(a, s); }
inline Tensor eq(const Tensor& a, const Tensor& b) { return call<"vt::eq.Tensor">(a, b); }
inline Tensor gt(const Tensor& a, const Tensor& b) { return call<"vt::gt.Tensor">(a, b); }
inline Tensor ge(const Tensor& a, const Tensor& b) { return call<"vt::ge.Tensor">(a, b); }
inline Tensor le(const Tensor& a, const Tensor& b) { return call<"vt::le.Tensor">(a, b); }
inline Tensor lt(const Tensor& a, const Tensor& b) { return call<"vt::lt.Tensor">(a, b); }
inline Tensor logical_and(const Tensor& a, const Tensor& b) { return call<"vt::logical_and.Tensor">(a, b); }
inline Tensor logical_not(const Tensor& a) { return call<"vt::logical_not">(a); }
inline Tensor where(const Tensor& c, const Tensor& a, const Tensor& b) {
  return call<"vt::where.self">(c, a, b);
}
inline Tensor where(const Tensor& c, const Tensor& a, double b) {
  return call<"vt::where.ScalarOther">(c, a, b);
}
inline Tensor masked_fill(const Tensor& a, const Tensor& mask, double v) {
  return call<"vt::masked_fill.Scalar">(a, mask, v);
}
inline Tensor to_dtype(const Tensor& a, int32_t dtype) {
  return a.dtype() == dtype ? a : call<"vt::_to_copy">(a, DType{dtype});
}
inline Tensor full(const std::vector<int64_t>& sizes, double value, int32_t dtype, vt_device_t device) {
  return call<"vt::full">(sizes, value, DType{dtype}, vt::cpp::arg_device(device));
}
inline Tensor zeros_like(const Tensor& a) { return full(a.sizes(), 0.0, a.dtype(), a.device()); }

// Shapes.
inline Tensor expand(const Tensor& a, const std::vector<int64_t>& sizes) {
  return call<"vt::expand">(a, sizes);
}
inline Tensor reshape(const Tensor& a, const std::vector<int64_t>& sizes) {
  return call<"vt::reshape">(a, sizes);
}
inline Tensor transpose(const Tensor& a, int64_t d0, int64_t d1) {
  return call<"vt::transpose">(a, d0, d1);
}
inline Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  return call<"vt::permute">(a, dims);
}
inline Tensor unsqueeze(const Tensor& a, int64_t dim) { return call<"vt::unsqueeze">(a, dim); }
inline Tensor contiguous(const Tensor& a) { return call<"vt::contiguous">(a); }
inline Tensor cat(const std::vector<Tensor>& ts, int64_t dim) { return call<"vt::cat">(TensorList(ts), dim); }
inline Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  return call<"vt::narrow">(a, dim, start, length);
}
inline Tensor flip(const Tensor& a, const std::vector<int64_t>& dims) { return call<"vt::flip">(a, dims); }
inline Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index) {
  return call<"vt::index_select">(a, dim, index);
}
inline Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  return call<"vt::index_add">(a, dim, index, src);
}
// int64 indices start, start + step, ... below end, on `device`.
inline Tensor arange(int64_t start, int64_t end, int64_t step, vt_device_t device) {
  return call<"vt::arange">(start, end, step, DType{VT_DTYPE_INT64}, vt::cpp::arg_device(device));
}

// Reductions and products.
inline Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return call<"vt::sum">(a, dims, keepdim);
}
inline Tensor sum_all(const Tensor& a) { return call<"vt::sum">(a); }
inline Tensor mm(const Tensor& a, const Tensor& b) { return call<"vt::mm">(a, b); }
inline Tensor bmm(const Tensor& a, const Tensor& b) { return call<"vt::bmm">(a, b); }
inline Tensor matmul(const Tensor& a, const Tensor& b) { return call<"vt::matmul">(a, b); }

// An int64 tensor holding `values`, on `device`.
Tensor from_host(const std::vector<int64_t>& values, vt_device_t device);
// Whether any element of a bool tensor is true (reads one value back to the host).
bool any_true(const Tensor& t);

// grad summed down to `sizes` (undoing a broadcast): leading dims summed away, dims of size 1
// summed with keepdim.
Tensor sum_to(const Tensor& grad, const std::vector<int64_t>& sizes);

}  // namespace vt::autograd::ops
