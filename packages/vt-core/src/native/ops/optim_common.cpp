// What the fused optimizer ops share: input checks, flat staging of each parameter's tensors,
// and the parallel walk over a group's elements.
#include <algorithm>
#include <ranges>

#include "core/thread_pool.h"
#include "ops/copy.h"
#include "ops/optim_internal.h"
#include "ops/registration.h"
#include "ops/shape_internal.h"
#include "ops/view.h"

namespace vt {
namespace optim {
namespace {

bool is_float_dtype(ScalarType t) {
  return t == ScalarType::Float16 || t == ScalarType::BFloat16 || t == ScalarType::Float32 ||
         t == ScalarType::Float64;
}

// Strides equal wherever they matter (a dim of size 1 may have any stride).
bool same_layout(const Tensor& a, const Tensor& b) {
  for (int64_t d = 0; d < a.dim(); ++d)
    if (a.sizes()[d] != 1 && a.strides()[d] != b.strides()[d]) return false;
  return true;
}

}  // namespace

void check_group(const char* op, TensorList params, std::initializer_list<NamedList> lists) {
  const size_t n = params.size();
  for (const NamedList& l : lists)
    VT_CHECK(l.tensors.size() == n, op, ": expected ", l.name, " to hold one tensor per param (",
             n, "), got ", l.tensors.size());
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = params[i];
    VT_CHECK(p.device().is_cpu(), op, ": expected params[", i, "] on the CPU, got ",
             device_string(p.device()));
    VT_CHECK(is_float_dtype(p.dtype()), op, ": params[", i, "] has dtype ", dtype_name(p.dtype()),
             "; expected float16, bfloat16, float32 or float64");
    for (const NamedList& l : lists) {
      const Tensor& t = l.tensors[i];
      VT_CHECK(std::ranges::equal(t.sizes().ref(), p.sizes().ref()) && t.dtype() == p.dtype(), op,
               ": ", l.name, "[", i, "] has shape ", shape_string(t.sizes()), " and dtype ",
               dtype_name(t.dtype()), ", but params[", i, "] has shape ", shape_string(p.sizes()),
               " and dtype ", dtype_name(p.dtype()));
      VT_CHECK(t.device().is_cpu(), op, ": expected ", l.name, "[", i, "] on the CPU, got ",
               device_string(t.device()));
    }
  }
}

void stage_row(std::span<Tensor> row, size_t read_only, StagedCopies& copies) {
  bool flat = shape_detail::is_non_overlapping_and_dense(row[0]);
  for (size_t j = 1; flat && j < row.size(); ++j) flat = same_layout(row[0], row[j]);
  if (flat) return;
  for (size_t j = 0; j < row.size(); ++j) {
    if (row[j].is_contiguous()) continue;
    Tensor copy = contiguous(row[j]);
    copies.emplace_back(j == read_only ? Tensor() : row[j], copy);
    row[j] = std::move(copy);
  }
}

void finish_rows(const StagedCopies& copies, std::initializer_list<TensorList> written) {
  for (const auto& [original, copy] : copies)
    if (original.defined()) copy_(original, copy);
  for (TensorList list : written)
    for (const Tensor& t : list) t.bump_version();
}

void for_each_span(std::span<const int64_t> numels,
                   const std::function<void(size_t, int64_t, int64_t)>& fn) {
  std::vector<int64_t> starts(numels.size() + 1, 0);
  for (size_t i = 0; i < numels.size(); ++i) starts[i + 1] = starts[i] + numels[i];
  const int64_t total = starts.back();
  // Elements [lo, hi) of the rows laid end to end.
  auto run = [&](int64_t lo, int64_t hi) {
    size_t i = size_t(std::upper_bound(starts.begin(), starts.end(), lo) - starts.begin()) - 1;
    for (; i < numels.size() && starts[i] < hi; ++i) {
      const int64_t b = std::max(lo, starts[i]), e = std::min(hi, starts[i + 1]);
      if (e > b) fn(i, b - starts[i], e - starts[i]);
    }
  };
  const int64_t parts = std::min<int64_t>(num_threads(), total / kGrainSize);
  if (parts <= 1) return run(0, total);
  parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part)
      run(total * part / parts, total * (part + 1) / parts);
  });
}

}  // namespace optim

void register_optim_ops() {
  optim::register_adam_ops();
  optim::register_sgd_ops();
}

}  // namespace vt
