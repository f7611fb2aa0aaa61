// Sum-family reductions over any set of dims. Accumulation runs in a wider type than torch's
// output (double for float32, float for 16-bit floats, int64 for integers) and is cast once.
#include <algorithm>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/cast.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

ScalarType sum_accumulate_dtype(ScalarType t) {
  if (t == ScalarType::Float16 || t == ScalarType::BFloat16) return ScalarType::Float32;
  if (is_floating(t)) return ScalarType::Float64;
  return ScalarType::Int64;
}

// Wrapped, sorted, unique dims; nullopt or [] means all.
DimVector reduction_dims(const Tensor& self, std::optional<IntArrayRef> dims, const char* op) {
  DimVector out;
  if (!dims || dims->empty()) {
    for (int64_t d = 0; d < self.dim(); ++d) out.push_back(d);
    return out;
  }
  std::vector<bool> seen(size_t(std::max<int64_t>(self.dim(), 1)), false);
  for (int64_t d : *dims) {
    int64_t w = wrap_dim(d, self.dim(), op);
    VT_CHECK(!seen[size_t(w)], op, ": dim ", w, " appears multiple times in the list of dims");
    seen[size_t(w)] = true;
    if (self.dim() > 0) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sums self over dims into a new tensor of the accumulation dtype.
Tensor sum_accumulate(const Tensor& self, const DimVector& dims, bool keepdim) {
  ScalarType acc = sum_accumulate_dtype(self.dtype());
  IterConfig c;
  c.op_name = "sum";
  c.outputs = {Tensor()};
  c.inputs = {self};
  c.promote_inputs = false;
  c.compute_dtype = acc;
  c.is_reduction = true;
  c.reduce_dims = dims;
  c.keepdim = keepdim;
  TensorIterator it(std::move(c));
  visit_dtype(acc, [&](auto acc_tag) {
    using A = decltype(acc_tag);
    auto zero = [](const Tensor& t) { vt::fill_(t, Scalar(int64_t(0))); };
    auto combine = [](const Tensor& dst, const Tensor& src) {
      A* d = dst.data_as<A>();
      const A* s = src.data_as<A>();
      if constexpr (std::is_same_v<A, opmath_t<A>>)
        for (int64_t i = 0; i < dst.numel(); ++i) d[i] += s[i];
    };
    visit_dtype(self.dtype(), [&](auto in_tag) {
      using T = decltype(in_tag);
      if constexpr (std::is_same_v<A, opmath_t<A>>) {
        it.reduce([](char** data, const int64_t* s, int64_t n) {
          if (s[0] == 0) {
            // A whole run into one output: independent partial sums keep the adds pipelined
            // and vectorizable.
            constexpr int kLanes = 8;
            A lanes[kLanes] = {};
            int64_t i = 0;
            if (s[1] == sizeof(T)) {
              const T* in = reinterpret_cast<const T*>(data[1]);
              for (; i + kLanes <= n; i += kLanes)
                for (int l = 0; l < kLanes; ++l) lanes[l] += cast_value<A>(in[i + l]);
            }
            A total = 0;
            for (int l = 0; l < kLanes; ++l) total += lanes[l];
            for (; i < n; ++i) total += cast_value<A>(*reinterpret_cast<const T*>(data[1] + i * s[1]));
            *reinterpret_cast<A*>(data[0]) += total;
          } else {
            for (int64_t i = 0; i < n; ++i)
              *reinterpret_cast<A*>(data[0] + i * s[0]) +=
                  cast_value<A>(*reinterpret_cast<const T*>(data[1] + i * s[1]));
          }
        }, combine, zero);
      }
    });
  });
  return it.output();
}

Tensor sum_kernel(const Tensor& self, std::optional<IntArrayRef> dims, bool keepdim,
                  std::optional<ScalarType> dtype) {
  Tensor input = dtype && *dtype != self.dtype() ? to_dtype(self, *dtype) : self;
  ScalarType out_dtype = dtype.value_or(is_integral(self.dtype(), true) ? ScalarType::Int64 : self.dtype());
  DimVector d = reduction_dims(input, dims, "sum");
  Tensor acc = sum_accumulate(input, d, keepdim);
  return acc.dtype() == out_dtype ? acc : to_dtype(acc, out_dtype);
}

Tensor mean_kernel(const Tensor& self, std::optional<IntArrayRef> dims, bool keepdim,
                   std::optional<ScalarType> dtype) {
  ScalarType out_dtype = dtype.value_or(self.dtype());
  VT_CHECK(is_floating(out_dtype),
           "mean(): could not infer output dtype. ", dtype ? "Optional" : "Input",
           " dtype must be either a floating point or complex dtype. Got: ",
           dtype_name(out_dtype));
  Tensor input = out_dtype != self.dtype() ? to_dtype(self, out_dtype) : self;
  DimVector d = reduction_dims(input, dims, "mean");
  int64_t count = 1;
  for (int64_t k : d) count *= input.sizes()[k];
  Tensor acc = sum_accumulate(input, d, keepdim);
  // count == 0 gives nan, as in torch.
  Tensor scaled = vt::div(acc, Scalar(double(count)));
  return scaled.dtype() == out_dtype ? scaled : to_dtype(scaled, out_dtype);
}

}  // namespace

void register_reduce_ops() {
  define_kernel("vt::sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &sum_kernel);
  define_kernel("vt::mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
                VT_DEVICE_CPU, &mean_kernel);
}

}  // namespace vt
