// The random family's public C++ functions: each reserves counter blocks from its generator and
// calls the op with the stream's (seed, offset); the factory forms are composites of those ops.
#include <algorithm>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/ops.h"
#include "ops/random_engine.h"

namespace vt {
namespace {

// One block per element drawn; the kernels use at most that many.
PhiloxState reserve(const std::optional<Generator>& gen, Device device, int64_t blocks, const char* op) {
  const Generator g = gen ? *gen : default_generator(device);
  VT_CHECK(g.device().type == device.type, op, ": expected a generator for device type '",
           device_type_name(device.type), "' but got one for '", device_string(g.device()), "'");
  return g.reserve(uint64_t(std::max<int64_t>(blocks, 0)));
}

int64_t i64(uint64_t v) { return int64_t(v); }

// normal() with a std tensor: torch checks every element (here on CPU; device kernels check
// their own).
void check_std(const Tensor& std) {
  if (!std.device().is_cpu()) return;
  visit_dtype(std.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = std.numel();
    random_detail::Cursor c(std, 0);
    for (int64_t i = 0; i < n; ++i, c.next())
      VT_CHECK(double(opmath_t<T>(c.get<T>())) >= 0.0, "normal expects all elements of std >= 0.0");
  });
}

}  // namespace

const Tensor& uniform_(const Tensor& self, double from, double to, std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, double, double, int64_t, int64_t)> op("vt::uniform_");
  PhiloxState st = reserve(gen, self.device(), self.numel(), "uniform_");
  op(self, from, to, i64(st.seed), i64(st.offset));
  return self;
}

const Tensor& normal_(const Tensor& self, double mean, double std, std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, double, double, int64_t, int64_t)> op("vt::normal_");
  PhiloxState st = reserve(gen, self.device(), self.numel(), "normal_");
  op(self, mean, std, i64(st.seed), i64(st.offset));
  return self;
}

const Tensor& exponential_(const Tensor& self, double lambd, std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, double, int64_t, int64_t)> op("vt::exponential_");
  PhiloxState st = reserve(gen, self.device(), self.numel(), "exponential_");
  op(self, lambd, i64(st.seed), i64(st.offset));
  return self;
}

const Tensor& random_(const Tensor& self, int64_t from, std::optional<int64_t> to,
                      std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, int64_t, std::optional<int64_t>, int64_t, int64_t)> op("vt::random_");
  PhiloxState st = reserve(gen, self.device(), self.numel(), "random_");
  op(self, from, to, i64(st.seed), i64(st.offset));
  return self;
}

const Tensor& bernoulli_(const Tensor& self, double p, std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, double, int64_t, int64_t)> op("vt::bernoulli_.float");
  PhiloxState st = reserve(gen, self.device(), self.numel(), "bernoulli_");
  op(self, p, i64(st.seed), i64(st.offset));
  return self;
}

const Tensor& bernoulli_(const Tensor& self, const Tensor& p, std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, int64_t, int64_t)> op("vt::bernoulli_.Tensor");
  PhiloxState st = reserve(gen, self.device(), self.numel(), "bernoulli_");
  op(self, p, i64(st.seed), i64(st.offset));
  return self;
}

Tensor bernoulli(const Tensor& p, std::optional<Generator> gen) {
  if (!is_floating(p.dtype()))
    fail(VT_ERROR_NOT_IMPLEMENTED, "bernoulli: not implemented for probabilities of dtype '",
         dtype_name(p.dtype()), "' (floating dtypes only)");
  Tensor out = empty(p.sizes(), p.dtype(), p.device());  // contiguous, as torch
  bernoulli_(out, p, std::move(gen));
  return out;
}

