// Elementwise ops: the shared binding helpers, add/sub/mul/div (methods, vt.core functions
// and their operators), and bind_pointwise_ops, which binds the rest of the family.
#include "bindings/pointwise_bind.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {

Tensor number_tensor(const Scalar& s) {
  ScalarType dt = s.is_bool() ? ScalarType::Bool : s.is_floating() ? ScalarType::Float64
                                                                    : ScalarType::Int64;
  Tensor t = Tensor::empty({}, dt, kCPU);
  if (s.is_bool()) *t.data_as<bool>() = s.to_bool();
  else if (s.is_floating()) *t.data_as<double>() = s.to_double();
  else *t.data_as<int64_t>() = s.to_int();
  t.impl()->set_wrapped_number(true);
  return t;
}

void raise_not_tensor(const char* op, const char* arg, int position, nb::handle h) {
  fail(VT_ERROR_TYPE, op, "(): argument '", arg, "' (position ", position,
       ") must be Tensor, not ", nb::inst_name(h).c_str());
}

Tensor tensor_arg(nb::handle h, const char* op, const char* arg, int position, bool allow_number) {
  if (const Tensor* t = as_tensor(h)) return *t;
  if (allow_number)
    if (auto s = to_scalar(h)) return number_tensor(*s);
  raise_not_tensor(op, arg, position, h);
}

const Tensor& out_arg(nb::handle out, const char* op) {
  if (const Tensor* t = as_tensor(out)) return *t;
  fail(VT_ERROR_TYPE, op, "(): argument 'out' must be Tensor, not ", nb::inst_name(out).c_str());
}

Tensor require_tensor(nb::handle h, const char* what) {
  if (const Tensor* t = as_tensor(h)) return *t;
  fail(VT_ERROR_TYPE, what, "(): argument 'input' must be Tensor, not ", nb::inst_name(h).c_str());
}

