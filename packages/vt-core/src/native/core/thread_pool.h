// CPU parallelism: parallel_for over an index range, run by a fixed pool plus the caller.
#pragma once

#include <cstdint>
#include <functional>

namespace vt {

// fn(begin, end) over disjoint chunks of at least grain_size elements covering [begin, end).
// Small ranges, nested calls and calls while the pool is busy run inline on the caller.
void parallel_for(int64_t begin, int64_t end, int64_t grain_size,
                  const std::function<void(int64_t, int64_t)>& fn);

int num_threads();           // workers + the caller
void set_num_threads(int n);  // takes effect for later parallel_for calls; n >= 1
bool in_parallel_region();

// Below this many elements elementwise work is not worth waking threads for.
inline constexpr int64_t kGrainSize = 32768;

}  // namespace vt
