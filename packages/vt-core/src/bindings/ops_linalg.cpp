// The linalg op family: the @ operator, Tensor methods and module functions, with torch's names,
// signatures and defaults (out= where torch has it).
#include "bindings/common.h"

#include <string>
#include <vector>

#include "ops/ops.h"

namespace vt::py {
namespace {

using OptTensor = std::optional<Tensor>;

// out= given: the product is written into it and the same Python object comes back, as in torch.
const Tensor* out_tensor(nb::handle out) {
  if (out.is_none()) return nullptr;
  const Tensor* t = as_tensor(out);
  if (!t) fail(VT_ERROR_TYPE, "argument 'out' must be Tensor, not ", nb::inst_name(out).c_str());
  return t;
}

// f(a, b) or, with out=, f_out(out, a, b).
template <Tensor (*Fn)(const Tensor&, const Tensor&),
          const Tensor& (*OutFn)(const Tensor&, const Tensor&, const Tensor&)>
nb::object pair(const Tensor& a, const Tensor& b, nb::handle out) {
  if (const Tensor* o = out_tensor(out)) {
    without_gil([&] { return OutFn(*o, a, b); });
    return nb::borrow(out);
  }
  return nb::cast(without_gil([&] { return Fn(a, b); }));
}

nb::object addmm_py(const Tensor& self, const Tensor& m1, const Tensor& m2, nb::handle beta,
                    nb::handle alpha, nb::handle out) {
  Scalar be = require_scalar(beta, "beta"), al = require_scalar(alpha, "alpha");
  if (const Tensor* o = out_tensor(out)) {
    without_gil([&] { return vt::addmm_out(*o, self, m1, m2, be, al); });
    return nb::borrow(out);
  }
  return nb::cast(without_gil([&] { return vt::addmm(self, m1, m2, be, al); }));
}

nb::object baddbmm_py(const Tensor& self, const Tensor& b1, const Tensor& b2, nb::handle beta,
                      nb::handle alpha, nb::handle out) {
  Scalar be = require_scalar(beta, "beta"), al = require_scalar(alpha, "alpha");
  if (const Tensor* o = out_tensor(out)) {
    without_gil([&] { return vt::baddbmm_out(*o, self, b1, b2, be, al); });
    return nb::borrow(out);
  }
  return nb::cast(without_gil([&] { return vt::baddbmm(self, b1, b2, be, al); }));
}

// einsum(eq, a, b) or einsum(eq, [a, b]), as torch takes them.
Tensor einsum_py(const std::string& equation, nb::args args) {
  nb::handle items = args;
  if (args.size() == 1 && (nb::isinstance<nb::list>(args[0]) || nb::isinstance<nb::tuple>(args[0])))
    items = args[0];
  std::vector<Tensor> operands;
  for (nb::handle h : items) operands.push_back(require_tensor(h, "einsum"));
  return vt::einsum(equation, operands);
}

}  // namespace

void bind_linalg_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  constexpr auto matmul_fn = &pair<&vt::matmul, &vt::matmul_out>;
  constexpr auto mm_fn = &pair<&vt::mm, &vt::mm_out>;
  constexpr auto bmm_fn = &pair<&vt::bmm, &vt::bmm_out>;
  constexpr auto dot_fn = &pair<&vt::dot, &vt::dot_out>;
  constexpr auto mv_fn = &pair<&vt::mv, &vt::mv_out>;
  constexpr auto outer_fn = &pair<&vt::outer, &vt::outer_out>;
  auto no_out = [](auto fn) {
    return [fn](const Tensor& a, const Tensor& b) { return fn(a, b, nb::none()); };
  };

