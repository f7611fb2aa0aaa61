// Random sampling with seeded, counter-based generators.
//
// A Generator is a (seed, offset) pair. Every sampling op reserves a run of Philox4x32-10
// counter blocks from its generator (offset advances by the op's element count) and passes the
// seed and the run's first block to its kernel as plain ints. Element i (in row-major order of
// the result, whatever its layout) is drawn from block offset + i / k, where k samples fit in a
// block (4 for 32-bit draws, 2 for 64-bit ones). Samples are therefore a pure function of
// (seed, offset, i): the same for any thread count, and two calls never share blocks.
// (multinomial and randperm number their draws as their kernels' comments say.)
//
// Kernels are ordinary dispatcher ops whose schemas end in `int seed, int offset`, so device
// plugins implement them without knowing about Generator: a CUDA kernel draws the same stream.
//
// Dropout and other callers that need a mask use bernoulli(like, p, gen): a contiguous tensor of
// like's shape and dtype holding 1 with probability p and 0 otherwise.
#pragma once

#include <cstdint>
#include <optional>

#include "core/device.h"
#include "core/intrusive_ptr.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

class GeneratorImpl;

// Where a kernel's draws start: counter block `offset` of the stream keyed by `seed`.
struct PhiloxState {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

// A handle to shared generator state; copies refer to the same generator. Reserving blocks is
// lock-free (one atomic add), so threads may sample from one generator concurrently; seeding
// or setting the state while another thread samples from it leaves that draw's stream
// unspecified (but valid).
class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ull;  // torch's default seed

  explicit Generator(Device device = kCPU, uint64_t seed = kDefaultSeed);
  Generator(const Generator&);
  Generator(Generator&&) noexcept;
  Generator& operator=(const Generator&);
  Generator& operator=(Generator&&) noexcept;
  ~Generator();
  Device device() const;

  void manual_seed(uint64_t seed);  // sets the seed and rewinds the offset
  uint64_t seed();                  // seeds from a nondeterministic source; returns the seed
  uint64_t initial_seed() const;    // the seed last set
  // The state as a CPU uint8 tensor of 16 bytes: seed then offset, each little-endian uint64.
  Tensor get_state() const;
  void set_state(const Tensor& state);  // TypeError unless uint8; RuntimeError unless 16 bytes

  // Reserves n counter blocks for one op and returns where they start.
  PhiloxState reserve(uint64_t n) const;
  bool is_same(const Generator& o) const { return impl_.get() == o.impl_.get(); }

 private:
  intrusive_ptr<GeneratorImpl> impl_;
};

// The default generator of a device (created on first use, never freed); a handle to it.
Generator default_generator(Device device = kCPU);
// Seeds every default generator, including those created later.
void manual_seed(uint64_t seed);

// Floating samples; dtype defaults to the default float dtype.
Tensor rand(IntArrayRef size, std::optional<Generator> gen = std::nullopt,
            std::optional<ScalarType> dtype = std::nullopt, std::optional<Device> device = std::nullopt);
Tensor randn(IntArrayRef size, std::optional<Generator> gen = std::nullopt,
             std::optional<ScalarType> dtype = std::nullopt, std::optional<Device> device = std::nullopt);
// Integers uniform in [low, high); dtype defaults to int64.
Tensor randint(int64_t low, int64_t high, IntArrayRef size, std::optional<Generator> gen = std::nullopt,
               std::optional<ScalarType> dtype = std::nullopt, std::optional<Device> device = std::nullopt);
// A random permutation of 0..n-1; dtype defaults to int64.
Tensor randperm(int64_t n, std::optional<Generator> gen = std::nullopt,
                std::optional<ScalarType> dtype = std::nullopt, std::optional<Device> device = std::nullopt);

// Like-tensors: self's shape and device, its dtype unless given, its layout when dense.
Tensor rand_like(const Tensor& self, std::optional<ScalarType> dtype = std::nullopt,
                 std::optional<Generator> gen = std::nullopt);
Tensor randn_like(const Tensor& self, std::optional<ScalarType> dtype = std::nullopt,
                  std::optional<Generator> gen = std::nullopt);
Tensor randint_like(const Tensor& self, int64_t low, int64_t high,
                    std::optional<ScalarType> dtype = std::nullopt,
                    std::optional<Generator> gen = std::nullopt);

// In place, any layout; each returns self.
const Tensor& uniform_(const Tensor& self, double from = 0, double to = 1,
                       std::optional<Generator> gen = std::nullopt);
const Tensor& normal_(const Tensor& self, double mean = 0, double std = 1,
                      std::optional<Generator> gen = std::nullopt);
const Tensor& exponential_(const Tensor& self, double lambd = 1,
                           std::optional<Generator> gen = std::nullopt);
// Integers in [from, to); to = nullopt means up to the dtype's largest value (2^mantissa for
// floating dtypes) inclusive.
const Tensor& random_(const Tensor& self, int64_t from = 0, std::optional<int64_t> to = std::nullopt,
                      std::optional<Generator> gen = std::nullopt);
const Tensor& bernoulli_(const Tensor& self, double p, std::optional<Generator> gen = std::nullopt);
// p (floating) broadcasts to self's shape.
const Tensor& bernoulli_(const Tensor& self, const Tensor& p, std::optional<Generator> gen = std::nullopt);

// 1 with probability p[i] (floating, in [0, 1]) else 0, in p's dtype; contiguous.
Tensor bernoulli(const Tensor& p, std::optional<Generator> gen = std::nullopt);
// A contiguous mask of like's shape and dtype: 1 with probability p, else 0.
Tensor bernoulli(const Tensor& like, double p, std::optional<Generator> gen = std::nullopt);

// Normal samples; tensor arguments broadcast; the result is contiguous and takes mean's dtype
// (std's when mean is a number).
Tensor normal(const Tensor& mean, const Tensor& std, std::optional<Generator> gen = std::nullopt);
Tensor normal(const Tensor& mean, double std, std::optional<Generator> gen = std::nullopt);
Tensor normal(double mean, const Tensor& std, std::optional<Generator> gen = std::nullopt);
Tensor normal(double mean, double std, IntArrayRef size, std::optional<Generator> gen = std::nullopt,
              std::optional<ScalarType> dtype = std::nullopt, std::optional<Device> device = std::nullopt);

// Category indices (int64) drawn from the rows of probs (1-D or 2-D, non-negative weights).
Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement = false,
                   std::optional<Generator> gen = std::nullopt);

}  // namespace vt
