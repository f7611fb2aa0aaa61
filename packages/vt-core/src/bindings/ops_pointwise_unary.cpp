// Unary elementwise ops: Tensor methods and vt.core functions with torch's names, arguments
// and defaults (round's decimals, gelu's approximate, nan_to_num's replacements, clamp's
// bounds as numbers or tensors).
#include "bindings/pointwise_bind.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

std::optional<double> optional_double(nb::handle h, const char* op, const char* arg) {
  if (h.is_none()) return std::nullopt;
  auto s = to_scalar(h);
  if (!s)
    fail(VT_ERROR_TYPE, op, "(): argument '", arg, "' must be float, not ",
         nb::inst_name(h).c_str());
  return s->to_double();
}

// clamp's bounds are both numbers (or None) or both tensors (or None), as torch's overloads.
struct Bounds {
  std::optional<Scalar> min, max;
  std::optional<Tensor> min_t, max_t;
  bool tensors = false;
};

Bounds clamp_bounds(nb::handle min, nb::handle max, const char* op) {
  Bounds b;
  const Tensor* lo = as_tensor(min);
  const Tensor* hi = as_tensor(max);
  b.tensors = lo || hi;
  auto number = [&](nb::handle h, const char* arg) -> std::optional<Scalar> {
    if (h.is_none()) return std::nullopt;
    if (auto s = to_scalar(h); s && !b.tensors) return s;
    fail(VT_ERROR_TYPE, op, "(): argument '", arg, "' must be ",
         b.tensors ? "Tensor or None" : "a number or None", ", not ", nb::inst_name(h).c_str());
  };
  if (b.tensors) {
    if (lo) b.min_t = *lo;
    else number(min, "min");
    if (hi) b.max_t = *hi;
    else number(max, "max");
  } else {
    b.min = number(min, "min");
    b.max = number(max, "max");
  }
  return b;
}

nb::object clamp_call(nb::handle input, nb::handle min, nb::handle max, nb::handle out) {
  const Tensor a = tensor_arg(input, "clamp", "input", 1);
  Bounds b = clamp_bounds(min, max, "clamp");
  if (!out.is_none()) {
    const Tensor& o = out_arg(out, "clamp");
    b.tensors ? vt::clamp_out(o, a, b.min_t, b.max_t) : vt::clamp_out(o, a, b.min, b.max);
    return nb::borrow(out);
  }
  return nb::cast(b.tensors ? vt::clamp(a, b.min_t, b.max_t) : vt::clamp(a, b.min, b.max));
}

nb::object clamp_inplace(nb::handle self, nb::handle min, nb::handle max) {
  Bounds b = clamp_bounds(min, max, "clamp_");
  b.tensors ? vt::clamp_(self_tensor(self), b.min_t, b.max_t)
            : vt::clamp_(self_tensor(self), b.min, b.max);
  return nb::borrow(self);
}

void bind_clamp(nb::module_& m, nb::class_<Tensor>& cls) {
  for (const char* name : {"clamp", "clip"}) {
    cls.def(name, [](nb::handle self, nb::handle min, nb::handle max) {
      return clamp_call(self, min, max, nb::none());
    }, nb::arg("min") = nb::none(), nb::arg("max") = nb::none());
    m.def(name, &clamp_call, nb::arg("input"), nb::arg("min") = nb::none(),
          nb::arg("max") = nb::none(), nb::kw_only(), nb::arg("out") = nb::none());
  }
  cls.def("clamp_", &clamp_inplace, nb::arg("min") = nb::none(), nb::arg("max") = nb::none());
  cls.def("clip_", &clamp_inplace, nb::arg("min") = nb::none(), nb::arg("max") = nb::none());
  BinaryFns lower = VT_BINARY_FNS(clamp_min), upper = VT_BINARY_FNS(clamp_max);
  lower.other_name = "min";
  upper.other_name = "max";
  def_binary(m, cls, lower);
  def_binary(m, cls, upper);
}

nb::object round_call(nb::handle input, int64_t decimals, nb::handle out) {
  const Tensor a = tensor_arg(input, "round", "input", 1);
  if (out.is_none()) return nb::cast(vt::round(a, decimals));
  vt::round_out(out_arg(out, "round"), a, decimals);
  return nb::borrow(out);
}

nb::object gelu_call(nb::handle input, const std::string& approximate, nb::handle out) {
  const Tensor a = tensor_arg(input, "gelu", "input", 1);
  if (out.is_none()) return nb::cast(vt::gelu(a, approximate));
  vt::gelu_out(out_arg(out, "gelu"), a, approximate);
  return nb::borrow(out);
}

