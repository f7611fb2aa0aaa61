// Derivatives of the products: each gradient is a product with the other operand transposed;
// batch broadcasting is summed away by the engine. einsum has no formula: vt-core builds it
// from permute, reshape, bmm, sum and as_strided, which the layer records one by one.
#include <string>

#include "formula.h"
#include "ops.h"

namespace vt::autograd {
namespace {

using namespace ops;
using G = std::vector<Tensor>;

Tensor mT(const Tensor& t) { return transpose(t, -2, -1); }

// matmul with torch's 1-D promotions undone: a (k) is (1, k), b (k) is (k, 1).
G matmul_grad(const Ctx& c) {
  Tensor a = c.tensor(0), b = c.tensor(1), g = c.grad();
  const int64_t da = a.dim(), db = b.dim();
  if (da == 1 && db == 1) return {c.needs(0) ? mul(g, b) : Tensor(), c.needs(1) ? mul(g, a) : Tensor()};
  Tensor a2 = da == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = db == 1 ? unsqueeze(b, -1) : b;
  Tensor g2 = g;
  if (da == 1) g2 = unsqueeze(g2, -2);
  if (db == 1) g2 = unsqueeze(g2, -1);
  G r(2);
  if (c.needs(0)) r[0] = matmul(g2, mT(b2));
  if (c.needs(1)) r[1] = matmul(mT(a2), g2);
  // A 1-D b was (k, 1): drop that dim before the engine sums batch dims away.
  if (db == 1 && r[1].defined()) r[1] = call<"vt::squeeze">(r[1], std::vector<int64_t>{-1});
  return r;
}

}  // namespace

void register_linalg_formulas() {
  add_formulas({
      {"vt::mm", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.needs(0) ? mm(c.grad(), mT(c.tensor(1))) : Tensor(),
                 c.needs(1) ? mm(mT(c.tensor(0)), c.grad()) : Tensor()}; }},
      {"vt::bmm", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.needs(0) ? bmm(c.grad(), mT(c.tensor(1))) : Tensor(),
                 c.needs(1) ? bmm(mT(c.tensor(0)), c.grad()) : Tensor()}; }},
      {"vt::matmul", args(0, 1), 0, 0, matmul_grad},
      {"vt::addmm", args(1, 2), 0, 0, [](const Ctx& c) -> G {
         const double beta = c.d(3), alpha = c.d(4);
         return {c.needs(0) ? mul(c.grad(), beta) : Tensor(),
                 c.needs(1) ? mul(mm(c.grad(), mT(c.tensor(2))), alpha) : Tensor(),
                 c.needs(2) ? mul(mm(mT(c.tensor(1)), c.grad()), alpha) : Tensor()}; }},
      {"vt::baddbmm", args(1, 2), 0, 0, [](const Ctx& c) -> G {
         const double beta = c.d(3), alpha = c.d(4);
         return {c.needs(0) ? mul(c.grad(), beta) : Tensor(),
                 c.needs(1) ? mul(bmm(c.grad(), mT(c.tensor(2))), alpha) : Tensor(),
                 c.needs(2) ? mul(bmm(mT(c.tensor(1)), c.grad()), alpha) : Tensor()}; }},
      {"vt::linear", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor x = c.tensor(0), w = c.tensor(1), g = c.grad();
         G r(3);
         if (c.needs(0)) r[0] = w.dim() == 1 ? mul(g.dim() ? unsqueeze(g, -1) : g, w) : matmul(g, w);
         if (c.needs(1)) {
           const int64_t out_f = w.sizes()[0], in_f = w.sizes().back();
           r[1] = w.dim() == 1 ? sum_to(mul(g.dim() ? unsqueeze(g, -1) : g, x), w.sizes())
                               : mm(mT(reshape(g, {-1, out_f})), reshape(x, {-1, in_f}));
         }
         if (c.needs(2)) r[2] = g;  // summed to the bias's shape by the engine
         return r; }},
      {"vt::dot", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         return {c.needs(0) ? mul(c.grad(), c.tensor(1)) : Tensor(),
                 c.needs(1) ? mul(c.grad(), c.tensor(0)) : Tensor()}; }},
      {"vt::mv", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor g = c.grad();
         return {c.needs(0) ? mul(unsqueeze(g, 1), unsqueeze(c.tensor(1), 0)) : Tensor(),
                 c.needs(1) ? matmul(mT(c.tensor(0)), g) : Tensor()}; }},
      {"vt::outer", args(0, 1), 0, 0, [](const Ctx& c) -> G {
         Tensor g = c.grad();
         return {c.needs(0) ? matmul(g, c.tensor(1)) : Tensor(),
                 c.needs(1) ? matmul(mT(g), c.tensor(0)) : Tensor()}; }},
  });
}

}  // namespace vt::autograd
