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
  MemoryFormat format = MemoryFormat::Preserve;
  for (auto [k, v] : kwargs) {
    std::string key = nb::cast<std::string>(k);
    if (key == "dtype") dtype = to_optional_dtype(v, "to");
    else if (key == "device") device = v.is_none() ? std::nullopt : std::optional(to_device(v, "to"));
    else if (key == "copy") copy = nb::cast<bool>(v);
    else if (key == "non_blocking") continue;  // copies here are ordered on the stream anyway
    else if (key == "memory_format") format = to_memory_format(v, MemoryFormat::Preserve, "to");
    else fail(VT_ERROR_TYPE, "to() got an unexpected keyword argument '", key, "'");
  }
  if (format == MemoryFormat::ChannelsLast)
    VT_CHECK(self.dim() == 4, "required rank 4 tensor to use channels_last format");
  ScalarType dt = dtype.value_or(self.dtype());
  Device dev = device.value_or(self.device());
  // As in torch, the tensor itself comes back when nothing changes, its layout included: a
  // format asks for a copy only when the tensor's strides suggest another one.
  const bool channels_last_like = is_channels_last_contiguous(self) && !self.is_contiguous();
  const bool same_format =
      format == MemoryFormat::Preserve || (format == MemoryFormat::ChannelsLast) == channels_last_like;
  if (dt == self.dtype() && dev == self.device() && !copy && same_format) return self;
  require_row_major(format, self.dim(), "to");
  const Tensor src = format == MemoryFormat::Contiguous ? vt::contiguous(self) : self;
  if (dt == src.dtype() && dev == src.device()) return src.is_same(self) ? vt::clone(src) : src;
  if (dev == src.device()) return vt::to_dtype(src, dt);
  return copy_to_device(dt == src.dtype() ? src : vt::to_dtype(src, dt), dev);
}

// torch returns the tensor itself (the same Python object, subclass included) from conversions
// that change nothing, so `x.to("cpu") is x` and a Module's parameters keep their identity.
using SelfHandle = nb::pointer_and_handle<Tensor>;

nb::object self_or_new(SelfHandle self, Tensor result) {
  if (result.impl() == self.p->impl()) return nb::borrow(self.h);
  return nb::cast(std::move(result));
}

// Tensor.type's names ('vt.FloatTensor', 'vt.cuda.LongTensor'): torch's legacy tensor type names
// under vt's prefix; 'torch.'-prefixed names are read too.
constexpr std::pair<ScalarType, const char*> kTypeNames[] = {
    {ScalarType::Bool, "BoolTensor"},     {ScalarType::UInt8, "ByteTensor"},
    {ScalarType::Int8, "CharTensor"},     {ScalarType::Int16, "ShortTensor"},
    {ScalarType::Int32, "IntTensor"},     {ScalarType::Int64, "LongTensor"},
    {ScalarType::Float16, "HalfTensor"},  {ScalarType::BFloat16, "BFloat16Tensor"},
    {ScalarType::Float32, "FloatTensor"}, {ScalarType::Float64, "DoubleTensor"}};

std::string type_name(const Tensor& t) {
  std::string prefix = t.device().is_cpu() ? "vt." : std::string("vt.") + device_type_name(t.device().type) + ".";
  for (auto [dt, name] : kTypeNames)
    if (dt == t.dtype()) return prefix + name;
  fail(VT_ERROR_INTERNAL, "type(): no type name for dtype ", dtype_name(t.dtype()));
}

