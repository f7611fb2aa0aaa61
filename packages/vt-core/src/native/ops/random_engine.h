// The random family's CPU machinery: the Philox4x32-10 block function, conversions from its
// words to samples, and the driver that writes one sample per element in row-major order.
// Private to ops/random_*.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/error.h"
#include "core/thread_pool.h"
#include "core/tensor.h"
#include "ops/random.h"

namespace vt::random_detail {

using Block = std::array<uint32_t, 4>;

// Philox4x32-10 (Salmon et al., SC'11): counter (lo, hi, 0, 0), key = seed.
inline Block philox(uint64_t counter, uint64_t key) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(kM0) * c0, p1 = uint64_t(kM1) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1), c3 = uint32_t(p0), c0 = n0, c2 = n2;
    k0 += kW0, k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

// A kernel's stream: block j is philox(offset + j, seed).
struct Stream {
  uint64_t seed;
  uint64_t offset;
  Block block(int64_t j) const { return philox(offset + uint64_t(j), seed); }
};
inline Stream stream_of(int64_t seed, int64_t offset) { return {uint64_t(seed), uint64_t(offset)}; }

inline uint64_t word64(uint32_t hi, uint32_t lo) { return (uint64_t(hi) << 32) | lo; }
// [0, 1) with 24 (float) or 53 (double) random bits.
inline float unit_float(uint32_t w) { return float(w >> 8) * 0x1.0p-24f; }
inline double unit_double(uint64_t w) { return double(w >> 11) * 0x1.0p-53; }
// (0, 1]: safe to take the log of.
inline float open_unit_float(uint32_t w) { return float((w >> 8) + 1) * 0x1.0p-24f; }
inline double open_unit_double(uint64_t w) { return double((w >> 11) + 1) * 0x1.0p-53; }
// floor(w * range / 2^64): an integer in [0, range) from 64 random bits.
inline uint64_t scale64(uint64_t w, uint64_t range) {
  return uint64_t((static_cast<unsigned __int128>(w) * range) >> 64);
}

// Walks a tensor's elements in row-major order from a starting element.
class Cursor {
 public:
  Cursor(const Tensor& t, int64_t start)
      : ndim_(t.dim()), ptr_(t.data()), size_(t.sizes()), stride_(t.strides()), index_(ndim_) {
    const int64_t item = t.itemsize();
    for (int64_t d = ndim_ - 1; d >= 0; --d) {
      stride_[d] *= item;
      index_[d] = size_[d] ? start % size_[d] : 0;
      start = size_[d] ? start / size_[d] : 0;
      ptr_ += index_[d] * stride_[d];
    }
  }
  template <typename T> T& get() const { return *reinterpret_cast<T*>(ptr_); }
  void next() {
    for (int64_t d = ndim_ - 1; d >= 0; --d) {
      ptr_ += stride_[d];
      if (++index_[d] < size_[d] || d == 0) return;
      ptr_ -= stride_[d] * size_[d];
      index_[d] = 0;
    }
  }

 private:
  int64_t ndim_;
  char* ptr_;
  DimVector size_, stride_, index_;  // strides in bytes
};

// Writing samples through a stride-0 dimension would race and lose draws, as torch refuses.
void check_no_internal_overlap(const Tensor& self, const char* op);

// Blocks per parallel chunk: a Philox block costs tens of cycles.
inline constexpr int64_t kBlockGrain = 2048;

// For each block j covering self's elements, sample(block(j), vals) fills PerBlock values of
// type T; value k goes to row-major element j * PerBlock + k.
template <int PerBlock, typename T, typename Sample>
void fill_blocks(const Tensor& self, const Stream& s, const Sample& sample) {
  const int64_t n = self.numel();
  if (n == 0) return;
  const int64_t nblocks = (n + PerBlock - 1) / PerBlock;
  const bool contiguous = self.is_contiguous();
  parallel_for(0, nblocks, kBlockGrain, [&](int64_t b, int64_t e) {
    T vals[PerBlock];
    if (contiguous) {
      T* out = self.data_as<T>();
      for (int64_t j = b; j < e; ++j) {
        sample(s.block(j), vals);
        const int64_t base = j * PerBlock, m = std::min<int64_t>(PerBlock, n - base);
        for (int64_t k = 0; k < m; ++k) out[base + k] = vals[k];
      }
      return;
    }
    Cursor c(self, b * PerBlock);
    for (int64_t j = b; j < e; ++j) {
      sample(s.block(j), vals);
      const int64_t m = std::min<int64_t>(PerBlock, n - j * PerBlock);
      for (int64_t k = 0; k < m; ++k, c.next()) c.get<T>() = vals[k];
    }
  });
}

void register_discrete_ops();  // random_discrete.cpp
void register_sampling_ops();  // random_sampling.cpp

}  // namespace vt::random_detail
