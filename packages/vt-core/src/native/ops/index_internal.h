// Shared by the index family's files: registration, index checks, scalar conversion, and the
// two loop shapes every kernel here uses.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/scalar.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "iterator/tensor_iterator.h"

namespace vt::index_detail {

void register_gather_kernels();    // index_gather.cpp
void register_scatter_kernels();   // index_scatter.cpp
void register_accumulate_kernels();  // index_accumulate.cpp
void register_advanced_kernels();  // index_advanced.cpp
void register_sort_kernels();      // index_sort.cpp
void register_unique_kernels();    // index_unique.cpp

// torch's legacy type names, which its index messages use ("Float", "Long").
const char* legacy_name(ScalarType t);

// The index as int64 (int32 is converted); callers check the dtype with their own message.
Tensor as_long(const Tensor& index);

// Raises (status: IndexError or RuntimeError) unless every index lies in [0, size), or in
// [-size, size) with allow_negative: "<prefix>index 5 is out of bounds for dimension 0 with size 3".
void check_index_range(const Tensor& index, int64_t size, int64_t dim, bool allow_negative,
                       vt_status_t status, const char* prefix = "");

template <typename T> constexpr const char* c_type_name() {
  if constexpr (std::is_same_v<T, uint8_t>) return "uint8_t";
  else if constexpr (std::is_same_v<T, int8_t>) return "int8_t";
  else if constexpr (std::is_same_v<T, int16_t>) return "int16_t";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32_t";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64_t";
  else if constexpr (std::is_same_v<T, Half>) return "at::Half";
  else if constexpr (std::is_same_v<T, BFloat16>) return "at::BFloat16";
  else if constexpr (std::is_same_v<T, float>) return "float";
  else return "double";
}

// A Python number as T, raising like torch when it does not fit
// ("value cannot be converted to type int8_t without overflow"). Unsigned types accept
// negative values that wrap once, and infinities fit every floating type, as in torch.
template <typename T>
T checked_scalar(const Scalar& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value.to<bool>();
  } else {
    bool overflow = false;
    if constexpr (std::is_integral_v<T>) {
      constexpr double lo = double(std::numeric_limits<T>::lowest());
      constexpr double hi = double(std::numeric_limits<T>::max()) + 1.0;  // a power of two
      if (value.is_floating()) {
        double d = value.to_double();
        overflow = !(d >= lo && d < hi);
      } else if (!value.is_bool()) {
        int64_t i = value.to_int();
        if constexpr (std::is_unsigned_v<T>) overflow = i >= int64_t(hi) || (i < 0 && -i >= int64_t(hi));
        else overflow = double(i) < lo || double(i) >= hi;
      }
    } else {
      constexpr double max = std::is_same_v<T, Half> ? 65504.0
                             : std::is_same_v<T, BFloat16> ? 3.3895313892515355e38
                                                           : double(std::numeric_limits<T>::max());
      double d = value.to_double();
      overflow = std::isfinite(d) && std::fabs(d) > max;
    }
    VT_CHECK(!overflow, "value cannot be converted to type ", c_type_name<T>(), " without overflow");
    return value.to<T>();
  }
}
// The value of a 1-element tensor as a host scalar.
Scalar item_scalar(const Tensor& t);

// A new contiguous copy, even when self is already contiguous.
Tensor contiguous_copy(const Tensor& self);

// 0-dim tensors take part in dim-wise ops as 1-D tensors of one element, as in torch.
Tensor as_1d(const Tensor& t);

// The functional form of an in-place op: torch writes into a contiguous copy of self.
template <typename Fn>
Tensor on_copy(const Tensor& self, Fn fn) {
  Tensor out = contiguous_copy(self);
  fn(out);
  return out;
}