// type(): the type name; type(dtype) or type('vt.DoubleTensor'): the tensor converted (itself
// when nothing changes), moved to or from CUDA as the name says.
nb::object type_impl(SelfHandle self, nb::handle dtype, bool) {
  const Tensor& t = *self.p;
  if (dtype.is_none()) return nb::cast(type_name(t));
  if (!nb::isinstance<nb::str>(dtype)) {
    ScalarType dt = to_dtype(dtype, "type");
    return self_or_new(self, dt == t.dtype() ? t : vt::to_dtype(t, dt));
  }
  std::string name = nb::cast<std::string>(dtype), rest;
  for (const char* prefix : {"vt.", "torch."})
    if (name.rfind(prefix, 0) == 0) rest = name.substr(std::string(prefix).size());
  const bool cuda = rest.rfind("cuda.", 0) == 0;
  if (cuda) rest = rest.substr(5);
  for (auto [dt, type] : kTypeNames) {
    if (rest != type) continue;
    Device dev = !cuda ? kCPU : t.device().is_cpu() ? parse_device("cuda") : t.device();
    Tensor r = dt == t.dtype() ? t : vt::to_dtype(t, dt);
    return self_or_new(self, dev == t.device() ? r : copy_to_device(r, dev));
  }
  fail(VT_ERROR_VALUE, "invalid type: '", name, "'");
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
      .def("is_contiguous", [](const Tensor& t, nb::handle memory_format) {
        MemoryFormat f = to_memory_format(memory_format, MemoryFormat::Contiguous, "is_contiguous");
        return f == MemoryFormat::ChannelsLast ? is_channels_last_contiguous(t) : t.is_contiguous();
      }, nb::kw_only(), nb::arg("memory_format") = nb::none())
      .def_prop_ro("is_cpu", [](const Tensor& t) { return t.device().is_cpu(); })
      .def_prop_ro("is_cuda", [](const Tensor& t) { return t.device().type == VT_DEVICE_CUDA; })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data()); })
      .def("storage_offset", &Tensor::storage_offset)
      .def_prop_ro("_version", &Tensor::version, "The version counter shared with every view.")
      .def("is_inference", &Tensor::is_inference,
           "True when the tensor's storage was created inside inference mode.")
      .def("_is_view_of", [](const Tensor& a, const Tensor& b) {
        return a.impl()->storage() == b.impl()->storage();
      })
      .def("__len__", [](const Tensor& t) {
        if (t.dim() == 0) fail(VT_ERROR_TYPE, "len() of a 0-d tensor");
        return t.sizes()[0];
      })
      // Through unbind (not __getitem__ until IndexError), so a 0-d tensor refuses iteration
      // as in torch, and the rows are views that layers above (autograd) see.
      .def("__iter__", [](nb::handle self) {
        if (nb::cast<const Tensor&>(self).dim() == 0) fail(VT_ERROR_TYPE, "iteration over a 0-d tensor");
        return nb::iter(self.attr("unbind")(0));
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
      // implicit only marks expansions torch's tracer inserted; the view is the same.
      .def("expand", [](const Tensor& t, nb::args args, nb::handle size, bool) {
        return vt::expand(t, size_from_args(args, size, "expand"));
      }, nb::arg("args"), nb::arg("size") = nb::none(), nb::arg("implicit") = false)
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
      .def("contiguous", [](SelfHandle self, nb::handle memory_format) {
        MemoryFormat f = to_memory_format(memory_format, MemoryFormat::Contiguous, "contiguous");
        VT_CHECK(f != MemoryFormat::Preserve, "preserve memory format is unsupported by the contiguous operator");
        require_row_major(f, self.p->dim(), "contiguous");
        return self_or_new(self, vt::contiguous(*self.p));
      }, nb::kw_only(), nb::arg("memory_format") = nb::none())
      .def("clone", [](const Tensor& t, nb::handle memory_format) {
        MemoryFormat f = to_memory_format(memory_format, MemoryFormat::Preserve, "clone");
        require_row_major(f, t.dim(), "clone");
        return f == MemoryFormat::Contiguous && !t.is_contiguous() ? vt::contiguous(t) : vt::clone(t);
      }, nb::kw_only(), nb::arg("memory_format") = nb::none())
      // copies and conversions; copies are ordered on the device's stream, so non_blocking
      // changes nothing here
      // In-place methods return their own Python object, as torch's do.
      .def("copy_", [](SelfHandle self, const Tensor& other, bool) {
        vt::copy_(*self.p, other);
        return nb::borrow(self.h);
      }, nb::arg("other"), nb::arg("non_blocking") = false)
      .def("fill_", [](SelfHandle self, nb::handle value) {
        const Tensor& t = *self.p;
        if (nb::isinstance<Tensor>(value)) {
          const Tensor& v = nb::cast<const Tensor&>(value);
          VT_CHECK(v.dim() == 0, "fill_ only supports 0-dimension value tensor but got tensor with ",
                   v.dim(), " dimensions.");
          vt::copy_(t, v);
        } else {
          vt::fill_(t, require_scalar(value, "fill_"));
        }
        return nb::borrow(self.h);
      }, nb::arg("value"))
      .def("zero_", [](SelfHandle self) {
        vt::fill_(*self.p, Scalar(int64_t(0)));
        return nb::borrow(self.h);
      })
      .def("to", [](SelfHandle self, nb::args args, nb::kwargs kwargs) {
        return self_or_new(self, to_impl(*self.p, std::move(args), std::move(kwargs)));
      })
      .def("cpu", [](SelfHandle self, nb::handle memory_format) {
        if (self.p->device().is_cpu()) return nb::borrow(self.h);  // as torch: memory_format unused
        require_row_major(to_memory_format(memory_format, MemoryFormat::Preserve, "cpu"), self.p->dim(), "cpu");
        return nb::cast(copy_to_device(*self.p, kCPU));
      }, nb::kw_only(), nb::arg("memory_format") = nb::none())
      .def("type", &type_impl, nb::arg("dtype") = nb::none(), nb::arg("non_blocking") = false);
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
