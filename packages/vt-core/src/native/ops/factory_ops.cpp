// Factories: empty, full, arange.
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

Tensor empty_kernel(IntArrayRef size, std::optional<ScalarType> dtype, std::optional<Device> device) {
  return Tensor::empty(size, dtype.value_or(default_float_dtype()), device.value_or(kCPU));
}

// torch.full infers bool, int64 or the default float from the fill value.
Tensor full_kernel(IntArrayRef size, const Scalar& value, std::optional<ScalarType> dtype,
                   std::optional<Device> device) {
  ScalarType dt = dtype.value_or(value.is_floating() ? default_float_dtype() : value.natural_dtype());
  Tensor out = Tensor::empty(size, dt, device.value_or(kCPU));
  vt::fill_(out, value);
  return out;
}

Tensor arange_kernel(const Scalar& start, const Scalar& end, const Scalar& step,
                     std::optional<ScalarType> dtype, std::optional<Device> device) {
  bool floating = start.is_floating() || end.is_floating() || step.is_floating();
  ScalarType dt = dtype.value_or(floating ? default_float_dtype() : ScalarType::Int64);
  double b = start.to_double(), e = end.to_double(), s = step.to_double();
  VT_CHECK(s != 0, "arange: step must be nonzero");
  VT_CHECK(std::isfinite(b) && std::isfinite(e), "arange: unsupported range: ", b, " -> ", e);
  VT_CHECK((s > 0 && e >= b) || (s < 0 && e <= b),
           "arange: upper bound and larger bound inconsistent with step sign");
  int64_t n;
  if (!floating) {
    int64_t ib = start.to_int(), ie = end.to_int(), is = step.to_int();
    n = is > 0 ? (ie - ib + is - 1) / is : (ib - ie - is - 1) / -is;
  } else {
    n = int64_t(std::ceil((e - b) / s));
  }
  Tensor out = Tensor::empty(DimVector{n}, dt, device.value_or(kCPU));
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data_as<T>();
    if (!floating) {
      int64_t ib = start.to_int(), is = step.to_int();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(static_cast<opmath_t<T>>(ib + i * is));
    } else {
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(static_cast<opmath_t<T>>(b + double(i) * s));
    }
  });
  return out;
}

}  // namespace

void register_factory_ops() {
  define_kernel("vt::empty(int[] size, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_ANY, &empty_kernel);
  define_kernel("vt::full(int[] size, Scalar fill_value, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_ANY, &full_kernel);
  define_kernel("vt::arange(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
                VT_DEVICE_CPU, &arange_kernel);
}

}  // namespace vt
