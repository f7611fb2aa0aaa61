// Elementwise arithmetic: operators, Tensor methods and module functions.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

Scalar alpha_of(nb::handle alpha) { return require_scalar(alpha, "alpha"); }

void check_rounding_mode(nb::handle mode) {
  if (mode.is_valid() && !mode.is_none())
    fail(VT_ERROR_NOT_IMPLEMENTED, "div(): rounding_mode=", nb::cast<std::string>(nb::str(mode)),
         " is not implemented in vt.core yet; only true division (rounding_mode=None)");
}

}  // namespace

Tensor require_tensor(nb::handle h, const char* what) {
  if (const Tensor* t = as_tensor(h)) return *t;
  fail(VT_ERROR_TYPE, what, "(): argument 'input' must be Tensor, not ", nb::inst_name(h).c_str());
}

void bind_pointwise_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  auto add_t = [](const Tensor& a, const Tensor& b) { return vt::add(a, b); };
  auto add_s = [](const Tensor& a, const Scalar& b) { return vt::add(a, b); };
  auto sub_t = [](const Tensor& a, const Tensor& b) { return vt::sub(a, b); };
  auto sub_s = [](const Tensor& a, const Scalar& b) { return vt::sub(a, b); };
  auto mul_t = [](const Tensor& a, const Tensor& b) { return vt::mul(a, b); };
  auto mul_s = [](const Tensor& a, const Scalar& b) { return vt::mul(a, b); };
  auto div_t = [](const Tensor& a, const Tensor& b) { return vt::div(a, b); };
  auto div_s = [](const Tensor& a, const Scalar& b) { return vt::div(a, b); };

  cls.def("__add__", [=](const Tensor& a, nb::handle b) { return binary_operator(a, b, add_t, add_s); })
      .def("__radd__", [=](const Tensor& a, nb::handle b) { return binary_operator(a, b, add_t, add_s); })
      .def("__sub__", [=](const Tensor& a, nb::handle b) { return binary_operator(a, b, sub_t, sub_s); })
      .def("__rsub__", [=](const Tensor& a, nb::handle b) {
        return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return vt::sub(y, x); },
                      [](const Tensor& x, const Scalar& y) { return vt::rsub(x, y); });
      })
      .def("__mul__", [=](const Tensor& a, nb::handle b) { return binary_operator(a, b, mul_t, mul_s); })
      .def("__rmul__", [=](const Tensor& a, nb::handle b) { return binary_operator(a, b, mul_t, mul_s); })
      .def("__truediv__", [=](const Tensor& a, nb::handle b) { return binary_operator(a, b, div_t, div_s); })
      .def("__rtruediv__", [=](const Tensor& a, nb::handle b) {
        return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return vt::div(y, x); },
                      [](const Tensor& x, const Scalar& y) { return vt::rdiv(x, y); });
      })
      .def("__iadd__", [](const Tensor& a, nb::handle b) {
        return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return vt::add_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::add_(x, y); });
      })
      .def("__isub__", [](const Tensor& a, nb::handle b) {
        return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return vt::sub_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::sub_(x, y); });
      })
      .def("__imul__", [](const Tensor& a, nb::handle b) {
        return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return vt::mul_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::mul_(x, y); });
      })
      .def("__itruediv__", [](const Tensor& a, nb::handle b) {
        return binary_operator(a, b, [](const Tensor& x, const Tensor& y) { return vt::div_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::div_(x, y); });
      })
      .def("__neg__", [](const Tensor& a) { return vt::neg(a); })
      .def("__pos__", [](const Tensor& a) { return a; });

  // Named methods take the same arguments as torch's.
  auto method_alpha = [](auto tensor_fn, auto scalar_fn) {
    return [=](const Tensor& a, nb::handle b, nb::handle alpha) -> nb::object {
      Scalar al = alpha_of(alpha);
      if (const Tensor* t = as_tensor(b)) return nb::cast(tensor_fn(a, *t, al));
      return nb::cast(scalar_fn(a, require_scalar(b, "other"), al));
    };
  };
  auto method = [](auto tensor_fn, auto scalar_fn) {
    return [=](const Tensor& a, nb::handle b) -> nb::object {
      if (const Tensor* t = as_tensor(b)) return nb::cast(tensor_fn(a, *t));
      return nb::cast(scalar_fn(a, require_scalar(b, "other")));
    };
  };
  using TTS = Tensor (*)(const Tensor&, const Tensor&, const Scalar&);
  using TSS = Tensor (*)(const Tensor&, const Scalar&, const Scalar&);
  using TT = Tensor (*)(const Tensor&, const Tensor&);
  using TS = Tensor (*)(const Tensor&, const Scalar&);
  using ITTS = const Tensor& (*)(const Tensor&, const Tensor&, const Scalar&);
  using ITSS = const Tensor& (*)(const Tensor&, const Scalar&, const Scalar&);
  using ITT = const Tensor& (*)(const Tensor&, const Tensor&);
  using ITS = const Tensor& (*)(const Tensor&, const Scalar&);
  auto add_m = method_alpha(TTS(&vt::add), TSS(&vt::add));
  auto sub_m = method_alpha(TTS(&vt::sub), TSS(&vt::sub));
  auto mul_m = method(TT(&vt::mul), TS(&vt::mul));
  auto div_m = method(TT(&vt::div), TS(&vt::div));
  cls.def("add", add_m, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1)
      .def("sub", sub_m, nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1)
      .def("mul", mul_m, nb::arg("other"))
      .def("div", [=](const Tensor& a, nb::handle b, nb::handle mode) {
        check_rounding_mode(mode);
        return div_m(a, b);
      }, nb::arg("other"), nb::kw_only(), nb::arg("rounding_mode") = nb::none())
      .def("add_", method_alpha(ITTS(&vt::add_), ITSS(&vt::add_)), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1)
      .def("sub_", method_alpha(ITTS(&vt::sub_), ITSS(&vt::sub_)), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1)
      .def("mul_", method(ITT(&vt::mul_), ITS(&vt::mul_)), nb::arg("other"))
      .def("div_", method(ITT(&vt::div_), ITS(&vt::div_)), nb::arg("other"))
      .def("neg", [](const Tensor& a) { return vt::neg(a); })
      .def("exp", [](const Tensor& a) { return vt::exp(a); });

  m.def("add", [=](nb::handle a, nb::handle b, nb::handle alpha) { return add_m(require_tensor(a, "add"), b, alpha); },
        nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  m.def("sub", [=](nb::handle a, nb::handle b, nb::handle alpha) { return sub_m(require_tensor(a, "sub"), b, alpha); },
        nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("alpha") = 1);
  m.def("mul", [=](nb::handle a, nb::handle b) { return mul_m(require_tensor(a, "mul"), b); },
        nb::arg("input"), nb::arg("other"));
  m.def("div", [=](nb::handle a, nb::handle b, nb::handle mode) {
    check_rounding_mode(mode);
    return div_m(require_tensor(a, "div"), b);
  }, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("rounding_mode") = nb::none());
  m.def("neg", [](const Tensor& a) { return vt::neg(a); }, nb::arg("input"));
  m.def("exp", [](const Tensor& a) { return vt::exp(a); }, nb::arg("input"));
}

}  // namespace vt::py
