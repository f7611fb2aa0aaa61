// einsum: every operand becomes a strided view over one shared dimension order (output dims
// first, then contracted ones; size 1 where an operand lacks a dim, a diagonal where it repeats
// one), then operands contract pairwise left to right through bmm, summing each dim once no
// later operand needs it.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/linalg_gemm.h"
#include "ops/ops.h"

namespace vt {
namespace {

constexpr int kNumLabels = 52;  // A-Z then a-z: the implicit output is in this (ASCII) order
constexpr int kEllipsis = -1;

using Term = std::vector<int>;  // labels in order, kEllipsis for "..."

int label_of(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' : c - 'a' + 26; }
char char_of(int label) { return char(label < 26 ? 'A' + label : 'a' + label - 26); }

struct Equation {
  std::vector<Term> inputs;
  Term output;
  bool explicit_output = false;
};

Equation parse(std::string_view eq, size_t num_operands) {
  Equation out;
  Term* term = &out.inputs.emplace_back();
  bool in_output = false;
  for (size_t i = 0; i < eq.size(); ++i) {
    const char c = eq[i];
    if (c == ' ') continue;
    if (c == '.') {
      VT_CHECK(eq.substr(i, 3) == "...", "einsum(): found '.' for operand ",
               in_output ? std::string("output") : std::to_string(out.inputs.size() - 1),
               " that is not part of any ellipsis");
      VT_CHECK(std::count(term->begin(), term->end(), kEllipsis) == 0,
               "einsum(): found more than one ellipsis in one subscript term");
      term->push_back(kEllipsis);
      i += 2;
    } else if (c == ',' && !in_output) {
      term = &out.inputs.emplace_back();
    } else if (c == '-' && !in_output && eq.substr(i, 2) == "->") {
      in_output = out.explicit_output = true;
      term = &out.output;
      ++i;
    } else {
      VT_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'),
               "einsum(): invalid subscript given at index ", i,
               " in the equation string, subscripts must be in [a-zA-Z]");
      term->push_back(label_of(c));
    }
  }
  VT_CHECK(out.inputs.size() <= num_operands,
           "einsum(): fewer operands were provided than specified in the equation");
  VT_CHECK(out.inputs.size() >= num_operands,
           "einsum(): more operands were provided than specified in the equation");
  return out;
}

// The shared dimension order: output dims, then contracted labels, then (when the output has
// no "...") the broadcast dims, which are summed.
struct Positions {
  std::array<int, kNumLabels> of_label;
  int ellipsis = 0;  // first of ell_dims positions
  int ell_dims = 0;
  int num_out = 0;
  int total = 0;
};

Positions assign_positions(Equation& eq, TensorList operands) {
  Positions pos;
  pos.of_label.fill(-1);
  std::array<int, kNumLabels> count{};
  bool any_ellipsis = false;
  for (size_t i = 0; i < eq.inputs.size(); ++i) {
    const Term& t = eq.inputs[i];
    const int64_t labels = int64_t(t.size()) - std::count(t.begin(), t.end(), kEllipsis);
    const bool has_ell = labels != int64_t(t.size());
    const int64_t dim = operands[i].dim();
    if (has_ell) {
      VT_CHECK(labels <= dim, "einsum(): the number of subscripts in the equation (", labels,
               ") is more than the number of dimensions (", dim, ") for operand ", i);
      pos.ell_dims = std::max(pos.ell_dims, int(dim - labels));
      any_ellipsis = true;
    } else {
      VT_CHECK(labels == dim, "einsum(): the number of subscripts in the equation (", labels,
               ") does not match the number of dimensions (", dim, ") for operand ", i,
               " and no ellipsis was given");
    }
    for (int l : t) if (l != kEllipsis) ++count[size_t(l)];
  }
  if (!eq.explicit_output) {
    if (any_ellipsis) eq.output.push_back(kEllipsis);
    for (int l = 0; l < kNumLabels; ++l) if (count[size_t(l)] == 1) eq.output.push_back(l);
  }
  int next = 0;
  bool ell_in_output = false;
  for (int l : eq.output) {
    if (l == kEllipsis) {
      pos.ellipsis = next, next += pos.ell_dims, ell_in_output = true;
      continue;
    }
    VT_CHECK(count[size_t(l)] > 0, "einsum(): output subscript ", char_of(l),
             " does not appear in the equation for any input operand");
    VT_CHECK(pos.of_label[size_t(l)] < 0, "einsum(): output subscript ", char_of(l),
             " appears more than once in the output");
    pos.of_label[size_t(l)] = next++;
  }
  pos.num_out = next;
  for (int l = 0; l < kNumLabels; ++l)
    if (count[size_t(l)] > 0 && pos.of_label[size_t(l)] < 0) pos.of_label[size_t(l)] = next++;
  if (!ell_in_output) pos.ellipsis = next, next += pos.ell_dims;
  pos.total = next;
  return pos;
}

// An operand as a view over every position; has[p] says whether it covers position p.
Tensor align(const Tensor& op, const Term& term, int index, const Positions& pos,
             std::vector<bool>& has) {
  DimVector sizes(pos.total, 1), strides(pos.total, 0);
  has.assign(size_t(pos.total), false);
  const int64_t labels = int64_t(term.size()) - std::count(term.begin(), term.end(), kEllipsis);
  int64_t d = 0;
  for (int l : term) {
    if (l == kEllipsis) {
      const int64_t n = op.dim() - labels;
      for (int64_t e = 0; e < n; ++e, ++d) {
        const int64_t p = pos.ellipsis + pos.ell_dims - n + e;
        sizes[p] = op.size(d), strides[p] = op.stride(d), has[size_t(p)] = true;
      }
      continue;
    }
    const int p = pos.of_label[size_t(l)];
    if (has[size_t(p)]) {
      // A repeated label reads the diagonal: strides add up.
      VT_CHECK(sizes[p] == op.size(d), "einsum(): subscript ", char_of(l),
               " is repeated for operand ", index, " but the sizes don't match, ", op.size(d),
               " != ", sizes[p]);
      strides[p] += op.stride(d);
    } else {
      sizes[p] = op.size(d), strides[p] = op.stride(d), has[size_t(p)] = true;
    }
    ++d;
  }
  return vt::as_strided(op, sizes, strides, op.storage_offset());
}

DimVector ordered_sizes(const Tensor& t, const std::vector<int64_t>& order) {
  DimVector out;
  for (int64_t p : order) out.push_back(t.size(p));
  return out;
}

int64_t product(const Tensor& t, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t p : dims) n *= t.size(p);
  return n;
}

// left * right summed over the positions in sum (both aligned to every position).
Tensor contract_pair(Tensor left, Tensor right, const std::vector<bool>& sum) {
  std::vector<int64_t> batch, lonly, ronly, contracted, lsum, rsum, rest;
  for (int64_t p = 0; p < left.dim(); ++p) {
    const bool l = left.size(p) != 1, r = right.size(p) != 1;
    if (sum[size_t(p)]) {
      (l && r ? contracted : l ? lsum : r ? rsum : rest).push_back(p);
    } else {
      (l && r ? batch : l ? lonly : r ? ronly : rest).push_back(p);
    }
  }
  // Dims summed on one side only need no product: sum them first. Keeping the dtype keeps
  // the two sides multipliable.
  if (!lsum.empty()) left = vt::sum(left, lsum, true, left.dtype());
  if (!rsum.empty()) right = vt::sum(right, rsum, true, right.dtype());
  if (contracted.empty()) return vt::mul(left, right);
  auto concat = [](std::initializer_list<const std::vector<int64_t>*> parts) {
    std::vector<int64_t> out;
    for (auto* v : parts) out.insert(out.end(), v->begin(), v->end());
    return out;
  };
  std::vector<int64_t> ones = concat({&lsum, &rsum, &rest});
  std::vector<int64_t> lperm = concat({&batch, &lonly, &contracted, &ronly, &ones});
  std::vector<int64_t> rperm = concat({&batch, &contracted, &ronly, &lonly, &ones});
  const int64_t b = product(left, batch), m = product(left, lonly), k = product(left, contracted),
                n = product(right, ronly);
  Tensor lm = vt::reshape(vt::permute(left, lperm), DimVector{b, m, k});
  Tensor rm = vt::reshape(vt::permute(right, rperm), DimVector{b, k, n});
  Tensor out = vt::bmm(lm, rm);
  // [batch, lonly, ronly] back into every position, the summed ones as size 1.
  std::vector<int64_t> order = concat({&batch, &lonly, &ronly, &contracted, &ones});
  DimVector shape = ordered_sizes(left, batch);
  for (int64_t p : lonly) shape.push_back(left.size(p));
  for (int64_t p : ronly) shape.push_back(right.size(p));
  while (shape.size() < int64_t(order.size())) shape.push_back(1);
  DimVector back(int64_t(order.size()));
  for (size_t i = 0; i < order.size(); ++i) back[order[i]] = int64_t(i);
  return vt::permute(vt::reshape(out, shape), back);
}

Tensor einsum_kernel(std::string_view equation, TensorList operands) {
  VT_CHECK(!operands.empty(), "einsum(): must provide at least one operand");
  Equation eq = parse(equation, operands.size());
  const Positions pos = assign_positions(eq, operands);
  const size_t n = operands.size();
  std::vector<std::vector<bool>> has(n);
  std::vector<Tensor> views;
  DimVector seen(pos.total, 1);
  for (size_t i = 0; i < n; ++i) {
    views.push_back(align(operands[i], eq.inputs[i], int(i), pos, has[i]));
    for (int64_t p = 0; p < pos.total; ++p) {
      const int64_t s = views[i].size(p);
      if (s == 1) continue;
      VT_CHECK(seen[p] == 1 || seen[p] == s, "einsum(): operand ", i, " has size ", s,
               " at a dimension where earlier operands have size ", seen[p],
               ", which does not broadcast");
      seen[p] = s;
    }
  }
  Tensor result = views[0];
  std::vector<bool> live = has[0];
  for (size_t i = 1; i < n; ++i) {
    std::vector<bool> sum(size_t(pos.total), false);
    for (int64_t p = pos.num_out; p < pos.total; ++p) {
      bool later = false;
      for (size_t j = i + 1; j < n; ++j) later = later || has[j][size_t(p)];
      sum[size_t(p)] = !later && (live[size_t(p)] || has[i][size_t(p)]);
    }
    result = contract_pair(result, views[i], sum);
    for (int64_t p = 0; p < pos.total; ++p)
      live[size_t(p)] = (live[size_t(p)] || has[i][size_t(p)]) && !sum[size_t(p)];
  }
  // What is left to sum (a single operand's reductions) sums with torch's dtype rules.
  std::vector<int64_t> rest;
  for (int64_t p = pos.num_out; p < pos.total; ++p) if (result.size(p) != 1) rest.push_back(p);
  if (!rest.empty()) result = vt::sum(result, rest, true);
  DimVector out_shape;
  for (int64_t p = 0; p < pos.num_out; ++p) out_shape.push_back(result.size(p));
  return vt::reshape(result, out_shape);
}

}  // namespace

void register_linalg_einsum_ops() {
  define_kernel("vt::einsum(str equation, Tensor[] tensors) -> Tensor", VT_DEVICE_ANY,
                &einsum_kernel);
}

}  // namespace vt
