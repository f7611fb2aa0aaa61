// An opened safetensors file: its validated header and the bytes behind it (a private,
// copy-on-write mapping of the file, or a heap copy of a caller's buffer). Tensors taken from
// it view those bytes and keep them alive, so the file object may go first.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/intrusive_ptr.h"
#include "core/tensor.h"
#include "serialization/header.h"

namespace vt::safetensors {

class SafetensorsFile final : public RefCounted {
 public:
  // Maps the whole file behind fd (the descriptor may be closed afterwards).
  static intrusive_ptr<SafetensorsFile> map_fd(int fd);
  static intrusive_ptr<SafetensorsFile> open_path(const char* path);
  // Copies nbytes from data.
  static intrusive_ptr<SafetensorsFile> from_buffer(const void* data, size_t nbytes);
  ~SafetensorsFile();

  const Header& header() const { return header_; }
  // The tensor named name (ValueError when absent). A view of the file's bytes when they are
  // aligned for the dtype, otherwise an aligned copy; writes never reach the file.
  Tensor tensor(const TensorEntry& entry);
  Tensor tensor(std::string_view name);

 private:
  enum class Kind { Mapped, Heap };
  SafetensorsFile(uint8_t* bytes, uint64_t size, Kind kind);

  uint8_t* bytes_;
  uint64_t size_;
  Kind kind_;
  Header header_;
};

}  // namespace vt::safetensors