// Moves of whole elements only need their width.
template <typename F>
decltype(auto) visit_width(int64_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

// out[p] = src[p + offset[p] * mult bytes] over three same-shape operands; negative offsets
// wrap by `wrap` (bounds are checked by the caller). An undefined out is allocated with the
// layout of the inputs, as torch's index does; returns out.
Tensor take(const Tensor& out, const Tensor& src, const Tensor& offsets, int64_t mult, int64_t wrap);

enum class ScatterReduce { Assign, Sum, Prod, Mean, Max, Min };

// self[.., index[p], ..] (reduce)= src[p] (or value when src is undefined) for every position
// p of index (int64, self's rank, bounds already checked); alpha scales summed values.
// include_self=false starts every written position from the reduction's identity.
void scatter_reduce_into(const char* op, const Tensor& self, int64_t dim, const Tensor& index,
                         const Tensor& src, const Scalar& value, ScatterReduce reduce,
                         bool include_self, const Scalar& alpha);
// RuntimeError when elements of self share memory (an expanded tensor cannot be written).
void check_writable(const Tensor& self, const char* op);

// Runs body(data, strides, n) over every position of `shape` but dim, split over threads:
// the operands are views of the same shape; all along-dim work for one position happens in
// one call, so scatters into distinct positions never race. Operand 0 is written.
void for_each_line(const char* op, const std::vector<Tensor>& operands, int64_t dim,
                   int64_t line_length, const LoopFn& body);

// Orders for sort, topk and unique: NaN sorts above every number; ties go by position, which
// makes every order stable and deterministic.
template <typename K>
inline bool key_less(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) return a < b || (!std::isnan(a) && std::isnan(b));
  else return a < b;
}
template <typename K>
struct Ascending {
  bool operator()(const std::pair<K, int64_t>& x, const std::pair<K, int64_t>& y) const {
    return key_less(x.first, y.first) || (!key_less(y.first, x.first) && x.second < y.second);
  }
};
template <typename K>
struct Descending {
  bool operator()(const std::pair<K, int64_t>& x, const std::pair<K, int64_t>& y) const {
    return key_less(y.first, x.first) || (!key_less(x.first, y.first) && x.second < y.second);
  }
};

// std::sort spread over the pool for one large range: chunks sort in parallel, then merge
// pairwise in parallel rounds. Small ranges and calls from inside a parallel region sort inline.
template <typename T, typename Cmp>
void parallel_sort(T* data, int64_t n, Cmp cmp) {
  const int64_t threads = num_threads();
  if (n < (int64_t(1) << 16) || threads == 1 || in_parallel_region()) {
    std::sort(data, data + n, cmp);
    return;
  }
  int64_t chunks = 1;
  while (chunks < threads) chunks *= 2;  // a power of two merges evenly
  std::vector<int64_t> bounds(static_cast<size_t>(chunks + 1));
  for (int64_t c = 0; c <= chunks; ++c) bounds[size_t(c)] = n * c / chunks;
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) std::sort(data + bounds[size_t(c)], data + bounds[size_t(c + 1)], cmp);
  });
  std::vector<T> buffer(static_cast<size_t>(n));
  T* src = data;
  T* dst = buffer.data();
  for (int64_t width = 1; width < chunks; width *= 2) {
    parallel_for(0, chunks / (2 * width), 1, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        int64_t lo = bounds[size_t(2 * p * width)], mid = bounds[size_t((2 * p + 1) * width)];
        int64_t hi = bounds[size_t((2 * p + 2) * width)];
        std::merge(src + lo, src + mid, src + mid, src + hi, dst + lo, cmp);
      }
    });
    std::swap(src, dst);
  }
  if (src != data)
    parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) { std::copy(src + b, src + e, data + b); });
}

// Chunked parallel compaction: counts the true elements of mask per chunk, then calls
// write(begin, end, first_output_position) for every chunk in parallel.
class MaskCompaction {
 public:
  MaskCompaction(const bool* mask, int64_t n);
  int64_t total() const { return starts_.back(); }
  template <typename Write>
  void write(Write w) const {
    const int64_t chunks = int64_t(starts_.size()) - 1;
    parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) w(c * chunk_, std::min(n_, (c + 1) * chunk_), starts_[c]);
    });
  }

 private:
  int64_t n_, chunk_;
  std::vector<int64_t> starts_;  // output position of each chunk, then the total
};

}  // namespace vt::index_detail
