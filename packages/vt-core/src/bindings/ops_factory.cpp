// Factories and dtype queries: module functions.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {

void bind_factory_ops(nb::module_& m) {
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
