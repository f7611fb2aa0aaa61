// Reductions and scans: Tensor methods and module functions with torch's names, signatures
// and defaults. (values, indices) results are tuple subclasses with .values and .indices, like
// torch.return_types.
#include "bindings/common.h"

#include <nanobind/stl/tuple.h>

#include "ops/linalg_gemm.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

using OptDims = std::optional<DimVector>;

std::optional<IntArrayRef> dims_ref(const OptDims& d) {
  return d ? std::optional<IntArrayRef>(IntArrayRef(*d)) : std::nullopt;
}

// An int argument that torch types as `int` (not a list, not a bool).
int64_t require_int(nb::handle h, const char* op, const char* what) {
  if (!PyLong_Check(h.ptr()) || PyBool_Check(h.ptr()))
    fail(VT_ERROR_TYPE, op, "(): argument '", what, "' must be int, not ", nb::inst_name(h).c_str());
  return nb::cast<int64_t>(h);
}
std::optional<int64_t> optional_int(nb::handle h, const char* op, const char* what) {
  if (h.is_none()) return std::nullopt;
  return require_int(h, op, what);
}

// The return_types classes, created once at import and kept for the life of the process.
nb::handle g_max_type, g_min_type;

nb::object values_indices(nb::handle type, std::tuple<Tensor, Tensor> r) {
  return type(nb::cast(std::get<0>(r)), nb::cast(std::get<1>(r)));
}

// max(), max(dim, keepdim=False) -> (values, indices), max(other) -> elementwise maximum.
template <bool Max>
nb::object extreme(const Tensor& self, nb::handle dim, nb::handle keepdim) {
  const char* op = Max ? "max" : "min";
  if (dim.is_none()) {
    if (!keepdim.is_none())
      fail(VT_ERROR_TYPE, op, "(): keepdim needs a dim; call ", op, "(dim, keepdim)");
    return nb::cast(Max ? vt::max(self) : vt::min(self));
  }
  if (as_tensor(dim)) {
    // max(input, other) is the elementwise maximum, which the pointwise family provides.
    nb::module_ core = nb::module_::import_("vt.core._C");
    const char* name = Max ? "maximum" : "minimum";
    if (!nb::hasattr(core, name))
      fail(VT_ERROR_NOT_IMPLEMENTED, op, "(input, other): vt.core.", name, " is not implemented");
    return core.attr(name)(self, dim);
  }
  int64_t d = require_int(dim, op, "dim");
  bool k = keepdim.is_none() ? false : nb::cast<bool>(keepdim);
  return values_indices(Max ? g_max_type : g_min_type, Max ? vt::max(self, d, k) : vt::min(self, d, k));
}

Tensor sum_fn(const Tensor& self, nb::handle dim, bool keepdim, nb::handle dtype) {
  auto dims = optional_int_list(dim, "sum");
  auto dt = to_optional_dtype(dtype, "dtype");
  return without_gil_above(self.numel(), [&] { return vt::sum(self, dims_ref(dims), keepdim, dt); });
}
Tensor mean_fn(const Tensor& self, nb::handle dim, bool keepdim, nb::handle dtype) {
  auto dims = optional_int_list(dim, "mean");
  auto dt = to_optional_dtype(dtype, "dtype");
  return without_gil_above(self.numel(), [&] { return vt::mean(self, dims_ref(dims), keepdim, dt); });
}
Tensor prod_fn(const Tensor& self, nb::handle dim, bool keepdim, nb::handle dtype) {
  auto d = optional_int(dim, "prod", "dim");
  auto dt = to_optional_dtype(dtype, "dtype");
  return without_gil_above(self.numel(), [&] { return vt::prod(self, d, keepdim, dt); });
}

template <bool Max>
Tensor amax_fn(const Tensor& self, nb::handle dim, bool keepdim) {
  DimVector d = int_list(dim, Max ? "amax" : "amin");
  return without_gil_above(self.numel(), [&] {
    return Max ? vt::amax(self, d, keepdim) : vt::amin(self, d, keepdim);
  });
}
template <bool Max>
Tensor argmax_fn(const Tensor& self, nb::handle dim, bool keepdim) {
  auto d = optional_int(dim, Max ? "argmax" : "argmin", "dim");
  return without_gil_above(self.numel(), [&] {
    return Max ? vt::argmax(self, d, keepdim) : vt::argmin(self, d, keepdim);
  });
}

