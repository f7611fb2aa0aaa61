// Binary and ternary elementwise ops: Tensor methods and vt.core functions (comparisons,
// rounded division, pow, bitwise and logical ops, maximum/minimum, where, lerp,
// addcmul/addcdiv) with torch's names, arguments and defaults.
#include "bindings/pointwise_bind.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

const BinaryFns kMaximum{"maximum", nullptr, &vt::maximum, nullptr, nullptr, nullptr,
                         &vt::maximum_out};
const BinaryFns kMinimum{"minimum", nullptr, &vt::minimum, nullptr, nullptr, nullptr,
                         &vt::minimum_out};

nb::object where_call(nb::handle cond, nb::handle input, nb::handle other, nb::handle out) {
  const Tensor c = tensor_arg(cond, "where", "condition", 1);
  if (input.is_none() && other.is_none()) {
    // where(condition) is nonzero(condition, as_tuple=True), which the index family provides.
    nb::object nonzero = nb::module_::import_("vt.core._C").attr("nonzero");
    return nonzero(cond, nb::arg("as_tuple") = true);
  }
  if (!out.is_none()) {
    vt::where_out(out_arg(out, "where"), c, tensor_arg(input, "where", "input", 2, true),
                  tensor_arg(other, "where", "other", 3, true));
    return nb::borrow(out);
  }
  const Tensor* a = as_tensor(input);
  const Tensor* b = as_tensor(other);
  auto number = [](nb::handle h, const char* arg, int pos) {
    if (auto s = to_scalar(h)) return *s;
    raise_not_tensor("where", arg, pos, h);
  };
  if (a && b) return nb::cast(vt::where(c, *a, *b));
  if (a) return nb::cast(vt::where(c, *a, number(other, "other", 3)));
  if (b) return nb::cast(vt::where(c, number(input, "input", 2), *b));
  return nb::cast(vt::where(c, number(input, "input", 2), number(other, "other", 3)));
}

nb::object lerp_call(nb::handle input, nb::handle end, nb::handle weight, nb::handle out) {
  const Tensor a = tensor_arg(input, "lerp", "input", 1);
  const Tensor e = tensor_arg(end, "lerp", "end", 2);
  const Tensor* w = as_tensor(weight);
  if (!out.is_none()) {
    const Tensor& o = out_arg(out, "lerp");
    w ? vt::lerp_out(o, a, e, *w) : vt::lerp_out(o, a, e, require_scalar(weight, "lerp"));
    return nb::borrow(out);
  }
  return nb::cast(w ? vt::lerp(a, e, *w) : vt::lerp(a, e, require_scalar(weight, "lerp")));
}

nb::object lerp_inplace(nb::handle self, nb::handle end, nb::handle weight) {
  const Tensor e = tensor_arg(end, "lerp_", "end", 1);
  if (const Tensor* w = as_tensor(weight)) vt::lerp_(self_tensor(self), e, *w);
  else vt::lerp_(self_tensor(self), e, require_scalar(weight, "lerp_"));
  return nb::borrow(self);
}

// addcmul and addcdiv share their arguments.
using Addc = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Scalar&);
using AddcInplace = const Tensor& (*)(const Tensor&, const Tensor&, const Tensor&, const Scalar&);
using AddcOut = const Tensor& (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const Scalar&);

void bind_addc(nb::module_& m, nb::class_<Tensor>& cls, const char* name, const char* inplace,
               Addc fn, AddcInplace fn_, AddcOut fn_out) {
  auto call = [=](nb::handle input, nb::handle t1, nb::handle t2, nb::handle value,
                  nb::handle out) -> nb::object {
    const Tensor a = tensor_arg(input, name, "input", 1);
    const Tensor x = tensor_arg(t1, name, "tensor1", 2), y = tensor_arg(t2, name, "tensor2", 3);
    const Scalar v = require_scalar(value, name);
    if (out.is_none()) return nb::cast(fn(a, x, y, v));
    fn_out(out_arg(out, name), a, x, y, v);
    return nb::borrow(out);
  };
  cls.def(name, [call](nb::handle self, nb::handle t1, nb::handle t2, nb::handle value) {
    return call(self, t1, t2, value, nb::none());
  }, nb::arg("tensor1"), nb::arg("tensor2"), nb::kw_only(), nb::arg("value") = 1);
  cls.def(inplace, [=](nb::handle self, nb::handle t1, nb::handle t2, nb::handle value) {
    fn_(self_tensor(self), tensor_arg(t1, inplace, "tensor1", 1),
        tensor_arg(t2, inplace, "tensor2", 2), require_scalar(value, inplace));
    return nb::borrow(self);
  }, nb::arg("tensor1"), nb::arg("tensor2"), nb::kw_only(), nb::arg("value") = 1);
  m.def(name, call, nb::arg("input"), nb::arg("tensor1"), nb::arg("tensor2"), nb::kw_only(),
        nb::arg("value") = 1, nb::arg("out") = nb::none());
}

}  // namespace

void bind_pointwise_binary(nb::module_& m, nb::class_<Tensor>& cls) {
  BinaryFns power = VT_BINARY_FNS(pow, true);
  power.number_first = static_cast<Tensor (*)(const Scalar&, const Tensor&)>(&vt::pow);
  power.other_name = "exponent";
  power.self_keyword = true;
  for (const BinaryFns& f : {
           VT_BINARY_FNS(floor_divide), VT_BINARY_FNS(remainder, true), VT_BINARY_FNS(fmod),
           power, VT_BINARY_FNS(eq), VT_BINARY_FNS(ne), VT_BINARY_FNS(lt),
           VT_BINARY_FNS(le), VT_BINARY_FNS(gt), VT_BINARY_FNS(ge),
           VT_BINARY_FNS(bitwise_and, true), VT_BINARY_FNS(bitwise_or, true),
           VT_BINARY_FNS(bitwise_xor, true), VT_BINARY_FNS(bitwise_left_shift, true),
           VT_BINARY_FNS(bitwise_right_shift, true), VT_BINARY_FNS_TENSOR(atan2),
           VT_BINARY_FNS_TENSOR(logical_and), VT_BINARY_FNS_TENSOR(logical_or),
           VT_BINARY_FNS_TENSOR(logical_xor), kMaximum, kMinimum})
    def_binary(m, cls, f);
}

void bind_pointwise_ternary(nb::module_& m, nb::class_<Tensor>& cls) {
  m.def("where", &where_call, nb::arg("condition"), nb::arg("input") = nb::none(),
        nb::arg("other") = nb::none(), nb::kw_only(), nb::arg("out") = nb::none());
  cls.def("where", [](nb::handle self, nb::handle cond, nb::handle other) {
    return where_call(cond, self, other, nb::none());
  }, nb::arg("condition"), nb::arg("other"));

  cls.def("lerp", [](nb::handle self, nb::handle end, nb::handle weight) {
    return lerp_call(self, end, weight, nb::none());
  }, nb::arg("end"), nb::arg("weight"));
  cls.def("lerp_", &lerp_inplace, nb::arg("end"), nb::arg("weight"));
  m.def("lerp", &lerp_call, nb::arg("input"), nb::arg("end"), nb::arg("weight"), nb::kw_only(),
        nb::arg("out") = nb::none());

  bind_addc(m, cls, "addcmul", "addcmul_", &vt::addcmul, &vt::addcmul_, &vt::addcmul_out);
  bind_addc(m, cls, "addcdiv", "addcdiv_", &vt::addcdiv, &vt::addcdiv_, &vt::addcdiv_out);
}

}  // namespace vt::py