Tensor bernoulli(const Tensor& like, double p, std::optional<Generator> gen) {
  Tensor out = empty(like.sizes(), like.dtype(), like.device());  // contiguous, as torch
  bernoulli_(out, p, std::move(gen));
  return out;
}

Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement,
                   std::optional<Generator> gen) {
  static const OpHandle<Tensor(const Tensor&, int64_t, bool, int64_t, int64_t)> op("vt::multinomial");
  const int64_t rows = probs.dim() == 2 ? probs.sizes()[0] : 1;
  const int64_t per_row = replacement ? num_samples : (probs.dim() ? probs.sizes()[probs.dim() - 1] : 1);
  PhiloxState st = reserve(gen, probs.device(), rows * std::max<int64_t>(per_row, 0), "multinomial");
  return op(probs, num_samples, replacement, i64(st.seed), i64(st.offset));
}

Tensor randperm(int64_t n, std::optional<Generator> gen, std::optional<ScalarType> dtype,
                std::optional<Device> device) {
  static const OpHandle<Tensor(int64_t, std::optional<ScalarType>, std::optional<Device>, int64_t, int64_t)> op("vt::randperm");
  PhiloxState st = reserve(gen, device.value_or(kCPU), n, "randperm");
  return op(n, dtype, device, i64(st.seed), i64(st.offset));
}

Tensor rand(IntArrayRef size, std::optional<Generator> gen, std::optional<ScalarType> dtype,
            std::optional<Device> device) {
  Tensor out = empty(size, dtype.value_or(default_float_dtype()), device);
  uniform_(out, 0, 1, std::move(gen));
  return out;
}

Tensor randn(IntArrayRef size, std::optional<Generator> gen, std::optional<ScalarType> dtype,
             std::optional<Device> device) {
  Tensor out = empty(size, dtype.value_or(default_float_dtype()), device);
  normal_(out, 0, 1, std::move(gen));
  return out;
}

Tensor randint(int64_t low, int64_t high, IntArrayRef size, std::optional<Generator> gen,
               std::optional<ScalarType> dtype, std::optional<Device> device) {
  Tensor out = empty(size, dtype.value_or(ScalarType::Int64), device);
  random_(out, low, high, std::move(gen));
  return out;
}

Tensor rand_like(const Tensor& self, std::optional<ScalarType> dtype, std::optional<Generator> gen) {
  Tensor out = empty_like(self, dtype);
  uniform_(out, 0, 1, std::move(gen));
  return out;
}

Tensor randn_like(const Tensor& self, std::optional<ScalarType> dtype, std::optional<Generator> gen) {
  Tensor out = empty_like(self, dtype);
  normal_(out, 0, 1, std::move(gen));
  return out;
}

Tensor randint_like(const Tensor& self, int64_t low, int64_t high, std::optional<ScalarType> dtype,
                    std::optional<Generator> gen) {
  Tensor out = empty_like(self, dtype);
  random_(out, low, high, std::move(gen));
  return out;
}

// As torch: standard normals in mean's dtype, scaled by std and shifted by mean in place.
Tensor normal(const Tensor& mean, const Tensor& std, std::optional<Generator> gen) {
  check_std(std);
  Tensor out = empty(broadcast_shapes(mean.sizes(), std.sizes(), "normal"), mean.dtype(), mean.device());
  normal_(out, 0, 1, std::move(gen));
  mul_(out, std);
  add_(out, mean);
  return out;
}

Tensor normal(const Tensor& mean, double std, std::optional<Generator> gen) {
  Tensor out = empty(mean.sizes(), mean.dtype(), mean.device());
  normal_(out, 0, std, std::move(gen));
  add_(out, mean);
  return out;
}

Tensor normal(double mean, const Tensor& std, std::optional<Generator> gen) {
  check_std(std);
  Tensor out = empty(std.sizes(), std.dtype(), std.device());
  normal_(out, 0, 1, std::move(gen));
  mul_(out, std);
  add_(out, Scalar(mean));
  return out;
}

Tensor normal(double mean, double std, IntArrayRef size, std::optional<Generator> gen,
              std::optional<ScalarType> dtype, std::optional<Device> device) {
  Tensor out = empty(size, dtype.value_or(default_float_dtype()), device);
  normal_(out, mean, std, std::move(gen));
  return out;
}

}  // namespace vt