void def_unary(nb::module_& m, nb::class_<Tensor>& cls, const UnaryFns& f) {
  cls.def(f.name, [fn = f.fn](const Tensor& a) {
    return without_gil_above(a.numel(), [&] { return fn(a); });
  });
  auto run_inplace = [f](nb::handle self) {
    const Tensor& a = self_tensor(self);
    without_gil_above(a.numel(), [&] { f.inplace(a); });
    return nb::borrow(self);
  };
  cls.def(f.inplace_name, run_inplace);
  m.def(f.name, [f](nb::handle input, nb::handle out) -> nb::object {
    const Tensor a = tensor_arg(input, f.name, "input", 1);
    if (out.is_none()) return nb::cast(without_gil_above(a.numel(), [&] { return f.fn(a); }));
    const Tensor& o = out_arg(out, f.name);
    without_gil_above(a.numel(), [&] { f.out(o, a); });
    return nb::borrow(out);
  }, nb::arg("input"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def(f.inplace_name, [f, run_inplace](nb::handle input) {
    tensor_arg(input, f.name, "input", 1);
    return run_inplace(input);
  }, nb::arg("input"));
}

nb::object call_binary(const BinaryFns& f, nb::handle input, nb::handle other, nb::handle out) {
  const bool number_first = f.number_input && !as_tensor(input) && as_tensor(other);
  if (number_first && f.number_first && out.is_none())
    if (auto s = to_scalar(input)) return nb::cast(f.number_first(*s, *as_tensor(other)));
  const Tensor a = tensor_arg(input, f.name, "input", 1, number_first);
  const bool numbers = f.scalar != nullptr;
  if (!out.is_none()) {
    f.out(out_arg(out, f.name), a, tensor_arg(other, f.name, f.other_name, 2, numbers));
    return nb::borrow(out);
  }
  if (const Tensor* b = as_tensor(other))
    return nb::cast(without_gil_above(std::max(a.numel(), b->numel()),
                                      [&] { return f.tensor(a, *b); }));
  if (numbers)
    if (auto s = to_scalar(other))
      return nb::cast(without_gil_above(a.numel(), [&] { return f.scalar(a, *s); }));
  raise_not_tensor(f.name, f.other_name, 2, other);
}

nb::object call_binary_inplace(const BinaryFns& f, nb::handle self, nb::handle other) {
  const Tensor& a = self_tensor(self);
  if (const Tensor* b = as_tensor(other)) {
    without_gil_above(a.numel(), [&] { f.inplace(a, *b); });
  } else if (auto s = f.inplace_scalar ? to_scalar(other) : std::nullopt) {
    without_gil_above(a.numel(), [&] { f.inplace_scalar(a, *s); });
  } else {
    raise_not_tensor(f.name, f.other_name, 1, other);
  }
  return nb::borrow(self);
}

void def_binary(nb::module_& m, nb::class_<Tensor>& cls, const BinaryFns& f) {
  cls.def(f.name, [f](nb::handle self, nb::handle other) {
    return call_binary(f, self, other, nb::none());
  }, nb::arg(f.other_name));
  if (f.inplace) {
    cls.def(f.inplace_name, [f](nb::handle self, nb::handle other) {
      return call_binary_inplace(f, self, other);
    }, nb::arg(f.other_name));
  }
  auto call = [f](nb::handle input, nb::handle other, nb::handle out) {
    return call_binary(f, input, other, out);
  };
  m.def(f.name, call, nb::arg("input"), nb::arg(f.other_name), nb::kw_only(), nb::arg("out") = nb::none());
  if (f.self_keyword)
    m.def(f.name, call, nb::arg("self"), nb::arg(f.other_name), nb::kw_only(), nb::arg("out") = nb::none());
}

namespace {

// add and sub: other scaled by alpha.
nb::object call_alpha(const char* name, nb::handle input, nb::handle other, nb::handle alpha,
                      nb::handle out, bool negate) {
  const Tensor a = tensor_arg(input, name, "input", 1, as_tensor(other) != nullptr);
  const Scalar al = require_scalar(alpha, "alpha");
  if (!out.is_none()) {
    const Tensor b = tensor_arg(other, name, "other", 2, true);
    negate ? vt::sub_out(out_arg(out, name), a, b, al) : vt::add_out(out_arg(out, name), a, b, al);
    return nb::borrow(out);
  }
  if (const Tensor* b = as_tensor(other))
    return nb::cast(without_gil_above(std::max(a.numel(), b->numel()), [&] {
      return negate ? vt::sub(a, *b, al) : vt::add(a, *b, al);
    }));
  if (auto s = to_scalar(other))
    return nb::cast(without_gil_above(a.numel(), [&] {
      return negate ? vt::sub(a, *s, al) : vt::add(a, *s, al);
    }));
  raise_not_tensor(name, "other", 2, other);
}

nb::object call_alpha_inplace(const char* name, nb::handle self, nb::handle other,
                              nb::handle alpha, bool negate) {
  const Tensor& a = self_tensor(self);
  const Scalar al = require_scalar(alpha, "alpha");
  if (const Tensor* b = as_tensor(other))
    without_gil_above(a.numel(), [&] { negate ? vt::sub_(a, *b, al) : vt::add_(a, *b, al); });
  else if (auto s = to_scalar(other))
    without_gil_above(a.numel(), [&] { negate ? vt::sub_(a, *s, al) : vt::add_(a, *s, al); });
  else raise_not_tensor(name, "other", 1, other);
  return nb::borrow(self);
}

std::optional<std::string> rounding_mode(nb::handle mode) {
  if (mode.is_none()) return std::nullopt;
  if (!nb::isinstance<nb::str>(mode))
    fail(VT_ERROR_TYPE, "div(): argument 'rounding_mode' must be str, not ",
         nb::inst_name(mode).c_str());
  return nb::cast<std::string>(mode);
}

const BinaryFns kMul = VT_BINARY_FNS(mul, true);
const BinaryFns kDiv = VT_BINARY_FNS(div, true);

nb::object call_div(nb::handle input, nb::handle other, nb::handle mode, nb::handle out) {
  auto m = rounding_mode(mode);
  if (!m) return call_binary(kDiv, input, other, out);
  const Tensor a = tensor_arg(input, "div", "input", 1, as_tensor(other) != nullptr);
  if (!out.is_none()) {
    vt::div_out(out_arg(out, "div"), a, tensor_arg(other, "div", "other", 2, true), *m);
    return nb::borrow(out);
  }
  if (const Tensor* b = as_tensor(other)) return nb::cast(vt::div(a, *b, *m));
  if (auto s = to_scalar(other)) return nb::cast(vt::div(a, *s, *m));
  raise_not_tensor("div", "other", 2, other);
}

nb::object call_div_inplace(nb::handle self, nb::handle other, nb::handle mode) {
  auto m = rounding_mode(mode);
  if (!m) return call_binary_inplace(kDiv, self, other);
  const Tensor& a = self_tensor(self);
  if (const Tensor* b = as_tensor(other)) vt::div_(a, *b, *m);
  else if (auto s = to_scalar(other)) vt::div_(a, *s, *m);
  else raise_not_tensor("div_", "other", 1, other);
  return nb::borrow(self);
}

}  // namespace

void bind_pointwise_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  cls.def("add", [](nb::handle self, nb::handle other, nb::handle alpha) {
    return call_alpha("add", self, other, alpha, nb::none(), false);
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  cls.def("sub", [](nb::handle self, nb::handle other, nb::handle alpha) {
    return call_alpha("sub", self, other, alpha, nb::none(), true);
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  cls.def("add_", [](nb::handle self, nb::handle other, nb::handle alpha) {
    return call_alpha_inplace("add_", self, other, alpha, false);
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  cls.def("sub_", [](nb::handle self, nb::handle other, nb::handle alpha) {
    return call_alpha_inplace("sub_", self, other, alpha, true);
  }, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  m.def("add", [](nb::handle a, nb::handle b, nb::handle alpha, nb::handle out) {
    return call_alpha("add", a, b, alpha, out, false);
  }, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1,
     nb::arg("out") = nb::none());
  m.def("sub", [](nb::handle a, nb::handle b, nb::handle alpha, nb::handle out) {
    return call_alpha("sub", a, b, alpha, out, true);
  }, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1,
     nb::arg("out") = nb::none());

  def_binary(m, cls, kMul);
  cls.def("div", [](nb::handle self, nb::handle other, nb::handle mode) {
    return call_div(self, other, mode, nb::none());
  }, nb::arg("other"), nb::kw_only(), nb::arg("rounding_mode") = nb::none());
  cls.def("div_", &call_div_inplace, nb::arg("other"), nb::kw_only(),
          nb::arg("rounding_mode") = nb::none());
  m.def("div", &call_div, nb::arg("input"), nb::arg("other"), nb::kw_only(),
        nb::arg("rounding_mode") = nb::none(), nb::arg("out") = nb::none());

  bind_pointwise_unary(m, cls);
  bind_pointwise_binary(m, cls);
  bind_pointwise_ternary(m, cls);
  bind_pointwise_operators(cls);
}

}  // namespace vt::py
