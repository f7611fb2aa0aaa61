// vt.core.dtype and vt.core.device, and the conversions every binding uses.
#include <array>
#include <string>

#include "bindings/common.h"
#include "iterator/tensor_iterator.h"

namespace vt::py {
namespace {

constexpr ScalarType kAllDtypes[] = {
    ScalarType::Bool, ScalarType::UInt8, ScalarType::Int8, ScalarType::Int16,
    ScalarType::Int32, ScalarType::Int64, ScalarType::Float16, ScalarType::BFloat16,
    ScalarType::Float32, ScalarType::Float64};

// Interned dtype objects, borrowed from the module attributes that own them.
std::array<PyObject*, kNumScalarTypes> g_dtypes{};

}  // namespace

nb::object dtype_object(ScalarType t) { return nb::borrow(g_dtypes[size_t(dtype_index(t))]); }

ScalarType to_dtype(nb::handle h, const char* what) {
  if (nb::isinstance<DType>(h)) return nb::cast<const DType&>(h).type;
  fail(VT_ERROR_TYPE, what, "(): expected a vt dtype (such as vt.core.float32), got ",
       nb::inst_name(h).c_str());
}

std::optional<ScalarType> to_optional_dtype(nb::handle h, const char* what) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  return to_dtype(h, what);
}

Device to_device(nb::handle h, const char* what) {
  if (nb::isinstance<PyDevice>(h)) return nb::cast<const PyDevice&>(h).resolved();
  if (nb::isinstance<nb::str>(h)) return parse_device(nb::cast<std::string>(h));
  fail(VT_ERROR_TYPE, what, "(): expected a device or a string such as 'cpu' or 'cuda:0', got ",
       nb::inst_name(h).c_str());
}

nb::object device_object(Device d) {
  PyDevice pd{d.type, d.is_cpu() ? std::nullopt : std::optional<int32_t>(d.index)};
  return nb::cast(pd);
}

std::optional<Scalar> to_scalar(nb::handle h) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) return Scalar::from_bool(o == Py_True);
  if (PyLong_Check(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) fail(VT_ERROR_VALUE, "value cannot be converted to type int64 without overflow");
    return Scalar(int64_t(v));
  }
  if (PyFloat_Check(o)) return Scalar(PyFloat_AS_DOUBLE(o));
  // numpy scalars and other number types that know how to become Python numbers
  if (PyIndex_Check(o)) {
    nb::object i = nb::steal(PyNumber_Index(o));
    if (i.is_valid()) return to_scalar(i);
    PyErr_Clear();
  }
  if (PyObject_HasAttrString(o, "__float__") && !PyObject_HasAttrString(o, "shape")) {
    double d = PyFloat_AsDouble(o);
    if (!(d == -1.0 && PyErr_Occurred())) return Scalar(d);
    PyErr_Clear();
  }
  return std::nullopt;
}

Scalar require_scalar(nb::handle h, const char* what) {
  if (auto s = to_scalar(h)) return *s;
  fail(VT_ERROR_TYPE, what, "(): expected a number (bool, int or float), got ",
       nb::inst_name(h).c_str());
}

DimVector int_list(nb::handle h, const char* what) {
  DimVector out;
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) {
    out.push_back(nb::cast<int64_t>(h));
    return out;
  }
  if (!PySequence_Check(h.ptr()) || nb::isinstance<nb::str>(h))
    fail(VT_ERROR_TYPE, what, "(): expected a sequence of ints, got ", nb::inst_name(h).c_str());
  for (nb::handle item : nb::borrow<nb::object>(h)) {
    if (PyBool_Check(item.ptr()) || !PyIndex_Check(item.ptr()))
      fail(VT_ERROR_TYPE, what, "(): expected a sequence of ints, but found an element of type ",
           nb::inst_name(item).c_str());
    nb::object i = nb::steal(PyNumber_Index(item.ptr()));
    if (!i.is_valid()) throw nb::python_error();
    out.push_back(nb::cast<int64_t>(i));
  }
  return out;
}

std::optional<DimVector> optional_int_list(nb::handle h, const char* what) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  return int_list(h, what);
}

DimVector shape_from_args(const nb::args& args, const char* what) {
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) return int_list(args[0], what);
  return int_list(args, what);
}

void bind_dtype_device(nb::module_& m) {
  nb::class_<DType>(m, "dtype", "An element type; one interned object per type.")
      .def_prop_ro("itemsize", [](const DType& d) { return itemsize(d.type); })
      .def_prop_ro("is_floating_point", [](const DType& d) { return is_floating(d.type); })
      .def_prop_ro("is_signed", [](const DType& d) {
        return d.type != ScalarType::Bool && d.type != ScalarType::UInt8;
      })
      .def_prop_ro("name", [](const DType& d) { return dtype_name(d.type); })
      .def_prop_ro("_code", [](const DType& d) { return int32_t(d.type); },
                   "The C ABI code: (DLPack type code << 8) | bits.")
      .def("__repr__", [](const DType& d) { return std::string("vt.") + dtype_name(d.type); })
      .def("__reduce__", [](const DType& d) {
        return nb::make_tuple(nb::module_::import_("vt.core").attr("_dtype_from_name"),
                              nb::make_tuple(dtype_name(d.type)));
      });
  for (ScalarType t : kAllDtypes) {
    nb::object o = nb::cast(DType{t});
    g_dtypes[size_t(dtype_index(t))] = o.ptr();
    m.attr(dtype_name(t)) = o;
  }

  nb::class_<PyDevice>(m, "device", "A device: device('cpu'), device('cuda:0'), device('cuda', 1).")
      .def("__init__", [](PyDevice* self, nb::handle spec, std::optional<int32_t> index) {
        if (nb::isinstance<PyDevice>(spec)) {
          new (self) PyDevice(nb::cast<const PyDevice&>(spec));
          return;
        }
        if (!nb::isinstance<nb::str>(spec))
          fail(VT_ERROR_TYPE, "device(): expected a string or a device, got ",
               nb::inst_name(spec).c_str());
        std::string text = nb::cast<std::string>(spec);
        bool has_index = text.find(':') != std::string::npos;
        VT_CHECK(!(has_index && index), "device(): type (string) must not include an index "
                 "because index was passed explicitly: ", text);
        Device d = parse_device(text);
        VT_CHECK(!index || *index >= 0, "Device index must not be negative");
        VT_CHECK(!d.is_cpu() || !index || *index == 0, "CPU device index must be 0");
        std::optional<int32_t> idx = has_index ? std::optional<int32_t>(d.index) : index;
        new (self) PyDevice{d.type, idx};
      }, nb::arg("type"), nb::arg("index") = nb::none())
      .def_prop_ro("type", [](const PyDevice& d) { return std::string(device_type_name(d.type)); })
      .def_prop_ro("index", [](const PyDevice& d) { return d.index; })
      .def("__eq__", [](const PyDevice& a, nb::handle b) {
        if (!nb::isinstance<PyDevice>(b)) return false;
        const PyDevice& o = nb::cast<const PyDevice&>(b);
        return a.type == o.type && a.index == o.index;
      })
      .def("__hash__", [](const PyDevice& d) { return d.type * 1000 + d.index.value_or(-1); })
      .def("__str__", [](const PyDevice& d) {
        std::string s = device_type_name(d.type);
        return d.index ? s + ":" + std::to_string(*d.index) : s;
      })
      .def("__repr__", [](const PyDevice& d) {
        std::string s = std::string("device(type='") + device_type_name(d.type) + "'";
        return d.index ? s + ", index=" + std::to_string(*d.index) + ")" : s + ")";
      });
}

}  // namespace vt::py
