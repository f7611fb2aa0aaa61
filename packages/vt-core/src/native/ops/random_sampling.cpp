// Sampling indices on CPU: multinomial (with and without replacement) and randperm.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/random_engine.h"

namespace vt::random_detail {
namespace {

// The i-th 64-bit draw of a stream: two per block.
inline uint64_t draw64(const Stream& s, int64_t i) {
  const Block b = s.block(i >> 1);
  return (i & 1) ? word64(b[2], b[3]) : word64(b[0], b[1]);
}

// Reads row r of probs as doubles, rejecting what torch rejects; returns the row's sum.
template <typename P>
double read_row(const P* row, int64_t k_stride, int64_t K, double* w) {
  double total = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double v = double(opmath_t<P>(row[k * k_stride]));
    VT_CHECK(std::isfinite(v) && v >= 0,
             "multinomial: probability tensor contains either `inf`, `nan` or element < 0");
    w[k] = v;
    total += v;
  }
  VT_CHECK(total > 0, "multinomial: invalid multinomial distribution (sum of probabilities <= 0)");
  return total;
}

// With replacement: inverse-CDF lookups, draw r * n + s for sample s of row r. Without: the
// exponential race (each category's key is Exp(1) / p, the n smallest keys win in order), which
// is sequential sampling without replacement; draw r * K + k for category k. Zero weights get
// an infinite key, so they are taken last and in index order, as torch takes them.
Tensor multinomial_kernel(const Tensor& self, int64_t n, bool replacement, int64_t seed,
                          int64_t offset) {
  VT_CHECK(self.dim() == 1 || self.dim() == 2, "multinomial: prob_dist must be 1 or 2 dim, got ",
           describe(self));
  VT_CHECK(is_floating(self.dtype()),
           "multinomial only supports floating-point dtypes for input, got: ", dtype_name(self.dtype()));
  VT_CHECK(n > 0, "multinomial: cannot sample n_sample <= 0 samples");
  const int64_t K = self.sizes()[self.dim() - 1];
  const int64_t R = self.dim() == 2 ? self.sizes()[0] : 1;
  VT_CHECK(replacement || n <= K,
           "multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement");
  Tensor out = self.dim() == 1 ? Tensor::empty(DimVector{n}, ScalarType::Int64, self.device())
                               : Tensor::empty(DimVector{R, n}, ScalarType::Int64, self.device());
  if (R == 0) return out;
  const Stream s = stream_of(seed, offset);
  const int64_t row_stride = self.dim() == 2 ? self.strides()[0] : 0;
  const int64_t k_stride = self.strides()[self.dim() - 1];
  int64_t* result = out.data_as<int64_t>();
  visit_dtype(self.dtype(), [&](auto tag) {
    using P = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<P>>) {
      const P* base = self.data_as<P>();
      const int64_t grain = std::max<int64_t>(1, kGrainSize / (K + n));
      parallel_for(0, R, grain, [&](int64_t b, int64_t e) {
        std::vector<double> w(static_cast<size_t>(K));
        std::vector<double> keys;
        std::vector<int64_t> order;
        for (int64_t r = b; r < e; ++r) {
          const double total = read_row(base + r * row_stride, k_stride, K, w.data());
          int64_t* o = result + r * n;
          if (replacement) {
            int64_t last = 0;  // the last category with weight, for draws rounding past the end
            for (int64_t k = 0; k < K; ++k) {
              if (w[k] > 0) last = k;
              if (k) w[k] += w[k - 1];
            }
            for (int64_t i = 0; i < n; ++i) {
              const double u = unit_double(draw64(s, r * n + i)) * total;
              const int64_t idx = std::upper_bound(w.begin(), w.end(), u) - w.begin();
              o[i] = std::min(idx, last);
            }
          } else {
            keys.resize(size_t(K));
            order.resize(size_t(K));
            for (int64_t k = 0; k < K; ++k) {
              const double e1 = -std::log(open_unit_double(draw64(s, r * K + k)));
              keys[k] = w[k] > 0 ? e1 / w[k] : std::numeric_limits<double>::infinity();
            }
            std::iota(order.begin(), order.end(), int64_t(0));
            std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int64_t a, int64_t c) {
              return keys[a] < keys[c] || (keys[a] == keys[c] && a < c);
            });
            std::copy(order.begin(), order.begin() + n, o);
          }
        }
      });
    }
  });
  return out;
}

// Fisher-Yates: step i swaps element i with one drawn from [0, i] by 64-bit draw i. The draws
// are made in parallel first; the swaps run in order.
Tensor randperm_kernel(int64_t n, std::optional<ScalarType> dtype, std::optional<Device> device,
                       int64_t seed, int64_t offset) {
  const ScalarType dt = dtype.value_or(ScalarType::Int64);
  const char* name = dtype_name(dt);
  if (dt == ScalarType::Bool) fail(VT_ERROR_NOT_IMPLEMENTED, "randperm: not implemented for 'bool'");
  Tensor out = Tensor::empty(DimVector{n}, dt, device.value_or(kCPU));
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      int digits = dt == ScalarType::Float16 ? 11 : dt == ScalarType::BFloat16 ? 8
                 : dt == ScalarType::Float32 ? 24 : 53;
      VT_CHECK(n <= (int64_t(1) << digits) + 1, "randperm: n cannot be greater than 2^", digits,
               "+1 for ", name, ", got n=", n);
    } else {
      VT_CHECK(n == 0 || uint64_t(n - 1) <= uint64_t(std::numeric_limits<T>::max()), "randperm: n=", n,
               " is too large for ", name, ": value cannot be converted to type ", name, " without overflow");
    }
  });
  if (n == 0) return out;
  const Stream s = stream_of(seed, offset);
  std::vector<int64_t> target(static_cast<size_t>(n));
  parallel_for(1, n, kBlockGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) target[i] = int64_t(scale64(draw64(s, i), uint64_t(i) + 1));
  });
  std::vector<int64_t> scratch;
  int64_t* perm = dt == ScalarType::Int64 ? out.data_as<int64_t>() : (scratch.resize(size_t(n)), scratch.data());
  std::iota(perm, perm + n, int64_t(0));
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[target[i]]);
  if (dt != ScalarType::Int64) {
    visit_dtype(dt, [&](auto tag) {
      using T = decltype(tag);
      T* o = out.data_as<T>();
      for (int64_t i = 0; i < n; ++i) o[i] = T(opmath_t<T>(perm[i]));
    });
  }
  return out;
}

}  // namespace

void register_sampling_ops() {
  define_kernel("vt::multinomial(Tensor self, int num_samples, bool replacement=False, *, int seed, int offset) -> Tensor",
                VT_DEVICE_CPU, &multinomial_kernel);
  define_kernel("vt::randperm(int n, *, ScalarType? dtype=None, Device? device=None, int seed, int offset) -> Tensor",
                VT_DEVICE_CPU, &randperm_kernel);
}

}  // namespace vt::random_detail