// torch's var/std overloads in one: (dim, unbiased, keepdim), (dim, *, correction, keepdim)
// and (unbiased).
struct MomentArgs {
  OptDims dims;
  std::optional<Scalar> correction;
};
MomentArgs moment_args(const char* op, nb::handle dim, nb::handle unbiased, nb::handle correction) {
  MomentArgs a;
  if (PyBool_Check(dim.ptr())) {  // var(unbiased)
    if (!unbiased.is_none())
      fail(VT_ERROR_TYPE, op, "(): unbiased given twice");
    unbiased = dim;
  } else {
    a.dims = optional_int_list(dim, op);
  }
  if (!unbiased.is_none() && !correction.is_none())
    fail(VT_ERROR_TYPE, op, "(): pass either unbiased or correction, not both");
  if (!unbiased.is_none()) a.correction = Scalar(int64_t(nb::cast<bool>(unbiased) ? 1 : 0));
  if (!correction.is_none()) a.correction = require_scalar(correction, "correction");
  return a;
}

enum class Moment { Var, Std, VarMean, StdMean };

template <Moment M>
nb::object moment_fn(const Tensor& self, nb::handle dim, nb::handle unbiased, bool keepdim,
                     nb::handle correction) {
  static constexpr const char* names[] = {"var", "std", "var_mean", "std_mean"};
  MomentArgs a = moment_args(names[int(M)], dim, unbiased, correction);
  auto dims = dims_ref(a.dims);
  return nb::cast(without_gil_above(self.numel(), [&] {
    if constexpr (M == Moment::Var) return vt::var(self, dims, a.correction, keepdim);
    else if constexpr (M == Moment::Std) return vt::std(self, dims, a.correction, keepdim);
    else if constexpr (M == Moment::VarMean) return vt::var_mean(self, dims, a.correction, keepdim);
    else return vt::std_mean(self, dims, a.correction, keepdim);
  }));
}

// torch.norm: p is a number, None (2) or 'fro' (2 over at most two dims); other strings are
// matrix norms.
Tensor norm_fn(const Tensor& self, nb::handle p, nb::handle dim, bool keepdim, nb::handle dtype) {
  OptDims dims = optional_int_list(dim, "norm");
  std::optional<Scalar> order;
  if (nb::isinstance<nb::str>(p)) {
    std::string s = nb::cast<std::string>(p);
    if (s == "nuc")
      fail(VT_ERROR_NOT_IMPLEMENTED, "norm(p='nuc'): the nuclear norm needs an SVD, which vt-core does not implement");
    VT_CHECK(s == "fro", "linalg.matrix_norm: Order ", s, " not supported.");
    VT_CHECK(!dims || dims->size() <= 2, "linalg.matrix_norm: dim must be a 2-tuple. Got ",
             shape_string(*dims));
  } else if (!p.is_none()) {
    order = require_scalar(p, "p");
  }
  auto dt = to_optional_dtype(dtype, "dtype");
  return without_gil_above(self.numel(), [&] {
    return vt::norm(self, order, dims_ref(dims), keepdim, dt);
  });
}

Tensor logsumexp_fn(const Tensor& self, nb::handle dim, bool keepdim) {
  DimVector d = int_list(dim, "logsumexp");
  return without_gil_above(self.numel(), [&] { return vt::logsumexp(self, d, keepdim); });
}

template <bool All>
Tensor truth_fn(const Tensor& self, nb::handle dim, bool keepdim) {
  OptDims d = optional_int_list(dim, All ? "all" : "any");
  return without_gil_above(self.numel(), [&] {
    return All ? vt::all(self, dims_ref(d), keepdim) : vt::any(self, dims_ref(d), keepdim);
  });
}

template <bool Prod>
Tensor scan_fn(const Tensor& self, nb::handle dim, nb::handle dtype) {
  int64_t d = require_int(dim, Prod ? "cumprod" : "cumsum", "dim");
  auto dt = to_optional_dtype(dtype, "dtype");
  return without_gil_above(self.numel(), [&] {
    return Prod ? vt::cumprod(self, d, dt) : vt::cumsum(self, d, dt);
  });
}

// Binds fn as a Tensor method and as a module function whose first argument is `input`.
template <typename Fn, typename... Extra>
void both(nb::module_& m, nb::class_<Tensor>& cls, const char* name, Fn fn, const Extra&... extra) {
  cls.def(name, fn, extra...);
  m.def(name, fn, nb::arg("input"), extra...);
}

}  // namespace

