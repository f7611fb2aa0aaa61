#include "serialization/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "core/error.h"

namespace vt::safetensors {
namespace {

constexpr std::align_val_t kHeapAlignment{64};

// A tensor's storage holds one reference to the file whose bytes it views.
void release_file(void*, size_t, Device, void* context) {
  auto* file = static_cast<SafetensorsFile*>(context);
  if (file->release_ref()) delete file;
}

}  // namespace

SafetensorsFile::SafetensorsFile(uint8_t* bytes, uint64_t size, Kind kind)
    : bytes_(bytes), size_(size), kind_(kind) {}

SafetensorsFile::~SafetensorsFile() {
  if (kind_ == Kind::Mapped) ::munmap(bytes_, size_t(size_));
  else ::operator delete[](bytes_, kHeapAlignment);
}

intrusive_ptr<SafetensorsFile> SafetensorsFile::map_fd(int fd) {
  struct stat st;
  VT_CHECK(::fstat(fd, &st) == 0, "safetensors: cannot stat the file: ", std::strerror(errno));
  VT_CHECK_VALUE(S_ISREG(st.st_mode), "safetensors: not a regular file");
  uint64_t size = uint64_t(st.st_size);
  // Checked before mapping: a zero-length mapping does not exist.
  VT_CHECK_VALUE(size >= kLengthPrefixBytes, "safetensors: the file has ", size,
                 " bytes, too few for the 8-byte header length");
  // Private and writable: vt tensors are writable, and writes stay in this process.
  void* p = ::mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  VT_CHECK(p != MAP_FAILED, "safetensors: cannot map the file (", size, " bytes): ",
           std::strerror(errno));
  auto file = intrusive_ptr<SafetensorsFile>::adopt(
      new SafetensorsFile(static_cast<uint8_t*>(p), size, Kind::Mapped));
  file->header_ = parse_header(file->bytes_, size);
  return file;
}

intrusive_ptr<SafetensorsFile> SafetensorsFile::open_path(const char* path) {
  int fd;
  do fd = ::open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  VT_CHECK(fd >= 0, "safetensors: cannot open '", path, "': ", std::strerror(errno));
  try {
    auto file = map_fd(fd);
    ::close(fd);
    return file;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

intrusive_ptr<SafetensorsFile> SafetensorsFile::from_buffer(const void* data, size_t nbytes) {
  VT_CHECK_VALUE(nbytes >= kLengthPrefixBytes, "safetensors: the buffer has ", nbytes,
                 " bytes, too few for the 8-byte header length");
  auto* bytes = static_cast<uint8_t*>(::operator new[](nbytes, kHeapAlignment));
  std::memcpy(bytes, data, nbytes);
  auto file = intrusive_ptr<SafetensorsFile>::adopt(new SafetensorsFile(bytes, nbytes, Kind::Heap));
  file->header_ = parse_header(file->bytes_, nbytes);
  return file;
}

Tensor SafetensorsFile::tensor(std::string_view name) {
  const TensorEntry* e = header_.find(name);
  VT_CHECK_VALUE(e, "safetensors: the file has no tensor named '", name, "'");
  return tensor(*e);
}

Tensor SafetensorsFile::tensor(const TensorEntry& e) {
  // parse_header proved data_start + end <= size_.
  uint8_t* src = bytes_ + header_.data_start + e.begin;
  size_t nbytes = size_t(e.end - e.begin);
  int64_t item = itemsize(e.dtype);
  if (nbytes == 0 || reinterpret_cast<uintptr_t>(src) % uint64_t(item) != 0) {
    // Headers whose length is not a multiple of 8 misalign the data: typed loads need a copy.
    Tensor out = Tensor::empty(e.shape, e.dtype, kCPU);
    if (nbytes) std::memcpy(out.data(), src, nbytes);
    return out;
  }
  retain();
  intrusive_ptr<Storage> storage;
  try {
    storage = intrusive_ptr<Storage>::make(src, nbytes, kCPU, &release_file, this);
  } catch (...) {
    release_ref();  // the caller's reference keeps this alive
    throw;
  }
  return Tensor(intrusive_ptr<TensorImpl>::make(std::move(storage), e.dtype, e.shape,
                                                contiguous_strides(e.shape), 0));
}

}  // namespace vt::safetensors
