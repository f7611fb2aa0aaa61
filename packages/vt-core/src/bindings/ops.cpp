// Arithmetic, reductions and factories: Tensor methods, operators and module functions.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

const Tensor* as_tensor(nb::handle h) {
  return nb::isinstance<Tensor>(h) ? nb::inst_ptr<Tensor>(h) : nullptr;
}

nb::object not_implemented() { return nb::borrow(Py_NotImplemented); }

// One entry point per operator: a Tensor or a Python number on the right, else NotImplemented
// so Python can try the reflected operation.
template <typename OnTensor, typename OnScalar>
nb::object binary(const Tensor& self, nb::handle other, OnTensor on_tensor, OnScalar on_scalar) {
  if (const Tensor* t = as_tensor(other)) return nb::cast(on_tensor(self, *t));
  if (auto s = to_scalar(other)) return nb::cast(on_scalar(self, *s));
  return not_implemented();
}

Tensor require_tensor(nb::handle h, const char* what) {
  if (const Tensor* t = as_tensor(h)) return *t;
  fail(VT_ERROR_TYPE, what, "(): argument 'input' must be Tensor, not ", nb::inst_name(h).c_str());
}

Scalar alpha_of(nb::handle alpha) { return require_scalar(alpha, "alpha"); }

void check_rounding_mode(nb::handle mode) {
  if (mode.is_valid() && !mode.is_none())
    fail(VT_ERROR_NOT_IMPLEMENTED, "div(): rounding_mode=", nb::cast<std::string>(nb::str(mode)),
         " is not implemented in vt.core yet; only true division (rounding_mode=None)");
}

std::optional<DimVector> reduction_dims(nb::handle dim) {
  if (!dim.is_valid() || dim.is_none()) return std::nullopt;
  return int_list(dim, "dim");
}

template <Tensor (*Fn)(const Tensor&, std::optional<IntArrayRef>, bool, std::optional<ScalarType>)>
Tensor reduce(const Tensor& self, nb::handle dim, bool keepdim, nb::handle dtype) {
  auto dims = reduction_dims(dim);
  auto dt = to_optional_dtype(dtype, "dtype");
  return dims ? Fn(self, IntArrayRef(*dims), keepdim, dt) : Fn(self, std::nullopt, keepdim, dt);
}

Tensor sum_fn(const Tensor& s, std::optional<IntArrayRef> d, bool k, std::optional<ScalarType> t) { return vt::sum(s, d, k, t); }
Tensor mean_fn(const Tensor& s, std::optional<IntArrayRef> d, bool k, std::optional<ScalarType> t) { return vt::mean(s, d, k, t); }

}  // namespace

