// The index family: Tensor methods and module functions with torch's names and signatures.
#include "bindings/common.h"

#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

std::vector<Tensor> index_tensors(nb::handle h, const char* op) {
  if (nb::isinstance<Tensor>(h) || !PySequence_Check(h.ptr()))
    fail(VT_ERROR_TYPE, op, "(): argument 'indices' must be tuple of Tensors, not ", nb::inst_name(h).c_str());
  std::vector<Tensor> out;
  size_t i = 0;
  for (nb::handle item : nb::borrow<nb::object>(h)) {
    const Tensor* t = as_tensor(item);
    if (!t)
      fail(VT_ERROR_TYPE, "expected Tensor as element ", i, " in argument 0, but got ",
           nb::inst_name(item).c_str());
    out.push_back(*t);
    ++i;
  }
  return out;
}

// torch.return_types-style named tuples (r.values, r.indices, or unpacking), made at bind time.
nb::object* g_sort_result = nullptr;
nb::object* g_topk_result = nullptr;

nb::object make_result_type(const char* name) {
  nb::object namedtuple = nb::module_::import_("collections").attr("namedtuple");
  return namedtuple(name, nb::make_tuple("values", "indices"), nb::arg("module") = "vt.core");
}

Tensor masked_fill(const Tensor& t, const Tensor& mask, nb::handle value) {
  if (const Tensor* v = as_tensor(value)) return vt::masked_fill(t, mask, *v);
  return vt::masked_fill(t, mask, require_scalar(value, "masked_fill"));
}
Tensor masked_fill_(const Tensor& t, const Tensor& mask, nb::handle value) {
  if (const Tensor* v = as_tensor(value)) vt::masked_fill_(t, mask, *v);
  else vt::masked_fill_(t, mask, require_scalar(value, "masked_fill_"));
  return t;
}

nb::object nonzero(const Tensor& t, bool as_tuple) {
  if (!as_tuple) return nb::cast(vt::nonzero(t));
  // A 0-dim input counts as 1-D here, as in torch.
  Tensor coords = vt::nonzero(t.dim() == 0 ? vt::view(t, DimVector{1}) : t);
  nb::list l;
  for (const Tensor& c : vt::unbind(coords, 1)) l.append(nb::cast(c));
  return nb::tuple(l);
}

// scatter(dim, index, src) / scatter(dim, index, value), optionally with reduce=.
template <bool kInPlace>
Tensor scatter(const Tensor& t, int64_t dim, const Tensor& index, nb::handle src, nb::handle value,
               nb::handle reduce) {
  nb::handle given = src.is_none() ? value : src;
  const char* op = kInPlace ? "scatter_" : "scatter";
  if (given.is_none()) fail(VT_ERROR_TYPE, op, "() missing required argument 'src' or 'value'");
  std::optional<std::string> r;
  if (!reduce.is_none()) r = nb::cast<std::string>(reduce);
  const Tensor* s = as_tensor(given);
  Scalar v = s ? Scalar() : require_scalar(given, op);
  if constexpr (kInPlace) {
    if (s) r ? vt::scatter_(t, dim, index, *s, *r) : vt::scatter_(t, dim, index, *s);
    else r ? vt::scatter_(t, dim, index, v, *r) : vt::scatter_(t, dim, index, v);
    return t;
  } else {
    if (s) return r ? vt::scatter(t, dim, index, *s, *r) : vt::scatter(t, dim, index, *s);
    return r ? vt::scatter(t, dim, index, v, *r) : vt::scatter(t, dim, index, v);
  }
}

Tensor index_put(const Tensor& t, nb::handle indices, const Tensor& values, bool accumulate) {
  return vt::index_put(t, index_tensors(indices, "index_put"), values, accumulate);
}
Tensor index_put_(const Tensor& t, nb::handle indices, const Tensor& values, bool accumulate) {
  return vt::index_put_(t, index_tensors(indices, "index_put_"), values, accumulate);
}

