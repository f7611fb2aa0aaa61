// The safetensors header: what one file holds, parsed and validated before any tensor is read.
//
// Layout: an 8-byte little-endian header length n, n bytes of JSON (an object mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} and an optional "__metadata__" object
// of strings), then the data section. Offsets are relative to the data section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dim_vector.h"
#include "core/scalar_type.h"

namespace vt::safetensors {

// The reference implementation refuses larger headers; so do we.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
inline constexpr uint64_t kLengthPrefixBytes = 8;

struct TensorEntry {
  std::string name;
  ScalarType dtype;
  DimVector shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

struct Header {
  std::vector<TensorEntry> tensors;  // sorted by name
  std::optional<std::vector<std::pair<std::string, std::string>>> metadata;  // in file order
  uint64_t data_start = 0;  // file offset of the data section (8 + header length)

  // The entry named name, or nullptr.
  const TensorEntry* find(std::string_view name) const;
};

// Parses and validates the first file_size bytes at file. Every offset is checked against
// file_size, tensors must tile the data section exactly (no holes, no overlap, nothing after
// the last one), and each byte count must equal numel * itemsize. Throws ValueError otherwise.
Header parse_header(const uint8_t* file, uint64_t file_size);

// The format's name of a dtype ("F32") and its rank in the reference writer's order.
const char* dtype_code(ScalarType dtype);
int dtype_write_rank(ScalarType dtype);

}  // namespace vt::safetensors
