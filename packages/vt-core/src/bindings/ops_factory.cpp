// Factories and dtype queries: module functions.
#include "bindings/common.h"

#include <tuple>

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {

DimVector size_from_args(const nb::args& args, nb::handle size, const char* what) {
  if (size.is_none()) return shape_from_args(args, what);
  VT_CHECK_TYPE(args.size() == 0, what, "(): got multiple values for argument 'size'");
  return int_list(size, what);
}

std::optional<Device> optional_device(nb::handle d, const char* what) {
  if (!d.is_valid() || d.is_none()) return std::nullopt;
  return to_device(d, what);
}

namespace {

// full() and torch take a sequence for size, never a bare int.
DimVector size_sequence(nb::handle size, const char* what) {
  VT_CHECK_TYPE(PySequence_Check(size.ptr()) && !nb::isinstance<nb::str>(size), what,
                "(): argument 'size' must be a sequence of ints, not ", nb::inst_name(size).c_str());
  return int_list(size, what);
}

}  // namespace

void bind_factory_ops(nb::module_& m) {
  auto sized = [](auto fn, const char* name) {
    return [=](nb::args args, nb::handle size, nb::handle dtype, nb::handle device) {
      return fn(size_from_args(args, size, name), to_optional_dtype(dtype, name), optional_device(device, name));
    };
  };
  using SizedFn = Tensor (*)(IntArrayRef, std::optional<ScalarType>, std::optional<Device>);
  for (auto [name, fn] : {std::pair{"zeros", SizedFn(&vt::zeros)}, std::pair{"ones", SizedFn(&vt::ones)}}) {
    m.def(name, sized(fn, name), nb::arg("args"), nb::arg("size") = nb::none(),
          nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  }
  m.def("empty", [](nb::args args, nb::handle size, nb::handle memory_format, nb::handle dtype, nb::handle device) {
    const DimVector shape = size_from_args(args, size, "empty");
    MemoryFormat f = to_memory_format(memory_format, MemoryFormat::Contiguous, "empty");
    VT_CHECK(f != MemoryFormat::Preserve, "unsupported memory format Preserve");
    require_row_major(f, int64_t(shape.size()), "empty");
    return vt::empty(shape, to_optional_dtype(dtype, "empty"), optional_device(device, "empty"));
  }, nb::arg("args"), nb::arg("size") = nb::none(), nb::arg("memory_format") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("full", [](nb::handle size, nb::handle value, nb::handle dtype, nb::handle device) {
    return vt::full(size_sequence(size, "full"), require_scalar(value, "full"),
                    to_optional_dtype(dtype, "full"), optional_device(device, "full"));
  }, nb::arg("size"), nb::arg("fill_value"), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none());
  m.def("arange", [](nb::handle start, nb::handle end, nb::handle step, nb::handle dtype, nb::handle device) {
    Scalar b = end.is_none() ? Scalar(int64_t(0)) : require_scalar(start, "arange");
    Scalar e = end.is_none() ? require_scalar(start, "arange") : require_scalar(end, "arange");
    return vt::arange(b, e, require_scalar(step, "arange"), to_optional_dtype(dtype, "arange"),
                      optional_device(device, "arange"));
  }, nb::arg("start"), nb::arg("end") = nb::none(), nb::arg("step") = 1, nb::kw_only(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("linspace", [](nb::handle start, nb::handle end, int64_t steps, nb::handle dtype, nb::handle device) {
    return vt::linspace(require_scalar(start, "linspace"), require_scalar(end, "linspace"), steps,
                        to_optional_dtype(dtype, "linspace"), optional_device(device, "linspace"));
  }, nb::arg("start"), nb::arg("end"), nb::arg("steps"), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none());
  m.def("eye", [](int64_t n, std::optional<int64_t> cols, nb::handle dtype, nb::handle device) {
    return vt::eye(n, cols, to_optional_dtype(dtype, "eye"), optional_device(device, "eye"));
  }, nb::arg("n"), nb::arg("m") = nb::none(), nb::kw_only(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none());

  // Like-tensors keep the input's layout (torch's preserve_format, the default); with
  // contiguous_format they are made as the sized factory makes them.
  using LikeFn = Tensor (*)(const Tensor&, std::optional<ScalarType>, std::optional<Device>);
  for (auto [name, fn, sized_fn] : {std::tuple{"empty_like", LikeFn(&vt::empty_like), SizedFn(&vt::empty)},
                                    std::tuple{"zeros_like", LikeFn(&vt::zeros_like), SizedFn(&vt::zeros)},
                                    std::tuple{"ones_like", LikeFn(&vt::ones_like), SizedFn(&vt::ones)}}) {
    m.def(name, [name, fn, sized_fn](nb::handle input, nb::handle memory_format, nb::handle dtype, nb::handle device) {
      const Tensor t = require_tensor(input, name);
      auto dt = to_optional_dtype(dtype, name);
      auto dev = optional_device(device, name);
      if (like_keeps_strides(memory_format, t, name)) return fn(t, dt, dev);
      return sized_fn(t.sizes(), dt.value_or(t.dtype()), dev.value_or(t.device()));
    }, nb::arg("input"), nb::kw_only(), nb::arg("memory_format") = nb::none(), nb::arg("dtype") = nb::none(),
       nb::arg("device") = nb::none());
  }
  m.def("full_like", [](nb::handle input, nb::handle value, nb::handle memory_format, nb::handle dtype,
                        nb::handle device) {
    const Tensor t = require_tensor(input, "full_like");
    const Scalar v = require_scalar(value, "full_like");
    auto dt = to_optional_dtype(dtype, "full_like");
    auto dev = optional_device(device, "full_like");
    if (like_keeps_strides(memory_format, t, "full_like")) return vt::full_like(t, v, dt, dev);
    return vt::full(t.sizes(), v, dt.value_or(t.dtype()), dev.value_or(t.device()));
  }, nb::arg("input"), nb::arg("fill_value"), nb::kw_only(), nb::arg("memory_format") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());

  auto result_type = [](nb::handle a, nb::handle b) {
    std::vector<Tensor> ts;
    std::vector<Scalar> ss;
    for (nb::handle h : {a, b}) {
      if (const Tensor* t = as_tensor(h)) ts.push_back(*t);
      else ss.push_back(require_scalar(h, "result_type"));
    }
    return dtype_object(vt::result_type(ts, ss));
  };
  // torch's keywords for its three forms: (tensor, other), (scalar, tensor), (scalar1, scalar2).
  m.def("result_type", result_type, nb::arg("tensor"), nb::arg("other"));
  m.def("result_type", result_type, nb::arg("scalar"), nb::arg("tensor"));
  m.def("result_type", result_type, nb::arg("scalar1"), nb::arg("scalar2"));
  m.def("promote_types", [](nb::handle a, nb::handle b) {
    return dtype_object(promote_types(to_dtype(a, "promote_types"), to_dtype(b, "promote_types")));
  }, nb::arg("type1"), nb::arg("type2"));
}

}  // namespace vt::py
