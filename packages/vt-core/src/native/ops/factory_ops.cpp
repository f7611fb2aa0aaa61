// Factories: empty, full, arange, linspace, eye and the *_like forms.
#include <cmath>
#include <limits>
#include <algorithm>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {

bool scalar_overflows(const Scalar& value, ScalarType dtype) {
  if (dtype == ScalarType::Bool || dtype == ScalarType::Float64) return false;
  if (is_floating(dtype)) {  // infinities and NaN are representable
    const double d = std::fabs(value.to_double());
    const double max = dtype == ScalarType::Float16 ? 65504.0
                     : dtype == ScalarType::BFloat16 ? 0x1.fep127 : double(std::numeric_limits<float>::max());
    return std::isfinite(d) && d > max;
  }
  const double lo = dtype == ScalarType::UInt8 ? 0 : dtype == ScalarType::Int8 ? -128
                  : dtype == ScalarType::Int16 ? -32768 : dtype == ScalarType::Int32 ? -2147483648.0
                  : -0x1p63;
  const double hi = dtype == ScalarType::UInt8 ? 255 : dtype == ScalarType::Int8 ? 127
                  : dtype == ScalarType::Int16 ? 32767 : dtype == ScalarType::Int32 ? 2147483647.0
                  : 0x1p63;  // exclusive for int64 only, below
  if (value.is_floating()) {
    const double d = value.to_double();
    return !(d >= lo && (dtype == ScalarType::Int64 ? d < hi : d <= hi));  // NaN overflows
  }
  const int64_t i = value.to_int();
  if (dtype == ScalarType::Int64) return false;
  if (dtype == ScalarType::UInt8) return i > 255 || i < -255;
  return double(i) < lo || double(i) > hi;
}

namespace {

void check_fill_value(const Scalar& value, ScalarType dtype, const char* op) {
  VT_CHECK(!scalar_overflows(value, dtype), op, ": value cannot be converted to type ",
           dtype_name(dtype), " without overflow");
}

Tensor empty_kernel(IntArrayRef size, std::optional<ScalarType> dtype, std::optional<Device> device) {
  return Tensor::empty(size, dtype.value_or(default_float_dtype()), device.value_or(kCPU));
}

// torch.full infers bool, int64 or the default float from the fill value.
Tensor full_kernel(IntArrayRef size, const Scalar& value, std::optional<ScalarType> dtype,
                   std::optional<Device> device) {
  ScalarType dt = dtype.value_or(value.is_floating() ? default_float_dtype() : value.natural_dtype());
  check_fill_value(value, dt, "full");
  Tensor out = Tensor::empty(size, dt, device.value_or(kCPU));
  vt::fill_(out, value);
  return out;
}

// Writes f(i) to p[i] for a fresh contiguous 1-D tensor, in parallel.
template <typename T, typename F>
void fill_indexed(const Tensor& out, F f) {
  T* p = out.data_as<T>();
  parallel_for(0, out.numel(), kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = f(i);
  });
}

