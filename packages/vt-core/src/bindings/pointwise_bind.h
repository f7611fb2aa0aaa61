// Helpers shared by the pointwise family's binding files: argument checks with torch's
// TypeErrors, Python numbers as wrapped-number tensors, and one-call definitions of an op's
// Tensor methods (name, name_) and vt.core functions (name(input, ..., *, out=None)).
#pragma once

#include "bindings/common.h"

namespace vt::py {

// A 0-dim tensor holding a Python number; it promotes as the number would (a float does not
// make a float32 tensor float64), so number operands can go where tensors are expected.
Tensor number_tensor(const Scalar& s);

// "op(): argument 'arg' (position n) must be Tensor, not T" as a TypeError.
[[noreturn]] void raise_not_tensor(const char* op, const char* arg, int position, nb::handle h);
// A tensor argument, or with allow_number a number as a wrapped-number tensor.
Tensor tensor_arg(nb::handle h, const char* op, const char* arg, int position,
                  bool allow_number = false);
// The out= tensor (TypeError when it is not one).
const Tensor& out_arg(nb::handle out, const char* op);

// An in-place method returns its own Python object, as torch's do.
inline const Tensor& self_tensor(nb::handle self) { return *nb::inst_ptr<Tensor>(self); }

struct UnaryFns {
  const char* name;
  const char* inplace_name;  // name + "_"
  Tensor (*fn)(const Tensor&);
  const Tensor& (*inplace)(const Tensor&);
  const Tensor& (*out)(const Tensor&, const Tensor&);
};
#define VT_UNARY_FNS(op) \
  ::vt::py::UnaryFns { #op, #op "_", &::vt::op, &::vt::op##_, &::vt::op##_out }
// Tensor.name(), Tensor.name_(), vt.name(input, *, out=None), vt.name_(input).
void def_unary(nb::module_& m, nb::class_<Tensor>& cls, const UnaryFns& f);

struct BinaryFns {
  const char* name;
  const char* inplace_name;  // name + "_"
  Tensor (*tensor)(const Tensor&, const Tensor&);
  Tensor (*scalar)(const Tensor&, const Scalar&);          // null: other must be a Tensor
  const Tensor& (*inplace)(const Tensor&, const Tensor&);  // null: no in-place form
  const Tensor& (*inplace_scalar)(const Tensor&, const Scalar&);
  const Tensor& (*out)(const Tensor&, const Tensor&, const Tensor&);
  bool number_input = false;  // vt.name takes a number as input, as torch.pow(2, t) does
  Tensor (*number_first)(const Scalar&, const Tensor&) = nullptr;  // its own kernel for that
  const char* other_name = "other";  // torch's name of the second argument (pow's exponent)
  bool self_keyword = false;  // torch also takes a number first by the keyword self (pow)
};
// input op other with the rules above; out may be None.
nb::object call_binary(const BinaryFns& f, nb::handle input, nb::handle other, nb::handle out);
nb::object call_binary_inplace(const BinaryFns& f, nb::handle self, nb::handle other);
// Tensor.name(other), Tensor.name_(other), vt.name(input, other, *, out=None); with self_keyword
// also vt.name(self, other, *, out=None).
void def_binary(nb::module_& m, nb::class_<Tensor>& cls, const BinaryFns& f);

// The function pointers of a binary op of pointwise.h: with number and in-place forms, only
// an in-place form, or neither.
#define VT_BINARY_FNS(op, ...)                                                            \
  ::vt::py::BinaryFns {                                                                   \
    #op, #op "_", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&::vt::op),       \
        static_cast<Tensor (*)(const Tensor&, const Scalar&)>(&::vt::op),                 \
        static_cast<const Tensor& (*)(const Tensor&, const Tensor&)>(&::vt::op##_),       \
        static_cast<const Tensor& (*)(const Tensor&, const Scalar&)>(&::vt::op##_),       \
        static_cast<const Tensor& (*)(const Tensor&, const Tensor&, const Tensor&)>(      \
            &::vt::op##_out),                                                             \
        __VA_ARGS__                                                                       \
  }
#define VT_BINARY_FNS_TENSOR(op)                                                          \
  ::vt::py::BinaryFns {                                                                   \
    #op, #op "_", &::vt::op, nullptr, &::vt::op##_, nullptr, &::vt::op##_out              \
  }

void bind_pointwise_unary(nb::module_& m, nb::class_<Tensor>& cls);
void bind_pointwise_binary(nb::module_& m, nb::class_<Tensor>& cls);
void bind_pointwise_ternary(nb::module_& m, nb::class_<Tensor>& cls);
void bind_pointwise_operators(nb::class_<Tensor>& cls);

}  // namespace vt::py