nb::object nan_to_num_call(nb::handle input, nb::handle nan, nb::handle posinf,
                           nb::handle neginf, nb::handle out) {
  const char* op = "nan_to_num";
  const Tensor a = tensor_arg(input, op, "input", 1);
  auto n = optional_double(nan, op, "nan"), p = optional_double(posinf, op, "posinf"),
       q = optional_double(neginf, op, "neginf");
  if (out.is_none()) return nb::cast(vt::nan_to_num(a, n, p, q));
  vt::nan_to_num_out(out_arg(out, op), a, n, p, q);
  return nb::borrow(out);
}

}  // namespace

void bind_pointwise_unary(nb::module_& m, nb::class_<Tensor>& cls) {
  for (const UnaryFns& f : {
           VT_UNARY_FNS(neg), VT_UNARY_FNS(abs), VT_UNARY_FNS(sign), VT_UNARY_FNS(relu),
           VT_UNARY_FNS(floor), VT_UNARY_FNS(ceil), VT_UNARY_FNS(trunc),
           VT_UNARY_FNS(logical_not), VT_UNARY_FNS(bitwise_not), VT_UNARY_FNS(exp),
           VT_UNARY_FNS(exp2), VT_UNARY_FNS(expm1), VT_UNARY_FNS(log), VT_UNARY_FNS(log2),
           VT_UNARY_FNS(log1p), VT_UNARY_FNS(sqrt), VT_UNARY_FNS(rsqrt),
           VT_UNARY_FNS(reciprocal), VT_UNARY_FNS(sin), VT_UNARY_FNS(cos), VT_UNARY_FNS(tan),
           VT_UNARY_FNS(tanh), VT_UNARY_FNS(sigmoid), VT_UNARY_FNS(erf), VT_UNARY_FNS(silu)})
    def_unary(m, cls, f);
  def_unary(m, cls, UnaryFns{"absolute", "absolute_", &vt::abs, &vt::abs_, &vt::abs_out});
  def_unary(m, cls, UnaryFns{"negative", "negative_", &vt::neg, &vt::neg_, &vt::neg_out});

  cls.def("round", [](nb::handle self, int64_t decimals) {
    return round_call(self, decimals, nb::none());
  }, nb::kw_only(), nb::arg("decimals") = 0);
  cls.def("round_", [](nb::handle self, int64_t decimals) {
    vt::round_(self_tensor(self), decimals);
    return nb::borrow(self);
  }, nb::kw_only(), nb::arg("decimals") = 0);
  m.def("round", &round_call, nb::arg("input"), nb::kw_only(), nb::arg("decimals") = 0,
        nb::arg("out") = nb::none());

  m.def("gelu", &gelu_call, nb::arg("input"), nb::arg("approximate") = "none", nb::kw_only(),
        nb::arg("out") = nb::none());
  m.def("gelu_", [](nb::handle input, const std::string& approximate) {
    vt::gelu_(tensor_arg(input, "gelu_", "input", 1), approximate);
    return nb::borrow(input);
  }, nb::arg("input"), nb::arg("approximate") = "none");

  for (auto [name, fn] : {std::pair{"isnan", &vt::isnan}, std::pair{"isinf", &vt::isinf},
                          std::pair{"isfinite", &vt::isfinite}}) {
    cls.def(name, [fn](const Tensor& a) { return fn(a); });
    m.def(name, [fn, name](nb::handle input) { return fn(tensor_arg(input, name, "input", 1)); },
          nb::arg("input"));
  }

  cls.def("nan_to_num", [](nb::handle self, nb::handle nan, nb::handle posinf, nb::handle neginf) {
    return nan_to_num_call(self, nan, posinf, neginf, nb::none());
  }, nb::arg("nan") = nb::none(), nb::arg("posinf") = nb::none(), nb::arg("neginf") = nb::none());
  cls.def("nan_to_num_", [](nb::handle self, nb::handle nan, nb::handle posinf,
                            nb::handle neginf) {
    const char* op = "nan_to_num_";
    vt::nan_to_num_(self_tensor(self), optional_double(nan, op, "nan"),
                    optional_double(posinf, op, "posinf"), optional_double(neginf, op, "neginf"));
    return nb::borrow(self);
  }, nb::arg("nan") = nb::none(), nb::arg("posinf") = nb::none(), nb::arg("neginf") = nb::none());
  m.def("nan_to_num", &nan_to_num_call, nb::arg("input"), nb::arg("nan") = nb::none(),
        nb::arg("posinf") = nb::none(), nb::arg("neginf") = nb::none(), nb::kw_only(),
        nb::arg("out") = nb::none());

  bind_clamp(m, cls);
}

}  // namespace vt::py