// As torch: int64 results count in integers (the bounds truncated first), other dtypes take
// ceil((end - start) / step) in double; values are start + i * step in the dtype's accumulate
// type (int64 for integers, double for float32/64, float for 16-bit floats).
Tensor arange_kernel(const Scalar& start, const Scalar& end, const Scalar& step,
                     std::optional<ScalarType> dtype, std::optional<Device> device) {
  const bool floating = start.is_floating() || end.is_floating() || step.is_floating();
  const ScalarType dt = dtype.value_or(floating ? default_float_dtype() : ScalarType::Int64);
  if (dt == ScalarType::Bool) fail(VT_ERROR_NOT_IMPLEMENTED, "arange: not implemented for 'bool'");
  const double b = start.to_double(), e = end.to_double(), s = step.to_double();
  VT_CHECK(s != 0, "arange: step must be nonzero");
  VT_CHECK(std::isfinite(b) && std::isfinite(e), "arange: unsupported range: ", b, " -> ", e);
  VT_CHECK((s > 0 && e >= b) || (s < 0 && e <= b),
           "arange: upper bound and lower bound inconsistent with step sign");
  double size_d;
  if (dt == ScalarType::Int64) {
    const int64_t ib = start.to_int(), ie = end.to_int(), is = step.to_int();
    VT_CHECK_VALUE(is != 0, "arange: step must be nonzero (step ", s, " truncates to 0 for int64)");
    VT_CHECK((is > 0 && ie >= ib) || (is < 0 && ie <= ib),
             "arange: upper bound and lower bound inconsistent with step sign");
    // In 128 bits: the span of two int64 bounds can exceed int64.
    size_d = double((__int128(ie) - ib + is - (is > 0 ? 1 : -1)) / is);
  } else {
    size_d = std::ceil((e - b) / s);
  }
  VT_CHECK(size_d >= 0 && size_d < 0x1p63, "arange: invalid size, possible overflow?");
  Tensor out = Tensor::empty(DimVector{int64_t(size_d)}, dt, device.value_or(kCPU));
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<opmath_t<T>>) {
      using Acc = std::conditional_t<std::is_same_v<opmath_t<T>, float> && !std::is_same_v<T, float>, float, double>;
      const Acc ab = Acc(b), as = Acc(s);
      fill_indexed<T>(out, [=](int64_t i) { return T(opmath_t<T>(ab + as * Acc(i))); });
    } else {
      const int64_t ib = start.to_int(), is = step.to_int();
      fill_indexed<T>(out, [=](int64_t i) { return T(uint64_t(ib) + uint64_t(is) * uint64_t(i)); });
    }
  });
  return out;
}

// As torch: the first half counts up from start and the second down from end, so both ends
// are exact; 16-bit floats round every intermediate to the dtype, integers step in double.
Tensor linspace_kernel(const Scalar& start, const Scalar& end, int64_t steps,
                       std::optional<ScalarType> dtype, std::optional<Device> device) {
  VT_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  const ScalarType dt = dtype.value_or(default_float_dtype());
  if (dt == ScalarType::Bool) fail(VT_ERROR_NOT_IMPLEMENTED, "linspace: not implemented for 'bool'");
  Tensor out = Tensor::empty(DimVector{steps}, dt, device.value_or(kCPU));
  if (steps == 0) return out;
  const int64_t halfway = steps / 2;
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    const T lo = start.to<T>(), hi = end.to<T>();
    if (steps == 1) return fill_indexed<T>(out, [=](int64_t) { return lo; });
    if constexpr (std::is_integral_v<T>) {
      const double step = (double(hi) - double(lo)) / double(steps - 1);
      fill_indexed<T>(out, [=](int64_t i) {
        return T(i < halfway ? double(lo) + step * double(i) : double(hi) - step * double(steps - i - 1));
      });
    } else {
      using M = opmath_t<T>;
      auto r = [](M v) { return M(T(v)); };  // rounds to T: a no-op for float and double
      const M step = r(r(M(hi) - M(lo)) / r(M(steps - 1)));
      fill_indexed<T>(out, [=](int64_t i) {
        return T(i < halfway ? M(lo) + r(step * r(M(i))) : M(hi) - r(step * r(M(steps - i - 1))));
      });
    }
  });
  return out;
}

bool is_non_overlapping_and_dense(const Tensor& t) {
  if (t.is_contiguous()) return true;
  std::vector<int64_t> order(size_t(t.dim()));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return t.strides()[a] < t.strides()[b]; });
  int64_t expected = 1;
  for (int64_t d : order) {
    if (t.sizes()[d] == 1) continue;
    if (t.strides()[d] != expected) return false;
    expected *= t.sizes()[d];
  }
  return true;
}

