// Basic indexing: ints, slices, None and Ellipsis become views (select/slice/unsqueeze).
#include "bindings/common.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

bool is_int_index(PyObject* o) { return !PyBool_Check(o) && PyIndex_Check(o) && !PySequence_Check(o); }

[[noreturn]] void unsupported(nb::handle item) {
  fail(VT_ERROR_NOT_IMPLEMENTED, "vt.core indexing supports ints, slices, None and Ellipsis; "
       "indexing with ", nb::inst_name(item).c_str(), " (advanced indexing) is not implemented");
}

Tensor apply_index(const Tensor& self, nb::handle index) {
  nb::tuple items = nb::isinstance<nb::tuple>(index) ? nb::borrow<nb::tuple>(index)
                                                     : nb::make_tuple(index);
  int64_t consumed = 0;
  bool seen_ellipsis = false;
  for (nb::handle item : items) {
    PyObject* o = item.ptr();
    if (o == Py_Ellipsis) {
      VT_CHECK_INDEX(!seen_ellipsis, "an index can only have a single ellipsis ('...')");
      seen_ellipsis = true;
    } else if (is_int_index(o) || PySlice_Check(o)) {
      ++consumed;
    } else if (o != Py_None) {
      unsupported(item);
    }
  }
  VT_CHECK_INDEX(consumed <= self.dim(), "too many indices for tensor of dimension ", self.dim());
  VT_CHECK_INDEX(self.dim() > 0 || consumed == 0,
                 "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                 "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");

  Tensor out = self;
  int64_t dim = 0;
  for (nb::handle item : items) {
    PyObject* o = item.ptr();
    if (o == Py_Ellipsis) {
      dim += self.dim() - consumed;
    } else if (o == Py_None) {
      out = vt::unsqueeze(out, dim++);
    } else if (PySlice_Check(o)) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(o, &start, &stop, &step) < 0) throw nb::python_error();
      VT_CHECK_VALUE(step > 0, "step must be greater than zero");
      // Unpack gives 0 and PY_SSIZE_T_MAX for omitted bounds; slice clamps them.
      out = vt::slice(out, dim++, int64_t(start), int64_t(stop), step);
    } else {
      nb::object i = nb::steal(PyNumber_Index(o));
      if (!i.is_valid()) throw nb::python_error();
      int64_t idx = nb::cast<int64_t>(i);
      int64_t n = out.sizes()[dim];
      VT_CHECK_INDEX(idx >= -n && idx < n, "index ", idx, " is out of bounds for dimension ",
                     dim, " with size ", n);
      out = vt::select(out, dim, idx);
    }
  }
  if (out.is_same(self)) out = self.view_as_strided(self.sizes(), self.strides(), self.storage_offset());
  return out;
}

}  // namespace

void bind_indexing(nb::class_<Tensor>& cls) {
  cls.def("__getitem__", &apply_index, nb::arg("index"));
  cls.def("__setitem__", [](const Tensor& self, nb::handle index, nb::handle value) {
    Tensor target = apply_index(self, index);
    if (nb::isinstance<Tensor>(value)) vt::copy_(target, nb::cast<const Tensor&>(value));
    else vt::fill_(target, require_scalar(value, "__setitem__"));
  }, nb::arg("index"), nb::arg("value"));
}

}  // namespace vt::py
