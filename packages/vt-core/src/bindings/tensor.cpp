// vt.core.Tensor: geometry, views, copies and conversions.
#include "bindings/common.h"

#include "ops/ops.h"

namespace vt::py {

Tensor copy_to_device(const Tensor& t, Device device) {
  Tensor out = vt::empty(t.sizes(), t.dtype(), device);
  vt::copy_(out, t);
  return out;
}

namespace {

nb::tuple to_tuple(IntArrayRef v) {
  nb::list l;
  for (int64_t x : v) l.append(x);
  return nb::tuple(l);
}

std::optional<DimVector> optional_dims(nb::handle dim, const char* what) {
  if (!dim.is_valid() || dim.is_none()) return std::nullopt;
  return int_list(dim, what);
}

Tensor to_impl(const Tensor& self, nb::args args, nb::kwargs kwargs) {
  std::optional<ScalarType> dtype;
  std::optional<Device> device;
  auto take = [&](nb::handle v, const char* name) {
    if (v.is_none()) return;
    if (nb::isinstance<DType>(v)) dtype = to_dtype(v, "to");
    else if (nb::isinstance<PyDevice>(v) || nb::isinstance<nb::str>(v)) device = to_device(v, "to");
    else if (nb::isinstance<Tensor>(v)) {
      const Tensor& other = nb::cast<const Tensor&>(v);
      dtype = other.dtype();
      device = other.device();
    } else {
      fail(VT_ERROR_TYPE, "to() received an invalid ", name, ": ", nb::inst_name(v).c_str());
    }
  };
  for (nb::handle a : args) take(a, "argument");
  bool copy = false;
  for (auto [k, v] : kwargs) {
    std::string key = nb::cast<std::string>(k);
    if (key == "dtype") dtype = to_optional_dtype(v, "to");
    else if (key == "device") device = v.is_none() ? std::nullopt : std::optional(to_device(v, "to"));
    else if (key == "copy") copy = nb::cast<bool>(v);
    else if (key == "non_blocking") continue;  // copies here are ordered on the stream anyway
    else fail(VT_ERROR_TYPE, "to() got an unexpected keyword argument '", key, "'");
  }
  ScalarType dt = dtype.value_or(self.dtype());
  Device dev = device.value_or(self.device());
  if (dt == self.dtype() && dev == self.device()) return copy ? vt::clone(self) : self;
  if (dev == self.device()) return vt::to_dtype(self, dt);
  return copy_to_device(dt == self.dtype() ? self : vt::to_dtype(self, dt), dev);
}

// torch returns the tensor itself (the same Python object, subclass included) from conversions
// that change nothing, so `x.to("cpu") is x` and a Module's parameters keep their identity.
using SelfHandle = nb::pointer_and_handle<Tensor>;

nb::object self_or_new(SelfHandle self, Tensor result) {
  if (result.impl() == self.p->impl()) return nb::borrow(self.h);
  return nb::cast(std::move(result));
}

}  // namespace

nb::object scalar_to_python(const Tensor& t) {
  VT_CHECK(t.numel() == 1, "a Tensor with ", t.numel(),
           " elements cannot be converted to Scalar");
  Tensor h = t.device().is_cpu() ? t : copy_to_device(t, kCPU);
  return visit_dtype(h.dtype(), [&](auto tag) -> nb::object {
    using T = decltype(tag);
    T v = *h.data_as<T>();
    if constexpr (std::is_same_v<T, bool>) return nb::bool_(v);
    else if constexpr (std::is_integral_v<T>) return nb::int_(int64_t(v));
    else return nb::float_(double(static_cast<opmath_t<T>>(v)));
  });
}

void bind_tensor(nb::module_& m) {
  nb::class_<Tensor> cls(m, "Tensor", "A strided view of typed memory on a device.");
  // Tensor(other): a new tensor object over other's memory with no autograd state of its own;
  // what Python subclasses (nn.Parameter) are built from.
  cls.def("__init__", [](Tensor* self, const Tensor& other) {
    new (self) Tensor(other.view_as_strided(other.sizes(), other.strides(), other.storage_offset()));
  }, nb::arg("data"));
  cls.def_prop_ro("shape", [](const Tensor& t) { return to_tuple(t.sizes()); })
      .def("size", [](const Tensor& t, std::optional<int64_t> dim) -> nb::object {
        if (dim) return nb::int_(t.size(*dim));
        return to_tuple(t.sizes());
      }, nb::arg("dim") = nb::none())
      .def("stride", [](const Tensor& t, std::optional<int64_t> dim) -> nb::object {
        if (dim) return nb::int_(t.stride(*dim));
        return to_tuple(t.strides());
      }, nb::arg("dim") = nb::none())
      .def_prop_ro("dtype", [](const Tensor& t) { return dtype_object(t.dtype()); })
      .def_prop_ro("device", [](const Tensor& t) { return device_object(t.device()); })
      .def_prop_ro("ndim", &Tensor::dim)
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("nelement", &Tensor::numel)
      .def("element_size", &Tensor::itemsize)
      .def_prop_ro("itemsize", &Tensor::itemsize)
      .def_prop_ro("nbytes", &Tensor::nbytes)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def_prop_ro("is_cpu", [](const Tensor& t) { return t.device().is_cpu(); })
      .def_prop_ro("is_cuda", [](const Tensor& t) { return t.device().type == VT_DEVICE_CUDA; })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data()); })
      .def("storage_offset", &Tensor::storage_offset)
      .def_prop_ro("_version", &Tensor::version, "The version counter shared with every view.")
      .def("_is_view_of", [](const Tensor& a, const Tensor& b) {
        return a.impl()->storage() == b.impl()->storage();
      })
      .def("__len__", [](const Tensor& t) {
        if (t.dim() == 0) fail(VT_ERROR_TYPE, "len() of a 0-d tensor");
        return t.sizes()[0];
      })
      .def("item", &scalar_to_python)
      .def("__bool__", [](const Tensor& t) {
        VT_CHECK(t.numel() == 1, "Boolean value of Tensor with more than one value is ambiguous");
        return nb::cast<bool>(nb::bool_(scalar_to_python(t)));
      })
      .def("__float__", [](const Tensor& t) {
        VT_CHECK_VALUE(t.numel() == 1, "only one element tensors can be converted to Python scalars");
        return nb::cast<double>(nb::float_(scalar_to_python(t)));
      })
      .def("__int__", [](const Tensor& t) {
        VT_CHECK_VALUE(t.numel() == 1, "only one element tensors can be converted to Python scalars");
        return nb::int_(scalar_to_python(t));
      })
      .def("__index__", [](const Tensor& t) {
        VT_CHECK_TYPE(!is_floating(t.dtype()) && t.dtype() != ScalarType::Bool && t.numel() == 1,
                      "only integer tensors of a single element can be converted to an index");
        return nb::int_(scalar_to_python(t));
      })
      // views
      .def("view", [](const Tensor& t, nb::args shape) { return vt::view(t, shape_from_args(shape, "view")); })
      .def("reshape", [](const Tensor& t, nb::args shape) { return vt::reshape(t, shape_from_args(shape, "reshape")); })
      .def("permute", [](const Tensor& t, nb::args dims) { return vt::permute(t, shape_from_args(dims, "permute")); })
      .def("expand", [](const Tensor& t, nb::args size) { return vt::expand(t, shape_from_args(size, "expand")); })
      .def("transpose", [](const Tensor& t, int64_t d0, int64_t d1) { return vt::transpose(t, d0, d1); },
           nb::arg("dim0"), nb::arg("dim1"))
      .def("t", [](const Tensor& t) {
        VT_CHECK(t.dim() <= 2, "t() expects a tensor with <= 2 dimensions, but self is ", t.dim(), "D");
        return t.dim() < 2 ? vt::transpose(t, 0, 0) : vt::transpose(t, 0, 1);
      })
      .def("squeeze", [](const Tensor& t, nb::handle dim) {
        auto dims = optional_dims(dim, "squeeze");
        return dims ? vt::squeeze(t, IntArrayRef(*dims)) : vt::squeeze(t);
      }, nb::arg("dim") = nb::none())
      .def("unsqueeze", [](const Tensor& t, int64_t dim) { return vt::unsqueeze(t, dim); }, nb::arg("dim"))
      .def("as_strided", [](const Tensor& t, nb::handle size, nb::handle stride,
                            std::optional<int64_t> offset) {
        return vt::as_strided(t, int_list(size, "as_strided"), int_list(stride, "as_strided"), offset);
      }, nb::arg("size"), nb::arg("stride"), nb::arg("storage_offset") = nb::none())
      .def("select", [](const Tensor& t, int64_t dim, int64_t index) { return vt::select(t, dim, index); },
           nb::arg("dim"), nb::arg("index"))
      .def("contiguous", [](SelfHandle self) { return self_or_new(self, vt::contiguous(*self.p)); })
      .def("clone", [](const Tensor& t) { return vt::clone(t); })
      // copies and conversions
      .def("copy_", [](const Tensor& t, const Tensor& src) { vt::copy_(t, src); return t; }, nb::arg("src"))
      .def("fill_", [](const Tensor& t, nb::handle value) {
        if (nb::isinstance<Tensor>(value)) {
          const Tensor& v = nb::cast<const Tensor&>(value);
          VT_CHECK(v.dim() == 0, "fill_ only supports 0-dimension value tensor but got tensor with ",
                   v.dim(), " dimensions.");
          vt::copy_(t, v);
        } else {
          vt::fill_(t, require_scalar(value, "fill_"));
        }
        return t;
      }, nb::arg("value"))
      .def("zero_", [](const Tensor& t) { vt::fill_(t, Scalar(int64_t(0))); return t; })
      .def("to", [](SelfHandle self, nb::args args, nb::kwargs kwargs) {
        return self_or_new(self, to_impl(*self.p, std::move(args), std::move(kwargs)));
      })
      .def("cpu", [](SelfHandle self) {
        return self_or_new(self, self.p->device().is_cpu() ? *self.p : copy_to_device(*self.p, kCPU));
      })
      .def("type", [](const Tensor& t, nb::handle dtype) { return vt::to_dtype(t, to_dtype(dtype, "type")); },
           nb::arg("dtype"));
  for (auto [name, dt] : {std::pair{"float", ScalarType::Float32}, {"double", ScalarType::Float64},
                          {"half", ScalarType::Float16}, {"bfloat16", ScalarType::BFloat16},
                          {"long", ScalarType::Int64}, {"int", ScalarType::Int32},
                          {"short", ScalarType::Int16}, {"char", ScalarType::Int8},
                          {"byte", ScalarType::UInt8}, {"bool", ScalarType::Bool}}) {
    ScalarType target = dt;
    cls.def(name, [target](SelfHandle self) {
      return self_or_new(self, self.p->dtype() == target ? *self.p : vt::to_dtype(*self.p, target));
    });
  }
  cls.def("__repr__", [](const Tensor& t) {
    static nb::object* printing = new nb::object(nb::module_::import_("vt.core._printing"));
    nb::object values = to_numpy(host_copy_for_numpy(t), true);
    // Layers above vt-core (autograd) add their part, e.g. "grad_fn=<MulBackward0>".
    nb::object hook = printing->attr("tensor_suffixes");
    nb::object suffixes = hook.is_none() ? nb::none() : hook(nb::cast(t));
    return printing->attr("format_tensor")(values, dtype_name(t.dtype()),
                                           nb::arg("device") = device_string(t.device()),
                                           nb::arg("suffixes") = suffixes);
  });

  bind_indexing(cls);
  bind_numpy(m, cls);
  bind_dlpack(m, cls);
  bind_pointwise_ops(m, cls);
  bind_reduce_ops(m, cls);
  bind_factory_ops(m);
  bind_linalg_ops(m, cls);
  bind_shape_ops(m, cls);
  bind_index_ops(m, cls);
  bind_random_ops(m, cls);
  bind_nn_ops(m, cls);
  bind_optim_ops(m);
}

}  // namespace vt::py
