// sort, argsort and topk along one dim. Rows run in parallel; a single long row sorts in
// parallel chunks. O(n log n) per row for sort; topk keeps a heap of k (O(n log k) at
// worst, about n comparisons in practice) or selects in O(n + k log k) when k is large.
#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace vt {
namespace {

using namespace index_detail;

template <typename T>
using SortKey = opmath_t<T>;

// One row: fills buf with (key, position), orders it, writes the first `keep` entries.
template <typename T, typename Cmp>
void order_row(const char* in, int64_t in_s, char* vals, int64_t v_s, char* idxs, int64_t i_s,
               int64_t n, int64_t keep, Cmp cmp, std::vector<std::pair<SortKey<T>, int64_t>>& buf) {
  auto key = [&](int64_t j) { return SortKey<T>(*reinterpret_cast<const T*>(in + j * in_s)); };
  if (keep > 0 && keep * 64 <= n) {
    // A few of many: a heap of the best `keep` seen so far, its worst on top; most elements
    // cost one comparison.
    buf.clear();
    for (int64_t j = 0; j < keep; ++j) buf.push_back({key(j), j});
    std::make_heap(buf.begin(), buf.end(), cmp);
    for (int64_t j = keep; j < n; ++j) {
      std::pair<SortKey<T>, int64_t> candidate{key(j), j};
      if (!cmp(candidate, buf.front())) continue;
      std::pop_heap(buf.begin(), buf.end(), cmp);
      buf.back() = candidate;
      std::push_heap(buf.begin(), buf.end(), cmp);
    }
    std::sort_heap(buf.begin(), buf.end(), cmp);
  } else {
    buf.resize(size_t(n));
    for (int64_t j = 0; j < n; ++j) buf[size_t(j)] = {key(j), j};
    if (keep < n) {
      std::nth_element(buf.begin(), buf.begin() + keep, buf.end(), cmp);
      std::sort(buf.begin(), buf.begin() + keep, cmp);
    } else {
      parallel_sort(buf.data(), n, cmp);
    }
  }
  for (int64_t j = 0; j < keep; ++j) {
    int64_t src = buf[size_t(j)].second;
    // The input element itself, not its key: exact for every dtype and NaN payload.
    std::memcpy(vals + j * v_s, in + src * in_s, sizeof(T));
    *reinterpret_cast<int64_t*>(idxs + j * i_s) = src;
  }
}

// Orders every row of self along d into (values, indices), keeping `keep` entries per row.
void order_rows(const Tensor& values, const Tensor& indices, const Tensor& self, int64_t d,
                int64_t keep, bool descending, const char* op) {
  const int64_t n = self.sizes()[d];
  const int64_t in_s = self.strides()[d] * self.itemsize(), v_s = values.strides()[d] * values.itemsize();
  const int64_t i_s = indices.strides()[d] * 8;
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for_each_line(op, {values, indices, self}, d, n * 8, [&](char** data, const int64_t* st, int64_t count) {
      std::vector<std::pair<SortKey<T>, int64_t>> buf;
      for (int64_t i = 0; i < count; ++i) {
        const char* in = data[2] + i * st[2];
        char* v = data[0] + i * st[0];
        char* ix = data[1] + i * st[1];
        if (descending) order_row<T>(in, in_s, v, v_s, ix, i_s, n, keep, Descending<SortKey<T>>(), buf);
        else order_row<T>(in, in_s, v, v_s, ix, i_s, n, keep, Ascending<SortKey<T>>(), buf);
      }
    });
  });
}

std::tuple<Tensor, Tensor> sort_kernel(const Tensor& self, int64_t dim, bool descending, bool stable) {
  int64_t d = wrap_dim(dim, self.dim(), "sort");
  if (self.dim() == 0)
    return {vt::clone(self), vt::zeros(DimVector{}, ScalarType::Int64, self.device())};
  // torch keeps a dense input's layout for both results.
  Tensor values = shape_detail::empty_like_preserving(self);
  Tensor indices = Tensor::empty_strided(values.sizes(), values.strides(), ScalarType::Int64, self.device());
  if (self.numel() > 0) order_rows(values, indices, self, d, self.sizes()[d], descending, "sort");
  return {values, indices};
}

Tensor argsort_kernel(const Tensor& self, int64_t dim, bool descending, bool stable) {
  return std::get<1>(vt::sort(self, dim, descending, stable));
}

std::tuple<Tensor, Tensor> topk_kernel(const Tensor& self, int64_t k, int64_t dim, bool largest,
                                       bool sorted) {
  int64_t d = wrap_dim(dim, self.dim(), "topk");
  Tensor x = self.dim() == 0 ? vt::view(self, DimVector{1}) : self;
  VT_CHECK(k >= 0 && k <= x.sizes()[d], "selected index k out of range");
  VT_CHECK(self.dtype() != ScalarType::Bool, "topk does not support bool dtypes on CPU");
  DimVector shape = x.sizes();
  shape[d] = k;
  Tensor values = Tensor::empty(shape, self.dtype(), self.device());
  Tensor indices = Tensor::empty(shape, ScalarType::Int64, self.device());
  if (values.numel() > 0) order_rows(values, indices, x, d, k, largest, "topk");
  if (self.dim() == 0 && k == 1) return {vt::view(values, DimVector{}), vt::view(indices, DimVector{})};
  return {values, indices};
}

}  // namespace

namespace index_detail {

void register_sort_kernels() {
  define_kernel("vt::sort(Tensor self, int dim=-1, bool descending=False, *, bool stable=False) "
                "-> (Tensor, Tensor)", VT_DEVICE_CPU, &sort_kernel);
  define_kernel("vt::argsort(Tensor self, int dim=-1, bool descending=False, *, bool stable=False) "
                "-> Tensor", VT_DEVICE_ANY, &argsort_kernel);
  define_kernel("vt::topk(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True) "
                "-> (Tensor, Tensor)", VT_DEVICE_CPU, &topk_kernel);
}

}  // namespace index_detail
}  // namespace vt
