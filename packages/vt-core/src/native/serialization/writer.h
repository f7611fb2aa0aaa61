// Writing safetensors: the bytes equal the reference implementation's for the same tensors
// (tensors ordered by dtype rank then name, compact JSON, header padded with spaces to 8 bytes).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vt::safetensors {

using MetadataList = std::vector<std::pair<std::string, std::string>>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Everything a write needs: the length prefix and header, then the tensors' bytes in order.
struct SavePlan {
  std::string head;             // 8-byte little-endian length + padded JSON
  std::vector<Tensor> tensors;  // contiguous CPU tensors in file order
  uint64_t total_bytes = 0;
};

// Validates names (unique, not "__metadata__") and metadata keys (unique; written sorted, the
// reference writes a hash map's order), and makes each tensor contiguous on the CPU.
SavePlan plan_save(NamedTensors tensors, const MetadataList* metadata);

// dst holds plan.total_bytes.
void write_to_buffer(const SavePlan& plan, char* dst);
// Writes everything to an open file descriptor; throws with errno's message on failure.
void write_to_fd(const SavePlan& plan, int fd);

}  // namespace vt::safetensors
