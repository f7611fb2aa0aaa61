// unique (of all elements, or of slices along a dim) and one_hot. unique sorts (value,
// position) pairs, so its cost is the sort's: O(n log n), spread over threads.
#include <numeric>

#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"

namespace vt {
namespace {

using namespace index_detail;

Tensor empty_long(Device device) { return Tensor::empty(DimVector{0}, ScalarType::Int64, device); }

std::tuple<Tensor, Tensor, Tensor> unique_all(const Tensor& self, bool return_inverse, bool return_counts) {
  Tensor x = vt::contiguous(self);
  const int64_t n = x.numel();
  return visit_dtype(x.dtype(), [&](auto tag) -> std::tuple<Tensor, Tensor, Tensor> {
    using T = decltype(tag);
    using K = opmath_t<T>;
    const T* p = x.data_as<T>();
    std::vector<std::pair<K, int64_t>> buf(static_cast<size_t>(n));
    parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) buf[size_t(i)] = {K(p[i]), i};
    });
    parallel_sort(buf.data(), n, Ascending<K>());
    // Group starts: NaN never equals NaN, so every NaN is its own value, as in torch.
    std::vector<int64_t> starts;
    for (int64_t j = 0; j < n; ++j)
      if (j == 0 || !(buf[size_t(j)].first == buf[size_t(j - 1)].first)) starts.push_back(j);
    const int64_t u = starts.size();
    starts.push_back(n);
    Tensor values = Tensor::empty(DimVector{u}, x.dtype(), x.device());
    Tensor inverse = return_inverse ? Tensor::empty(self.sizes(), ScalarType::Int64, x.device()) : empty_long(x.device());
    Tensor counts = return_counts ? Tensor::empty(DimVector{u}, ScalarType::Int64, x.device()) : empty_long(x.device());
    T* vp = values.data_as<T>();
    int64_t* ip = return_inverse ? inverse.data_as<int64_t>() : nullptr;
    int64_t* cp = return_counts ? counts.data_as<int64_t>() : nullptr;
    parallel_for(0, u, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n / std::max<int64_t>(u, 1), 1)),
                 [&](int64_t b, int64_t e) {
      for (int64_t g = b; g < e; ++g) {
        vp[g] = p[buf[size_t(starts[size_t(g)])].second];
        if (cp) cp[g] = starts[size_t(g + 1)] - starts[size_t(g)];
        if (ip)
          for (int64_t j = starts[size_t(g)]; j < starts[size_t(g + 1)]; ++j) ip[buf[size_t(j)].second] = g;
      }
    });
    return {values, inverse, counts};
  });
}

// Unique slices along d: rows of the [n, rest] view ordered lexicographically.
std::tuple<Tensor, Tensor, Tensor> unique_dim(const Tensor& self, int64_t dim, bool return_inverse,
                                              bool return_counts) {
  int64_t d = wrap_dim(dim, self.dim(), "unique_dim");
  const int64_t n = self.dim() == 0 ? 1 : self.sizes()[d];
  VT_CHECK(self.numel() > 0 || n == 0, "There are 0 sized dimensions, and they aren't selected, "
           "so unique cannot be applied");
  Tensor rows = vt::contiguous(self.dim() == 0 ? vt::view(self, DimVector{1}) : vt::movedim(self, DimVector{d}, DimVector{0}));
  const int64_t m = n == 0 ? 0 : rows.numel() / n;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<int64_t> starts;
  visit_dtype(rows.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using K = opmath_t<T>;
    const T* p = rows.data_as<T>();
    auto less = [&](int64_t a, int64_t b) {
      for (int64_t j = 0; j < m; ++j) {
        K x = K(p[a * m + j]), y = K(p[b * m + j]);
        if (key_less(x, y)) return true;
        if (key_less(y, x)) return false;
      }
      return a < b;
    };
    parallel_sort(order.data(), n, less);
    auto equal = [&](int64_t a, int64_t b) {
      for (int64_t j = 0; j < m; ++j) if (!(K(p[a * m + j]) == K(p[b * m + j]))) return false;
      return true;
    };
    for (int64_t j = 0; j < n; ++j)
      if (j == 0 || !equal(order[size_t(j)], order[size_t(j - 1)])) starts.push_back(j);
  });
  const int64_t u = starts.size();
  starts.push_back(n);
  Tensor first = Tensor::empty(DimVector{u}, ScalarType::Int64, kCPU);
  Tensor counts = return_counts ? Tensor::empty(DimVector{u}, ScalarType::Int64, kCPU) : empty_long(kCPU);
  Tensor inverse = return_inverse ? Tensor::empty(DimVector{n}, ScalarType::Int64, kCPU) : empty_long(kCPU);
  for (int64_t g = 0; g < u; ++g) {
    first.data_as<int64_t>()[g] = order[size_t(starts[size_t(g)])];
    if (return_counts) counts.data_as<int64_t>()[g] = starts[size_t(g + 1)] - starts[size_t(g)];
    if (return_inverse)
      for (int64_t j = starts[size_t(g)]; j < starts[size_t(g + 1)]; ++j)
        inverse.data_as<int64_t>()[order[size_t(j)]] = g;
  }
  Tensor picked = vt::index_select(rows, 0, first);
  Tensor values = self.dim() == 0 ? picked : vt::movedim(picked, DimVector{0}, DimVector{d});
  return {values, inverse, counts};
}

std::tuple<Tensor, Tensor, Tensor> unique_kernel(const Tensor& self, bool sorted, bool return_inverse,
                                                 bool return_counts, std::optional<int64_t> dim) {
  // Results are always sorted: torch leaves the order of sorted=False unspecified.
  if (dim) return unique_dim(self, *dim, return_inverse, return_counts);
  return unique_all(self, return_inverse, return_counts);
}

Tensor one_hot_kernel(const Tensor& self, int64_t num_classes) {
  VT_CHECK(self.dtype() == ScalarType::Int64, "one_hot is only applicable to index tensor of type LongTensor.");
  DimVector shape = self.sizes();
  if (self.numel() == 0) {
    VT_CHECK(num_classes > 0, "Can not infer total number of classes from empty tensor.");
    shape.push_back(num_classes);
    return vt::zeros(shape, ScalarType::Int64, self.device());
  }
  Tensor x = vt::contiguous(self);
  const int64_t* p = x.data_as<int64_t>();
  const int64_t n = x.numel();
  int64_t lo = p[0], hi = p[0];
  for (int64_t i = 1; i < n; ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
  VT_CHECK(lo >= 0, "Class values must be non-negative.");
  if (num_classes == -1) num_classes = hi + 1;
  VT_CHECK(hi < num_classes, "Class values must be smaller than num_classes.");
  shape.push_back(num_classes);
  Tensor out = vt::zeros(shape, ScalarType::Int64, self.device());
  int64_t* o = out.data_as<int64_t>();
  const int64_t c = num_classes;
  parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i * c + p[i]] = 1;
  });
  return out;
}

}  // namespace

namespace index_detail {

void register_unique_kernels() {
  define_kernel("vt::unique(Tensor self, bool sorted=True, bool return_inverse=False, "
                "bool return_counts=False, int? dim=None) -> (Tensor, Tensor, Tensor)",
                VT_DEVICE_CPU, &unique_kernel);
  define_kernel("vt::one_hot(Tensor self, int num_classes=-1) -> Tensor", VT_DEVICE_CPU, &one_hot_kernel);
}

}  // namespace index_detail
}  // namespace vt
