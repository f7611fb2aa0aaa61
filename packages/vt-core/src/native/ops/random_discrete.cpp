// The random op family's discrete draws on CPU: random_ (integers in a range), bernoulli_,
// multinomial and randperm.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/random_engine.h"

namespace vt::random_detail {
namespace {

// The inclusive range of integers a dtype holds exactly ([0, 2^digits] for floats, as torch).
struct IntRange {
  int64_t lo, hi;
};
IntRange exact_range(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return {0, 1};
    case ScalarType::UInt8: return {0, 255};
    case ScalarType::Int8: return {-128, 127};
    case ScalarType::Int16: return {-32768, 32767};
    case ScalarType::Int32: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case ScalarType::Int64: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
    case ScalarType::Float16: return {-(int64_t(1) << 11), int64_t(1) << 11};
    case ScalarType::BFloat16: return {-(int64_t(1) << 8), int64_t(1) << 8};
    case ScalarType::Float32: return {-(int64_t(1) << 24), int64_t(1) << 24};
    case ScalarType::Float64: return {-(int64_t(1) << 53), int64_t(1) << 53};
  }
  return {0, 0};
}

// The bounds torch accepts for random_: the dtype's own range (floats: their finite range).
bool within_dtype(ScalarType t, int64_t v) {
  switch (t) {
    case ScalarType::Float16: return v >= -65504 && v <= 65504;
    case ScalarType::BFloat16: case ScalarType::Float32: case ScalarType::Float64: return true;
    default: { IntRange r = exact_range(t); return v >= r.lo && v <= r.hi; }
  }
}

// Integers uniform in [from, to), or [from, largest exact value of the dtype] when to is None.
Tensor random_kernel(const Tensor& self, int64_t from, std::optional<int64_t> to, int64_t seed,
                     int64_t offset) {
  const ScalarType dt = self.dtype();
  const char* name = dtype_name(dt);
  uint64_t range;
  if (to) {
    VT_CHECK(from < *to, "random_ expects 'from' to be less than 'to', but got from=", from,
             " >= to=", *to);
    VT_CHECK(within_dtype(dt, from), "random_: from is out of bounds for ", name);
    VT_CHECK(within_dtype(dt, *to - 1), "random_: to - 1 is out of bounds for ", name);
    range = uint64_t(*to) - uint64_t(from);
  } else {
    const int64_t hi = exact_range(dt).hi;
    VT_CHECK(from <= hi, "random_ expects 'from' to be at most ", hi, " for ", name, ", but got from=", from);
    range = uint64_t(hi) - uint64_t(from) + 1;
  }
  check_no_internal_overlap(self, "random_");
  const Stream s = stream_of(seed, offset);
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    auto draw = [&](uint64_t w) { return T(opmath_t<T>(int64_t(uint64_t(from) + scale64(w, range)))); };
    fill_blocks<2, T>(self, s, [&](const Block& w, T* out) {
      out[0] = draw(word64(w[0], w[1]));
      out[1] = draw(word64(w[2], w[3]));
    });
  });
  self.bump_version();
  return self;
}

// 1 when a 32-bit draw falls below p * 2^32: exact to 2^-32, and p = 1 always hits.
Tensor bernoulli_float_kernel(const Tensor& self, double p, int64_t seed, int64_t offset) {
  VT_CHECK(p >= 0 && p <= 1, "bernoulli_ expects p to be in [0, 1], but got p=", p);
  check_no_internal_overlap(self, "bernoulli_");
  const uint64_t threshold = uint64_t(std::ldexp(p, 32));
  const Stream s = stream_of(seed, offset);
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T one = T(opmath_t<T>(1)), zero = T(opmath_t<T>(0));
    fill_blocks<4, T>(self, s, [&](const Block& w, T* out) {
      for (int k = 0; k < 4; ++k) out[k] = uint64_t(w[k]) < threshold ? one : zero;
    });
  });
  self.bump_version();
  return self;
}

// Element i hits when a 53-bit uniform falls below p[i]; p broadcasts to self.
Tensor bernoulli_tensor_kernel(const Tensor& self, const Tensor& p, int64_t seed, int64_t offset) {
  if (!is_floating(p.dtype()))
    fail(VT_ERROR_NOT_IMPLEMENTED, "bernoulli_: not implemented for probabilities of dtype '",
         dtype_name(p.dtype()), "' (floating dtypes only)");
  check_no_internal_overlap(self, "bernoulli_");
  const Tensor pe = vt::expand(p, self.sizes());
  const int64_t n = self.numel();
  if (n == 0) return self;
  visit_dtype(p.dtype(), [&](auto ptag) {
    using P = decltype(ptag);
    // Checked before any write, so a bad p leaves self untouched.
    parallel_for(0, p.numel(), 4 * kBlockGrain, [&](int64_t b, int64_t e) {
      Cursor c(p, b);
      for (int64_t i = b; i < e; ++i, c.next()) {
        const double v = double(opmath_t<P>(c.get<P>()));
        VT_CHECK(v >= 0 && v <= 1, "bernoulli_ expects all elements of p to be in [0, 1], but found ", v);
      }
    });
    visit_dtype(self.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T one = T(opmath_t<T>(1)), zero = T(opmath_t<T>(0));
      const Stream s = stream_of(seed, offset);
      parallel_for(0, (n + 1) / 2, kBlockGrain, [&](int64_t b, int64_t e) {
        Cursor out(self, 2 * b), prob(pe, 2 * b);
        for (int64_t j = b; j < e; ++j) {
          const Block w = s.block(j);
          const double u[2] = {unit_double(word64(w[0], w[1])), unit_double(word64(w[2], w[3]))};
          const int64_t m = std::min<int64_t>(2, n - 2 * j);
          for (int64_t k = 0; k < m; ++k, out.next(), prob.next())
            out.get<T>() = u[k] < double(opmath_t<P>(prob.get<P>())) ? one : zero;
        }
      });
    });
  });
  self.bump_version();
  return self;
}

}  // namespace

void register_discrete_ops() {
  define_kernel("vt::random_(Tensor(a!) self, int from=0, int? to=None, *, int seed, int offset) -> Tensor(a!)",
                VT_DEVICE_CPU, &random_kernel);
  define_kernel("vt::bernoulli_.float(Tensor(a!) self, float p=0.5, *, int seed, int offset) -> Tensor(a!)",
                VT_DEVICE_CPU, &bernoulli_float_kernel);
  define_kernel("vt::bernoulli_.Tensor(Tensor(a!) self, Tensor p, *, int seed, int offset) -> Tensor(a!)",
                VT_DEVICE_CPU, &bernoulli_tensor_kernel);
  register_sampling_ops();
}

}  // namespace vt::random_detail