nb::object sort(const Tensor& t, int64_t dim, bool descending, std::optional<bool> stable) {
  auto [values, indices] = vt::sort(t, dim, descending, stable.value_or(false));
  return (*g_sort_result)(values, indices);
}
nb::object topk(const Tensor& t, int64_t k, int64_t dim, bool largest, bool sorted) {
  auto [values, indices] = vt::topk(t, k, dim, largest, sorted);
  return (*g_topk_result)(values, indices);
}

// torch.unique returns the values alone, or a tuple with the requested extras.
nb::object unique(const Tensor& t, bool sorted, bool return_inverse, bool return_counts,
                  std::optional<int64_t> dim) {
  auto [values, inverse, counts] = vt::unique(t, sorted, return_inverse, return_counts, dim);
  if (!return_inverse && !return_counts) return nb::cast(values);
  nb::list l;
  l.append(nb::cast(values));
  if (return_inverse) l.append(nb::cast(inverse));
  if (return_counts) l.append(nb::cast(counts));
  return nb::tuple(l);
}

}  // namespace

void bind_index_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  g_sort_result = new nb::object(make_result_type("sort"));
  g_topk_result = new nb::object(make_result_type("topk"));
  using TTT = Tensor (*)(const Tensor&, int64_t, const Tensor&, const Tensor&);
  using ITTT = const Tensor& (*)(const Tensor&, int64_t, const Tensor&, const Tensor&);
  cls.def("masked_fill", &masked_fill, nb::arg("mask"), nb::arg("value"))
      .def("masked_fill_", &masked_fill_, nb::arg("mask"), nb::arg("value"))
      .def("masked_select", &vt::masked_select, nb::arg("mask"))
      .def("nonzero", &nonzero, nb::kw_only(), nb::arg("as_tuple") = false)
      .def("index_select", &vt::index_select, nb::arg("dim"), nb::arg("index"))
      .def("gather", &vt::gather, nb::arg("dim"), nb::arg("index"), nb::kw_only(),
           nb::arg("sparse_grad") = false)
      .def("scatter", &scatter<false>, nb::arg("dim"), nb::arg("index"), nb::arg("src") = nb::none(),
           nb::kw_only(), nb::arg("value") = nb::none(), nb::arg("reduce") = nb::none())
      .def("scatter_", &scatter<true>, nb::arg("dim"), nb::arg("index"), nb::arg("src") = nb::none(),
           nb::kw_only(), nb::arg("value") = nb::none(), nb::arg("reduce") = nb::none())
      .def("scatter_add", TTT(&vt::scatter_add), nb::arg("dim"), nb::arg("index"), nb::arg("src"))
      .def("scatter_add_", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src) {
        return ITTT(&vt::scatter_add_)(t, dim, index, src);
      }, nb::arg("dim"), nb::arg("index"), nb::arg("src"))
      .def("scatter_reduce", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src,
                                const std::string& reduce, bool include_self) {
        return vt::scatter_reduce(t, dim, index, src, reduce, include_self);
      }, nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::arg("reduce"), nb::kw_only(),
         nb::arg("include_self") = true)
      .def("scatter_reduce_", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src,
                                 const std::string& reduce, bool include_self) {
        return vt::scatter_reduce_(t, dim, index, src, reduce, include_self);
      }, nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::arg("reduce"), nb::kw_only(),
         nb::arg("include_self") = true)
      .def("index_add", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& source,
                           nb::handle alpha) {
        return vt::index_add(t, dim, index, source, require_scalar(alpha, "index_add"));
      }, nb::arg("dim"), nb::arg("index"), nb::arg("source"), nb::kw_only(), nb::arg("alpha") = 1)
      .def("index_add_", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& source,
                            nb::handle alpha) {
        return vt::index_add_(t, dim, index, source, require_scalar(alpha, "index_add_"));
      }, nb::arg("dim"), nb::arg("index"), nb::arg("source"), nb::kw_only(), nb::arg("alpha") = 1)
      .def("index_copy", TTT(&vt::index_copy), nb::arg("dim"), nb::arg("index"), nb::arg("source"))
      .def("index_copy_", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& source) {
        return ITTT(&vt::index_copy_)(t, dim, index, source);
      }, nb::arg("dim"), nb::arg("index"), nb::arg("source"))
      .def("index_put", &index_put, nb::arg("indices"), nb::arg("values"), nb::arg("accumulate") = false)
      .def("index_put_", &index_put_, nb::arg("indices"), nb::arg("values"), nb::arg("accumulate") = false)
      .def("sort", &sort, nb::arg("dim") = -1, nb::arg("descending") = false, nb::kw_only(),
           nb::arg("stable") = nb::none())
      .def("argsort", &vt::argsort, nb::arg("dim") = -1, nb::arg("descending") = false, nb::kw_only(),
           nb::arg("stable") = false)
      .def("topk", &topk, nb::arg("k"), nb::arg("dim") = -1, nb::arg("largest") = true,
           nb::arg("sorted") = true)
      .def("unique", &unique, nb::arg("sorted") = true, nb::arg("return_inverse") = false,
           nb::arg("return_counts") = false, nb::arg("dim") = nb::none());

  m.def("masked_fill", &masked_fill, nb::arg("input"), nb::arg("mask"), nb::arg("value"));
  m.def("masked_select", &vt::masked_select, nb::arg("input"), nb::arg("mask"));
  m.def("nonzero", &nonzero, nb::arg("input"), nb::kw_only(), nb::arg("as_tuple") = false);
  m.def("index_select", &vt::index_select, nb::arg("input"), nb::arg("dim"), nb::arg("index"));
  m.def("gather", &vt::gather, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::kw_only(),
        nb::arg("sparse_grad") = false);
  m.def("scatter", &scatter<false>, nb::arg("input"), nb::arg("dim"), nb::arg("index"),
        nb::arg("src") = nb::none(), nb::kw_only(), nb::arg("value") = nb::none(),
        nb::arg("reduce") = nb::none());
  m.def("scatter_add", TTT(&vt::scatter_add), nb::arg("input"), nb::arg("dim"), nb::arg("index"),
        nb::arg("src"));
  m.def("scatter_reduce", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src,
                             const std::string& reduce, bool include_self) {
    return vt::scatter_reduce(t, dim, index, src, reduce, include_self);
  }, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("src"), nb::arg("reduce"),
     nb::kw_only(), nb::arg("include_self") = true);
  m.def("index_add", [](const Tensor& t, int64_t dim, const Tensor& index, const Tensor& source,
                        nb::handle alpha) {
    return vt::index_add(t, dim, index, source, require_scalar(alpha, "index_add"));
  }, nb::arg("input"), nb::arg("dim"), nb::arg("index"), nb::arg("source"), nb::kw_only(),
     nb::arg("alpha") = 1);
  m.def("index_copy", TTT(&vt::index_copy), nb::arg("input"), nb::arg("dim"), nb::arg("index"),
        nb::arg("source"));
  m.def("index_put", &index_put, nb::arg("input"), nb::arg("indices"), nb::arg("values"),
        nb::arg("accumulate") = false);
  m.def("sort", &sort, nb::arg("input"), nb::arg("dim") = -1, nb::arg("descending") = false,
        nb::kw_only(), nb::arg("stable") = nb::none());
  m.def("argsort", &vt::argsort, nb::arg("input"), nb::arg("dim") = -1, nb::arg("descending") = false,
        nb::kw_only(), nb::arg("stable") = false);
  m.def("topk", &topk, nb::arg("input"), nb::arg("k"), nb::arg("dim") = -1, nb::arg("largest") = true,
        nb::arg("sorted") = true);
  m.def("unique", &unique, nb::arg("input"), nb::arg("sorted") = true,
        nb::arg("return_inverse") = false, nb::arg("return_counts") = false,
        nb::arg("dim") = nb::none());
  m.def("one_hot", &vt::one_hot, nb::arg("tensor"), nb::arg("num_classes") = -1,
        "torch.nn.functional.one_hot: int64 class indices to an int64 one-hot tensor.");
}

}  // namespace vt::py