void bind_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  auto add_t = [](const Tensor& a, const Tensor& b) { return vt::add(a, b); };
  auto add_s = [](const Tensor& a, const Scalar& b) { return vt::add(a, b); };
  auto sub_t = [](const Tensor& a, const Tensor& b) { return vt::sub(a, b); };
  auto sub_s = [](const Tensor& a, const Scalar& b) { return vt::sub(a, b); };
  auto mul_t = [](const Tensor& a, const Tensor& b) { return vt::mul(a, b); };
  auto mul_s = [](const Tensor& a, const Scalar& b) { return vt::mul(a, b); };
  auto div_t = [](const Tensor& a, const Tensor& b) { return vt::div(a, b); };
  auto div_s = [](const Tensor& a, const Scalar& b) { return vt::div(a, b); };

  cls.def("__add__", [=](const Tensor& a, nb::handle b) { return binary(a, b, add_t, add_s); })
      .def("__radd__", [=](const Tensor& a, nb::handle b) { return binary(a, b, add_t, add_s); })
      .def("__sub__", [=](const Tensor& a, nb::handle b) { return binary(a, b, sub_t, sub_s); })
      .def("__rsub__", [=](const Tensor& a, nb::handle b) {
        return binary(a, b, [](const Tensor& x, const Tensor& y) { return vt::sub(y, x); },
                      [](const Tensor& x, const Scalar& y) { return vt::rsub(x, y); });
      })
      .def("__mul__", [=](const Tensor& a, nb::handle b) { return binary(a, b, mul_t, mul_s); })
      .def("__rmul__", [=](const Tensor& a, nb::handle b) { return binary(a, b, mul_t, mul_s); })
      .def("__truediv__", [=](const Tensor& a, nb::handle b) { return binary(a, b, div_t, div_s); })
      .def("__rtruediv__", [=](const Tensor& a, nb::handle b) {
        return binary(a, b, [](const Tensor& x, const Tensor& y) { return vt::div(y, x); },
                      [](const Tensor& x, const Scalar& y) { return vt::rdiv(x, y); });
      })
      .def("__iadd__", [](const Tensor& a, nb::handle b) {
        return binary(a, b, [](const Tensor& x, const Tensor& y) { return vt::add_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::add_(x, y); });
      })
      .def("__isub__", [](const Tensor& a, nb::handle b) {
        return binary(a, b, [](const Tensor& x, const Tensor& y) { return vt::sub_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::sub_(x, y); });
      })
      .def("__imul__", [](const Tensor& a, nb::handle b) {
        return binary(a, b, [](const Tensor& x, const Tensor& y) { return vt::mul_(x, y); },
                      [](const Tensor& x, const Scalar& y) { return vt::mul_(x, y); });
      })
      .def("__itruediv__", [](const Tensor& a, nb::handle b) {
        return binary(a, b, [](const Tensor& x, const Tensor& y) { return vt::div_(x, y); },
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
      .def("exp", [](const Tensor& a) { return vt::exp(a); })
      .def("sum", &reduce<&sum_fn>, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
           nb::kw_only(), nb::arg("dtype") = nb::none())
      .def("mean", &reduce<&mean_fn>, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
           nb::kw_only(), nb::arg("dtype") = nb::none());

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
  m.def("sum", &reduce<&sum_fn>, nb::arg("input"), nb::arg("dim") = nb::none(),
        nb::arg("keepdim") = false, nb::kw_only(), nb::arg("dtype") = nb::none());
  m.def("mean", &reduce<&mean_fn>, nb::arg("input"), nb::arg("dim") = nb::none(),
        nb::arg("keepdim") = false, nb::kw_only(), nb::arg("dtype") = nb::none());

  // Factories.
  auto opt_device = [](nb::handle d) -> std::optional<Device> {
    if (d.is_none()) return std::nullopt;
    return to_device(d, "device");
  };
  m.def("empty", [=](nb::args size, nb::handle dtype, nb::handle device) {
    return vt::empty(shape_from_args(size, "empty"), to_optional_dtype(dtype, "empty"), opt_device(device));
  }, nb::arg("size"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("zeros", [=](nb::args size, nb::handle dtype, nb::handle device) {
    return vt::zeros(shape_from_args(size, "zeros"), to_optional_dtype(dtype, "zeros"), opt_device(device));
  }, nb::arg("size"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("ones", [=](nb::args size, nb::handle dtype, nb::handle device) {
    return vt::ones(shape_from_args(size, "ones"), to_optional_dtype(dtype, "ones"), opt_device(device));
  }, nb::arg("size"), nb::kw_only(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("full", [=](nb::handle size, nb::handle value, nb::handle dtype, nb::handle device) {
    return vt::full(int_list(size, "full"), require_scalar(value, "full"),
                    to_optional_dtype(dtype, "full"), opt_device(device));
  }, nb::arg("size"), nb::arg("fill_value"), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none());
  m.def("arange", [=](nb::handle start, nb::handle end, nb::handle step, nb::handle dtype, nb::handle device) {
    Scalar b = end.is_none() ? Scalar(int64_t(0)) : require_scalar(start, "arange");
    Scalar e = end.is_none() ? require_scalar(start, "arange") : require_scalar(end, "arange");
    return vt::arange(b, e, require_scalar(step, "arange"), to_optional_dtype(dtype, "arange"),
                      opt_device(device));
  }, nb::arg("start"), nb::arg("end") = nb::none(), nb::arg("step") = 1, nb::kw_only(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("result_type", [](nb::handle a, nb::handle b) {
    std::vector<Tensor> ts;
    std::vector<Scalar> ss;
    for (nb::handle h : {a, b}) {
      if (const Tensor* t = as_tensor(h)) ts.push_back(*t);
      else ss.push_back(require_scalar(h, "result_type"));
    }
    return dtype_object(vt::result_type(ts, ss));
  }, nb::arg("tensor1"), nb::arg("tensor2"));
  m.def("promote_types", [](nb::handle a, nb::handle b) {
    return dtype_object(promote_types(to_dtype(a, "promote_types"), to_dtype(b, "promote_types")));
  }, nb::arg("type1"), nb::arg("type2"));
}

}  // namespace vt::py
