// Python operators on Tensor: arithmetic (+ - * / // % **), bitwise (& | ^ << >> ~),
// comparisons (bool tensors) and abs(). Reflected forms turn the number on the left into a
// wrapped-number tensor; in-place forms return the same Python object; anything other than a
// tensor or a number gives NotImplemented so Python can try the other operand.
#include "bindings/pointwise_bind.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

using TT = Tensor (*)(const Tensor&, const Tensor&);
using TS = Tensor (*)(const Tensor&, const Scalar&);
using ITT = const Tensor& (*)(const Tensor&, const Tensor&);
using ITS = const Tensor& (*)(const Tensor&, const Scalar&);

// self op other, other op self, and self op= other for one pointwise op.
struct Operator {
  const char* name;  // without underscores: "pow" gives __pow__, __rpow__, __ipow__
  TT tensor;
  TS scalar;
  ITT inplace;
  ITS inplace_scalar;
  bool commutes;
  TS reflected = nullptr;  // number op self, when a kernel takes the number directly
};

#define VT_OPERATOR(dunder, op, commutes)                                                 \
  Operator {                                                                              \
    dunder, TT(&::vt::op), TS(&::vt::op), ITT(&::vt::op##_), ITS(&::vt::op##_), commutes  \
  }

void def_operator(nb::class_<Tensor>& cls, const Operator& o) {
  const std::string name(o.name);
  cls.def(("__" + name + "__").c_str(), [o](const Tensor& a, nb::handle b) {
    return binary_operator(a, b, o.tensor, o.scalar);
  });
  cls.def(("__r" + name + "__").c_str(), [o](const Tensor& a, nb::handle b) -> nb::object {
    if (o.commutes) return binary_operator(a, b, o.tensor, o.scalar);
    if (auto s = to_scalar(b))
      return nb::cast(without_gil_above(a.numel(), [&] {
        return o.reflected ? o.reflected(a, *s) : o.tensor(number_tensor(*s), a);
      }));
    return nb::borrow(Py_NotImplemented);
  });
  cls.def(("__i" + name + "__").c_str(), [o](nb::handle self, nb::handle b) -> nb::object {
    const Tensor& a = self_tensor(self);
    if (const Tensor* t = as_tensor(b)) without_gil_above(a.numel(), [&] { o.inplace(a, *t); });
    else if (auto s = to_scalar(b)) without_gil_above(a.numel(), [&] { o.inplace_scalar(a, *s); });
    else return nb::borrow(Py_NotImplemented);
    return nb::borrow(self);
  });
}

// Python's default hash, from the object's address: tensors hash by identity, as torch's.
Py_hash_t identity_hash(nb::handle self) {
  auto p = reinterpret_cast<uintptr_t>(self.ptr());
  Py_hash_t h = Py_hash_t((p >> 4) | (p << (8 * sizeof(uintptr_t) - 4)));
  return h == -1 ? -2 : h;
}

}  // namespace

void bind_pointwise_operators(nb::class_<Tensor>& cls) {
  // add and sub take alpha, so their two-operand forms are spelled out.
  const Operator add{
      "add", [](const Tensor& a, const Tensor& b) { return vt::add(a, b); },
      [](const Tensor& a, const Scalar& b) { return vt::add(a, b); },
      [](const Tensor& a, const Tensor& b) -> const Tensor& { return vt::add_(a, b); },
      [](const Tensor& a, const Scalar& b) -> const Tensor& { return vt::add_(a, b); }, true};
  const Operator sub{
      "sub", [](const Tensor& a, const Tensor& b) { return vt::sub(a, b); },
      [](const Tensor& a, const Scalar& b) { return vt::sub(a, b); },
      [](const Tensor& a, const Tensor& b) -> const Tensor& { return vt::sub_(a, b); },
      [](const Tensor& a, const Scalar& b) -> const Tensor& { return vt::sub_(a, b); }, false,
      [](const Tensor& a, const Scalar& b) { return vt::rsub(a, b); }};
  Operator truediv = VT_OPERATOR("truediv", div, false);
  truediv.reflected = &vt::rdiv;
  Operator power = VT_OPERATOR("pow", pow, false);
  power.reflected = [](const Tensor& a, const Scalar& s) { return vt::pow(s, a); };
  for (const Operator& o : {
           add, sub, VT_OPERATOR("mul", mul, true), truediv,
           VT_OPERATOR("floordiv", floor_divide, false), VT_OPERATOR("mod", remainder, false),
           power, VT_OPERATOR("and", bitwise_and, true),
           VT_OPERATOR("or", bitwise_or, true), VT_OPERATOR("xor", bitwise_xor, true),
           VT_OPERATOR("lshift", bitwise_left_shift, false),
           VT_OPERATOR("rshift", bitwise_right_shift, false)})
    def_operator(cls, o);

  cls.def("__neg__", [](const Tensor& a) { return vt::neg(a); })
      .def("__pos__", [](const Tensor& a) { return a; })
      .def("__abs__", [](const Tensor& a) { return vt::abs(a); })
      .def("__invert__", [](const Tensor& a) { return vt::bitwise_not(a); });

  for (auto [name, tensor, scalar] : {std::tuple{"__eq__", TT(&vt::eq), TS(&vt::eq)},
                                      std::tuple{"__ne__", TT(&vt::ne), TS(&vt::ne)},
                                      std::tuple{"__lt__", TT(&vt::lt), TS(&vt::lt)},
                                      std::tuple{"__le__", TT(&vt::le), TS(&vt::le)},
                                      std::tuple{"__gt__", TT(&vt::gt), TS(&vt::gt)},
                                      std::tuple{"__ge__", TT(&vt::ge), TS(&vt::ge)}}) {
    // None is accepted: t == None is False, as in torch.
    cls.def(name, [tensor, scalar](const Tensor& a, nb::handle b) {
      return binary_operator(a, b, tensor, scalar);
    }, nb::arg("other").none());
  }
  // Defining __eq__ drops the inherited hash; tensors stay usable as dict keys and in sets.
  cls.def("__hash__", &identity_hash);
}

}  // namespace vt::py
