// The public C++ op functions: each a cached typed handle into the dispatcher.
#include "ops/ops.h"

#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"

namespace vt {

#define VT_OP_HANDLE(var, name, sig) static const OpHandle<sig> var(name)

Tensor empty(IntArrayRef size, std::optional<ScalarType> dtype, std::optional<Device> device) {
  VT_OP_HANDLE(op, "vt::empty", Tensor(IntArrayRef, std::optional<ScalarType>, std::optional<Device>));
  return op(size, dtype, device);
}
Tensor full(IntArrayRef size, const Scalar& value, std::optional<ScalarType> dtype,
            std::optional<Device> device) {
  VT_OP_HANDLE(op, "vt::full", Tensor(IntArrayRef, const Scalar&, std::optional<ScalarType>, std::optional<Device>));
  return op(size, value, dtype, device);
}
Tensor zeros(IntArrayRef size, std::optional<ScalarType> dtype, std::optional<Device> device) {
  return full(size, Scalar(int64_t(0)), dtype.has_value() ? dtype : std::optional(default_float_dtype()), device);
}
Tensor ones(IntArrayRef size, std::optional<ScalarType> dtype, std::optional<Device> device) {
  return full(size, Scalar(int64_t(1)), dtype.has_value() ? dtype : std::optional(default_float_dtype()), device);
}
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step,
              std::optional<ScalarType> dtype, std::optional<Device> device) {
  VT_OP_HANDLE(op, "vt::arange", Tensor(const Scalar&, const Scalar&, const Scalar&, std::optional<ScalarType>, std::optional<Device>));
  return op(start, end, step, dtype, device);
}

Tensor as_strided(const Tensor& self, IntArrayRef size, IntArrayRef stride,
                  std::optional<int64_t> storage_offset) {
  VT_OP_HANDLE(op, "vt::as_strided", Tensor(const Tensor&, IntArrayRef, IntArrayRef, std::optional<int64_t>));
  return op(self, size, stride, storage_offset);
}
Tensor view(const Tensor& self, IntArrayRef size) {
  VT_OP_HANDLE(op, "vt::view", Tensor(const Tensor&, IntArrayRef));
  return op(self, size);
}
Tensor reshape(const Tensor& self, IntArrayRef size) {
  VT_OP_HANDLE(op, "vt::reshape", Tensor(const Tensor&, IntArrayRef));
  return op(self, size);
}
Tensor permute(const Tensor& self, IntArrayRef dims) {
  VT_OP_HANDLE(op, "vt::permute", Tensor(const Tensor&, IntArrayRef));
  return op(self, dims);
}
Tensor transpose(const Tensor& self, int64_t dim0, int64_t dim1) {
  VT_OP_HANDLE(op, "vt::transpose", Tensor(const Tensor&, int64_t, int64_t));
  return op(self, dim0, dim1);
}
Tensor expand(const Tensor& self, IntArrayRef size) {
  VT_OP_HANDLE(op, "vt::expand", Tensor(const Tensor&, IntArrayRef));
  return op(self, size);
}
Tensor squeeze(const Tensor& self, std::optional<IntArrayRef> dims) {
  VT_OP_HANDLE(op, "vt::squeeze", Tensor(const Tensor&, std::optional<IntArrayRef>));
  return op(self, dims);
}
Tensor unsqueeze(const Tensor& self, int64_t dim) {
  VT_OP_HANDLE(op, "vt::unsqueeze", Tensor(const Tensor&, int64_t));
  return op(self, dim);
}
Tensor slice(const Tensor& self, int64_t dim, std::optional<int64_t> start,
             std::optional<int64_t> end, int64_t step) {
  VT_OP_HANDLE(op, "vt::slice", Tensor(const Tensor&, int64_t, std::optional<int64_t>, std::optional<int64_t>, int64_t));
  return op(self, dim, start, end, step);
}
Tensor select(const Tensor& self, int64_t dim, int64_t index) {
  VT_OP_HANDLE(op, "vt::select", Tensor(const Tensor&, int64_t, int64_t));
  return op(self, dim, index);
}
Tensor contiguous(const Tensor& self) {
  if (self.is_contiguous()) return self;  // no dispatch for the common case
  VT_OP_HANDLE(op, "vt::contiguous", Tensor(const Tensor&));
  return op(self);
}
Tensor clone(const Tensor& self) {
  VT_OP_HANDLE(op, "vt::clone", Tensor(const Tensor&));
  return op(self);
}
const Tensor& copy_(const Tensor& dst, const Tensor& src) {
  VT_OP_HANDLE(op, "vt::copy_", Tensor(const Tensor&, const Tensor&));
  op(dst, src);
  return dst;
}
Tensor to_dtype(const Tensor& self, ScalarType dtype) {
  VT_OP_HANDLE(op, "vt::_to_copy", Tensor(const Tensor&, ScalarType));
  return op(self, dtype);
}
const Tensor& fill_(const Tensor& self, const Scalar& value) {
  VT_OP_HANDLE(op, "vt::fill_", Tensor(const Tensor&, const Scalar&));
  op(self, value);
  return self;
}

