// Tensor.__getitem__ / __setitem__. Ints, slices, None and Ellipsis become views
// (select/slice/unsqueeze); integer tensors, bool masks and sequences are advanced indices,
// gathered by vt::index (a copy) and written by vt::index_put_, with torch's result layout.
#include "bindings/common.h"

#include "ops/ops.h"

namespace vt::py {
namespace {

enum class Kind { Int, Slice, None, Ellipsis, Bool, Tensor };

struct Item {
  Item(Kind k, nb::handle o, int64_t v = 0, vt::Tensor t = vt::Tensor())
      : kind(k), obj(o), value(v), tensor(std::move(t)) {}
  Kind kind;
  nb::handle obj;     // the Python object (ints, slices)
  int64_t value;      // Int: the index; Bool: 0 or 1
  vt::Tensor tensor;  // Tensor: an integer index or a mask
};

bool is_int_index(PyObject* o) { return !PyBool_Check(o) && PyIndex_Check(o) && !PySequence_Check(o); }

// Sequences become index tensors as torch makes them: bools (and uint8 arrays) make a mask,
// other numbers int64 (floats truncate; an empty list indexes nothing).
vt::Tensor sequence_to_tensor(nb::handle seq) {
  // Looked up per call: a cached reference would keep vt.core alive past nanobind's teardown.
  vt::Tensor t = nb::cast<vt::Tensor>(nb::module_::import_("vt.core").attr("tensor")(seq));
  ScalarType dt = t.dtype();
  if (dt == ScalarType::Bool || dt == ScalarType::UInt8 || dt == ScalarType::Int64 || dt == ScalarType::Int32)
    return t;
  return vt::to_dtype(t, ScalarType::Int64);
}

// numpy's rule, which torch keeps with a deprecation warning: a short list holding slices,
// Ellipsis, None, tensors or sequences is a tuple of indices, not one index.
bool sequence_is_tuple(nb::handle index) {
  PyObject* o = index.ptr();
  if (PyTuple_Check(o)) return true;
  if (nb::isinstance<vt::Tensor>(index) || !PySequence_Check(o) || PyUnicode_Check(o) ||
      PyBytes_Check(o) || nb::hasattr(index, "shape"))
    return false;
  Py_ssize_t n = PySequence_Size(o);
  if (n < 0) { PyErr_Clear(); return false; }
  if (n >= 32) return false;
  for (Py_ssize_t i = 0; i < n; ++i) {
    nb::object item = nb::steal(PySequence_GetItem(o, i));
    if (!item.is_valid()) { PyErr_Clear(); return false; }
    PyObject* p = item.ptr();
    if (nb::isinstance<vt::Tensor>(item) || PySequence_Check(p) || PySlice_Check(p) ||
        p == Py_Ellipsis || p == Py_None)
      return true;
  }
  return false;
}

Item classify(nb::handle h) {
  PyObject* o = h.ptr();
  if (o == Py_Ellipsis) return {Kind::Ellipsis, h};
  if (o == Py_None) return {Kind::None, h};
  if (PyBool_Check(o)) return {Kind::Bool, h, o == Py_True};
  if (PySlice_Check(o)) return {Kind::Slice, h};
  if (const vt::Tensor* t = as_tensor(h)) {
    ScalarType dt = t->dtype();
    // A 0-dim integer tensor indexes like an int (a view); a 0-dim bool like True/False.
    if (t->dim() == 0 && is_integral(dt, false) && dt != ScalarType::UInt8)
      return {Kind::Int, h, nb::cast<int64_t>(scalar_to_python(*t))};
    if (t->dim() == 0 && (dt == ScalarType::Bool || dt == ScalarType::UInt8))
      return {Kind::Bool, h, nb::cast<bool>(nb::bool_(scalar_to_python(*t)))};
    return {Kind::Tensor, h, 0, *t};
  }
  if (is_int_index(o)) {
    nb::object i = nb::steal(PyNumber_Index(o));
    if (!i.is_valid()) throw nb::python_error();
    return {Kind::Int, h, nb::cast<int64_t>(i)};
  }
  if (PyUnicode_Check(o) || PyBytes_Check(o))
    fail(VT_ERROR_TYPE, "new(): invalid data type '", nb::inst_name(h).c_str(), "'");
  if (PySequence_Check(o)) return {Kind::Tensor, h, 0, sequence_to_tensor(h)};
  fail(VT_ERROR_INDEX, "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
       "Variables are valid indices (got ", nb::inst_name(h).c_str(), ")");
}

bool is_mask(const vt::Tensor& t) { return t.dtype() == ScalarType::Bool || t.dtype() == ScalarType::UInt8; }

// The basic-indexing view of self plus the advanced indices and the view dims they index.
struct Indexed {
  vt::Tensor view;
  std::vector<vt::Tensor> indices;
  DimVector dims;
};

Indexed apply_basic(const vt::Tensor& self, nb::handle index) {
  nb::tuple raw;
  if (PyTuple_Check(index.ptr())) {
    raw = nb::borrow<nb::tuple>(index);
  } else if (sequence_is_tuple(index)) {
    if (PyErr_WarnEx(PyExc_UserWarning, "Using a non-tuple sequence for multidimensional indexing "
                     "is deprecated; use x[tuple(seq)] instead of x[seq]", 1) < 0)
      throw nb::python_error();
    raw = nb::tuple(nb::borrow<nb::object>(index));
  } else {
    raw = nb::make_tuple(index);
  }
  std::vector<Item> items;
  int64_t consumed = 0;
  bool seen_ellipsis = false;
  for (nb::handle h : raw) {
    Item it = classify(h);
    if (it.kind == Kind::Ellipsis) {
      VT_CHECK_INDEX(!seen_ellipsis, "an index can only have a single ellipsis ('...')");
      seen_ellipsis = true;
    } else if (it.kind == Kind::Int || it.kind == Kind::Slice) {
      ++consumed;
    } else if (it.kind == Kind::Tensor) {
      consumed += is_mask(it.tensor) ? it.tensor.dim() : 1;
    }
    items.push_back(std::move(it));
  }
  VT_CHECK_INDEX(self.dim() > 0 || consumed == 0,
                 "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                 "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
  VT_CHECK_INDEX(consumed <= self.dim(), "too many indices for tensor of dimension ", self.dim());

  Indexed r;
  r.view = self;
  int64_t dim = 0;         // position in the view
  int64_t source_dim = 0;  // position in self, for error messages
  for (const Item& it : items) {
    switch (it.kind) {
      case Kind::Ellipsis:
        dim += self.dim() - consumed;
        source_dim += self.dim() - consumed;
        break;
      case Kind::None:
        r.view = vt::unsqueeze(r.view, dim++);
        break;
      case Kind::Bool:
        // x[True] adds a dim of size 1 and selects all of it; x[False] selects none of it.
        r.view = vt::unsqueeze(r.view, dim);
        r.indices.push_back(vt::zeros(DimVector{it.value}, ScalarType::Int64));
        r.dims.push_back(dim++);
        break;
      case Kind::Slice: {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(it.obj.ptr(), &start, &stop, &step) < 0) throw nb::python_error();
        VT_CHECK_VALUE(step > 0, "step must be greater than zero");
        // Unpack gives 0 and PY_SSIZE_T_MAX for omitted bounds; slice clamps them.
        r.view = vt::slice(r.view, dim++, int64_t(start), int64_t(stop), step);
        ++source_dim;
        break;
      }
      case Kind::Int: {
        int64_t n = r.view.sizes()[dim];
        VT_CHECK_INDEX(it.value >= -n && it.value < n, "index ", it.value,
                       " is out of bounds for dimension ", source_dim, " with size ", n);
        r.view = vt::select(r.view, dim, it.value);
        ++source_dim;
        break;
      }
      case Kind::Tensor: {
        int64_t span = is_mask(it.tensor) ? it.tensor.dim() : 1;
        r.indices.push_back(it.tensor);
        r.dims.push_back(dim);
        dim += span;
        source_dim += span;
        break;
      }
    }
  }
  return r;
}

vt::Tensor getitem(const vt::Tensor& self, nb::handle index) {
  Indexed r = apply_basic(self, index);
  if (!r.indices.empty()) return vt::index(r.view, r.indices, IntArrayRef(r.dims));
  if (r.view.is_same(self)) return self.view_as_strided(self.sizes(), self.strides(), self.storage_offset());
  return r.view;
}

void setitem(const vt::Tensor& self, nb::handle index, nb::handle value) {
  if (index.ptr() == Py_False) return;  // torch writes nothing and checks nothing
  Indexed r = apply_basic(self, index);
  const vt::Tensor& target = r.view;
  if (!r.indices.empty()) {
    vt::Tensor v = as_tensor(value) ? nb::cast<vt::Tensor>(value)
                                    : vt::full(DimVector{}, require_scalar(value, "__setitem__"),
                                               self.dtype(), self.device());
    // As torch: leading size-1 dims of the value never matter to the broadcast.
    while (v.dim() > 0 && v.sizes()[0] == 1) v = vt::select(v, 0, 0);
    vt::index_put_(target, r.indices, v, false, IntArrayRef(r.dims));
    return;
  }
  // torch refuses assignment through aliased elements (fill_ alone allows it).
  for (int64_t d = 0; d < target.dim(); ++d)
    VT_CHECK(target.strides()[d] != 0 || target.sizes()[d] <= 1,
             "unsupported operation: more than one element of the written-to tensor refers to a "
             "single memory location. Please clone() the tensor before performing the operation.");
  if (!as_tensor(value)) return (void)vt::fill_(target, require_scalar(value, "__setitem__"));
  // As torch: leading size-1 dims of the value beyond the target's rank are dropped.
  vt::Tensor v = nb::cast<const vt::Tensor&>(value);
  while (v.dim() > target.dim() && v.sizes()[0] == 1) v = vt::select(v, 0, 0);
  vt::copy_(target, v);
}

}  // namespace

void bind_indexing(nb::class_<Tensor>& cls) {
  cls.def("__getitem__", &getitem, nb::arg("index").none());
  cls.def("__setitem__", &setitem, nb::arg("index").none(), nb::arg("value"));
}

}  // namespace vt::py
