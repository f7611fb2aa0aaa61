// The shape family: Tensor methods and module functions with torch's names and signatures.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

std::vector<Tensor> tensor_sequence(nb::handle h, const char* op) {
  if (nb::isinstance<Tensor>(h) || !PySequence_Check(h.ptr()) || nb::isinstance<nb::str>(h))
    fail(VT_ERROR_TYPE, op, "(): argument 'tensors' (position 1) must be tuple of Tensors, not ",
         nb::inst_name(h).c_str());
  std::vector<Tensor> out;
  size_t i = 0;
  for (nb::handle item : nb::borrow<nb::object>(h)) {
    const Tensor* t = as_tensor(item);
    if (!t)
      fail(VT_ERROR_TYPE, op, "(): expected Tensor as element ", i, " in argument 0, but got ",
           nb::inst_name(item).c_str());
    out.push_back(*t);
    ++i;
  }
  return out;
}

nb::tuple to_tuple(const std::vector<Tensor>& ts) {
  nb::list l;
  for (const Tensor& t : ts) l.append(nb::cast(t));
  return nb::tuple(l);
}

// split_size_or_sections: an int splits into equal pieces, a sequence gives their sizes.
nb::tuple split(const Tensor& t, nb::handle sections, int64_t dim) {
  if (PyLong_Check(sections.ptr()) && !PyBool_Check(sections.ptr()))
    return to_tuple(vt::split(t, nb::cast<int64_t>(sections), dim));
  return to_tuple(vt::split_with_sizes(t, int_list(sections, "split"), dim));
}

// f(0, 1) and f((0, 1)) both name dims, as torch's flip/tile/repeat accept.
DimVector dims_from_args(const nb::args& args, const char* what) {
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) return int_list(args[0], what);
  return int_list(args, what);
}

Tensor roll(const Tensor& t, nb::handle shifts, nb::handle dims) {
  DimVector s = int_list(shifts, "roll");
  DimVector d = dims.is_none() ? DimVector() : int_list(dims, "roll");
  return vt::roll(t, s, d);
}

Tensor pad(const Tensor& t, nb::handle pad, const std::string& mode, nb::handle value) {
  std::optional<double> v;
  if (!value.is_none()) v = require_scalar(value, "pad").to_double();
  return vt::pad(t, int_list(pad, "pad"), mode, v);
}

}  // namespace

void bind_shape_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  auto cat = [](nb::handle tensors, int64_t dim) { return vt::cat(tensor_sequence(tensors, "cat"), dim); };
  for (const char* name : {"cat", "concat", "concatenate"})
    m.def(name, cat, nb::arg("tensors"), nb::arg("dim") = 0);
  m.def("stack", [](nb::handle tensors, int64_t dim) {
    return vt::stack(tensor_sequence(tensors, "stack"), dim);
  }, nb::arg("tensors"), nb::arg("dim") = 0);

  cls.def("split", &split, nb::arg("split_size"), nb::arg("dim") = 0)
      .def("chunk", [](const Tensor& t, int64_t chunks, int64_t dim) { return to_tuple(vt::chunk(t, chunks, dim)); },
           nb::arg("chunks"), nb::arg("dim") = 0)
      .def("unbind", [](const Tensor& t, int64_t dim) { return to_tuple(vt::unbind(t, dim)); }, nb::arg("dim") = 0)
      .def("narrow", &vt::narrow, nb::arg("dim"), nb::arg("start"), nb::arg("length"))
      .def("flatten", &vt::flatten, nb::arg("start_dim") = 0, nb::arg("end_dim") = -1)
      .def("unflatten", [](const Tensor& t, int64_t dim, nb::handle sizes) {
        return vt::unflatten(t, dim, int_list(sizes, "unflatten"));
      }, nb::arg("dim"), nb::arg("sizes"))
      .def("flip", [](const Tensor& t, nb::args dims) { return vt::flip(t, dims_from_args(dims, "flip")); })
      .def("roll", &roll, nb::arg("shifts"), nb::arg("dims").none() = nb::tuple())
      .def("repeat", [](const Tensor& t, nb::args sizes) { return vt::repeat(t, dims_from_args(sizes, "repeat")); })
      .def("tile", [](const Tensor& t, nb::args dims) { return vt::tile(t, dims_from_args(dims, "tile")); })
      .def("tril", &vt::tril, nb::arg("diagonal") = 0)
      .def("triu", &vt::triu, nb::arg("diagonal") = 0)
      .def("tril_", [](const Tensor& t, int64_t k) { return vt::tril_(t, k); }, nb::arg("diagonal") = 0)
      .def("triu_", [](const Tensor& t, int64_t k) { return vt::triu_(t, k); }, nb::arg("diagonal") = 0);
  for (const char* name : {"movedim", "moveaxis"})
    cls.def(name, [](const Tensor& t, nb::handle source, nb::handle destination) {
      return vt::movedim(t, int_list(source, "movedim"), int_list(destination, "movedim"));
    }, nb::arg("source"), nb::arg("destination"));

  m.def("split", &split, nb::arg("tensor"), nb::arg("split_size_or_sections"), nb::arg("dim") = 0);
  m.def("chunk", [](const Tensor& t, int64_t chunks, int64_t dim) { return to_tuple(vt::chunk(t, chunks, dim)); },
        nb::arg("input"), nb::arg("chunks"), nb::arg("dim") = 0);
  m.def("unbind", [](const Tensor& t, int64_t dim) { return to_tuple(vt::unbind(t, dim)); },
        nb::arg("input"), nb::arg("dim") = 0);
  m.def("narrow", &vt::narrow, nb::arg("input"), nb::arg("dim"), nb::arg("start"), nb::arg("length"));
  m.def("flatten", &vt::flatten, nb::arg("input"), nb::arg("start_dim") = 0, nb::arg("end_dim") = -1);
  m.def("unflatten", [](const Tensor& t, int64_t dim, nb::handle sizes) {
    return vt::unflatten(t, dim, int_list(sizes, "unflatten"));
  }, nb::arg("input"), nb::arg("dim"), nb::arg("sizes"));
  for (const char* name : {"movedim", "moveaxis"})
    m.def(name, [](const Tensor& t, nb::handle source, nb::handle destination) {
      return vt::movedim(t, int_list(source, "movedim"), int_list(destination, "movedim"));
    }, nb::arg("input"), nb::arg("source"), nb::arg("destination"));
  m.def("flip", [](const Tensor& t, nb::handle dims) { return vt::flip(t, int_list(dims, "flip")); },
        nb::arg("input"), nb::arg("dims"));
  m.def("roll", &roll, nb::arg("input"), nb::arg("shifts"), nb::arg("dims").none() = nb::tuple());
  m.def("tile", [](const Tensor& t, nb::handle dims) { return vt::tile(t, int_list(dims, "tile")); },
        nb::arg("input"), nb::arg("dims"));
  m.def("tril", &vt::tril, nb::arg("input"), nb::arg("diagonal") = 0);
  m.def("triu", &vt::triu, nb::arg("input"), nb::arg("diagonal") = 0);
  m.def("pad", &pad, nb::arg("input"), nb::arg("pad"), nb::arg("mode") = "constant",
        nb::arg("value") = nb::none(), "torch.nn.functional.pad: modes constant, reflect, replicate, circular.");
}

}  // namespace vt::py
