// cumsum and cumprod. The input is first converted to the result dtype (integers and bool
// widen to int64 unless dtype= says otherwise), then scanned with torch's CPU accumulator
// (double for float32 and float64, float for 16-bit floats, int64 for integers).
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/reduce_impl.h"

namespace vt::reduce {
namespace {

template <class T>
using scan_acc_t = std::conditional_t<std::is_floating_point_v<opmath_t<T>>,
                                      std::conditional_t<is_reduced_float_v<T>, float, double>,
                                      int64_t>;

// Scans a contiguous [outer, len, inner] tensor along len. Lines of one element stride
// (inner == 1) run one after another; otherwise a block of `inner` runs side by side, which
// vectorizes across the block.
template <class T, bool Prod>
void scan(const T* in, T* out, int64_t outer, int64_t len, int64_t inner) {
  using A = scan_acc_t<T>;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  auto body = [&](int64_t b, int64_t e) {
    A acc[kBlock];
    for (int64_t item = b; item < e; ++item) {
      const int64_t o = item / blocks, j0 = (item % blocks) * kBlock;
      const int64_t n = std::min(kBlock, inner - j0);
      const T* x = in + o * len * inner + j0;
      T* y = out + o * len * inner + j0;
      if (inner == 1) {  // one contiguous line
        A run = A(Prod ? 1 : 0);
        for (int64_t r = 0; r < len; ++r) {
          run = Prod ? run * cast_value<A>(x[r]) : run + cast_value<A>(x[r]);
          y[r] = cast_value<T>(run);
        }
        continue;
      }
      for (int64_t j = 0; j < n; ++j) acc[j] = A(Prod ? 1 : 0);
      for (int64_t r = 0; r < len; ++r, x += inner, y += inner)
        for (int64_t j = 0; j < n; ++j) {
          acc[j] = Prod ? acc[j] * cast_value<A>(x[j]) : acc[j] + cast_value<A>(x[j]);
          y[j] = cast_value<T>(acc[j]);
        }
    }
  };
  const int64_t items = outer * blocks;
  const int64_t per_item = len * std::min(inner, kBlock);
  parallel_for(0, items, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(per_item, 1)), body);
}

template <bool Prod>
Tensor scan_kernel(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  const char* op = Prod ? "cumprod" : "cumsum";
  const int64_t d = wrap_dim(dim, self.dim(), op);
  ScalarType out_dtype = dtype.value_or(is_integral(self.dtype(), true) ? ScalarType::Int64 : self.dtype());
  Tensor input = self.dtype() == out_dtype ? self : to_dtype(self, out_dtype);
  if (!input.is_contiguous()) input = contiguous(input);
  Tensor out = Tensor::empty(self.sizes(), out_dtype, self.device());
  if (out.numel() == 0) return out;
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t k = 0; k < self.dim(); ++k) (k < d ? outer : k == d ? len : inner) *= self.sizes()[k];
  visit_dtype(out_dtype, [&](auto tag) {
    using T = decltype(tag);
    scan<T, Prod>(input.data_as<T>(), out.data_as<T>(), outer, len, inner);
  });
  return out;
}

}  // namespace

void register_scan_ops() {
  define_kernel("vt::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &scan_kernel<false>);
  define_kernel("vt::cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &scan_kernel<true>);
}

}  // namespace vt::reduce
