// Reductions: Tensor methods and module functions.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

template <Tensor (*Fn)(const Tensor&, std::optional<IntArrayRef>, bool, std::optional<ScalarType>)>
Tensor reduce(const Tensor& self, nb::handle dim, bool keepdim, nb::handle dtype) {
  auto dims = optional_int_list(dim, "dim");
  auto dt = to_optional_dtype(dtype, "dtype");
  return dims ? Fn(self, IntArrayRef(*dims), keepdim, dt) : Fn(self, std::nullopt, keepdim, dt);
}

Tensor sum_fn(const Tensor& s, std::optional<IntArrayRef> d, bool k, std::optional<ScalarType> t) { return vt::sum(s, d, k, t); }
Tensor mean_fn(const Tensor& s, std::optional<IntArrayRef> d, bool k, std::optional<ScalarType> t) { return vt::mean(s, d, k, t); }

}  // namespace

void bind_reduce_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  cls.def("sum", &reduce<&sum_fn>, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
           nb::kw_only(), nb::arg("dtype") = nb::none())
      .def("mean", &reduce<&mean_fn>, nb::arg("dim") = nb::none(), nb::arg("keepdim") = false,
           nb::kw_only(), nb::arg("dtype") = nb::none());
  m.def("sum", &reduce<&sum_fn>, nb::arg("input"), nb::arg("dim") = nb::none(),
        nb::arg("keepdim") = false, nb::kw_only(), nb::arg("dtype") = nb::none());
  m.def("mean", &reduce<&mean_fn>, nb::arg("input"), nb::arg("dim") = nb::none(),
        nb::arg("keepdim") = false, nb::kw_only(), nb::arg("dtype") = nb::none());
}

}  // namespace vt::py