#define VT_BINARY_WITH_ALPHA(fn, name)                                                       \
  Tensor fn(const Tensor& self, const Tensor& other, const Scalar& alpha) {                  \
    VT_OP_HANDLE(op, "vt::" name ".Tensor", Tensor(const Tensor&, const Tensor&, const Scalar&)); \
    return op(self, other, alpha);                                                           \
  }                                                                                          \
  Tensor fn(const Tensor& self, const Scalar& other, const Scalar& alpha) {                  \
    VT_OP_HANDLE(op, "vt::" name ".Scalar", Tensor(const Tensor&, const Scalar&, const Scalar&)); \
    return op(self, other, alpha);                                                           \
  }                                                                                          \
  const Tensor& fn##_(const Tensor& self, const Tensor& other, const Scalar& alpha) {        \
    VT_OP_HANDLE(op, "vt::" name "_.Tensor", Tensor(const Tensor&, const Tensor&, const Scalar&)); \
    op(self, other, alpha);                                                                  \
    return self;                                                                             \
  }                                                                                          \
  const Tensor& fn##_(const Tensor& self, const Scalar& other, const Scalar& alpha) {        \
    VT_OP_HANDLE(op, "vt::" name "_.Scalar", Tensor(const Tensor&, const Scalar&, const Scalar&)); \
    op(self, other, alpha);                                                                  \
    return self;                                                                             \
  }

#define VT_BINARY(fn, name)                                                                  \
  Tensor fn(const Tensor& self, const Tensor& other) {                                       \
    VT_OP_HANDLE(op, "vt::" name ".Tensor", Tensor(const Tensor&, const Tensor&));           \
    return op(self, other);                                                                  \
  }                                                                                          \
  Tensor fn(const Tensor& self, const Scalar& other) {                                       \
    VT_OP_HANDLE(op, "vt::" name ".Scalar", Tensor(const Tensor&, const Scalar&));           \
    return op(self, other);                                                                  \
  }                                                                                          \
  const Tensor& fn##_(const Tensor& self, const Tensor& other) {                             \
    VT_OP_HANDLE(op, "vt::" name "_.Tensor", Tensor(const Tensor&, const Tensor&));          \
    op(self, other);                                                                         \
    return self;                                                                             \
  }                                                                                          \
  const Tensor& fn##_(const Tensor& self, const Scalar& other) {                             \
    VT_OP_HANDLE(op, "vt::" name "_.Scalar", Tensor(const Tensor&, const Scalar&));          \
    op(self, other);                                                                         \
    return self;                                                                             \
  }

VT_BINARY_WITH_ALPHA(add, "add")
VT_BINARY_WITH_ALPHA(sub, "sub")
VT_BINARY(mul, "mul")
VT_BINARY(div, "div")

Tensor rsub(const Tensor& self, const Scalar& other, const Scalar& alpha) {
  VT_OP_HANDLE(op, "vt::rsub.Scalar", Tensor(const Tensor&, const Scalar&, const Scalar&));
  return op(self, other, alpha);
}
Tensor rdiv(const Tensor& self, const Scalar& other) {
  VT_OP_HANDLE(op, "vt::rdiv.Scalar", Tensor(const Tensor&, const Scalar&));
  return op(self, other);
}
Tensor neg(const Tensor& self) {
  VT_OP_HANDLE(op, "vt::neg", Tensor(const Tensor&));
  return op(self);
}
Tensor exp(const Tensor& self) {
  VT_OP_HANDLE(op, "vt::exp", Tensor(const Tensor&));
  return op(self);
}
Tensor sum(const Tensor& self, std::optional<IntArrayRef> dims, bool keepdim,
           std::optional<ScalarType> dtype) {
  VT_OP_HANDLE(op, "vt::sum", Tensor(const Tensor&, std::optional<IntArrayRef>, bool, std::optional<ScalarType>));
  return op(self, dims, keepdim, dtype);
}
Tensor mean(const Tensor& self, std::optional<IntArrayRef> dims, bool keepdim,
            std::optional<ScalarType> dtype) {
  VT_OP_HANDLE(op, "vt::mean", Tensor(const Tensor&, std::optional<IntArrayRef>, bool, std::optional<ScalarType>));
  return op(self, dims, keepdim, dtype);
}

}  // namespace vt
