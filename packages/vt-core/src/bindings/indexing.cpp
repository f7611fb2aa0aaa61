// Basic indexing: ints, slices, None and Ellipsis become views (select/slice/unsqueeze).
#include "bindings/common.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

bool is_int_index(PyObject* o) { return !PyBool_Check(o) && PyIndex_Check(o) && !PySequence_Check(o); }

[[noreturn]] void unsupported(nb::handle item) {
  PyObject* o = item.ptr();
  // Tensors, sequences and bools index by content (advanced indexing); anything else is invalid.
  if (nb::isinstance<Tensor>(item) || PySequence_Check(o) || PyBool_Check(o))
    fail(VT_ERROR_NOT_IMPLEMENTED, "vt.core indexing supports ints, slices, None and Ellipsis; "
         "indexing with ", nb::inst_name(item).c_str(), " (advanced indexing) is not implemented");
  fail(VT_ERROR_INDEX, "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
       "Variables are valid indices (got ", nb::inst_name(item).c_str(), ")");
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
  int64_t dim = 0;         // position in `out`
  int64_t source_dim = 0;  // position in `self`, for error messages
  for (nb::handle item : items) {
    PyObject* o = item.ptr();
    if (o == Py_Ellipsis) {
      dim += self.dim() - consumed;
      source_dim += self.dim() - consumed;
    } else if (o == Py_None) {
      out = vt::unsqueeze(out, dim++);
    } else if (PySlice_Check(o)) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(o, &start, &stop, &step) < 0) throw nb::python_error();
      VT_CHECK_VALUE(step > 0, "step must be greater than zero");
      // Unpack gives 0 and PY_SSIZE_T_MAX for omitted bounds; slice clamps them.
      out = vt::slice(out, dim++, int64_t(start), int64_t(stop), step);
      ++source_dim;
    } else {
      nb::object i = nb::steal(PyNumber_Index(o));
      if (!i.is_valid()) throw nb::python_error();
      int64_t idx = nb::cast<int64_t>(i);
      int64_t n = out.sizes()[dim];
      VT_CHECK_INDEX(idx >= -n && idx < n, "index ", idx, " is out of bounds for dimension ",
                     source_dim, " with size ", n);
      out = vt::select(out, dim, idx);
      ++source_dim;
    }
  }
  if (out.is_same(self)) out = self.view_as_strided(self.sizes(), self.strides(), self.storage_offset());
  return out;
}

}  // namespace

void bind_indexing(nb::class_<Tensor>& cls) {
  cls.def("__getitem__", &apply_index, nb::arg("index").none());
  cls.def("__setitem__", [](const Tensor& self, nb::handle index, nb::handle value) {
    Tensor target = apply_index(self, index);
    // torch refuses assignment through aliased elements (fill_ alone allows it).
    for (int64_t d = 0; d < target.dim(); ++d)
      VT_CHECK(target.strides()[d] != 0 || target.sizes()[d] <= 1,
               "unsupported operation: more than one element of the written-to tensor refers to a "
               "single memory location. Please clone() the tensor before performing the operation.");
    if (!nb::isinstance<Tensor>(value)) return (void)vt::fill_(target, require_scalar(value, "__setitem__"));
    // As torch: leading size-1 dims of the value beyond the target's rank are dropped.
    Tensor v = nb::cast<const Tensor&>(value);
    while (v.dim() > target.dim() && v.sizes()[0] == 1) v = vt::select(v, 0, 0);
    vt::copy_(target, v);
  }, nb::arg("index").none(), nb::arg("value"));
}

}  // namespace vt::py