// torch's preserve_format for a layout with gaps or overlaps: dense strides in the order of
// self's strides (smallest first; stride-0 dims keep their place, equal strides put the smaller
// size innermost), via the insertion sort TensorIterator uses.
DimVector dense_strides_like(const Tensor& t) {
  const int64_t nd = t.dim();
  std::vector<int64_t> perm(static_cast<size_t>(nd));
  for (int64_t i = 0; i < nd; ++i) perm[size_t(i)] = nd - 1 - i;  // innermost first
  auto order = [&](int64_t a, int64_t b) {  // 1: a goes after b; -1: before; 0: ambiguous
    const int64_t sa = t.strides()[a], sb = t.strides()[b];
    if (sa == 0 || sb == 0) return 0;
    if (sa != sb) return sa < sb ? -1 : 1;
    return t.sizes()[a] > t.sizes()[b] ? 1 : 0;
  };
  for (int64_t i = 1; i < nd; ++i) {
    int64_t cur = i;
    for (int64_t j = i - 1; j >= 0; --j) {
      const int c = order(perm[size_t(j)], perm[size_t(cur)]);
      if (c > 0) { std::swap(perm[size_t(j)], perm[size_t(cur)]); cur = j; }
      else if (c < 0) break;
    }
  }
  DimVector strides(nd);
  int64_t next = 1;
  for (int64_t d : perm) {
    strides[d] = next;
    next *= std::max<int64_t>(t.sizes()[d], 1);
  }
  return strides;
}

Tensor empty_like_kernel(const Tensor& self, std::optional<ScalarType> dtype, std::optional<Device> device) {
  const ScalarType dt = dtype.value_or(self.dtype());
  const Device dev = device.value_or(self.device());
  if (is_non_overlapping_and_dense(self)) return Tensor::empty_strided(self.sizes(), self.strides(), dt, dev);
  return Tensor::empty_strided(self.sizes(), dense_strides_like(self), dt, dev);
}

Tensor eye_kernel(int64_t n, std::optional<int64_t> m, std::optional<ScalarType> dtype,
                  std::optional<Device> device) {
  const int64_t cols = m.value_or(n);
  VT_CHECK(n >= 0, "eye: n must be greater or equal to 0, got ", n);
  VT_CHECK(cols >= 0, "eye: m must be greater or equal to 0, got ", cols);
  Tensor out = vt::zeros(DimVector{n, cols}, dtype.value_or(default_float_dtype()), device);
  vt::fill_(vt::as_strided(out, DimVector{std::min(n, cols)}, DimVector{cols + 1}, 0), Scalar(int64_t(1)));
  return out;
}

}  // namespace

Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, std::optional<ScalarType> dtype,
                std::optional<Device> device) {
  static const OpHandle<Tensor(const Scalar&, const Scalar&, int64_t, std::optional<ScalarType>, std::optional<Device>)> op("vt::linspace");
  return op(start, end, steps, dtype, device);
}
Tensor eye(int64_t n, std::optional<int64_t> m, std::optional<ScalarType> dtype, std::optional<Device> device) {
  static const OpHandle<Tensor(int64_t, std::optional<int64_t>, std::optional<ScalarType>, std::optional<Device>)> op("vt::eye");
  return op(n, m, dtype, device);
}
Tensor empty_like(const Tensor& self, std::optional<ScalarType> dtype, std::optional<Device> device) {
  static const OpHandle<Tensor(const Tensor&, std::optional<ScalarType>, std::optional<Device>)> op("vt::empty_like");
  return op(self, dtype, device);
}
Tensor full_like(const Tensor& self, const Scalar& value, std::optional<ScalarType> dtype,
                 std::optional<Device> device) {
  check_fill_value(value, dtype.value_or(self.dtype()), "full_like");
  Tensor out = empty_like(self, dtype, device);
  fill_(out, value);
  return out;
}
Tensor zeros_like(const Tensor& self, std::optional<ScalarType> dtype, std::optional<Device> device) {
  return full_like(self, Scalar(int64_t(0)), dtype, device);
}
Tensor ones_like(const Tensor& self, std::optional<ScalarType> dtype, std::optional<Device> device) {
  return full_like(self, Scalar(int64_t(1)), dtype, device);
}

void register_factory_ops() {
  define_kernel("vt::empty(int[] size, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_ANY, &empty_kernel);
  define_kernel("vt::full(int[] size, Scalar fill_value, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_ANY, &full_kernel);
  define_kernel("vt::arange(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_CPU, &arange_kernel);
  define_kernel("vt::linspace(Scalar start, Scalar end, int steps, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_CPU, &linspace_kernel);
  define_kernel("vt::eye(int n, int? m=None, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_ANY, &eye_kernel);
  define_kernel("vt::empty_like(Tensor self, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_ANY, &empty_like_kernel);
}

}  // namespace vt
