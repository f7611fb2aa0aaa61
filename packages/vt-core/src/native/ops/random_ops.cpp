// The random op family's continuous distributions (uniform_, normal_, exponential_) on CPU, and
// the family's registration. Kernels take the stream (seed, offset) as ints: see ops/random.h.
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/random_engine.h"
#include "ops/registration.h"

namespace vt {
namespace random_detail {

void check_no_internal_overlap(const Tensor& self, const char* op) {
  for (int64_t d = 0; d < self.dim(); ++d)
    VT_CHECK(self.strides()[d] != 0 || self.sizes()[d] <= 1, op,
             ": unsupported operation: more than one element of the written-to tensor refers to a "
             "single memory location. Please clone() the tensor before performing the operation.");
}

}  // namespace random_detail

namespace {
using namespace random_detail;

void require_floating(const Tensor& self, const char* op) {
  if (!is_floating(self.dtype()))
    fail(VT_ERROR_NOT_IMPLEMENTED, op, ": not implemented for '", dtype_name(self.dtype()),
         "' (floating dtypes only)");
}

// Calls fn(T{}) for the floating dtype of self.
template <typename Fn>
void visit_floating(const Tensor& self, Fn&& fn) {
  switch (self.dtype()) {
    case ScalarType::Float16: return fn(Half{});
    case ScalarType::BFloat16: return fn(BFloat16{});
    case ScalarType::Float32: return fn(float{});
    default: return fn(double{});
  }
}

template <typename T> constexpr double kMax = std::numeric_limits<T>::max();
template <> constexpr double kMax<Half> = 65504.0;
template <> constexpr double kMax<BFloat16> = 0x1.fep127;

// The next value of T toward -inf (never called on -inf or NaN), by stepping the bit pattern:
// cheaper than std::nextafter in a per-element loop.
template <typename T> T next_down(T v) {
  using Bits = std::conditional_t<sizeof(T) == 8, uint64_t, std::conditional_t<sizeof(T) == 4, uint32_t, uint16_t>>;
  constexpr Bits sign = Bits(1) << (8 * sizeof(T) - 1);
  const Bits b = std::bit_cast<Bits>(v);
  return std::bit_cast<T>((b & ~sign) == 0 ? Bits(sign | 1)  // +-0 -> the smallest negative
                          : (b & sign)     ? Bits(b + 1)
                                           : Bits(b - 1));
}

// v = from + (to - from) * u in double, rounded down to T: each value x of T in [from, to) is
// drawn with probability (next(x) - x) / (to - from), and rounding never reaches `to`.
Tensor uniform_kernel(const Tensor& self, double from, double to, int64_t seed, int64_t offset) {
  require_floating(self, "uniform_");
  check_no_internal_overlap(self, "uniform_");
  visit_floating(self, [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    const char* name = dtype_name(self.dtype());
    VT_CHECK(from >= -kMax<T> && from <= kMax<T>, "uniform_: from is out of bounds for ", name);
    VT_CHECK(to >= -kMax<T> && to <= kMax<T>, "uniform_: to is out of bounds for ", name);
    VT_CHECK(from <= to, "uniform_ expects to return a [from, to) range, but found from=", from,
             " > to=", to);
    VT_CHECK(to - from <= kMax<T>, "uniform_ expects to-from <= the largest ", name,
             ", but found to=", to, " and from=", from, " which result in to-from to exceed the limit");
    const double lo = double(M(T(M(from)))), hi = double(M(T(M(to)))), span = hi - lo;
    const T top = lo < hi ? next_down(T(M(hi))) : T(M(lo));
    auto finish = [&](double u) {
      const double v = lo + span * u;
      T r = T(M(v));
      r = double(M(r)) > v ? next_down(r) : r;
      return double(M(r)) >= hi && lo < hi ? top : r;
    };
    // rand(): a 24-bit draw is an exact float in [0, 1); 16-bit dtypes round it down in float.
    const bool unit = lo == 0 && hi == 1 && !std::is_same_v<T, double>;
    const Stream s = stream_of(seed, offset);
    if constexpr (std::is_same_v<T, double>) {
      fill_blocks<2, T>(self, s, [&](const Block& w, T* out) {
        out[0] = finish(unit_double(word64(w[0], w[1])));
        out[1] = finish(unit_double(word64(w[2], w[3])));
      });
    } else {
      if (unit) {
        fill_blocks<4, T>(self, s, [](const Block& w, T* out) {
          for (int k = 0; k < 4; ++k) {
            const float u = unit_float(w[k]);
            const T r = T(u);
            out[k] = float(r) > u ? next_down(r) : r;
          }
        });
      } else {
        fill_blocks<4, T>(self, s, [&](const Block& w, T* out) {
          for (int k = 0; k < 4; ++k) out[k] = finish(double(w[k]) * 0x1.0p-32);
        });
      }
    }
  });
  self.bump_version();
  return self;
}

// Box-Muller: each pair of uniforms gives two independent standard normals.
Tensor normal_kernel(const Tensor& self, double mean, double std, int64_t seed, int64_t offset) {
  require_floating(self, "normal_");
  VT_CHECK(std >= 0.0, "normal expects std >= 0.0, but found std ", std);
  check_no_internal_overlap(self, "normal_");
  visit_floating(self, [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    const M m = M(mean), sd = M(std);
    constexpr M two_pi = M(2 * std::numbers::pi);
    const Stream s = stream_of(seed, offset);
    auto pair = [&](M u1, M u2, T* out) {
      const M r = std::sqrt(M(-2) * std::log(u1)), theta = two_pi * u2;
      out[0] = T(m + sd * r * std::cos(theta));
      out[1] = T(m + sd * r * std::sin(theta));
    };
    if constexpr (std::is_same_v<T, double>) {
      fill_blocks<2, T>(self, s, [&](const Block& w, T* out) {
        pair(open_unit_double(word64(w[0], w[1])), unit_double(word64(w[2], w[3])), out);
      });
    } else {
      fill_blocks<4, T>(self, s, [&](const Block& w, T* out) {
        pair(open_unit_float(w[0]), unit_float(w[1]), out);
        pair(open_unit_float(w[2]), unit_float(w[3]), out + 2);
      });
    }
  });
  self.bump_version();
  return self;
}

// Inversion: -log(u) / lambda with u in (0, 1].
Tensor exponential_kernel(const Tensor& self, double lambd, int64_t seed, int64_t offset) {
  VT_CHECK(is_floating(self.dtype()),
           "exponential_: the exponential distribution is continuous; dtype must be floating "
           "point but you specified ", dtype_name(self.dtype()));
  VT_CHECK(lambd > 0.0, "exponential_ expects lambda > 0.0, but found lambda=", lambd);
  check_no_internal_overlap(self, "exponential_");
  visit_floating(self, [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    const M inv = M(1 / lambd);
    const Stream s = stream_of(seed, offset);
    if constexpr (std::is_same_v<T, double>) {
      fill_blocks<2, T>(self, s, [&](const Block& w, T* out) {
        out[0] = (0.0 - std::log(open_unit_double(word64(w[0], w[1])))) * inv;
        out[1] = (0.0 - std::log(open_unit_double(word64(w[2], w[3])))) * inv;
      });
    } else {
      fill_blocks<4, T>(self, s, [&](const Block& w, T* out) {
        for (int k = 0; k < 4; ++k) out[k] = T((0.0f - std::log(open_unit_float(w[k]))) * inv);
      });
    }
  });
  self.bump_version();
  return self;
}

}  // namespace

void register_random_ops() {
  define_kernel("vt::uniform_(Tensor(a!) self, float from=0, float to=1, *, int seed, int offset) -> Tensor(a!)",
                VT_DEVICE_CPU, &uniform_kernel);
  define_kernel("vt::normal_(Tensor(a!) self, float mean=0, float std=1, *, int seed, int offset) -> Tensor(a!)",
                VT_DEVICE_CPU, &normal_kernel);
  define_kernel("vt::exponential_(Tensor(a!) self, float lambd=1, *, int seed, int offset) -> Tensor(a!)",
                VT_DEVICE_CPU, &exponential_kernel);
  random_detail::register_discrete_ops();
}

}  // namespace vt