void bind_reduce_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  nb::module_ rt = m.def_submodule("return_types", "Named tuples returned by reductions");
  nb::object namedtuple = nb::module_::import_("collections").attr("namedtuple");
  for (const char* name : {"max", "min"}) {
    nb::object type = namedtuple(name, nb::make_tuple("values", "indices"));
    type.attr("__module__") = "vt.core.return_types";
    rt.attr(name) = type;
    (std::string(name) == "max" ? g_max_type : g_min_type) = type.release();
  }

  const auto none = nb::none();
  both(m, cls, "sum", &sum_fn, nb::arg("dim") = none, nb::arg("keepdim") = false, nb::kw_only(),
       nb::arg("dtype") = none);
  both(m, cls, "mean", &mean_fn, nb::arg("dim") = none, nb::arg("keepdim") = false, nb::kw_only(),
       nb::arg("dtype") = none);
  both(m, cls, "prod", &prod_fn, nb::arg("dim") = none, nb::arg("keepdim") = false, nb::kw_only(),
       nb::arg("dtype") = none);
  both(m, cls, "max", &extreme<true>, nb::arg("dim") = none, nb::arg("keepdim") = none);
  both(m, cls, "min", &extreme<false>, nb::arg("dim") = none, nb::arg("keepdim") = none);
  both(m, cls, "amax", &amax_fn<true>, nb::arg("dim") = nb::tuple(), nb::arg("keepdim") = false);
  both(m, cls, "amin", &amax_fn<false>, nb::arg("dim") = nb::tuple(), nb::arg("keepdim") = false);
  both(m, cls, "argmax", &argmax_fn<true>, nb::arg("dim") = none, nb::arg("keepdim") = false);
  both(m, cls, "argmin", &argmax_fn<false>, nb::arg("dim") = none, nb::arg("keepdim") = false);
  both(m, cls, "var", &moment_fn<Moment::Var>, nb::arg("dim") = none, nb::arg("unbiased") = none,
       nb::arg("keepdim") = false, nb::kw_only(), nb::arg("correction") = none);
  both(m, cls, "std", &moment_fn<Moment::Std>, nb::arg("dim") = none, nb::arg("unbiased") = none,
       nb::arg("keepdim") = false, nb::kw_only(), nb::arg("correction") = none);
  // torch has var_mean and std_mean as functions only.
  m.def("var_mean", &moment_fn<Moment::VarMean>, nb::arg("input"), nb::arg("dim") = none,
        nb::arg("unbiased") = none, nb::arg("keepdim") = false, nb::kw_only(),
        nb::arg("correction") = none);
  m.def("std_mean", &moment_fn<Moment::StdMean>, nb::arg("input"), nb::arg("dim") = none,
        nb::arg("unbiased") = none, nb::arg("keepdim") = false, nb::kw_only(),
        nb::arg("correction") = none);
  cls.def("norm", &norm_fn, nb::arg("p").none() = "fro", nb::arg("dim") = none, nb::arg("keepdim") = false,
          nb::arg("dtype") = none);
  // torch.norm has out before dtype; vt does not resize out.
  m.def("norm", [](const Tensor& self, nb::handle p, nb::handle dim, bool keepdim, nb::handle out,
                   nb::handle dtype) -> nb::object {
    Tensor r = norm_fn(self, p, dim, keepdim, dtype);
    if (out.is_none()) return nb::cast(std::move(r));
    const Tensor o = require_tensor(out, "norm");
    check_out("norm", o, r.sizes(), r.dtype());
    vt::copy_(o, r);
    return nb::borrow(out);
  }, nb::arg("input"), nb::arg("p").none() = "fro", nb::arg("dim") = none, nb::arg("keepdim") = false,
     nb::arg("out") = none, nb::arg("dtype") = none);
  both(m, cls, "logsumexp", &logsumexp_fn, nb::arg("dim"), nb::arg("keepdim") = false);
  both(m, cls, "all", &truth_fn<true>, nb::arg("dim") = none, nb::arg("keepdim") = false);
  both(m, cls, "any", &truth_fn<false>, nb::arg("dim") = none, nb::arg("keepdim") = false);
  both(m, cls, "cumsum", &scan_fn<false>, nb::arg("dim"), nb::kw_only(), nb::arg("dtype") = none);
  both(m, cls, "cumprod", &scan_fn<true>, nb::arg("dim"), nb::kw_only(), nb::arg("dtype") = none);
}

}  // namespace vt::py
