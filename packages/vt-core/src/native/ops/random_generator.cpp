// Generators: (seed, offset) pairs that hand out Philox counter blocks, and the per-device
// default generators.
#include <atomic>
#include <cstring>
#include <random>

#include "core/error.h"
#include "ops/random.h"

namespace vt {

class GeneratorImpl final : public RefCounted {
 public:
  GeneratorImpl(Device device, uint64_t seed) : device_(device), seed_(seed) {}
  const Device device_;
  std::atomic<uint64_t> seed_;
  std::atomic<uint64_t> offset_{0};
};

Generator::Generator(Device device, uint64_t seed)
    : impl_(intrusive_ptr<GeneratorImpl>::make(device, seed)) {}

Generator::Generator(const Generator&) = default;
Generator::Generator(Generator&&) noexcept = default;
Generator& Generator::operator=(const Generator&) = default;
Generator& Generator::operator=(Generator&&) noexcept = default;
Generator::~Generator() = default;

Device Generator::device() const { return impl_->device_; }

void Generator::manual_seed(uint64_t seed) {
  impl_->seed_.store(seed, std::memory_order_relaxed);
  impl_->offset_.store(0, std::memory_order_relaxed);
}

uint64_t Generator::seed() {
  std::random_device rd;
  const uint64_t s = (uint64_t(rd()) << 32) ^ rd();
  manual_seed(s);
  return s;
}

uint64_t Generator::initial_seed() const { return impl_->seed_.load(std::memory_order_relaxed); }

Tensor Generator::get_state() const {
  const uint64_t words[2] = {impl_->seed_.load(std::memory_order_relaxed),
                             impl_->offset_.load(std::memory_order_relaxed)};
  Tensor state = Tensor::empty(DimVector{16}, ScalarType::UInt8, kCPU);
  uint8_t* p = state.data_as<uint8_t>();
  for (int w = 0; w < 2; ++w)
    for (int b = 0; b < 8; ++b) p[w * 8 + b] = uint8_t(words[w] >> (8 * b));
  return state;
}

void Generator::set_state(const Tensor& state) {
  VT_CHECK_TYPE(state.dtype() == ScalarType::UInt8,
                "set_state: the RNG state must be a uint8 tensor, got ", describe(state));
  VT_CHECK(state.device().is_cpu() && state.numel() == 16,
           "set_state: expected an RNG state of 16 bytes on cpu (from get_state()), got ",
           describe(state));
  VT_CHECK(state.dim() == 1, "set_state: expected a 1-D RNG state, got ", describe(state));
  uint64_t words[2] = {0, 0};
  const int64_t step = state.strides()[0];
  const uint8_t* p = state.data_as<uint8_t>();
  for (int i = 0; i < 16; ++i) words[i / 8] |= uint64_t(p[i * step]) << (8 * (i % 8));
  impl_->seed_.store(words[0], std::memory_order_relaxed);
  impl_->offset_.store(words[1], std::memory_order_relaxed);
}

PhiloxState Generator::reserve(uint64_t n) const {
  const uint64_t offset = impl_->offset_.fetch_add(n, std::memory_order_relaxed);
  return {impl_->seed_.load(std::memory_order_relaxed), offset};
}

namespace {

constexpr int kMaxDeviceIndex = 64;
// Default generators by device, created on first use with one compare-and-swap and kept for
// the life of the process, so a lookup takes no lock.
std::atomic<Generator*> g_defaults[VT_DEVICE_TYPE_LIMIT][kMaxDeviceIndex];
std::atomic<uint64_t> g_default_seed{Generator::kDefaultSeed};

}  // namespace

Generator default_generator(Device device) {
  VT_CHECK(device.type >= 0 && device.type < VT_DEVICE_TYPE_LIMIT && device.index >= 0 &&
               device.index < kMaxDeviceIndex,
           "default_generator: no generator for device type ", device.type, " index ", device.index);
  std::atomic<Generator*>& slot = g_defaults[device.type][device.index];
  if (Generator* g = slot.load(std::memory_order_acquire)) [[likely]] return *g;
  auto* fresh = new Generator(device, g_default_seed.load(std::memory_order_relaxed));
  Generator* expected = nullptr;
  if (slot.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;  // another thread won the race
  return *expected;
}

void manual_seed(uint64_t seed) {
  g_default_seed.store(seed, std::memory_order_relaxed);
  for (auto& per_type : g_defaults)
    for (auto& slot : per_type)
      if (Generator* g = slot.load(std::memory_order_acquire)) g->manual_seed(seed);
}

}  // namespace vt
