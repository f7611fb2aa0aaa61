// vt/c/safetensors.h over serialization/: handles are SafetensorsFile pointers holding one
// reference each.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "capi/guard.h"
#include "serialization/file.h"
#include "serialization/writer.h"
#include "vt/c/op.h"
#include "vt/c/safetensors.h"

using vt::capi::guard;
using vt::safetensors::SafetensorsFile;

namespace {

SafetensorsFile* unwrap(vt_safetensors_t file) { return reinterpret_cast<SafetensorsFile*>(file); }
vt_safetensors_t wrap(vt::intrusive_ptr<SafetensorsFile> f) {
  return reinterpret_cast<vt_safetensors_t>(f.release());
}

vt::safetensors::SavePlan plan(const char* const* names, const vt_tensor_t* tensors,
                               int64_t count, const char* const* keys, const char* const* values,
                               int64_t metadata_count, const char* fn) {
  VT_CHECK_VALUE(count >= 0, fn, ": negative tensor count ", count);
  VT_CHECK_VALUE(count == 0 || (names && tensors), fn, ": names and tensors must not be NULL");
  std::vector<std::pair<std::string, vt::Tensor>> list;
  for (int64_t i = 0; i < count; ++i) {
    VT_CHECK_VALUE(names[i] && tensors[i], fn, ": name or tensor ", i, " is NULL");
    list.emplace_back(names[i], vt::Tensor::from_c_borrowed(tensors[i]));
  }
  vt::safetensors::MetadataList metadata;
  if (keys) {
    VT_CHECK_VALUE(metadata_count >= 0, fn, ": negative metadata count ", metadata_count);
    VT_CHECK_VALUE(metadata_count == 0 || values, fn, ": metadata_values is NULL");
    for (int64_t i = 0; i < metadata_count; ++i) {
      VT_CHECK_VALUE(keys[i] && values[i], fn, ": metadata entry ", i, " is NULL");
      metadata.emplace_back(keys[i], values[i]);
    }
  }
  return vt::safetensors::plan_save(std::move(list), keys ? &metadata : nullptr);
}

}  // namespace

extern "C" {

VT_API vt_status_t vt_safetensors_open(const char* path, vt_safetensors_t* out) {
  return guard([&] {
    VT_CHECK_ARG(path, "vt_safetensors_open");
    VT_CHECK_ARG(out, "vt_safetensors_open");
    *out = wrap(SafetensorsFile::open_path(path));
  });
}

VT_API vt_status_t vt_safetensors_open_buffer(const void* data, size_t nbytes,
                                              vt_safetensors_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_safetensors_open_buffer");
    VT_CHECK_VALUE(data || nbytes == 0, "vt_safetensors_open_buffer: data is NULL");
    *out = wrap(SafetensorsFile::from_buffer(data, nbytes));
  });
}

VT_API vt_status_t vt_safetensors_close(vt_safetensors_t file) {
  return guard([&] {
    if (file && unwrap(file)->release_ref()) delete unwrap(file);
  });
}

VT_API vt_status_t vt_safetensors_num_tensors(vt_safetensors_t file, int64_t* out) {
  return guard([&] {
    VT_CHECK_ARG(file, "vt_safetensors_num_tensors");
    VT_CHECK_ARG(out, "vt_safetensors_num_tensors");
    *out = int64_t(unwrap(file)->header().tensors.size());
  });
}

VT_API vt_status_t vt_safetensors_tensor_name(vt_safetensors_t file, int64_t index,
                                              const char** out) {
  return guard([&] {
    VT_CHECK_ARG(file, "vt_safetensors_tensor_name");
    VT_CHECK_ARG(out, "vt_safetensors_tensor_name");
    const auto& tensors = unwrap(file)->header().tensors;
    VT_CHECK_INDEX(index >= 0 && uint64_t(index) < tensors.size(), "vt_safetensors_tensor_name: "
                   "index ", index, " is out of range for ", tensors.size(), " tensors");
    *out = tensors[size_t(index)].name.c_str();
  });
}

VT_API vt_status_t vt_safetensors_get_tensor(vt_safetensors_t file, const char* name,
                                             vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(file, "vt_safetensors_get_tensor");
    VT_CHECK_ARG(name, "vt_safetensors_get_tensor");
    VT_CHECK_ARG(out, "vt_safetensors_get_tensor");
    *out = unwrap(file)->tensor(std::string_view(name)).to_c_owned();
  });
}

VT_API vt_status_t vt_safetensors_num_metadata(vt_safetensors_t file, int64_t* out) {
  return guard([&] {
    VT_CHECK_ARG(file, "vt_safetensors_num_metadata");
    VT_CHECK_ARG(out, "vt_safetensors_num_metadata");
    const auto& metadata = unwrap(file)->header().metadata;
    *out = metadata ? int64_t(metadata->size()) : -1;
  });
}

VT_API vt_status_t vt_safetensors_metadata_item(vt_safetensors_t file, int64_t index,
                                                const char** key, const char** value) {
  return guard([&] {
    VT_CHECK_ARG(file, "vt_safetensors_metadata_item");
    VT_CHECK_ARG(key, "vt_safetensors_metadata_item");
    VT_CHECK_ARG(value, "vt_safetensors_metadata_item");
    const auto& metadata = unwrap(file)->header().metadata;
    size_t n = metadata ? metadata->size() : 0;
    VT_CHECK_INDEX(index >= 0 && uint64_t(index) < n, "vt_safetensors_metadata_item: index ",
                   index, " is out of range for ", n, " entries");
    *key = (*metadata)[size_t(index)].first.c_str();
    *value = (*metadata)[size_t(index)].second.c_str();
  });
}

VT_API vt_status_t vt_safetensors_save_file(const char* path, const char* const* names,
                                            const vt_tensor_t* tensors, int64_t count,
                                            const char* const* metadata_keys,
                                            const char* const* metadata_values,
                                            int64_t metadata_count) {
  return guard([&] {
    VT_CHECK_ARG(path, "vt_safetensors_save_file");
    auto p = plan(names, tensors, count, metadata_keys, metadata_values, metadata_count,
                  "vt_safetensors_save_file");
    int fd;
    do fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    VT_CHECK(fd >= 0, "vt_safetensors_save_file: cannot open '", path, "': ", std::strerror(errno));
    try {
      vt::safetensors::write_to_fd(p, fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    VT_CHECK(::close(fd) == 0, "vt_safetensors_save_file: closing '", path, "' failed: ",
             std::strerror(errno));
  });
}

VT_API vt_status_t vt_safetensors_save_buffer(const char* const* names, const vt_tensor_t* tensors,
                                              int64_t count, const char* const* metadata_keys,
                                              const char* const* metadata_values,
                                              int64_t metadata_count, void** out_data,
                                              size_t* out_nbytes) {
  return guard([&] {
    VT_CHECK_ARG(out_data, "vt_safetensors_save_buffer");
    VT_CHECK_ARG(out_nbytes, "vt_safetensors_save_buffer");
    auto p = plan(names, tensors, count, metadata_keys, metadata_values, metadata_count,
                  "vt_safetensors_save_buffer");
    void* data = vt_host_alloc(size_t(p.total_bytes));
    if (!data) throw std::bad_alloc();
    vt::safetensors::write_to_buffer(p, static_cast<char*>(data));
    *out_data = data;
    *out_nbytes = size_t(p.total_bytes);
  });
}

}  // extern "C"