  // A non-tensor operand gives NotImplemented, so Python raises torch's TypeError.
  cls.def("__matmul__", [](const Tensor& a, nb::handle b) -> nb::object {
        if (const Tensor* t = as_tensor(b)) return nb::cast(without_gil([&] { return vt::matmul(a, *t); }));
        return nb::borrow(Py_NotImplemented);
      })
      .def("__rmatmul__", [](const Tensor& a, nb::handle b) -> nb::object {
        if (const Tensor* t = as_tensor(b)) return nb::cast(without_gil([&] { return vt::matmul(*t, a); }));
        return nb::borrow(Py_NotImplemented);
      })
      .def("matmul", no_out(matmul_fn), nb::arg("other"))
      .def("mm", no_out(mm_fn), nb::arg("mat2"))
      .def("bmm", no_out(bmm_fn), nb::arg("mat2"))
      .def("dot", no_out(dot_fn), nb::arg("tensor"))
      .def("mv", no_out(mv_fn), nb::arg("vec"))
      .def("outer", no_out(outer_fn), nb::arg("vec2"))
      .def("addmm", [](const Tensor& s, const Tensor& a, const Tensor& b, nb::handle beta,
                       nb::handle alpha) { return addmm_py(s, a, b, beta, alpha, nb::none()); },
           nb::arg("mat1"), nb::arg("mat2"), nb::kw_only(), nb::arg("beta") = 1, nb::arg("alpha") = 1)
      .def("addmm_", [](const Tensor& s, const Tensor& a, const Tensor& b, nb::handle beta,
                        nb::handle alpha) {
        vt::addmm_(s, a, b, require_scalar(beta, "beta"), require_scalar(alpha, "alpha"));
        return nb::find(s);
      }, nb::arg("mat1"), nb::arg("mat2"), nb::kw_only(), nb::arg("beta") = 1, nb::arg("alpha") = 1)
      .def("baddbmm", [](const Tensor& s, const Tensor& a, const Tensor& b, nb::handle beta,
                         nb::handle alpha) { return baddbmm_py(s, a, b, beta, alpha, nb::none()); },
           nb::arg("batch1"), nb::arg("batch2"), nb::kw_only(), nb::arg("beta") = 1, nb::arg("alpha") = 1)
      .def("baddbmm_", [](const Tensor& s, const Tensor& a, const Tensor& b, nb::handle beta,
                          nb::handle alpha) {
        vt::baddbmm_(s, a, b, require_scalar(beta, "beta"), require_scalar(alpha, "alpha"));
        return nb::find(s);
      }, nb::arg("batch1"), nb::arg("batch2"), nb::kw_only(), nb::arg("beta") = 1, nb::arg("alpha") = 1);

  m.def("matmul", matmul_fn, nb::arg("input"), nb::arg("other"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def("mm", mm_fn, nb::arg("input"), nb::arg("mat2"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def("bmm", bmm_fn, nb::arg("input"), nb::arg("mat2"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def("dot", dot_fn, nb::arg("input"), nb::arg("tensor"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def("mv", mv_fn, nb::arg("input"), nb::arg("vec"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def("outer", outer_fn, nb::arg("input"), nb::arg("vec2"), nb::kw_only(), nb::arg("out") = nb::none());
  m.def("addmm", &addmm_py, nb::arg("input"), nb::arg("mat1"), nb::arg("mat2"), nb::kw_only(),
        nb::arg("beta") = 1, nb::arg("alpha") = 1, nb::arg("out") = nb::none());
  m.def("baddbmm", &baddbmm_py, nb::arg("input"), nb::arg("batch1"), nb::arg("batch2"),
        nb::kw_only(), nb::arg("beta") = 1, nb::arg("alpha") = 1, nb::arg("out") = nb::none());
  m.def("linear", [](const Tensor& input, const Tensor& weight, const OptTensor& bias) {
    return without_gil([&] { return vt::linear(input, weight, bias); });
  }, nb::arg("input"), nb::arg("weight"), nb::arg("bias") = nb::none());
  m.def("einsum", &einsum_py, nb::arg("equation"), nb::arg("operands"));
}

}  // namespace vt::py
